//! The CVM product (`cvm`, version `2017-03-12`): `RunInstances`, `DescribeInstances`,
//! `StartInstances`, `StopInstances`, `TerminateInstances`.
//!
//! Instances change state in simulated time ([`crate::TencentSimConfig::clock`]), as on Tencent:
//! - `RunInstances` → `PENDING`, `RUNNING` [`BOOT_MS`] later;
//! - `StartInstances` (from `STOPPED`) → `STARTING`, `RUNNING` [`START_STOP_MS`] later;
//! - `StopInstances` (from `RUNNING`) → `STOPPING`, `STOPPED` [`START_STOP_MS`] later;
//! - `TerminateInstances` → `SHUTDOWN`, gone [`TERMINATE_MS`] later.
//!
//! An action in the wrong state is `UnsupportedOperation.InstanceState<State>`; an id that is not
//! `ins-` plus 8 characters is `InvalidInstanceId.Malformed`, an unknown one
//! `InvalidInstanceId.NotFound` (`DescribeInstances` just omits unknown ids). The network must
//! exist in the VPC product's state; a private address is allocated from the subnet's block.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::error::TcError;
use super::params::Params;
use super::state::{self, State};
use super::vpc::parse_cidr;
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
    ],
    regional: true,
    handle,
};

/// From `RunInstances` to `RUNNING`.
pub const BOOT_MS: u64 = 20_000;
/// From `StartInstances` to `RUNNING`, and from `StopInstances` to `STOPPED`.
pub const START_STOP_MS: u64 = 10_000;
/// From `TerminateInstances` until the instance is gone.
pub const TERMINATE_MS: u64 = 15_000;

/// Instance types the simulator knows: (type, cores, memory GB).
const INSTANCE_TYPES: &[(&str, u64, u64)] = &[
    ("S2.SMALL1", 1, 1),
    ("S2.SMALL2", 1, 2),
    ("S2.MEDIUM4", 2, 4),
    ("S2.LARGE8", 4, 8),
    ("S5.SMALL1", 1, 1),
    ("S5.SMALL2", 1, 2),
    ("S5.MEDIUM4", 2, 4),
    ("S5.LARGE8", 4, 8),
    ("SA2.MEDIUM4", 2, 4),
];

/// Public images the simulator knows (the spec's example image included).
const IMAGES: &[&str] = &[
    "img-31tjrtph",
    "img-8toqc6s3",
    "img-pi0ii46r",
    "img-l8og963d",
];

/// Special characters Tencent accepts in a Linux password.
const PASSWORD_SPECIALS: &str = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";

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
    disk_size: u64,
}

/// One instance, serialised as `DescribeInstances` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Instance {
    pub(crate) instance_id: String,
    instance_name: String,
    pub(crate) instance_state: &'static str,
    instance_type: String,
    #[serde(rename = "CPU")]
    cpu: u64,
    memory: u64,
    image_id: String,
    instance_charge_type: String,
    placement: Placement,
    virtual_private_cloud: Network,
    system_disk: SystemDisk,
    private_ip_addresses: Vec<String>,
    public_ip_addresses: Option<Vec<String>>,
    created_time: String,
    /// The state it moves to next and when (simulated ms).
    #[serde(skip)]
    next: Option<(Option<&'static str>, u64)>,
}

impl Instance {
    /// The subnet the instance is in.
    pub(crate) fn subnet_id(&self) -> &str {
        &self.virtual_private_cloud.subnet_id
    }

    /// The zone the instance is in.
    pub(crate) fn zone(&self) -> &str {
        &self.placement.zone
    }
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "RunInstances" => run(state, call),
        "DescribeInstances" => describe(state, call),
        "StartInstances" => start(state, call),
        "StopInstances" => stop(state, call),
        "TerminateInstances" => terminate(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every transition due at `now_ms`: a due `Some(state)` becomes the state, a due `None`
/// removes the instance.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for instances in state.instances.values_mut() {
        instances.retain_mut(|i| match i.next {
            Some((next, at)) if at <= now_ms => match next {
                Some(next) => {
                    i.instance_state = next;
                    i.next = None;
                    true
                }
                None => false,
            },
            _ => true,
        });
    }
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

/// A required string member `field` of object parameter `parent`.
pub(crate) fn required_member<'a>(
    parent: Option<&'a Map<String, Value>>,
    name: &str,
    field: &str,
) -> Result<&'a str, TcError> {
    member_str(parent, name, field)?
        .ok_or_else(|| TcError::missing_parameter(&format!("{name}.{field}")))
}

