//! The ApsaraDB for Redis product (`r-kvstore.aliyuncs.com`, API `2015-01-01`).
//!
//! An instance is `Creating` for [`REDIS_CREATING_MS`], then `Normal`; a deleted one is
//! `Flushing` until gone.

use serde_json::{Value, json};

use super::common::{new_resource, page, view};
use super::error::AliError;
use super::state::{Cidr, Resource, State};
use super::vpc::vswitch_of;
use super::{Call, Product};

/// How long a new instance is `Creating`, and a deleted one `Flushing`, in simulated ms.
pub const REDIS_CREATING_MS: u64 = 20_000;

/// Capacities (MB) the simulated region sells.
pub const CAPACITIES: &[u32] = &[256, 1024, 2048, 4096, 8192, 16384, 32768];

/// The Redis product.
pub(crate) const PRODUCT: Product = Product {
    name: "R-kvstore",
    version: "2015-01-01",
    actions: &[
        "CreateInstance",
        "DescribeInstances",
        "DeleteInstance",
        "ModifySecurityIps",
        "ModifySecurityGroupConfiguration",
    ],
    regional: true,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateInstance" => create(state, call),
        "DescribeInstances" => Ok(describe(state, call)),
        "DeleteInstance" => delete(state, call),
        "ModifySecurityIps" => modify(state, call, "SecurityIps"),
        "ModifySecurityGroupConfiguration" => modify(state, call, "SecurityGroupId"),
        other => Err(AliError::unknown_action(other)),
    }
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let capacity: u32 = call
        .require("Capacity")?
        .parse()
        .map_err(|_| AliError::invalid_parameter("Capacity", "It must be a number of MB."))?;
    if !CAPACITIES.contains(&capacity) {
        return Err(AliError::new(
            400,
            "InvalidCapacity.NotFound",
            "The specified capacity is not supported.",
        ));
    }
    let version = call.get("EngineVersion").unwrap_or("2.8");
    if !matches!(version, "2.8" | "4.0" | "5.0") {
        return Err(AliError::invalid_parameter(
            "EngineVersion",
            "Valid values: 2.8, 4.0, 5.0.",
        ));
    }
    if let Some(password) = call.get("Password") {
        let classes = [
            password.bytes().any(|b| b.is_ascii_lowercase()),
            password.bytes().any(|b| b.is_ascii_uppercase()),
            password.bytes().any(|b| b.is_ascii_digit()),
            password.bytes().any(|b| b.is_ascii_punctuation()),
        ];
        if !(8..=32).contains(&password.len()) || classes.iter().filter(|c| **c).count() < 3 {
            return Err(AliError::new(
                400,
                "InvalidPassword.Malformed",
                "Specified password is not valid.",
            ));
        }
    }
    let zone = call.require("ZoneId")?;
    let vswitch = call.get("VSwitchId").unwrap_or("");
    let ip = if vswitch.is_empty() {
        String::new()
    } else {
        let block = Cidr::parse(vswitch_of(state, call, vswitch)?.attr("CidrBlock"))
            .ok_or_else(|| AliError::invalid_parameter("VSwitchId", ""))?;
        call.get("PrivateIpAddress").map_or_else(
            || block.host(100 + u32::try_from(state.list(call.region, "r").count()).unwrap_or(0)),
            str::to_owned,
        )
    };
    let id = new_resource(
        state,
        call,
        "r",
        REDIS_CREATING_MS,
        json!({"InstanceName": call.get("InstanceName").unwrap_or(""), "Capacity": capacity,
            "EngineVersion": version, "ZoneId": zone, "VpcId": call.get("VpcId").unwrap_or(""),
            "VSwitchId": vswitch, "PrivateIp": ip, "Port": 6379,
            "NetworkType": call.get("NetworkType").unwrap_or("CLASSIC"),
            "ChargeType": call.get("ChargeType").unwrap_or("PostPaid"),
            "SecurityIps": "127.0.0.1", "SecurityGroupId": ""}),
    );
    let domain = format!("{id}.redis.rds.aliyuncs.com");
    if let Some(r) = state.get_mut(call.region, "r", &id) {
        r.pending_status = "Creating";
        r.ready_status = "Normal".to_owned();
        r.set("ConnectionDomain", domain.clone());
    }
    Ok(json!({"InstanceId": id, "Port": 6379, "ConnectionDomain": domain, "Capacity": capacity}))
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "r")
        .filter(|r| {
            call.get("InstanceIds")
                .is_none_or(|ids| ids.split(',').any(|i| i == r.id))
        })
        .map(|r| {
            let mut item = view(r, call.now_ms, json!({"InstanceId": r.id}));
            item["InstanceStatus"] = item["Status"].take();
            item.as_object_mut().map(|m| m.remove("Status"));
            item
        })
        .collect();
    page(items, "Instances", "KVStoreInstance")
}

fn instance<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let id = call
        .get("InstanceId")
        .or_else(|| call.get("DBInstanceId"))
        .ok_or_else(|| AliError::missing_parameter("InstanceId"))?;
    state
        .get(call.region, "r", id)
        .filter(|r| r.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidInstanceId.NotFound", "instance"))
}

fn normal<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let r = instance(state, call)?;
    if r.status(call.now_ms) != "Normal" {
        return Err(AliError::new(
            403,
            "IncorrectInstanceStatus",
            "The current instance status does not support this operation.",
        ));
    }
    Ok(r)
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = normal(state, call)?.id.clone();
    if let Some(r) = state.get_mut(call.region, "r", &id) {
        r.transition("Flushing", "Flushing", call.now_ms, REDIS_CREATING_MS / 2);
        r.gone_ms = Some(call.now_ms + REDIS_CREATING_MS / 2);
    }
    Ok(json!({}))
}

fn modify(state: &mut State, call: &Call<'_>, key: &str) -> Result<Value, AliError> {
    let id = normal(state, call)?.id.clone();
    let value = call.require(key)?.to_owned();
    if key == "SecurityGroupId" && state.get(call.region, "sg", &value).is_none() {
        return Err(AliError::not_found(
            "InvalidSecurityGroupId.NotFound",
            "security group",
        ));
    }
    if let Some(r) = state.get_mut(call.region, "r", &id) {
        r.set(key, value);
    }
    Ok(json!({}))
}
