//! The CVM product (`cvm`, version `2017-03-12`): `RunInstances` ([`run`]), `DescribeInstances`,
//! `StartInstances`, `StopInstances`, `TerminateInstances`, `ModifyInstancesAttribute` and
//! `ResetInstance` ([`reset`]).
//!
//! Instances change state in simulated time ([`crate::TencentSimConfig::clock`]), as on Tencent:
//! - `RunInstances` → `PENDING`, `RUNNING` [`BOOT_MS`] later;
//! - `StartInstances` (from `STOPPED`) → `STARTING`, `RUNNING` [`START_STOP_MS`] later;
//! - `StopInstances` (from `RUNNING`) → `STOPPING`, `STOPPED` [`START_STOP_MS`] later, or
//!   [`FORCE_STOP_MS`] later with `ForceStop` (or `StopType` `HARD`), which skips the guest's
//!   shutdown;
//! - `ResetInstance` (from `RUNNING` or `STOPPED`) → `RESETTING`, `RUNNING` [`RESET_MS`] later;
//! - `TerminateInstances` → `SHUTDOWN`, gone [`TERMINATE_MS`] later.
//!
//! Every action on an instance records `LatestOperation`, `LatestOperationRequestId` and
//! `LatestOperationState` (`OPERATING` until its transition settles, then `SUCCESS`).
//!
//! An action in the wrong state is `UnsupportedOperation.InstanceState<State>`; an id that is not
//! `ins-` plus 8 characters is `InvalidInstanceId.Malformed`, an unknown one
//! `InvalidInstanceId.NotFound` (`DescribeInstances` just omits unknown ids). The network must
//! exist in the VPC product's state; a private address is allocated from the subnet's block.

mod reset;
mod run;

use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::TcError;
use super::params::Params;
use super::state::{self, State};
use super::{Call, Product};

/// The CVM product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "cvm",
    version: "2017-03-12",
    actions: &[
        "RunInstances",
        "DescribeInstances",
        "StartInstances",
        "StopInstances",
        "TerminateInstances",
        "ModifyInstancesAttribute",
        "ResetInstance",
    ],
    regional: true,
    handle,
};

/// From `RunInstances` to `RUNNING`.
pub const BOOT_MS: u64 = 20_000;
/// From `StartInstances` to `RUNNING`, and from `StopInstances` to `STOPPED`.
pub const START_STOP_MS: u64 = 10_000;
/// From a forced `StopInstances` to `STOPPED`: no waiting for the guest to shut down.
pub const FORCE_STOP_MS: u64 = 3_000;
/// From `ResetInstance` to `RUNNING` (the reinstalled system boots).
pub const RESET_MS: u64 = 30_000;
/// From `TerminateInstances` until the instance is gone.
pub const TERMINATE_MS: u64 = 15_000;

/// Most security groups one instance may be in.
const MAX_SECURITY_GROUPS: usize = 5;

/// Longest instance name, in characters.
const MAX_NAME_CHARS: usize = 60;

/// `Placement` of an instance.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Placement {
    zone: String,
    project_id: u64,
}

/// `VirtualPrivateCloud` of an instance.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Network {
    vpc_id: String,
    subnet_id: String,
    as_vpc_gateway: bool,
}

/// `SystemDisk` of an instance.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SystemDisk {
    disk_type: String,
    disk_id: String,
    disk_size: u64,
}

