//! NAT gateways of the VPC product: `CreateNatGateway`, `DescribeNatGateways`,
//! `DeleteNatGateway`.
//!
//! Gateways change state in simulated time ([`crate::TencentSimConfig::clock`]), as on Tencent:
//! - `CreateNatGateway` → `PENDING` (its EIPs `BINDING`), `AVAILABLE` (EIPs `BIND`)
//!   [`CREATE_MS`] later;
//! - `DeleteNatGateway` (from `AVAILABLE` or `FAILED`) → `DELETING` (EIPs `UNBINDING`), gone
//!   [`DELETE_MS`] later. Then the EIPs it allocated itself (`AddressCount`) are released with it
//!   and the caller's own (`PublicIpAddresses`) are unbound (see `address.rs`).
//!
//! `CreateNatGateway` needs at least one of `AddressCount` and `PublicIpAddresses` (at most 10
//! EIPs in all); `InternetMaxBandwidthOut` is one of [`BANDWIDTHS`] (default 100),
//! `MaxConcurrentConnection` one of [`MAX_CONCURRENT`] (default 1000000). A given EIP must exist
//! (`InvalidAddressId.NotFound`) and be free (`UnsupportedOperation.AddressStatusNotPermit`).
//! `DescribeNatGateways` with an unknown id is `ResourceNotFound`, like the other describes.

use serde::Serialize;
use serde_json::{Value, json};

use super::Call;
use super::address::{self, MAX_PER_CALL};
use super::cvm::filters;
use super::error::TcError;
use super::state::{self, State};
use super::vpc::{Tag, required_name, tags};

/// From `CreateNatGateway` to `AVAILABLE`.
pub const CREATE_MS: u64 = 60_000;
/// From `DeleteNatGateway` until the gateway is gone.
pub const DELETE_MS: u64 = 30_000;
/// The values `InternetMaxBandwidthOut` may take, in Mbps.
pub const BANDWIDTHS: &[u64] = &[20, 50, 100, 200, 500, 1000, 2000, 5000];
/// The values `MaxConcurrentConnection` may take.
pub const MAX_CONCURRENT: &[u64] = &[1_000_000, 3_000_000, 10_000_000];

/// One NAT gateway, serialised as `DescribeNatGateways` returns it (plus `PublicIpAddressSet`,
/// built from the EIPs bound to it).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NatGateway {
    pub(crate) nat_gateway_id: String,
    nat_gateway_name: String,
    created_time: String,
    pub(crate) state: &'static str,
    network_state: &'static str,
    internet_max_bandwidth_out: u64,
    max_concurrent_connection: u64,
    pub(crate) vpc_id: String,
    zone: String,
    tag_set: Vec<Tag>,
    /// The state it moves to next and when (simulated ms); `None` state: removed.
    #[serde(skip)]
    next: Option<(Option<&'static str>, u64)>,
}

/// Apply every transition due at `now_ms`, with the EIPs following their gateway.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    let mut done: Vec<(String, String, Option<&'static str>)> = Vec::new();
    for (region, gateways) in &mut state.nat_gateways {
        gateways.retain_mut(|g| match g.next {
            Some((next, at)) if at <= now_ms => {
                done.push((region.clone(), g.nat_gateway_id.clone(), next));
                match next {
                    Some(next) => {
                        g.state = next;
                        g.next = None;
                        true
                    }
                    None => false,
                }
            }
            _ => true,
        });
    }
    for (region, id, next) in done {
        match next {
            Some(_) => address::set_status(state, &region, &id, "BIND"),
            None => address::unbind_all(state, &region, &id),
        }
    }
}

/// How many NAT gateways of `region` are in VPC `vpc_id` (a VPC with any cannot be deleted).
pub(crate) fn in_vpc(state: &State, region: &str, vpc_id: &str) -> usize {
    state
        .nat_gateways
        .get(region)
        .map_or(0, |g| g.iter().filter(|g| g.vpc_id == vpc_id).count())
}

