//! Elastic IPs and common bandwidth packages (VPC product).
//!
//! An EIP is `Available` when free and `InUse` when bound; binding passes through `Associating`
//! and unbinding through `Unassociating`, each for [`EIP_PENDING_MS`]. It can be bound to a NAT
//! gateway (`Nat`) or an ECS instance (`EcsInstance`).

use serde_json::{Value, json};

use super::Call;
use super::common::{id_filter, new_resource, page, view};
use super::error::AliError;
use super::nat::ip_in_use;
use super::state::State;

/// How long an EIP association change takes, in simulated ms.
pub const EIP_PENDING_MS: u64 = 3_000;

/// The EIP and bandwidth package actions of the VPC product.
pub(crate) const ACTIONS: &[&str] = &[
    "AllocateEipAddress",
    "DescribeEipAddresses",
    "ReleaseEipAddress",
    "AssociateEipAddress",
    "UnassociateEipAddress",
    "CreateCommonBandwidthPackage",
    "DescribeCommonBandwidthPackages",
    "AddCommonBandwidthPackageIp",
    "RemoveCommonBandwidthPackageIp",
];

/// Runs an EIP or bandwidth package action.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "AllocateEipAddress" => allocate(state, call),
        "DescribeEipAddresses" => Ok(describe(state, call)),
        "ReleaseEipAddress" => release(state, call),
        "AssociateEipAddress" => associate(state, call),
        "UnassociateEipAddress" => unassociate(state, call),
        "CreateCommonBandwidthPackage" => create_package(state, call),
        "DescribeCommonBandwidthPackages" => Ok(describe_packages(state, call)),
        "AddCommonBandwidthPackageIp" => package_ip(state, call, true),
        "RemoveCommonBandwidthPackageIp" => package_ip(state, call, false),
        other => Err(AliError::unknown_action(other)),
    }
}

fn allocate(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let bandwidth = call.get("Bandwidth").unwrap_or("5");
    if bandwidth.parse::<u32>().map_or(true, |b| b == 0 || b > 500) {
        return Err(AliError::invalid_parameter(
            "Bandwidth",
            "It must be 1 to 500 Mbit/s.",
        ));
    }
    let n = state.list(call.region, "eip").count() + state.ids(call.region, "eip-released").len();
    let address = format!("47.74.{}.{}", n / 250, n % 250 + 1);
    let id = new_resource(
        state,
        call,
        "eip",
        0,
        json!({"IpAddress": address, "Bandwidth": bandwidth, "InstanceId": "", "InstanceType": "",
            "BandwidthPackageId": "",
            "InternetChargeType": call.get("InternetChargeType").unwrap_or("PayByBandwidth"),
            "ChargeType": call.get("InstanceChargeType").unwrap_or("PostPaid")}),
    );
    Ok(json!({"AllocationId": id, "EipAddress": address}))
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "eip")
        .filter(|e| {
            id_filter(call, "AllocationId", &e.id)
                && call
                    .get("EipAddress")
                    .is_none_or(|ip| e.attr("IpAddress") == ip)
                && call
                    .get("AssociatedInstanceId")
                    .is_none_or(|i| e.attr("InstanceId") == i)
        })
        .map(|e| {
            let mut item = view(e, call.now_ms, json!({"AllocationId": e.id}));
            // Free and bound EIPs differ by status, which follows the binding.
            if e.status(call.now_ms) == "Available" && !e.attr("InstanceId").is_empty() {
                item["Status"] = json!("InUse");
            }
            item
        })
        .collect();
    page(items, "EipAddresses", "EipAddress")
}

fn eip<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a super::state::Resource, AliError> {
    let id = call.require("AllocationId")?;
    state
        .get(call.region, "eip", id)
        .ok_or_else(|| AliError::not_found("InvalidAllocationId.NotFound", "EIP"))
}

fn release(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let e = eip(state, call)?;
    if !e.attr("InstanceId").is_empty() || e.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectEipStatus", "EIP"));
    }
    if !e.attr("BandwidthPackageId").is_empty() {
        return Err(AliError::new(
            400,
            "OperationFailed.EipInBandwidthPackage",
            "The EIP is in a common bandwidth package; remove it first.",
        ));
    }
    let id = e.id.clone();
    state.remove(call.region, "eip", &id);
    Ok(json!({}))
}

