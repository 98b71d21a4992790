//! VPC peering connections of the VPC product: `CreateVpcPeeringConnection`,
//! `DescribeVpcPeeringConnections`, `AcceptVpcPeeringConnection`, `DeleteVpcPeeringConnection`.
//!
//! The simulator holds one account, [`ACCOUNT_UIN`] (the spec example's `peer_uin`), so:
//! - a connection to a VPC of this account (`DestinationUin` = [`ACCOUNT_UIN`]) needs no
//!   acceptance. The destination VPC must exist in `DestinationRegion` (`ResourceNotFound`), not
//!   be the source VPC, and not overlap its block (`UnsupportedOperation.CidrConflict`). Within
//!   one region it is `ACTIVE` at once; across regions it is `PENDING` while the cross-region
//!   link is set up and `ACTIVE` [`CROSS_REGION_MS`] later;
//! - a connection to another account is `PENDING` until that account accepts it
//!   (`AcceptVpcPeeringConnection`, called in the destination region), `EXPIRED` after
//!   [`ACCEPT_WINDOW_MS`] without acceptance.
//!
//! A cross-region connection needs `Bandwidth` (`MissingParameter`). `DeleteVpcPeeringConnection`
//! removes a same-region connection at once; a cross-region one is `DELETING` for
//! [`CROSS_REGION_MS`], then gone. A connection shows in both its regions.

use serde::Serialize;
use serde_json::{Value, json};

use super::cvm::filters;
use super::error::TcError;
use super::state::{self, State};
use super::vpc::{overlaps, parse_cidr, required_name};
use super::{Call, REGIONS};

/// The UIN of the one account the simulator holds.
pub const ACCOUNT_UIN: &str = "100011023753";
/// How long a cross-region link takes to come up (after creation or acceptance) or go down.
pub const CROSS_REGION_MS: u64 = 30_000;
/// How long a connection to another account waits for acceptance before it expires (7 days).
pub const ACCEPT_WINDOW_MS: u64 = 7 * 24 * 3600 * 1000;
/// The largest `Bandwidth`, in Mbps.
pub const MAX_BANDWIDTH: u64 = 10_000;

/// One peering connection, serialised as `DescribeVpcPeeringConnections` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Peering {
    source_vpc_id: String,
    peer_vpc_id: String,
    pub(crate) peering_connection_id: String,
    peering_connection_name: String,
    pub(crate) state: &'static str,
    created_time: String,
    bandwidth: u64,
    source_region: String,
    destination_region: String,
    destination_uin: String,
    #[serde(rename = "Type")]
    kind: String,
    /// Waiting for the other account's acceptance.
    #[serde(skip)]
    awaiting_acceptance: bool,
    /// The state it moves to next and when (simulated ms); `None` state: removed.
    #[serde(skip)]
    next: Option<(Option<&'static str>, u64)>,
}

impl Peering {
    fn cross_region(&self) -> bool {
        self.source_region != self.destination_region
    }

    /// Whether the connection shows in `region`.
    fn in_region(&self, region: &str) -> bool {
        self.source_region == region || self.destination_region == region
    }

    /// Whether it uses VPC `vpc_id` of `region`.
    fn uses(&self, region: &str, vpc_id: &str) -> bool {
        (self.source_region == region && self.source_vpc_id == vpc_id)
            || (self.destination_uin == ACCOUNT_UIN
                && self.destination_region == region
                && self.peer_vpc_id == vpc_id)
    }

    /// Become `ACTIVE`: at once within a region, after [`CROSS_REGION_MS`] across regions.
    fn activate(&mut self, now_ms: u64) {
        self.awaiting_acceptance = false;
        if self.cross_region() {
            self.state = "PENDING";
            self.next = Some((Some("ACTIVE"), now_ms.saturating_add(CROSS_REGION_MS)));
        } else {
            self.state = "ACTIVE";
            self.next = None;
        }
    }
}

/// Apply every transition due at `now_ms`.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    state.peerings.retain_mut(|p| match p.next {
        Some((next, at)) if at <= now_ms => match next {
            Some(next) => {
                p.state = next;
                p.next = None;
                p.awaiting_acceptance = false;
                true
            }
            None => false,
        },
        _ => true,
    });
}

/// How many peering connections use VPC `vpc_id` of `region` (a VPC with any cannot be deleted).
pub(crate) fn in_vpc(state: &State, region: &str, vpc_id: &str) -> usize {
    state
        .peerings
        .iter()
        .filter(|p| p.uses(region, vpc_id))
        .count()
}

