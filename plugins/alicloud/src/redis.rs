//! `redis/create` and `redis/delete` (ApsaraDB for Redis, `r-kvstore`).
//!
//! The password (given, or generated — the original returned an empty one) is returned encrypted
//! with the input's `guid` and `seed`. Deleting an instance that is gone succeeds (the original
//! failed).

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, text};
use broker_sdk::clock::Poll;
use broker_sdk::password;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, KVSTORE, Session, find, push_optional, wait_for};
use crate::security_group::split_list;
use crate::waits;

/// How Redis instances are described.
pub const REDIS_INSTANCES: Describe = Describe {
    noun: "Redis instance",
    action: "DescribeInstances",
    id_param: "InstanceIds",
    json_list: false,
    id_field: "InstanceId",
    list: "Instances",
    item: "KVStoreInstance",
};

/// Instance `id`, `None` when it does not exist.
fn find_redis(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(find(api, &REDIS_INSTANCES, id)?)
}

fn output(instance: &Value) -> Output {
    let port = instance.get("Port").map_or_else(String::new, |p| match p {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let mut out = Output::new();
    out.insert("instanceId".into(), json!(text(instance, "InstanceId")));
    out.insert("port".into(), json!(port));
    out.insert("privateIpAddr".into(), json!(text(instance, "PrivateIp")));
    out.insert(
        "connectionDomain".into(),
        json!(text(instance, "ConnectionDomain")),
    );
    out
}

/// `POST /alicloud/v1/redis/create`: returns the existing `instanceId` or creates an instance and
/// waits until it is `Normal`, then sets its whitelist and security group. Output `instanceId`,
/// `password`, `port`, `privateIpAddr`, `connectionDomain`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let seed = input.required_str("seed")?;
    let given = input.optional_str("password")?;
    let session = Session::new(&common);
    let api = session.client(KVSTORE);
    if let Some(id) = input.optional_str("instanceId")?
        && let Some(instance) = find_redis(&api, id)?
    {
        let mut out = output(&instance);
        let password = given.map_or_else(String::new, |p| password::encrypt(&common.guid, seed, p));
        out.insert("password".into(), json!(password));
        return Ok(out);
    }
    let password = match given {
        Some(p) => password::decrypt(&common.guid, seed, p)?,
        None => password::generate()?,
    };
    // Masked in every later log line of this request (it travels in the signed query).
    broker_sdk::log::redact(&password);
    let mut params = vec![
        ("InstanceType", "Redis"),
        ("Capacity", input.required_str("capacity")?),
        ("ZoneId", input.required_str("zoneId")?),
        ("EngineVersion", input.required_str("engineVersion")?),
        (
            "ChargeType",
            input.optional_str("chargeType")?.unwrap_or("PostPaid"),
        ),
        ("Password", password.as_str()),
    ];
    push_optional(
        input,
        &mut params,
        &[
            ("instanceName", "InstanceName"),
            ("networkType", "NetworkType"),
            ("vpcId", "VpcId"),
            ("vSwitchId", "VSwitchId"),
            ("srcDBInstanceId", "SrcDBInstanceId"),
            ("backupId", "BackupId"),
            ("privateIpAddress", "PrivateIpAddress"),
            ("period", "Period"),
            ("autoRenew", "AutoRenew"),
        ],
    )?;
    let created = api.call("CreateInstance", &params)?;
    let id = text(&created.body, "InstanceId").to_owned();
    let instance = wait_for(
        &format!("Redis instance {id} to be Normal"),
        waits::REDIS_NORMAL,
        || {
            let instance = find_redis(&api, &id)?
                .ok_or_else(|| ErrorMessage::new(format!("Redis instance {id} disappeared")))?;
            Ok(match text(&instance, "InstanceStatus") {
                "Normal" => Poll::Ready(instance.clone()),
                other => Poll::Pending(other.to_owned()),
            })
        },
    )?;
    if let Some(ips) = input.optional_str("securityIps")? {
        let ips = split_list(ips).join(",");
        api.call(
            "ModifySecurityIps",
            &[("InstanceId", id.as_str()), ("SecurityIps", ips.as_str())],
        )?;
    }
    if let Some(group) = input.optional_str("securityGroupId")? {
        api.call(
            "ModifySecurityGroupConfiguration",
            &[("DBInstanceId", id.as_str()), ("SecurityGroupId", group)],
        )?;
    }
    let mut out = output(&instance);
    out.insert(
        "password".into(),
        json!(password::encrypt(&common.guid, seed, &password)),
    );
    Ok(out)
}

/// `POST /alicloud/v1/redis/delete`: deletes the instance and waits until it is gone.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("instanceId")?;
    let session = Session::new(&common);
    let api = session.client(KVSTORE);
    if find_redis(&api, id)?.is_none() {
        return Ok(Output::new());
    }
    api.call("DeleteInstance", &[("InstanceId", id)])?;
    wait_for(
        &format!("Redis instance {id} to be deleted"),
        waits::REDIS_GONE,
        || {
            Ok(match find_redis(&api, id)? {
                None => Poll::Ready(()),
                Some(i) => Poll::Pending(text(&i, "InstanceStatus").to_owned()),
            })
        },
    )?;
    Ok(Output::new())
}