/// One instance, serialised as `DescribeInstances` returns it (fields in Tencent's order).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Instance {
    placement: Placement,
    pub(crate) instance_id: String,
    instance_type: String,
    #[serde(rename = "CPU")]
    cpu: u64,
    memory: u64,
    restrict_state: &'static str,
    instance_name: String,
    instance_charge_type: String,
    system_disk: SystemDisk,
    data_disks: Option<Vec<Value>>,
    private_ip_addresses: Vec<String>,
    public_ip_addresses: Option<Vec<String>>,
    internet_accessible: Value,
    virtual_private_cloud: Network,
    image_id: String,
    renew_flag: Option<String>,
    created_time: String,
    expired_time: Option<String>,
    os_name: String,
    security_group_ids: Vec<String>,
    /// What Tencent shows of the login settings: key ids, never a password.
    login_settings: Value,
    pub(crate) instance_state: &'static str,
    tags: Vec<Value>,
    stop_charging_mode: &'static str,
    uuid: String,
    latest_operation: Option<String>,
    latest_operation_state: Option<&'static str>,
    latest_operation_request_id: Option<String>,
    disaster_recover_group_id: String,
    #[serde(rename = "IPv6Addresses")]
    ipv6_addresses: Option<Vec<String>>,
    cam_role_name: String,
    instance_type_name: String,
    /// The state it moves to next and when (simulated ms).
    #[serde(skip)]
    next: Option<(Option<&'static str>, u64)>,
}

impl Instance {
    /// The subnet the instance is in.
    pub(crate) fn subnet_id(&self) -> &str {
        &self.virtual_private_cloud.subnet_id
    }

    /// Record `call` as the latest operation: `SUCCESS` when it is `settled`, else `OPERATING`
    /// until the pending transition happens.
    fn record(&mut self, call: &Call<'_>, settled: bool) {
        self.latest_operation = Some(call.action.to_owned());
        self.latest_operation_state = Some(if settled { "SUCCESS" } else { "OPERATING" });
        self.latest_operation_request_id = Some(call.request_id.to_owned());
    }

    /// The zone the instance is in.
    pub(crate) fn zone(&self) -> &str {
        &self.placement.zone
    }
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "RunInstances" => run::run(state, call),
        "DescribeInstances" => describe(state, call),
        "StartInstances" => start(state, call),
        "StopInstances" => stop(state, call),
        "TerminateInstances" => terminate(state, call),
        "ModifyInstancesAttribute" => modify(state, call),
        "ResetInstance" => reset::reset(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every transition due at `now_ms`: a due `Some(state)` becomes the state (and the
/// latest operation succeeds), a due `None` removes the instance.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for instances in state.instances.values_mut() {
        instances.retain_mut(|i| match i.next {
            Some((next, at)) if at <= now_ms => match next {
                Some(next) => {
                    i.instance_state = next;
                    i.next = None;
                    i.latest_operation_state = Some("SUCCESS");
                    true
                }
                None => false,
            },
            _ => true,
        });
    }
}

/// `ms` since the epoch as CVM writes times: `YYYY-MM-DDTHH:MM:SSZ`, UTC.
fn iso_time(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .expect("a UTC date always formats")
}

/// An optional JSON object parameter.
pub(crate) fn object<'a>(
    p: &Params<'a>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, TcError> {
    p.get(name)
        .map(|v| v.as_object().ok_or_else(|| TcError::parameter_type(name)))
        .transpose()
}

/// An optional string member `field` of object parameter `parent`.
pub(crate) fn member_str<'a>(
    parent: Option<&'a Map<String, Value>>,
    name: &str,
    field: &str,
) -> Result<Option<&'a str>, TcError> {
    match parent.and_then(|o| o.get(field)).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| TcError::parameter_type(&format!("{name}.{field}"))),
    }
}

/// An optional non-negative integer member `field` of object parameter `parent`.
fn member_uint(
    parent: Option<&Map<String, Value>>,
    name: &str,
    field: &str,
) -> Result<Option<u64>, TcError> {
    match parent.and_then(|o| o.get(field)).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| TcError::parameter_type(&format!("{name}.{field}"))),
    }
}

/// An optional boolean member `field` of object parameter `parent`.
fn member_bool(
    parent: Option<&Map<String, Value>>,
    name: &str,
    field: &str,
) -> Result<Option<bool>, TcError> {
    match parent.and_then(|o| o.get(field)).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| TcError::parameter_type(&format!("{name}.{field}"))),
    }
}

/// A required string member `field` of object parameter `parent`.
pub(crate) fn required_member<'a>(
    parent: Option<&'a Map<String, Value>>,
    name: &str,
    field: &str,
) -> Result<&'a str, TcError> {
    member_str(parent, name, field)?
        .ok_or_else(|| TcError::missing_parameter(&format!("{name}.{field}")))
}

