//! The ECS product (API `2014-05-26`): security groups and their rules, instances and their
//! lifecycle, and the instance type catalogue a create picks from; disks and Cloud Assistant in
//! `disk.rs`.
//!
//! Instances follow the simulated clock: `CreateInstance` leaves one `Pending` for
//! [`TRANSITION_MS`], then `Stopped`; `StartInstance` goes `Starting` → `Running`,
//! `StopInstance` `Stopping` → `Stopped`, `DeleteInstance` keeps it `Stopping` until it is gone,
//! each taking [`TRANSITION_MS`].

use serde_json::{Value, json};

use super::common::{attr_filter, new_resource, page, view};
use super::error::AliError;
use super::state::{Cidr, Resource, State};
use super::vpc::{vpc_of, vswitch_of};
use super::{Call, Product};

/// How long each instance transition takes, in simulated ms.
pub const TRANSITION_MS: u64 = 10_000;

/// The instance types the simulated region sells: (type, family, cores, memory GiB, in stock).
pub const INSTANCE_TYPES: &[(&str, &str, u32, f64, bool)] = &[
    ("ecs.t5-lc1m1.small", "ecs.t5", 1, 1.0, true),
    ("ecs.t5-lc1m2.small", "ecs.t5", 1, 2.0, true),
    ("ecs.n4.small", "ecs.n4", 1, 2.0, true),
    ("ecs.n4.large", "ecs.n4", 2, 4.0, true),
    ("ecs.c5.large", "ecs.c5", 2, 4.0, true),
    ("ecs.c5.xlarge", "ecs.c5", 4, 8.0, true),
    ("ecs.c5.2xlarge", "ecs.c5", 8, 16.0, false),
    ("ecs.g5.large", "ecs.g5", 2, 8.0, true),
    ("ecs.g5.xlarge", "ecs.g5", 4, 16.0, true),
];