/// A gateway with its `PublicIpAddressSet`.
fn to_json(state: &State, region: &str, gateway: &NatGateway) -> Value {
    let mut value = json!(gateway);
    let addresses: Vec<Value> = address::bound_to(state, region, &gateway.nat_gateway_id)
        .map(|a| json!({"AddressId": a.address_id, "PublicIpAddress": a.address_ip, "IsBlocked": false}))
        .collect();
    value["PublicIpAddressSet"] = json!(addresses);
    value
}

/// An optional integer parameter that must be one of `allowed` (`default` when absent).
fn one_of(call: &Call<'_>, name: &str, allowed: &[u64], default: u64) -> Result<u64, TcError> {
    let value = call.params.uint(name)?.unwrap_or(default);
    if allowed.contains(&value) {
        Ok(value)
    } else {
        let list: Vec<String> = allowed.iter().map(u64::to_string).collect();
        Err(TcError::out_of_range(
            name,
            &value.to_string(),
            &format!("one of {}", list.join(", ")),
        ))
    }
}

/// `CreateNatGateway {VpcId, NatGatewayName, InternetMaxBandwidthOut?, MaxConcurrentConnection?,
/// AddressCount?, PublicIpAddresses?, Zone?, Tags?}` → `{NatGatewaySet, TotalCount}`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "VpcId",
        "NatGatewayName",
        "InternetMaxBandwidthOut",
        "MaxConcurrentConnection",
        "AddressCount",
        "PublicIpAddresses",
        "Zone",
        "Tags",
        "SubnetId",
    ])?;
    let vpc_id = p.required_str("VpcId")?;
    let name = required_name(p, "NatGatewayName")?;
    state.vpc(call.region, "VpcId", vpc_id)?;
    let bandwidth = one_of(call, "InternetMaxBandwidthOut", BANDWIDTHS, 100)?;
    let max_concurrent = one_of(call, "MaxConcurrentConnection", MAX_CONCURRENT, 1_000_000)?;
    let count = p.uint("AddressCount")?.unwrap_or(0);
    let ips = p.str_list("PublicIpAddresses")?.unwrap_or_default();
    if count == 0 && ips.is_empty() {
        return Err(TcError::new(
            "MissingParameter",
            "At least one of the parameters `AddressCount` and `PublicIpAddresses` is required.",
        ));
    }
    let total = count.saturating_add(ips.len() as u64);
    if total > MAX_PER_CALL {
        return Err(TcError::out_of_range(
            "AddressCount",
            &total.to_string(),
            "at most 10 EIPs per NAT gateway",
        ));
    }
    let zone = p
        .str("Zone")?
        .map_or_else(|| format!("{}-1", call.region), str::to_owned);
    let tags = tags(p)?;
    let mut assigned = Vec::new();
    for ip in &ips {
        let address = state
            .addresses
            .get(call.region)
            .into_iter()
            .flatten()
            .find(|a| a.address_ip == *ip)
            .ok_or_else(|| {
                TcError::new(
                    "InvalidAddressId.NotFound",
                    format!("The EIP `{ip}` does not exist."),
                )
            })?;
        if address.address_status != "UNBIND" {
            return Err(TcError::new(
                "UnsupportedOperation.AddressStatusNotPermit",
                format!(
                    "The EIP `{ip}` is {}; only an unbound EIP can be bound.",
                    address.address_status
                ),
            ));
        }
        assigned.push(address.address_id.clone());
    }

    let id = state.new_id("nat");
    for address in state.addresses.get_mut(call.region).into_iter().flatten() {
        if assigned.contains(&address.address_id) {
            address.instance_id = Some(id.clone());
            address.address_status = "BINDING";
        }
    }
    for _ in 0..count {
        address::allocate(state, call.region, Some(&id), true);
    }
    let gateway = NatGateway {
        nat_gateway_id: id,
        nat_gateway_name: name.to_owned(),
        created_time: state::created_time(),
        state: "PENDING",
        network_state: "AVAILABLE",
        internet_max_bandwidth_out: bandwidth,
        max_concurrent_connection: max_concurrent,
        vpc_id: vpc_id.to_owned(),
        zone,
        tag_set: tags,
        next: Some((Some("AVAILABLE"), call.now_ms.saturating_add(CREATE_MS))),
    };
    let value = to_json(state, call.region, &gateway);
    state
        .nat_gateways
        .entry(call.region.to_owned())
        .or_default()
        .push(gateway);
    Ok(json!({ "NatGatewaySet": [value], "TotalCount": 1 }))
}

