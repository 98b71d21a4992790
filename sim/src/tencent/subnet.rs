//! Subnets of the VPC product: `CreateSubnet`, `DescribeSubnets`, `DeleteSubnet`.
//!
//! A subnet belongs to one VPC and one zone of the call's region. Its `CidrBlock` must lie in the
//! VPC's block (`InvalidParameterValue.SubnetRange`, prefix up to /28) and must not overlap
//! another subnet of the VPC (`InvalidParameterValue.SubnetConflict`). A new subnet is
//! associated with the VPC's main route table.

use serde::Serialize;
use serde_json::{Value, json};

use super::Call;
use super::error::TcError;
use super::state::{self, State};
use super::vpc::{Tag, overlaps, parse_cidr, required_name, tags};

/// One subnet, serialised as `DescribeSubnets` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Subnet {
    pub(crate) subnet_id: String,
    pub(crate) vpc_id: String,
    subnet_name: String,
    pub(crate) cidr_block: String,
    pub(crate) zone: String,
    is_default: bool,
    enable_broadcast: bool,
    /// The route table the subnet is associated with.
    pub(crate) route_table_id: String,
    network_acl_id: String,
    available_ip_address_count: u64,
    total_ip_address_count: u64,
    ipv6_cidr_block: String,
    created_time: String,
    tag_set: Vec<Tag>,
}

/// `CreateSubnet {VpcId, SubnetName, CidrBlock, Zone, Tags?}` → `{Subnet}`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["VpcId", "SubnetName", "CidrBlock", "Zone", "Tags"])?;
    let vpc_id = p.required_str("VpcId")?;
    let name = required_name(p, "SubnetName")?;
    let cidr = p.required_str("CidrBlock")?;
    let zone = p.required_str("Zone")?;
    let tags = tags(p)?;
    let vpc_block = parse_cidr(
        "CidrBlock",
        &state.vpc(call.region, "VpcId", vpc_id)?.cidr_block,
    )?;
    if !zone
        .strip_prefix(call.region)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TcError::new(
            "InvalidParameterValue.Zone",
            format!(
                "The zone `{zone}` is not a zone of region `{}`.",
                call.region
            ),
        ));
    }
    let block = parse_cidr("CidrBlock", cidr)?;
    if block.1 < vpc_block.1 || block.1 > 28 || !overlaps(block, vpc_block) {
        return Err(TcError::new(
            "InvalidParameterValue.SubnetRange",
            format!("The subnet block `{cidr}` is not inside the VPC's block (/28 at most)."),
        ));
    }
    let existing = state.subnets.get(call.region);
    if let Some(other) = existing.into_iter().flatten().find(|s| {
        s.vpc_id == vpc_id
            && parse_cidr("CidrBlock", &s.cidr_block).is_ok_and(|b| overlaps(b, block))
    }) {
        return Err(TcError::new(
            "InvalidParameterValue.SubnetConflict",
            format!(
                "The subnet block `{cidr}` overlaps subnet `{}` ({}).",
                other.subnet_id, other.cidr_block
            ),
        ));
    }
    let route_table_id = state
        .route_tables
        .get(call.region)
        .into_iter()
        .flatten()
        .find(|t| t.vpc_id == vpc_id && t.main)
        .map(|t| t.route_table_id.clone())
        .unwrap_or_default();
    let total = 1u64 << (32 - u32::from(block.1));
    let subnet = Subnet {
        subnet_id: state.new_id("subnet"),
        vpc_id: vpc_id.to_owned(),
        subnet_name: name.to_owned(),
        cidr_block: cidr.to_owned(),
        zone: zone.to_owned(),
        is_default: false,
        enable_broadcast: false,
        route_table_id,
        network_acl_id: String::new(),
        // Tencent reserves the network, gateway and broadcast addresses.
        available_ip_address_count: total.saturating_sub(3),
        total_ip_address_count: total,
        ipv6_cidr_block: String::new(),
        created_time: state::created_time(),
        tag_set: tags,
    };
    state
        .subnets
        .entry(call.region.to_owned())
        .or_default()
        .push(subnet.clone());
    Ok(json!({ "Subnet": subnet }))
}

/// `DescribeSubnets {SubnetIds?, Offset?, Limit?}` → `{TotalCount, SubnetSet}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["SubnetIds", "Offset", "Limit"])?;
    let ids = p.str_list("SubnetIds")?;
    let subnets = state
        .subnets
        .get(call.region)
        .map_or(&[][..], Vec::as_slice);
    let (total, page) = state::describe_page(
        subnets,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("subnet", "SubnetIds"),
        |s| &s.subnet_id,
    )?;
    Ok(json!({ "TotalCount": total, "SubnetSet": page }))
}

/// `DeleteSubnet {SubnetId}` → `{}`; `ResourceInUse` while instances are in the subnet.
pub(super) fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["SubnetId"])?;
    let id = p.required_str("SubnetId")?;
    state::check_id("subnet", "SubnetId", id)?;
    let instances = state
        .instances
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|i| i.subnet_id() == id)
        .count();
    if instances > 0 {
        return Err(TcError::new(
            "ResourceInUse",
            format!("The subnet `{id}` still holds {instances} instance(s)."),
        ));
    }
    state::remove_by_id(state.subnets.get_mut(call.region), id, |s| &s.subnet_id)?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_overlap_when_their_common_prefix_matches() {
        let b = |c: &str| parse_cidr("CidrBlock", c).unwrap();
        assert!(overlaps(b("10.0.0.0/16"), b("10.0.1.0/24")));
        assert!(overlaps(b("10.0.1.0/24"), b("10.0.0.0/16")));
        assert!(!overlaps(b("10.0.1.0/24"), b("10.0.2.0/24")));
        assert!(!overlaps(b("10.1.0.0/16"), b("10.0.0.0/16")));
    }
}