/// `EnhancedService {SecurityService?, MonitorService?, AutomationService?}`, each
/// `{Enabled: bool}`: checked for shape (the simulator runs no agents).
fn check_enhanced_service(p: &Params<'_>) -> Result<(), TcError> {
    let Some(service) = object(p, "EnhancedService")? else {
        return Ok(());
    };
    for (key, value) in service {
        let name = format!("EnhancedService.{key}");
        if !["SecurityService", "MonitorService", "AutomationService"].contains(&key.as_str()) {
            return Err(TcError::unknown_parameter(&name));
        }
        let inner = value
            .as_object()
            .ok_or_else(|| TcError::parameter_type(&name))?;
        member_bool(Some(inner), &name, "Enabled")?;
    }
    Ok(())
}

/// Security groups `ids` (parameter `name`) must be 1 to [`MAX_SECURITY_GROUPS`] well-formed
/// ids of groups in `region`.
fn check_security_groups(
    state: &State,
    region: &str,
    name: &str,
    ids: &[&str],
) -> Result<(), TcError> {
    if ids.is_empty() || ids.len() > MAX_SECURITY_GROUPS {
        return Err(TcError::out_of_range(
            name,
            &ids.len().to_string(),
            "1 to 5 security groups",
        ));
    }
    for id in ids {
        if !state::is_id("sg", id) {
            return Err(TcError::new(
                "InvalidSecurityGroupId.Malformed",
                format!("The security group id `{id}` is malformed."),
            ));
        }
        let exists = state
            .security_groups
            .get(region)
            .into_iter()
            .flatten()
            .any(|g| g.security_group_id == *id);
        if !exists {
            return Err(TcError::new(
                "InvalidSecurityGroupId.NotFound",
                format!("The security group `{id}` does not exist."),
            ));
        }
    }
    Ok(())
}

/// Whether `name` is a valid instance name: 1 to [`MAX_NAME_CHARS`] characters.
fn check_name(name: &str) -> Result<(), TcError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            "The value of parameter `InstanceName` is longer than 60 characters.",
        ));
    }
    Ok(())
}

/// Whether `instance` passes filter `name` with `values` (`InvalidFilter` for unknown names).
fn filter_matches(instance: &Instance, name: &str, values: &[&str]) -> Result<bool, TcError> {
    let field: Vec<&str> = match name {
        "instance-id" => vec![&instance.instance_id],
        // Tencent matches instance names by substring.
        "instance-name" => {
            return Ok(values.iter().any(|v| instance.instance_name.contains(v)));
        }
        "instance-state" => vec![instance.instance_state],
        "instance-type" => vec![&instance.instance_type],
        "zone" => vec![&instance.placement.zone],
        "vpc-id" => vec![&instance.virtual_private_cloud.vpc_id],
        "subnet-id" => vec![&instance.virtual_private_cloud.subnet_id],
        "private-ip-address" => instance
            .private_ip_addresses
            .iter()
            .map(String::as_str)
            .collect(),
        _ => {
            return Err(TcError::new(
                "InvalidFilter",
                format!("The filter `{name}` is not supported."),
            ));
        }
    };
    Ok(values.iter().any(|v| field.contains(v)))
}

/// The `Filters` parameter: `[{Name, Values: [..]}]`.
pub(super) fn filters<'a>(p: &Params<'a>) -> Result<Vec<(&'a str, Vec<&'a str>)>, TcError> {
    let Some(value) = p.get("Filters") else {
        return Ok(Vec::new());
    };
    let bad = || TcError::parameter_type("Filters");
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|f| {
            let name = f.get("Name").and_then(Value::as_str).ok_or_else(bad)?;
            let values = f
                .get("Values")
                .and_then(Value::as_array)
                .ok_or_else(bad)?
                .iter()
                .map(|v| v.as_str().ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((name, values))
        })
        .collect()
}

