//! `vm/create|delete|start|stop` and `vm/security-group/bind|unbind` (ECS instances).
//!
//! `vm/create` picks the instance type from `instanceSpec` (`1C2G`) and `instanceFamily` (`c5`)
//! when no `instanceType` is given: the smallest type of the family that the zone has in stock
//! (`DescribeAvailableResource`) with at least the cores and memory asked for
//! (`DescribeInstanceTypes`). It then creates the instance, waits until it leaves `Pending`,
//! starts it and waits until it is `Running`. The root password (given or generated) is returned
//! encrypted with the input's `guid` and `seed`.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::clock::Poll;
use broker_sdk::password;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, ECS, Session, VPC, find, require, wait_for};
use crate::security_group::SECURITY_GROUPS;
use crate::vswitch::VSWITCHES;
use crate::waits::{self, WaitSettings};

/// How instances are described.
pub const INSTANCES: Describe = Describe {
    noun: "instance",
    action: "DescribeInstances",
    id_param: "InstanceIds",
    json_list: true,
    id_field: "InstanceId",
    list: "Instances",
    item: "Instance",
};

/// Instance `id` as `DescribeInstances` shows it, `None` when it does not exist.
pub fn find_instance(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(find(api, &INSTANCES, id)?)
}

/// Instance `id`, or an error naming it when it does not exist.
pub fn require_instance(api: &impl AliyunApi, id: &str) -> Result<Value, ErrorMessage> {
    find_instance(api, id)?
        .ok_or_else(|| ErrorMessage::new(format!("instance {id} does not exist")))
}

/// Waits until instance `id` has one of the statuses `want`; returns it.
fn wait_instance(
    api: &impl AliyunApi,
    id: &str,
    want: &[&str],
    wait: WaitSettings,
) -> Result<Value, ErrorMessage> {
    wait_for(
        &format!("instance {id} to be {}", want.join(" or ")),
        wait,
        || {
            let instance = require_instance(api, id)?;
            let status = text(&instance, "Status");
            Ok(if want.contains(&status) {
                Poll::Ready(instance.clone())
            } else {
                Poll::Pending(status.to_owned())
            })
        },
    )
}

/// `1C2G` / `1c1g` → (cores, GiB).
pub fn parse_spec(spec: &str) -> Result<(f64, f64), ErrorMessage> {
    let lower = spec.trim().to_ascii_lowercase();
    let parsed = lower
        .strip_suffix('g')
        .and_then(|rest| rest.split_once('c'))
        .and_then(|(cores, memory)| Some((cores.parse().ok()?, memory.parse().ok()?)));
    parsed.ok_or_else(|| {
        ErrorMessage::new(format!(
            "instanceSpec must look like 2C4G (cores, then memory in GiB), got \"{spec}\""
        ))
    })
}

/// The smallest type of `family` in stock in `zone` with at least `cores` and `memory` GiB.
pub fn pick_instance_type(
    api: &impl AliyunApi,
    zone: &str,
    charge_type: &str,
    family: &str,
    (cores, memory): (f64, f64),
) -> Result<String, ErrorMessage> {
    let family = if family.starts_with("ecs.") {
        family.to_owned()
    } else {
        format!("ecs.{family}")
    };
    let available = api.call(
        "DescribeAvailableResource",
        &[
            ("DestinationResource", "InstanceType"),
            ("ResourceType", "instance"),
            ("ZoneId", zone),
            ("InstanceChargeType", charge_type),
        ],
    )?;
    let in_stock: Vec<String> = items(&available.body, "AvailableZones", "AvailableZone")
        .iter()
        .flat_map(|z| items(z, "AvailableResources", "AvailableResource"))
        .flat_map(|r| items(r, "SupportedResources", "SupportedResource"))
        .filter(|s| text(s, "Status") == "Available" && text(s, "StatusCategory") == "WithStock")
        .map(|s| text(s, "Value").to_owned())
        .collect();
    let types = api.call("DescribeInstanceTypes", &[("InstanceTypeFamily", &family)])?;
    let number = |t: &Value, key: &str| t.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let mut fitting: Vec<(f64, f64, String)> = items(&types.body, "InstanceTypes", "InstanceType")
        .iter()
        .filter(|t| in_stock.iter().any(|s| s == text(t, "InstanceTypeId")))
        .map(|t| {
            (
                number(t, "CpuCoreCount"),
                number(t, "MemorySize"),
                text(t, "InstanceTypeId").to_owned(),
            )
        })
        .filter(|(c, m, _)| *c >= cores && *m >= memory)
        .collect();
    fitting.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    fitting.into_iter().next().map(|(_, _, name)| name).ok_or_else(|| {
        ErrorMessage::new(format!(
            "no instance type of family {family} with at least {cores} cores and {memory} GiB is in stock in zone {zone}"
        ))
    })
}