/// The connection `id` visible in the call's region (`ResourceNotFound` otherwise).
fn find_mut<'a>(
    state: &'a mut State,
    call: &Call<'_>,
    id: &str,
) -> Result<&'a mut Peering, TcError> {
    state::check_id("pcx", "PeeringConnectionId", id)?;
    state
        .peerings
        .iter_mut()
        .find(|p| p.peering_connection_id == id && p.in_region(call.region))
        .ok_or_else(TcError::resource_not_found)
}

/// `CreateVpcPeeringConnection {SourceVpcId, PeeringConnectionName, DestinationVpcId,
/// DestinationUin, DestinationRegion, Bandwidth?, Type?, ChargeType?, QosLevel?, Tags?}` →
/// `{PeeringConnectionId}`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "SourceVpcId",
        "PeeringConnectionName",
        "DestinationVpcId",
        "DestinationUin",
        "DestinationRegion",
        "Bandwidth",
        "Type",
        "ChargeType",
        "QosLevel",
        "Tags",
    ])?;
    let source_id = p.required_str("SourceVpcId")?;
    let name = required_name(p, "PeeringConnectionName")?;
    let destination_id = p.required_str("DestinationVpcId")?;
    let uin = p.required_str("DestinationUin")?;
    let destination_region = p.required_str("DestinationRegion")?;
    let source_block = state
        .vpc(call.region, "SourceVpcId", source_id)?
        .cidr_block
        .clone();
    state::check_id("vpc", "DestinationVpcId", destination_id)?;
    if uin.is_empty() || !uin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{uin}` of parameter `DestinationUin` is not an account UIN."),
        ));
    }
    if !REGIONS.contains(&destination_region) {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!(
                "The value `{destination_region}` of parameter `DestinationRegion` is not a region."
            ),
        ));
    }
    let kind = p.str("Type")?.unwrap_or("VPCPEER");
    if !["VPCPEER", "VPCBMPEER"].contains(&kind) {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!(
                "The value `{kind}` of parameter `Type` is not supported (VPCPEER, VPCBMPEER)."
            ),
        ));
    }
    let cross_region = destination_region != call.region;
    let bandwidth = match p.uint("Bandwidth")? {
        Some(b) if (1..=MAX_BANDWIDTH).contains(&b) => b,
        Some(b) => {
            return Err(TcError::out_of_range(
                "Bandwidth",
                &b.to_string(),
                "1 to 10000 Mbps",
            ));
        }
        None if cross_region => {
            return Err(TcError::new(
                "MissingParameter",
                "The parameter `Bandwidth` is required for a cross-region peering connection.",
            ));
        }
        None => 0,
    };
    let same_account = uin == ACCOUNT_UIN;
    if same_account {
        if destination_region == call.region && destination_id == source_id {
            return Err(TcError::new(
                "InvalidParameterValue",
                "A VPC cannot be peered with itself.",
            ));
        }
        let destination_block = state
            .vpc(destination_region, "DestinationVpcId", destination_id)?
            .cidr_block
            .clone();
        if overlaps(
            parse_cidr("CidrBlock", &source_block)?,
            parse_cidr("CidrBlock", &destination_block)?,
        ) {
            return Err(TcError::new(
                "UnsupportedOperation.CidrConflict",
                format!(
                    "The blocks of `{source_id}` ({source_block}) and `{destination_id}` \
                     ({destination_block}) overlap."
                ),
            ));
        }
    }
    if state.peerings.iter().any(|p| {
        p.source_region == call.region
            && p.source_vpc_id == source_id
            && p.destination_region == destination_region
            && p.peer_vpc_id == destination_id
    }) {
        return Err(TcError::new(
            "UnsupportedOperation.VpcPeerAlreadyExist",
            format!("A peering connection between `{source_id}` and `{destination_id}` exists."),
        ));
    }
    let mut peering = Peering {
        source_vpc_id: source_id.to_owned(),
        peer_vpc_id: destination_id.to_owned(),
        peering_connection_id: state.new_id("pcx"),
        peering_connection_name: name.to_owned(),
        state: "PENDING",
        created_time: state::created_time(),
        bandwidth,
        source_region: call.region.to_owned(),
        destination_region: destination_region.to_owned(),
        destination_uin: uin.to_owned(),
        kind: kind.to_owned(),
        awaiting_acceptance: true,
        next: Some((
            Some("EXPIRED"),
            call.now_ms.saturating_add(ACCEPT_WINDOW_MS),
        )),
    };
    if same_account {
        peering.activate(call.now_ms);
    }
    let id = peering.peering_connection_id.clone();
    state.peerings.push(peering);
    Ok(json!({ "PeeringConnectionId": id }))
}

/// Whether `peering` passes filter `name` with `values`.
fn filter_matches(peering: &Peering, name: &str, values: &[&str]) -> Result<bool, TcError> {
    let field = match name {
        "vpc-id" => peering.source_vpc_id.as_str(),
        "state" => peering.state,
        "peering-connection-name" => peering.peering_connection_name.as_str(),
        _ => {
            return Err(TcError::new(
                "InvalidParameter.FilterInvalidKey",
                format!("The filter name `{name}` is not supported."),
            ));
        }
    };
    Ok(values.contains(&field))
}

/// `DescribeVpcPeeringConnections {PeeringConnectionIds?, Filters?, Offset?, Limit?}` →
/// `{TotalCount, PeerConnectionSet}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "PeeringConnectionIds",
        "Filters",
        "Offset",
        "Limit",
        "OrderField",
        "OrderDirection",
    ])?;
    let ids = p.str_list("PeeringConnectionIds")?;
    let filters = filters(p)?;
    if ids.is_some() && !filters.is_empty() {
        return Err(TcError::new(
            "InvalidParameter.Coexist",
            "The parameters `PeeringConnectionIds` and `Filters` cannot be specified at the same time.",
        ));
    }
    let mut visible = Vec::new();
    for peering in state.peerings.iter().filter(|p| p.in_region(call.region)) {
        let mut keep = true;
        for (name, values) in &filters {
            keep &= filter_matches(peering, name, values)?;
        }
        if keep {
            visible.push(peering);
        }
    }
    let (total, page) = state::describe_page(
        &visible,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("pcx", "PeeringConnectionIds"),
        |p| &p.peering_connection_id,
    )?;
    Ok(json!({ "TotalCount": total, "PeerConnectionSet": page }))
}