/// `InvalidInstanceId.Malformed` unless every id looks like `ins-xxxxxxxx`.
fn check_ids(ids: &[&str]) -> Result<(), TcError> {
    match ids.iter().find(|id| !state::is_id("ins", id)) {
        Some(id) => Err(TcError::new(
            "InvalidInstanceId.Malformed",
            format!("The instance id `{id}` is malformed."),
        )),
        None => Ok(()),
    }
}

/// `DescribeInstances {InstanceIds?, Filters?, Offset?, Limit?}` → `{TotalCount, InstanceSet}`.
fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds", "Filters", "Offset", "Limit"])?;
    let ids = p.str_list("InstanceIds")?;
    let filters = filters(p)?;
    if ids.is_some() && !filters.is_empty() {
        return Err(TcError::new(
            "InvalidParameterCoexistInstanceIdsFilters",
            "`InstanceIds` and `Filters` cannot be given together.",
        ));
    }
    if let Some(ids) = &ids {
        if ids.len() > 100 {
            return Err(TcError::out_of_range(
                "InstanceIds",
                &ids.len().to_string(),
                "at most 100 ids",
            ));
        }
        check_ids(ids)?;
    }
    let limit = p.uint("Limit")?.unwrap_or(20);
    if limit > 100 {
        return Err(TcError::out_of_range(
            "Limit",
            &limit.to_string(),
            "0 to 100",
        ));
    }
    let offset = p.uint("Offset")?.unwrap_or(0);
    let mut matched = Vec::new();
    for instance in state.instances.get(call.region).into_iter().flatten() {
        if ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&instance.instance_id.as_str()))
        {
            continue;
        }
        let mut keep = true;
        for (name, values) in &filters {
            keep &= filter_matches(instance, name, values)?;
        }
        if keep {
            matched.push(instance);
        }
    }
    let (total, page) = state::page(matched, offset, limit);
    Ok(json!({ "TotalCount": total, "InstanceSet": page }))
}

/// `UnsupportedOperation.InstanceState<State>` for an instance in `state`.
fn wrong_state(id: &str, state: &str) -> TcError {
    let code = match state {
        "PENDING" => "UnsupportedOperation.InstanceStatePending",
        "RUNNING" => "UnsupportedOperation.InstanceStateRunning",
        "STARTING" => "UnsupportedOperation.InstanceStateStarting",
        "STOPPING" => "UnsupportedOperation.InstanceStateStopping",
        "STOPPED" => "UnsupportedOperation.InstanceStateStopped",
        "SHUTDOWN" => "UnsupportedOperation.InstanceStateShutdown",
        _ => "UnsupportedOperation.InstanceStateTerminating",
    };
    TcError::new(
        code,
        format!("The instance `{id}` is {state}; the operation is not supported in that state."),
    )
}

/// The `InstanceIds` parameter: 1 to 100 well-formed ids, each an instance in the call's region.
fn existing_ids<'a>(state: &State, call: &Call<'a>) -> Result<Vec<&'a str>, TcError> {
    let ids = call
        .params
        .str_list("InstanceIds")?
        .ok_or_else(|| TcError::missing_parameter("InstanceIds"))?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(TcError::out_of_range(
            "InstanceIds",
            &ids.len().to_string(),
            "1 to 100 ids",
        ));
    }
    check_ids(&ids)?;
    let instances = state.instances.get(call.region);
    if let Some(id) = ids.iter().find(|id| {
        !instances
            .into_iter()
            .flatten()
            .any(|i| i.instance_id == **id)
    }) {
        return Err(TcError::new(
            "InvalidInstanceId.NotFound",
            format!("The instance `{id}` does not exist."),
        ));
    }
    Ok(ids)
}

/// The instances of `ids` in `region`.
fn instances_mut<'s>(
    state: &'s mut State,
    region: &str,
    ids: &[&str],
) -> impl Iterator<Item = &'s mut Instance> {
    state
        .instances
        .get_mut(region)
        .into_iter()
        .flatten()
        .filter(move |i| ids.contains(&i.instance_id.as_str()))
}