/// The ECS product.
pub(crate) const PRODUCT: Product = Product {
    name: "Ecs",
    version: "2014-05-26",
    actions: &[
        "CreateSecurityGroup",
        "DescribeSecurityGroups",
        "DescribeSecurityGroupAttribute",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroup",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroup",
        "RevokeSecurityGroupEgress",
        "DescribeAvailableResource",
        "DescribeInstanceTypes",
        "CreateInstance",
        "DescribeInstances",
        "StartInstance",
        "StopInstance",
        "DeleteInstance",
        "ModifyInstanceAttribute",
        // Disks and Cloud Assistant (`disk.rs`).
        "CreateDisk",
        "DescribeDisks",
        "AttachDisk",
        "DetachDisk",
        "DeleteDisk",
        "RunCommand",
        "DescribeInvocationResults",
    ],
    regional: true,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateSecurityGroup" => create_security_group(state, call),
        "DescribeSecurityGroups" => Ok(describe_security_groups(state, call)),
        "DescribeSecurityGroupAttribute" => describe_security_group_attribute(state, call),
        "DeleteSecurityGroup" => delete_security_group(state, call),
        "AuthorizeSecurityGroup" => change_rule(state, call, "ingress", true),
        "AuthorizeSecurityGroupEgress" => change_rule(state, call, "egress", true),
        "RevokeSecurityGroup" => change_rule(state, call, "ingress", false),
        "RevokeSecurityGroupEgress" => change_rule(state, call, "egress", false),
        "DescribeAvailableResource" => Ok(describe_available_resource(call)),
        "DescribeInstanceTypes" => Ok(describe_instance_types(call)),
        "CreateInstance" => create_instance(state, call),
        "DescribeInstances" => Ok(describe_instances(state, call)),
        "StartInstance" => start_instance(state, call),
        "StopInstance" => stop_instance(state, call),
        "DeleteInstance" => delete_instance(state, call),
        "ModifyInstanceAttribute" => modify_instance(state, call),
        action if super::disk::ACTIONS.contains(&action) => super::disk::handle(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

/// A list parameter: a JSON array (`["a","b"]`), else comma-separated text.
fn id_list(call: &Call<'_>, key: &str) -> Option<Vec<String>> {
    let text = call.get(key)?;
    Some(match serde_json::from_str::<Vec<String>>(text) {
        Ok(ids) => ids,
        Err(_) => text.split(',').map(|s| s.trim().to_owned()).collect(),
    })
}

/// A repeated parameter `Key.1`, `Key.2`, ….
fn repeated(call: &Call<'_>, key: &str) -> Vec<String> {
    (1..)
        .map_while(|n| call.get(&format!("{key}.{n}")).map(str::to_owned))
        .collect()
}

fn in_list(list: &Option<Vec<String>>, id: &str) -> bool {
    list.as_ref().is_none_or(|ids| ids.iter().any(|i| i == id))
}

fn group_of<'a>(state: &'a State, call: &Call<'_>, id: &str) -> Result<&'a Resource, AliError> {
    state
        .get(call.region, "sg", id)
        .ok_or_else(|| AliError::not_found("InvalidSecurityGroupId.NotFound", "security group"))
}

fn create_security_group(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let vpc = call.get("VpcId").unwrap_or("");
    if !vpc.is_empty() {
        vpc_of(state, call, vpc)?;
    }
    let kind = call.get("SecurityGroupType").unwrap_or("normal");
    if !matches!(kind, "normal" | "enterprise") {
        return Err(AliError::invalid_parameter(
            "SecurityGroupType",
            "Valid values: normal, enterprise.",
        ));
    }
    let id = new_resource(
        state,
        call,
        "sg",
        0,
        json!({"SecurityGroupName": call.get("SecurityGroupName").unwrap_or(""),
            "Description": call.get("Description").unwrap_or(""), "VpcId": vpc,
            "SecurityGroupType": kind, "Permissions": []}),
    );
    Ok(json!({"SecurityGroupId": id}))
}

fn describe_security_groups(state: &State, call: &Call<'_>) -> Value {
    let ids = id_list(call, "SecurityGroupIds");
    let items = state
        .list(call.region, "sg")
        .filter(|g| in_list(&ids, &g.id) && attr_filter(call, "VpcId", g))
        .map(|g| {
            let mut item = view(g, call.now_ms, json!({"SecurityGroupId": g.id}));
            if let Value::Object(map) = &mut item {
                map.remove("Permissions");
                map.remove("Status");
            }
            item
        })
        .collect();
    page(items, "SecurityGroups", "SecurityGroup")
}

fn describe_security_group_attribute(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let group = group_of(state, call, call.require("SecurityGroupId")?)?;
    let direction = call.get("Direction").unwrap_or("all");
    let permissions: Vec<Value> = group.attrs["Permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| direction == "all" || p["Direction"] == direction)
        .collect();
    Ok(
        json!({"SecurityGroupId": group.id, "VpcId": group.attr("VpcId"),
        "SecurityGroupName": group.attr("SecurityGroupName"),
        "Permissions": {"Permission": permissions}}),
    )
}

fn delete_security_group(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("SecurityGroupId")?;
    group_of(state, call, id)?;
    if state
        .list(call.region, "i")
        .any(|i| groups_of(i).iter().any(|g| g == id))
    {
        return Err(AliError::new(
            403,
            "DependencyViolation",
            "There is still instance(s) in the specified security group.",
        ));
    }
    state.remove(call.region, "sg", id);
    Ok(json!({}))
}

/// One normalised rule from an Authorize*/Revoke* call, as `DescribeSecurityGroupAttribute`
/// shows it.
fn rule(call: &Call<'_>, direction: &str) -> Result<Value, AliError> {
    let protocol = call.require("IpProtocol")?.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "icmp" | "gre" | "all") {
        return Err(AliError::new(
            400,
            "InvalidIpProtocol.Malformed",
            "Specified IP protocol is not valid.",
        ));
    }
    let ports = call.require("PortRange")?;
    let port_ok = match ports.split_once('/') {
        Some(("-1", "-1")) => !matches!(protocol.as_str(), "tcp" | "udp"),
        Some((from, to)) => match (from.parse::<u32>(), to.parse::<u32>()) {
            (Ok(from), Ok(to)) => (1..=to).contains(&from) && to <= 65_535,
            _ => false,
        },
        None => false,
    };
    if !port_ok {
        return Err(AliError::new(
            400,
            "InvalidPortRange.Malformed",
            format!("Specified port range ({ports}) is not valid."),
        ));
    }
    let cidr_key = if direction == "ingress" {
        "SourceCidrIp"
    } else {
        "DestCidrIp"
    };
    let cidr = call.require(cidr_key)?;
    let with_mask = if cidr.contains('/') {
        cidr.to_owned()
    } else {
        format!("{cidr}/32")
    };
    if Cidr::parse(&with_mask).is_none() {
        return Err(AliError::invalid_parameter(
            cidr_key,
            "It must be an IPv4 CIDR block.",
        ));
    }
    let policy = match call
        .get("Policy")
        .unwrap_or("accept")
        .to_ascii_lowercase()
        .as_str()
    {
        "accept" => "Accept",
        "drop" => "Drop",
        _ => {
            return Err(AliError::invalid_parameter(
                "Policy",
                "Valid values: accept, drop.",
            ));
        }
    };
    Ok(
        json!({"Direction": direction, "IpProtocol": protocol.to_ascii_uppercase(),
        "PortRange": ports, cidr_key: cidr, "Policy": policy}),
    )
}

/// Adds (or removes) one rule. Adding a rule that exists and removing one that does not both
/// succeed, as on Alibaba.
fn change_rule(
    state: &mut State,
    call: &Call<'_>,
    direction: &str,
    add: bool,
) -> Result<Value, AliError> {
    let id = call.require("SecurityGroupId")?;
    group_of(state, call, id)?;
    let rule = rule(call, direction)?;
    let group = state
        .get_mut(call.region, "sg", id)
        .ok_or_else(|| AliError::not_found("InvalidSecurityGroupId.NotFound", "security group"))?;
    let mut permissions = group.attrs["Permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let same = |p: &Value| {
        [
            "Direction",
            "IpProtocol",
            "PortRange",
            "SourceCidrIp",
            "DestCidrIp",
            "Policy",
        ]
        .iter()
        .all(|k| p.get(*k) == rule.get(*k))
    };
    if add {
        if !permissions.iter().any(same) {
            let mut stored = rule.clone();
            stored["Description"] = json!(call.get("Description").unwrap_or(""));
            permissions.push(stored);
        }
    } else {
        permissions.retain(|p| !same(p));
    }
    group.set("Permissions", permissions);
    Ok(json!({}))
}

fn describe_available_resource(call: &Call<'_>) -> Value {
    let supported: Vec<Value> = INSTANCE_TYPES
        .iter()
        .map(|(name, _, _, _, stock)| {
            json!({"Value": name, "Status": if *stock { "Available" } else { "SoldOut" },
                "StatusCategory": if *stock { "WithStock" } else { "WithoutStock" }})
        })
        .collect();
    json!({"AvailableZones": {"AvailableZone": [{
        "ZoneId": call.get("ZoneId").unwrap_or(""), "RegionId": call.region, "Status": "Available",
        "AvailableResources": {"AvailableResource": [{"Type": "InstanceType",
            "SupportedResources": {"SupportedResource": supported}}]}}]}})
}

fn describe_instance_types(call: &Call<'_>) -> Value {
    let types: Vec<Value> = INSTANCE_TYPES
        .iter()
        .filter(|(_, family, ..)| call.get("InstanceTypeFamily").is_none_or(|f| f == *family))
        .map(|(name, family, cores, memory, _)| {
            json!({"InstanceTypeId": name, "InstanceTypeFamily": family,
                "CpuCoreCount": cores, "MemorySize": memory})
        })
        .collect();
    json!({"InstanceTypes": {"InstanceType": types}})
}

fn groups_of(instance: &Resource) -> Vec<String> {
    instance.attrs["SecurityGroupIds"]["SecurityGroupId"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Alibaba's password rule: 8–30 characters, at least three of lower, upper, digit, special.
fn password_ok(password: &str) -> bool {
    let classes = [
        password.bytes().any(|b| b.is_ascii_lowercase()),
        password.bytes().any(|b| b.is_ascii_uppercase()),
        password.bytes().any(|b| b.is_ascii_digit()),
        password.bytes().any(|b| b.is_ascii_punctuation()),
    ];
    (8..=30).contains(&password.len()) && classes.iter().filter(|c| **c).count() >= 3
}

fn create_instance(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let image = call.require("ImageId")?.to_owned();
    let kind = call.require("InstanceType")?;
    let group = call.require("SecurityGroupId")?;
    let vswitch_id = call.require("VSwitchId")?;
    let Some(&(_, _, cores, memory, stock)) =
        INSTANCE_TYPES.iter().find(|(name, ..)| *name == kind)
    else {
        return Err(AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType does not exist or is not supported.",
        ));
    };
    if !stock {
        return Err(AliError::new(
            403,
            "OperationDenied.NoStock",
            "Sales of this resource are temporarily suspended in the specified region.",
        ));
    }
    if let Some(password) = call.get("Password")
        && !password_ok(password)
    {
        return Err(AliError::new(
            400,
            "InvalidPassword.Malformed",
            "Specified login password is not valid.",
        ));
    }
    let vswitch = vswitch_of(state, call, vswitch_id)?;
    let (vpc, zone, block) = (
        vswitch.attr("VpcId").to_owned(),
        vswitch.attr("ZoneId").to_owned(),
        vswitch.attr("CidrBlock").to_owned(),
    );
    if call.get("ZoneId").is_some_and(|z| z != zone) {
        return Err(AliError::new(
            400,
            "InvalidVSwitchId.ZoneMismatch",
            "The specified VSwitch is not in the specified zone.",
        ));
    }
    if group_of(state, call, group)?.attr("VpcId") != vpc {
        return Err(AliError::new(
            400,
            "InvalidSecurityGroupId.VPCMismatch",
            "The specified security group and the VSwitch are not in the same VPC.",
        ));
    }
    let block = Cidr::parse(&block).ok_or_else(|| AliError::invalid_parameter("VSwitchId", ""))?;
    let used: Vec<String> = state
        .list(call.region, "i")
        .map(|i| i.attr("PrivateIp").to_owned())
        .collect();
    let ip = match call.get("PrivateIpAddress") {
        Some(ip) => {
            let inside = Cidr::parse(&format!("{ip}/32")).is_some_and(|c| block.contains(c));
            if !inside {
                return Err(AliError::new(
                    400,
                    "InvalidPrivateIpAddress",
                    "Specified private IP address is not in the CIDR block of the VSwitch.",
                ));
            }
            if used.iter().any(|u| u == ip) {
                return Err(AliError::new(
                    400,
                    "InvalidPrivateIpAddress.Duplicated",
                    "Specified private IP address is already in use.",
                ));
            }
            ip.to_owned()
        }
        None => (1..)
            .map(|n| block.host(n))
            .find(|candidate| !used.contains(candidate))
            .unwrap_or_default(),
    };
    let id = state.new_id("i");
    let name = call.get("InstanceName").unwrap_or(&id).to_owned();
    let mut instance = Resource {
        kind: "i",
        id: id.clone(),
        region: call.region.to_owned(),
        pending_status: "Pending",
        ready_status: "Stopped".to_owned(),
        ready_ms: call.now_ms + TRANSITION_MS,
        attrs: serde_json::Map::new(),
        gone_ms: None,
    };
    let host = format!("iZ{}Z", &id[2..]);
    for (key, value) in [
        ("InstanceName", json!(name)),
        ("HostName", json!(host)),
        ("ImageId", json!(image)),
        ("InstanceType", json!(kind)),
        ("Cpu", json!(cores)),
        // Alibaba reports memory in MiB.
        ("Memory", json!((memory * 1024.0).round() as u64)),
        ("ZoneId", json!(zone)),
        ("PrivateIp", json!(ip)),
        (
            "VpcAttributes",
            json!({"VpcId": vpc, "VSwitchId": vswitch_id,
                "PrivateIpAddress": {"IpAddress": [ip]}}),
        ),
        (
            "NetworkInterfaces",
            json!({"NetworkInterface": [{"PrimaryIpAddress": ip}]}),
        ),
        ("SecurityGroupIds", json!({"SecurityGroupId": [group]})),
        (
            "InstanceChargeType",
            json!(call.get("InstanceChargeType").unwrap_or("PostPaid")),
        ),
        ("Password", json!(call.get("Password").unwrap_or(""))),
    ] {
        instance.set(key, value);
    }
    state.insert(instance);
    Ok(json!({"InstanceId": id}))
}

fn describe_instances(state: &State, call: &Call<'_>) -> Value {
    let ids = id_list(call, "InstanceIds");
    let items = state
        .list(call.region, "i")
        .filter(|i| in_list(&ids, &i.id))
        .map(|i| {
            let mut item = view(i, call.now_ms, json!({"InstanceId": i.id}));
            if let Value::Object(map) = &mut item {
                map.remove("Password");
                map.remove("PrivateIp");
            }
            item
        })
        .collect();
    page(items, "Instances", "Instance")
}

fn instance_mut<'a>(state: &'a mut State, call: &Call<'_>) -> Result<&'a mut Resource, AliError> {
    let id = call.require("InstanceId")?;
    state
        .get_mut(call.region, "i", id)
        .filter(|i| i.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidInstanceId.NotFound", "instance"))
}

fn incorrect_status() -> AliError {
    AliError::new(
        403,
        "IncorrectInstanceStatus",
        "The current status of the resource does not support this operation.",
    )
}

fn start_instance(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let now = call.now_ms;
    let instance = instance_mut(state, call)?;
    if instance.status(now) != "Stopped" {
        return Err(incorrect_status());
    }
    instance.transition("Starting", "Running", now, TRANSITION_MS);
    Ok(json!({}))
}

fn stop_instance(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let now = call.now_ms;
    let instance = instance_mut(state, call)?;
    if instance.status(now) != "Running" {
        return Err(incorrect_status());
    }
    instance.transition("Stopping", "Stopped", now, TRANSITION_MS);
    Ok(json!({}))
}

fn delete_instance(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let now = call.now_ms;
    let force = call.get("Force") == Some("true");
    let instance = instance_mut(state, call)?;
    let status = instance.status(now).to_owned();
    let allowed = status == "Stopped" || (force && status == "Running");
    if !allowed {
        return Err(incorrect_status());
    }
    instance.transition("Stopping", "Stopping", now, TRANSITION_MS);
    instance.gone_ms = Some(now + TRANSITION_MS);
    Ok(json!({}))
}

fn modify_instance(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let groups = repeated(call, "SecurityGroupIds");
    let id = call.require("InstanceId")?.to_owned();
    if !groups.is_empty() {
        let vpc = instance_mut(state, call)?.attrs["VpcAttributes"]["VpcId"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        for group in &groups {
            if group_of(state, call, group)?.attr("VpcId") != vpc {
                return Err(AliError::new(
                    400,
                    "InvalidSecurityGroupId.VPCMismatch",
                    "The specified security group and the instance are not in the same VPC.",
                ));
            }
        }
    }
    let instance = instance_mut(state, call)?;
    debug_assert_eq!(instance.id, id);
    if !groups.is_empty() {
        instance.set("SecurityGroupIds", json!({"SecurityGroupId": groups}));
    }
    if let Some(name) = call.get("InstanceName") {
        instance.set("InstanceName", name);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_lists_every_disk_action() {
        for action in super::super::disk::ACTIONS {
            assert!(PRODUCT.actions.contains(action), "{action}");
        }
    }
}