/// `[key1=value1;key2=value2]` → pairs.
pub fn parse_tags(text: &str) -> Result<Vec<(String, String)>, ErrorMessage> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split(';')
        .filter(|t| !t.trim().is_empty())
        .map(|tag| {
            tag.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| {
                    ErrorMessage::new(format!(
                        "resourceTag entries must be key=value, got \"{tag}\""
                    ))
                })
        })
        .collect()
}

/// A number as WeCube wants it: `4` rather than `4.0`.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// The outputs of a described instance (without the password).
fn describe_output(instance: &Value) -> Output {
    let number = |key: &str| instance.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let ips: Vec<&str> = items(instance, "NetworkInterfaces", "NetworkInterface")
        .iter()
        .map(|n| text(n, "PrimaryIpAddress"))
        .filter(|ip| !ip.is_empty())
        .collect();
    let mut out = Output::new();
    out.insert("instanceId".into(), json!(text(instance, "InstanceId")));
    out.insert("instanceType".into(), json!(text(instance, "InstanceType")));
    out.insert("cpu".into(), json!(number_text(number("Cpu"))));
    // Alibaba reports MiB; the spec's `memory` is GiB.
    out.insert(
        "memory".into(),
        json!(number_text(number("Memory") / 1024.0)),
    );
    out.insert("privateIp".into(), json!(ips.join(",")));
    out.insert("hostName".into(), json!(text(instance, "HostName")));
    out
}

/// The security group for a new instance: `securityGroupId`, else the first of the vSwitch's VPC.
fn security_group_for(
    session: &Session,
    input: &Input,
    vswitch: &str,
) -> Result<String, ErrorMessage> {
    if let Some(group) = input.optional_str("securityGroupId")? {
        return Ok(group.to_owned());
    }
    let vswitch = require(&session.client(VPC), &VSWITCHES, vswitch)?;
    let vpc = text(&vswitch, "VpcId");
    let groups = session
        .client(ECS)
        .call(SECURITY_GROUPS.action, &[("VpcId", vpc)])?;
    items(&groups.body, SECURITY_GROUPS.list, SECURITY_GROUPS.item)
        .first()
        .map(|g| text(g, "SecurityGroupId").to_owned())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "securityGroupId is not given and VPC {vpc} has no security group to put the instance in"
            ))
        })
}

/// `POST /alicloud/v1/vm/create`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let seed = input.required_str("seed")?;
    let given_password = input.optional_str("password")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    if let Some(id) = input.optional_str("instanceId")?
        && let Some(instance) = find_instance(&api, id)?
    {
        let mut out = describe_output(&instance);
        // The password of an existing instance is unknown unless the caller gave it.
        let password =
            given_password.map_or_else(String::new, |p| password::encrypt(&common.guid, seed, p));
        out.insert("password".into(), json!(password));
        return Ok(out);
    }
    let zone = input.required_str("zoneId")?;
    let image = input.required_str("imageId")?;
    let vswitch = input.optional_str("vSwitchId")?.ok_or_else(|| {
        ErrorMessage::new("missing required field \"vSwitchId\" (instances are created in a VPC)")
    })?;
    let charge_type = input
        .optional_str("instanceChargeType")?
        .unwrap_or("PostPaid");
    let instance_type = match input.optional_str("instanceType")? {
        Some(kind) => kind.to_owned(),
        None => pick_instance_type(
            &api,
            zone,
            charge_type,
            input.required_str("instanceFamily")?,
            parse_spec(input.required_str("instanceSpec")?)?,
        )?,
    };
    let group = security_group_for(&session, input, vswitch)?;
    let password = match given_password {
        Some(p) => password::decrypt(&common.guid, seed, p)?,
        None => password::generate()?,
    };
    // Masked in every later log line of this request (it travels in the signed query).
    broker_sdk::log::redact(&password);
    let mut params: Vec<(String, String)> = vec![
        ("ZoneId".into(), zone.into()),
        ("ImageId".into(), image.into()),
        ("InstanceType".into(), instance_type),
        ("SecurityGroupId".into(), group),
        ("VSwitchId".into(), vswitch.into()),
        ("Password".into(), password.clone()),
        ("InstanceChargeType".into(), charge_type.into()),
    ];
    for (field, param) in [
        ("instanceName", "InstanceName"),
        ("privateIpAddress", "PrivateIpAddress"),
        ("systemDiskSize", "SystemDisk.Size"),
        ("systemDiskCategory", "SystemDisk.Category"),
        ("period", "Period"),
        ("periodUnit", "PeriodUnit"),
        ("autoRenew", "AutoRenew"),
        ("autoRenewPeriod", "AutoRenewPeriod"),
    ] {
        if let Some(value) = input.optional_str(field)? {
            params.push((param.into(), value.into()));
        }
    }
    if let Some(tags) = input.optional_str("resourceTag")? {
        for (n, (key, value)) in parse_tags(tags)?.into_iter().enumerate() {
            params.push((format!("Tag.{}.Key", n + 1), key));
            params.push((format!("Tag.{}.Value", n + 1), value));
        }
    }
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let created = api.call("CreateInstance", &borrowed)?;
    let id = text(&created.body, "InstanceId").to_owned();
    wait_instance(&api, &id, &["Stopped", "Running"], waits::VM_CREATED)?;
    start(&api, &id)?;
    let instance = require_instance(&api, &id)?;
    let mut out = describe_output(&instance);
    out.insert(
        "password".into(),
        json!(password::encrypt(&common.guid, seed, &password)),
    );
    Ok(out)
}