/// Whether `password` meets Tencent's Linux rule: 8–30 characters of letters, digits and
/// [`PASSWORD_SPECIALS`], with at least three of the four classes.
pub(crate) fn password_ok(password: &str) -> bool {
    let len = password.chars().count();
    if !(8..=30).contains(&len) {
        return false;
    }
    let mut classes = [false; 4];
    for c in password.chars() {
        match c {
            'a'..='z' => classes[0] = true,
            'A'..='Z' => classes[1] = true,
            '0'..='9' => classes[2] = true,
            c if PASSWORD_SPECIALS.contains(c) => classes[3] = true,
            _ => return false,
        }
    }
    classes.iter().filter(|c| **c).count() >= 3
}

/// The first free address of the subnet block `cidr` (network, gateway and broadcast reserved).
fn allocate_ip(state: &State, region: &str, subnet_id: &str, cidr: &str) -> Option<String> {
    let (network, prefix) = parse_cidr("CidrBlock", cidr).ok()?;
    let size = 1u64 << (32 - u32::from(prefix));
    let used: Vec<&str> = state
        .instances
        .get(region)
        .into_iter()
        .flatten()
        .filter(|i| i.virtual_private_cloud.subnet_id == subnet_id)
        .flat_map(|i| i.private_ip_addresses.iter().map(String::as_str))
        .collect();
    (2..size.saturating_sub(1))
        .map(|offset| Ipv4Addr::from(network + u32::try_from(offset).unwrap_or(0)).to_string())
        .find(|ip| !used.contains(&ip.as_str()))
}