/// Move every instance of `InstanceIds` from one of `from` to `via`, then to `to` after `ms`
/// (`None`: removed). All ids are checked before any changes.
fn transition(
    state: &mut State,
    call: &Call<'_>,
    extra: &[&str],
    from: &[&str],
    (via, to, ms): (&'static str, Option<&'static str>, u64),
) -> Result<Value, TcError> {
    let mut allowed = vec!["InstanceIds"];
    allowed.extend_from_slice(extra);
    call.params.only(&allowed)?;
    let ids = existing_ids(state, call)?;
    if let Some(instance) =
        instances_mut(state, call.region, &ids).find(|i| !from.contains(&i.instance_state))
    {
        return Err(wrong_state(&instance.instance_id, instance.instance_state));
    }
    for instance in instances_mut(state, call.region, &ids) {
        instance.instance_state = via;
        instance.next = Some((to, call.now_ms.saturating_add(ms)));
        instance.record(call, false);
    }
    Ok(json!({}))
}

/// `StartInstances {InstanceIds}` → `{}`: `STOPPED` → `STARTING` → `RUNNING`.
fn start(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    transition(
        state,
        call,
        &[],
        &["STOPPED"],
        ("STARTING", Some("RUNNING"), START_STOP_MS),
    )
}

/// `StopInstances {InstanceIds, StopType?, ForceStop?, StoppedMode?}` → `{}`: `RUNNING` →
/// `STOPPING` → `STOPPED`, sooner when forced.
fn stop(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    let kind = p.str("StopType")?;
    if let Some(kind) = kind
        && !["SOFT", "HARD", "SOFT_FIRST"].contains(&kind)
    {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{kind}` of parameter `StopType` is not supported."),
        ));
    }
    let forced = p.flag("ForceStop")? == Some(true) || kind == Some("HARD");
    transition(
        state,
        call,
        &["StopType", "ForceStop", "StoppedMode"],
        &["RUNNING"],
        (
            "STOPPING",
            Some("STOPPED"),
            if forced { FORCE_STOP_MS } else { START_STOP_MS },
        ),
    )
}

/// `TerminateInstances {InstanceIds}` → `{}`: any settled state → `SHUTDOWN` → gone.
fn terminate(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    transition(
        state,
        call,
        &["ReleaseAddress", "ReleasePrepaidDataDisks"],
        &["PENDING", "RUNNING", "STOPPED", "LAUNCH_FAILED"],
        ("SHUTDOWN", None, TERMINATE_MS),
    )
}

/// `ModifyInstancesAttribute {InstanceIds, InstanceName | SecurityGroups}` → `{}`. Tencent
/// changes one attribute per call; an instance being terminated cannot be changed.
fn modify(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds", "InstanceName", "SecurityGroups"])?;
    let name = p.str("InstanceName")?;
    let groups = p.str_list("SecurityGroups")?;
    match (name, &groups) {
        (Some(_), Some(_)) => {
            return Err(TcError::new(
                "InvalidParameter",
                "Only one attribute may be modified per call: `InstanceName` or `SecurityGroups`.",
            ));
        }
        (None, None) => return Err(TcError::missing_parameter("InstanceName")),
        _ => {}
    }
    let ids = existing_ids(state, call)?;
    if let Some(name) = name {
        if name.is_empty() {
            return Err(TcError::missing_parameter("InstanceName"));
        }
        check_name(name)?;
    }
    if let Some(groups) = &groups {
        check_security_groups(state, call.region, "SecurityGroups", groups)?;
    }
    if let Some(instance) = instances_mut(state, call.region, &ids)
        .find(|i| ["SHUTDOWN", "TERMINATING"].contains(&i.instance_state))
    {
        return Err(wrong_state(&instance.instance_id, instance.instance_state));
    }
    for instance in instances_mut(state, call.region, &ids) {
        if let Some(name) = name {
            instance.instance_name = name.to_owned();
        }
        if let Some(groups) = &groups {
            instance.security_group_ids = groups.iter().map(|g| (*g).to_owned()).collect();
        }
        instance.record(call, true);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvm_times_are_iso_utc() {
        assert_eq!(iso_time(1_630_048_316_000), "2021-08-27T07:11:56Z");
    }
}