/// Starts instance `id` unless it runs or is starting, and waits until it is `Running`.
fn start(api: &impl AliyunApi, id: &str) -> Result<(), ErrorMessage> {
    let instance = wait_instance(
        api,
        id,
        &["Running", "Stopped", "Starting"],
        waits::VM_STOPPED,
    )?;
    if text(&instance, "Status") == "Stopped" {
        api.call("StartInstance", &[("InstanceId", id)])?;
    }
    wait_instance(api, id, &["Running"], waits::VM_RUNNING)?;
    Ok(())
}

/// `POST /alicloud/v1/vm/delete`: force-deletes the instance and waits until it is gone; an
/// absent instance counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("instanceId")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    if find_instance(&api, id)?.is_none() {
        return Ok(Output::new());
    }
    // A transition in progress (Pending, Starting, Stopping) must end before a delete.
    wait_instance(&api, id, &["Running", "Stopped"], waits::VM_STOPPED)?;
    api.call("DeleteInstance", &[("InstanceId", id), ("Force", "true")])?;
    wait_for(
        &format!("instance {id} to be deleted"),
        waits::VM_GONE,
        || {
            Ok(match find_instance(&api, id)? {
                None => Poll::Ready(()),
                Some(i) => Poll::Pending(text(&i, "Status").to_owned()),
            })
        },
    )?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/vm/start`: starts the instance and waits until it is `Running`.
pub fn handle_start(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("instanceId")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    require_instance(&api, id)?;
    start(&api, id)?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/vm/stop`: stops the instance (not forced) and waits until it is `Stopped`.
pub fn handle_stop(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("instanceId")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    let instance = wait_instance(
        &api,
        id,
        &["Running", "Stopped", "Stopping"],
        waits::VM_RUNNING,
    )?;
    if text(&instance, "Status") == "Running" {
        api.call(
            "StopInstance",
            &[("InstanceId", id), ("ForceStop", "false")],
        )?;
    }
    wait_instance(&api, id, &["Stopped"], waits::VM_STOPPED)?;
    Ok(Output::new())
}

/// Sets the instance's security groups to what `change` makes of the current list.
fn change_groups(
    input: &Input,
    change: impl FnOnce(&mut Vec<String>, &str),
) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("instanceId")?;
    let group = input.required_str("securityGroupId")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    let instance = require_instance(&api, id)?;
    let current: Vec<String> = instance
        .pointer("/SecurityGroupIds/SecurityGroupId")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut wanted = current.clone();
    change(&mut wanted, group);
    if wanted == current {
        return Ok(Output::new());
    }
    if wanted.is_empty() {
        return Err(ErrorMessage::new(format!(
            "instance {id} must keep at least one security group; {group} is its last"
        )));
    }
    let keys: Vec<String> = (1..=wanted.len())
        .map(|n| format!("SecurityGroupIds.{n}"))
        .collect();
    let mut params: Vec<(&str, &str)> = vec![("InstanceId", id)];
    params.extend(
        keys.iter()
            .map(String::as_str)
            .zip(wanted.iter().map(String::as_str)),
    );
    api.call("ModifyInstanceAttribute", &params)?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/vm/security-group/bind`: adds the group (already bound is success).
pub fn handle_bind_security_group(input: &Input) -> Result<Output, ErrorMessage> {
    change_groups(input, |groups, group| {
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_owned());
        }
    })
}

/// `POST /alicloud/v1/vm/security-group/unbind`: removes the group (not bound is success).
pub fn handle_unbind_security_group(input: &Input) -> Result<Output, ErrorMessage> {
    change_groups(input, |groups, group| groups.retain(|g| g != group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_tags_parse() {
        assert_eq!(parse_spec("1c1g").unwrap(), (1.0, 1.0));
        assert_eq!(parse_spec("2C4G").unwrap(), (2.0, 4.0));
        assert!(parse_spec("large").is_err());
        assert_eq!(
            parse_tags("[key1=value1;key2=value2]").unwrap(),
            [
                ("key1".into(), "value1".into()),
                ("key2".into(), "value2".into())
            ]
        );
        assert!(parse_tags("[oops]").is_err());
        assert_eq!(number_text(4.0), "4");
        assert_eq!(number_text(0.5), "0.5");
    }
}