/// Whether `gateway` passes filter `name` with `values`.
fn filter_matches(gateway: &NatGateway, name: &str, values: &[&str]) -> Result<bool, TcError> {
    let field = match name {
        "nat-gateway-id" => gateway.nat_gateway_id.as_str(),
        "vpc-id" => gateway.vpc_id.as_str(),
        "nat-gateway-name" => gateway.nat_gateway_name.as_str(),
        _ => {
            return Err(TcError::new(
                "InvalidParameter.FilterInvalidKey",
                format!("The filter name `{name}` is not supported."),
            ));
        }
    };
    Ok(values.contains(&field))
}

/// `DescribeNatGateways {NatGatewayIds?, Filters?, Offset?, Limit?}` →
/// `{NatGatewaySet, TotalCount}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["NatGatewayIds", "Filters", "Offset", "Limit"])?;
    let ids = p.str_list("NatGatewayIds")?;
    let filters = filters(p)?;
    if ids.is_some() && !filters.is_empty() {
        return Err(TcError::new(
            "InvalidParameter.Coexist",
            "The parameters `NatGatewayIds` and `Filters` cannot be specified at the same time.",
        ));
    }
    let mut gateways = Vec::new();
    for gateway in state.nat_gateways.get(call.region).into_iter().flatten() {
        let mut keep = true;
        for (name, values) in &filters {
            keep &= filter_matches(gateway, name, values)?;
        }
        if keep {
            gateways.push(gateway);
        }
    }
    let (total, page) = state::describe_page(
        &gateways,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("nat", "NatGatewayIds"),
        |g| &g.nat_gateway_id,
    )?;
    let page: Vec<Value> = page
        .into_iter()
        .map(|g| to_json(state, call.region, g))
        .collect();
    Ok(json!({ "NatGatewaySet": page, "TotalCount": total }))
}

/// `DeleteNatGateway {NatGatewayId}` → `{}`: `AVAILABLE`/`FAILED` → `DELETING` → gone.
pub(super) fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["NatGatewayId"])?;
    let id = p.required_str("NatGatewayId")?;
    state::check_id("nat", "NatGatewayId", id)?;
    let gateway = state
        .nat_gateways
        .get_mut(call.region)
        .into_iter()
        .flatten()
        .find(|g| g.nat_gateway_id == id)
        .ok_or_else(TcError::resource_not_found)?;
    if !matches!(gateway.state, "AVAILABLE" | "FAILED") {
        return Err(TcError::new(
            "UnsupportedOperation.NatGatewayStatusNotPermit",
            format!(
                "The NAT gateway `{id}` is {}; it cannot be deleted now.",
                gateway.state
            ),
        ));
    }
    gateway.state = "DELETING";
    gateway.next = Some((None, call.now_ms.saturating_add(DELETE_MS)));
    address::set_status(state, call.region, id, "UNBINDING");
    Ok(json!({}))
}

/// Test helpers on the simulator handle.
impl super::TencentSim {
    /// The ids of the NAT gateways in `region` (deleting ones until they are gone).
    pub fn nat_gateway_ids(&self, region: &str) -> Vec<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        advance(&mut state, now);
        state
            .nat_gateways
            .get(region)
            .into_iter()
            .flatten()
            .map(|g| g.nat_gateway_id.clone())
            .collect()
    }

    /// The `State` of NAT gateway `id` in `region`, if it exists.
    pub fn nat_gateway_state(&self, region: &str, id: &str) -> Option<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        advance(&mut state, now);
        state
            .nat_gateways
            .get(region)?
            .iter()
            .find(|g| g.nat_gateway_id == id)
            .map(|g| g.state.to_owned())
    }
}