/// `RunInstances {Placement{Zone}, ImageId, InstanceType, VirtualPrivateCloud{VpcId, SubnetId,
/// PrivateIpAddresses?}, InstanceName?, LoginSettings{Password}?, InstanceChargeType?,
/// InstanceChargePrepaid?, SystemDisk?, InternetAccessible?, …}` → `{InstanceIdSet}`.
fn run(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "Placement",
        "ImageId",
        "InstanceType",
        "InstanceChargeType",
        "InstanceChargePrepaid",
        "SystemDisk",
        "DataDisks",
        "VirtualPrivateCloud",
        "InternetAccessible",
        "InstanceCount",
        "InstanceName",
        "LoginSettings",
        "SecurityGroupIds",
        "EnhancedService",
        "ClientToken",
        "HostName",
        "TagSpecification",
        "DryRun",
    ])?;
    let placement = object(p, "Placement")?;
    let zone = required_member(placement, "Placement", "Zone")?;
    if !zone
        .strip_prefix(call.region)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TcError::new(
            "InvalidZone.MismatchRegion",
            format!(
                "The zone `{zone}` is not a zone of region `{}`.",
                call.region
            ),
        ));
    }
    let image = p.required_str("ImageId")?;
    if !state::is_id("img", image) {
        return Err(TcError::new(
            "InvalidImageId.Malformed",
            format!("The image id `{image}` is malformed."),
        ));
    }
    if !IMAGES.contains(&image) {
        return Err(TcError::new(
            "InvalidImageId.NotFound",
            format!("The image `{image}` does not exist."),
        ));
    }
    let instance_type = p.str("InstanceType")?.unwrap_or("S5.SMALL1");
    let &(_, cpu, memory) = INSTANCE_TYPES
        .iter()
        .find(|(t, _, _)| *t == instance_type)
        .ok_or_else(|| {
            TcError::new(
                "InvalidInstanceType.Malformed",
                format!("The instance type `{instance_type}` does not exist."),
            )
        })?;
    let charge_type = p.str("InstanceChargeType")?.unwrap_or("POSTPAID_BY_HOUR");
    match charge_type {
        "POSTPAID_BY_HOUR" | "SPOTPAID" | "CDHPAID" => {}
        "PREPAID" => {
            let prepaid = object(p, "InstanceChargePrepaid")?;
            if prepaid.and_then(|o| o.get("Period")).is_none() {
                return Err(TcError::missing_parameter("InstanceChargePrepaid.Period"));
            }
        }
        other => {
            return Err(TcError::new(
                "InvalidParameterValue",
                format!("The value `{other}` of parameter `InstanceChargeType` is not supported."),
            ));
        }
    }
    let disk = object(p, "SystemDisk")?;
    let disk_size = match disk
        .and_then(|d| d.get("DiskSize"))
        .filter(|v| !v.is_null())
    {
        None => 50,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| TcError::parameter_type("SystemDisk.DiskSize"))?,
    };
    if !(20..=1024).contains(&disk_size) {
        return Err(TcError::out_of_range(
            "SystemDisk.DiskSize",
            &disk_size.to_string(),
            "20 to 1024",
        ));
    }
    let disk_type = member_str(disk, "SystemDisk", "DiskType")?.unwrap_or("CLOUD_PREMIUM");
    if let Some(count) = p.uint("InstanceCount")?
        && count != 1
    {
        return Err(TcError::out_of_range(
            "InstanceCount",
            &count.to_string(),
            "1 (the simulator creates one instance per call)",
        ));
    }
    let name = p.str("InstanceName")?.unwrap_or("未命名");
    if name.chars().count() > 60 {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            "The value of parameter `InstanceName` is longer than 60 characters.",
        ));
    }
    let login = object(p, "LoginSettings")?;
    if let Some(password) = member_str(login, "LoginSettings", "Password")?
        && !password_ok(password)
    {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidPassword",
            "The password must be 8 to 30 characters with at least three of: lower-case \
             letters, upper-case letters, digits and special characters.",
        ));
    }
    let network = object(p, "VirtualPrivateCloud")?;
    let vpc_id = required_member(network, "VirtualPrivateCloud", "VpcId")?;
    let subnet_id = required_member(network, "VirtualPrivateCloud", "SubnetId")?;
    if !state::is_id("vpc", vpc_id)
        || state
            .vpc(call.region, "VirtualPrivateCloud.VpcId", vpc_id)
            .is_err()
    {
        return Err(TcError::new(
            "InvalidParameterValue.VpcIdNotExist",
            format!("The VPC `{vpc_id}` does not exist."),
        ));
    }
    let subnet = state
        .subnets
        .get(call.region)
        .into_iter()
        .flatten()
        .find(|s| s.subnet_id == subnet_id && s.vpc_id == vpc_id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue.SubnetNotExist",
                format!("The subnet `{subnet_id}` does not exist in VPC `{vpc_id}`."),
            )
        })?;
    if subnet.zone != zone {
        return Err(TcError::new(
            "InvalidParameterValue.ZoneNotMatch",
            format!(
                "The subnet `{subnet_id}` is in zone `{}`, not `{zone}`.",
                subnet.zone
            ),
        ));
    }
    let cidr = subnet.cidr_block.clone();
    let requested_ip = match network
        .and_then(|n| n.get("PrivateIpAddresses"))
        .filter(|v| !v.is_null())
    {
        None => None,
        Some(v) => v
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(Some)
            .ok_or_else(|| TcError::parameter_type("VirtualPrivateCloud.PrivateIpAddresses"))?,
    };
    let ip = match requested_ip {
        Some(ip) => {
            let block = parse_cidr("CidrBlock", &cidr)?;
            let parsed: Ipv4Addr = ip.parse().map_err(|_| {
                TcError::new(
                    "InvalidParameterValue.IPAddressMalformed",
                    format!("The address `{ip}` is malformed."),
                )
            })?;
            let mask = u32::MAX.checked_shl(32 - u32::from(block.1)).unwrap_or(0);
            if u32::from(parsed) & mask != block.0 {
                return Err(TcError::new(
                    "InvalidParameterValue.VpcIpIsNotInSubnet",
                    format!("The address `{ip}` is not in subnet `{subnet_id}` ({cidr})."),
                ));
            }
            let taken = state
                .instances
                .values()
                .flatten()
                .any(|i| i.private_ip_addresses.iter().any(|a| a == ip));
            if taken {
                return Err(TcError::new(
                    "InvalidParameterValue.VpcIpIsUsed",
                    format!("The address `{ip}` is already in use."),
                ));
            }
            ip.to_owned()
        }
        None => allocate_ip(state, call.region, subnet_id, &cidr).ok_or_else(|| {
            TcError::new(
                "ResourceInsufficient.SubnetIpInsufficient",
                format!("Subnet `{subnet_id}` has no free address."),
            )
        })?,
    };
    if p.flag("DryRun")? == Some(true) {
        return Err(TcError::new(
            "DryRunOperation",
            "The request would have succeeded.",
        ));
    }
    let instance = Instance {
        instance_id: state.new_id("ins"),
        instance_name: name.to_owned(),
        instance_state: "PENDING",
        instance_type: instance_type.to_owned(),
        cpu,
        memory,
        image_id: image.to_owned(),
        instance_charge_type: charge_type.to_owned(),
        placement: Placement {
            zone: zone.to_owned(),
            project_id: 0,
        },
        virtual_private_cloud: Network {
            vpc_id: vpc_id.to_owned(),
            subnet_id: subnet_id.to_owned(),
            as_vpc_gateway: false,
        },
        system_disk: SystemDisk {
            disk_type: disk_type.to_owned(),
            disk_size,
        },
        private_ip_addresses: vec![ip],
        public_ip_addresses: None,
        created_time: state::created_time(),
        next: Some((Some("RUNNING"), call.now_ms.saturating_add(BOOT_MS))),
    };
    let id = instance.instance_id.clone();
    state
        .instances
        .entry(call.region.to_owned())
        .or_default()
        .push(instance);
    Ok(json!({ "InstanceIdSet": [id] }))
}