fn associate(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let e = eip(state, call)?;
    let instance = call.require("InstanceId")?.to_owned();
    let kind = call.get("InstanceType").unwrap_or("EcsInstance").to_owned();
    if !e.attr("InstanceId").is_empty() || e.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectEipStatus", "EIP"));
    }
    let (prefix, code) = match kind.as_str() {
        "Nat" => ("ngw", "InvalidNatGatewayId.NotFound"),
        "EcsInstance" => ("i", "InvalidInstanceId.NotFound"),
        "SlbInstance" => ("lb", "InvalidLoadBalancerId.NotFound"),
        _ => {
            return Err(AliError::invalid_parameter(
                "InstanceType",
                "Valid values: Nat, EcsInstance, SlbInstance.",
            ));
        }
    };
    let target = call.get("InstanceRegionId").unwrap_or(call.region);
    if state
        .get(target, prefix, &instance)
        .is_none_or(|r| r.gone_ms.is_some())
    {
        return Err(AliError::not_found(code, "instance"));
    }
    let id = e.id.clone();
    let now = call.now_ms;
    if let Some(e) = state.get_mut(call.region, "eip", &id) {
        e.set("InstanceId", instance);
        e.set("InstanceType", kind);
        e.transition("Associating", "Available", now, EIP_PENDING_MS);
    }
    Ok(json!({}))
}

fn unassociate(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let e = eip(state, call)?;
    let instance = call.require("InstanceId")?;
    if e.attr("InstanceId") != instance || e.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectEipStatus", "EIP"));
    }
    if ip_in_use(state, call.region, instance, e.attr("IpAddress")) {
        return Err(AliError::new(
            400,
            "InvalidIpStatus.HasBeenUsedBySnatTable",
            "The EIP is used by an SNAT entry of the NAT gateway.",
        ));
    }
    let id = e.id.clone();
    let now = call.now_ms;
    if let Some(e) = state.get_mut(call.region, "eip", &id) {
        e.set("InstanceId", "");
        e.set("InstanceType", "");
        e.transition("Unassociating", "Available", now, EIP_PENDING_MS);
    }
    Ok(json!({}))
}

fn create_package(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let bandwidth = call.require("Bandwidth")?;
    let id = new_resource(
        state,
        call,
        "cbwp",
        0,
        json!({"Name": call.get("Name").unwrap_or(""), "Bandwidth": bandwidth}),
    );
    Ok(json!({"BandwidthPackageId": id}))
}

fn describe_packages(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "cbwp")
        .filter(|p| {
            id_filter(call, "BandwidthPackageId", &p.id)
                && call.get("Name").is_none_or(|n| p.attr("Name") == n)
        })
        .map(|p| {
            let ips: Vec<Value> = state
                .list(call.region, "eip")
                .filter(|e| e.attr("BandwidthPackageId") == p.id)
                .map(|e| json!({"AllocationId": e.id, "IpAddress": e.attr("IpAddress")}))
                .collect();
            view(
                p,
                call.now_ms,
                json!({"BandwidthPackageId": p.id,
                    "PublicIpAddresses": {"PublicIpAddresse": ips}}),
            )
        })
        .collect();
    page(items, "CommonBandwidthPackages", "CommonBandwidthPackage")
}

fn package_ip(state: &mut State, call: &Call<'_>, add: bool) -> Result<Value, AliError> {
    let package = call.require("BandwidthPackageId")?;
    let ip = call.require("IpInstanceId")?;
    if state.get(call.region, "cbwp", package).is_none() {
        return Err(AliError::not_found(
            "InvalidBandwidthPackageId.NotFound",
            "bandwidth package",
        ));
    }
    let e = state
        .get_mut(call.region, "eip", ip)
        .ok_or_else(|| AliError::not_found("InvalidIpInstanceId.NotFound", "EIP"))?;
    let current = e.attr("BandwidthPackageId").to_owned();
    match (add, current.as_str()) {
        (true, "") => e.set("BandwidthPackageId", package),
        (false, c) if c == package => e.set("BandwidthPackageId", ""),
        _ => {
            return Err(AliError::incorrect_status(
                "OperationFailed.IpInstanceStatus",
                "EIP in this bandwidth package",
            ));
        }
    }
    Ok(json!({}))
}