/// `AcceptVpcPeeringConnection {PeeringConnectionId}` → `{}`: the other account accepts, in the
/// destination region; the connection then becomes `ACTIVE` as a same-account one does.
pub(super) fn accept(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["PeeringConnectionId"])?;
    let id = p.required_str("PeeringConnectionId")?;
    let peering = find_mut(state, call, id)?;
    if !peering.awaiting_acceptance || peering.destination_region != call.region {
        return Err(TcError::new(
            "UnsupportedOperation.PcxStatusNotPermit",
            format!(
                "The peering connection `{id}` is {} and not waiting for acceptance in this region.",
                peering.state
            ),
        ));
    }
    peering.activate(call.now_ms);
    Ok(json!({}))
}

/// `DeleteVpcPeeringConnection {PeeringConnectionId}` → `{}`: gone at once within a region,
/// `DELETING` then gone across regions.
pub(super) fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["PeeringConnectionId"])?;
    let id = p.required_str("PeeringConnectionId")?;
    let peering = find_mut(state, call, id)?;
    if peering.state == "DELETING" {
        return Err(TcError::new(
            "UnsupportedOperation.PcxStatusNotPermit",
            format!("The peering connection `{id}` is already being deleted."),
        ));
    }
    if peering.cross_region() {
        peering.state = "DELETING";
        peering.next = Some((None, call.now_ms.saturating_add(CROSS_REGION_MS)));
    } else {
        state.peerings.retain(|p| p.peering_connection_id != id);
    }
    Ok(json!({}))
}

/// Test helpers on the simulator handle.
impl super::TencentSim {
    /// The ids of the peering connections visible in `region`, in creation order.
    pub fn peering_ids(&self, region: &str) -> Vec<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        advance(&mut state, now);
        state
            .peerings
            .iter()
            .filter(|p| p.in_region(region))
            .map(|p| p.peering_connection_id.clone())
            .collect()
    }

    /// The `State` of peering connection `id`, if it exists.
    pub fn peering_state(&self, id: &str) -> Option<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        advance(&mut state, now);
        state
            .peerings
            .iter()
            .find(|p| p.peering_connection_id == id)
            .map(|p| p.state.to_owned())
    }
}