/// Whether `instance` passes filter `name` with `values` (`InvalidFilter` for unknown names).
fn filter_matches(instance: &Instance, name: &str, values: &[&str]) -> Result<bool, TcError> {
    let field: Vec<&str> = match name {
        "instance-id" => vec![&instance.instance_id],
        "instance-name" => vec![&instance.instance_name],
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
fn filters<'a>(p: &Params<'a>) -> Result<Vec<(&'a str, Vec<&'a str>)>, TcError> {
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
    let total = matched.len();
    let page: Vec<&Instance> = matched
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
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

/// Move every instance of `InstanceIds` from one of `from` to `via`, then to `to` after `ms`
/// (`None`: removed). All ids are checked before any changes.
fn transition(
    state: &mut State,
    call: &Call<'_>,
    extra: &[&str],
    from: &[&str],
    (via, to, ms): (&'static str, Option<&'static str>, u64),
) -> Result<Value, TcError> {
    let p = &call.params;
    let mut allowed = vec!["InstanceIds"];
    allowed.extend_from_slice(extra);
    p.only(&allowed)?;
    let ids = p
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
    let instances = state.instances.entry(call.region.to_owned()).or_default();
    for id in &ids {
        let instance = instances
            .iter()
            .find(|i| i.instance_id == *id)
            .ok_or_else(|| {
                TcError::new(
                    "InvalidInstanceId.NotFound",
                    format!("The instance `{id}` does not exist."),
                )
            })?;
        if !from.contains(&instance.instance_state) {
            return Err(wrong_state(id, instance.instance_state));
        }
    }
    for instance in instances
        .iter_mut()
        .filter(|i| ids.contains(&i.instance_id.as_str()))
    {
        instance.instance_state = via;
        instance.next = Some((to, call.now_ms.saturating_add(ms)));
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
/// `STOPPING` → `STOPPED`.
fn stop(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    if let Some(kind) = p.str("StopType")?
        && !["SOFT", "HARD", "SOFT_FIRST"].contains(&kind)
    {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{kind}` of parameter `StopType` is not supported."),
        ));
    }
    p.flag("ForceStop")?;
    transition(
        state,
        call,
        &["StopType", "ForceStop", "StoppedMode"],
        &["RUNNING"],
        ("STOPPING", Some("STOPPED"), START_STOP_MS),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_eight_to_thirty_characters_of_three_classes() {
        assert!(password_ok("Abcdefgh1234"));
        assert!(password_ok("abcdefg1!"));
        assert!(password_ok("ABCDEFG1@"));
        assert!(!password_ok("abcdefgh1234"), "two classes");
        assert!(!password_ok("Ab1!"), "too short");
        assert!(!password_ok(&format!("Ab1!{}", "a".repeat(27))), "too long");
        assert!(!password_ok("Abcdefg1 23"), "space is not allowed");
    }
}
