//! The VPC product (`vpc.aliyuncs.com`, API `2016-04-28`): VPCs, vSwitches, route tables and
//! route entries here; NAT gateways in `nat.rs`, EIPs and bandwidth packages in `eip.rs`.
//!
//! A new VPC, vSwitch or custom route table is `Pending` for a few simulated seconds, then
//! `Available`. A VPC comes with its system route table (`vtb-…`, type `System`), which new
//! vSwitches use until a custom table is associated.

use serde_json::{Value, json};

use super::common::{attr_filter, id_filter, new_resource, object, page, view};
use super::error::AliError;
use super::state::{Cidr, Resource, State};
use super::{Call, Product};

/// How long a new VPC stays `Pending`, in simulated ms.
pub const VPC_PENDING_MS: u64 = 3_000;
/// How long a new vSwitch stays `Pending`, in simulated ms.
pub const VSWITCH_PENDING_MS: u64 = 3_000;
/// How long a new route table stays `Pending`, in simulated ms.
pub const ROUTE_TABLE_PENDING_MS: u64 = 2_000;

/// The VPC product.
pub(crate) const PRODUCT: Product = Product {
    name: "Vpc",
    version: "2016-04-28",
    actions: &[
        "CreateVpc",
        "DescribeVpcs",
        "DeleteVpc",
        "CreateVSwitch",
        "DescribeVSwitches",
        "DeleteVSwitch",
        "CreateRouteTable",
        "DescribeRouteTableList",
        "DeleteRouteTable",
        "AssociateRouteTable",
        "UnassociateRouteTable",
        "CreateRouteEntry",
        "DeleteRouteEntry",
        "DescribeRouteEntryList",
        // NAT gateways and SNAT entries (`nat.rs`).
        "CreateNatGateway",
        "DescribeNatGateways",
        "DeleteNatGateway",
        "CreateSnatEntry",
        "DescribeSnatTableEntries",
        "DeleteSnatEntry",
        "ModifySnatEntry",
        // EIPs and common bandwidth packages (`eip.rs`).
        "AllocateEipAddress",
        "DescribeEipAddresses",
        "ReleaseEipAddress",
        "AssociateEipAddress",
        "UnassociateEipAddress",
        "CreateCommonBandwidthPackage",
        "DescribeCommonBandwidthPackages",
        "AddCommonBandwidthPackageIp",
        "RemoveCommonBandwidthPackageIp",
    ],
    regional: true,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateVpc" => create_vpc(state, call),
        "DescribeVpcs" => Ok(describe_vpcs(state, call)),
        "DeleteVpc" => delete_vpc(state, call),
        "CreateVSwitch" => create_vswitch(state, call),
        "DescribeVSwitches" => Ok(describe_vswitches(state, call)),
        "DeleteVSwitch" => delete_vswitch(state, call),
        "CreateRouteTable" => create_route_table(state, call),
        "DescribeRouteTableList" => Ok(describe_route_tables(state, call)),
        "DeleteRouteTable" => delete_route_table(state, call),
        "AssociateRouteTable" => associate(state, call),
        "UnassociateRouteTable" => unassociate(state, call),
        "CreateRouteEntry" => create_route_entry(state, call),
        "DeleteRouteEntry" => delete_route_entry(state, call),
        "DescribeRouteEntryList" => describe_route_entries(state, call),
        action if super::nat::ACTIONS.contains(&action) => super::nat::handle(state, call),
        action if super::eip::ACTIONS.contains(&action) => super::eip::handle(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn cidr(call: &Call<'_>, key: &str) -> Result<Cidr, AliError> {
    let text = call.require(key)?;
    Cidr::parse(text).ok_or_else(|| {
        AliError::new(
            400,
            "InvalidCidrBlock.Malformed",
            format!("Specified CIDR block \"{text}\" is not valid."),
        )
    })
}

pub(crate) fn vpc_of<'a>(
    state: &'a State,
    call: &Call<'_>,
    id: &str,
) -> Result<&'a Resource, AliError> {
    state
        .get(call.region, "vpc", id)
        .ok_or_else(|| AliError::not_found("InvalidVpcId.NotFound", "VPC"))
}

fn create_vpc(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let block = call.get("CidrBlock").unwrap_or("172.16.0.0/12");
    if Cidr::parse(block).is_none() {
        return Err(AliError::new(
            400,
            "InvalidCidrBlock.Malformed",
            format!("Specified CIDR block \"{block}\" is not valid."),
        ));
    }
    let vrouter = state.new_id("vrt");
    let table = state.new_id("vtb");
    let vpc = new_resource(
        state,
        call,
        "vpc",
        VPC_PENDING_MS,
        json!({"VpcName": call.get("VpcName").unwrap_or(""), "CidrBlock": block,
            "Description": call.get("Description").unwrap_or(""), "VRouterId": vrouter}),
    );
    state.insert(Resource {
        kind: "vtb",
        id: table.clone(),
        region: call.region.to_owned(),
        pending_status: "Pending",
        ready_status: "Available".to_owned(),
        ready_ms: call.now_ms + VPC_PENDING_MS,
        attrs: object(
            json!({"VpcId": vpc, "RouteTableType": "System", "RouteTableName": "",
            "Description": "", "VRouterId": vrouter, "Entries": []}),
        ),
        gone_ms: None,
    });
    Ok(
        json!({"VpcId": vpc, "VRouterId": vrouter, "RouteTableId": table,
        "ResourceGroupId": "rg-acfmsimulator"}),
    )
}

fn describe_vpcs(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "vpc")
        .filter(|v| id_filter(call, "VpcId", &v.id) && attr_filter(call, "VpcName", v))
        .map(|v| {
            let vswitches: Vec<String> = state
                .list(call.region, "vsw")
                .filter(|s| s.attr("VpcId") == v.id)
                .map(|s| s.id.clone())
                .collect();
            let tables: Vec<String> = state
                .list(call.region, "vtb")
                .filter(|t| t.attr("VpcId") == v.id)
                .map(|t| t.id.clone())
                .collect();
            view(
                v,
                call.now_ms,
                json!({"VpcId": v.id, "VSwitchIds": {"VSwitchId": vswitches},
                    "RouterTableIds": {"RouterTableIds": tables}}),
            )
        })
        .collect();
    page(items, "Vpcs", "Vpc")
}

fn delete_vpc(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("VpcId")?;
    vpc_of(state, call, id)?;
    if state
        .list(call.region, "vsw")
        .any(|s| s.attr("VpcId") == id)
    {
        return Err(AliError::dependency(
            "DependencyViolation.VSwitch",
            "vswitches",
        ));
    }
    if state
        .list(call.region, "vtb")
        .any(|t| t.attr("VpcId") == id && t.attr("RouteTableType") == "Custom")
    {
        return Err(AliError::dependency(
            "DependencyViolation.RouteTable",
            "custom route tables",
        ));
    }
    let system: Vec<String> = state
        .list(call.region, "vtb")
        .filter(|t| t.attr("VpcId") == id)
        .map(|t| t.id.clone())
        .collect();
    for table in system {
        state.remove(call.region, "vtb", &table);
    }
    state.remove(call.region, "vpc", id);
    Ok(json!({}))
}

fn create_vswitch(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let vpc_id = call.require("VpcId")?;
    let zone = call.require("ZoneId")?;
    let block = cidr(call, "CidrBlock")?;
    let vpc = vpc_of(state, call, vpc_id)?;
    if vpc.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectVpcStatus", "VPC"));
    }
    let vpc_block = Cidr::parse(vpc.attr("CidrBlock")).unwrap_or(block);
    if !vpc_block.contains(block) {
        return Err(AliError::new(
            400,
            "InvalidCidrBlock.Mismatch",
            "Specified CIDR block is not in the VPC's CIDR block.",
        ));
    }
    if state
        .list(call.region, "vsw")
        .filter(|s| s.attr("VpcId") == vpc_id)
        .any(|s| Cidr::parse(s.attr("CidrBlock")).is_some_and(|c| c.overlaps(block)))
    {
        return Err(AliError::new(
            400,
            "InvalidCidrBlock.Overlapped",
            "Specified CIDR block overlapped with other vswitch.",
        ));
    }
    let system = state
        .list(call.region, "vtb")
        .find(|t| t.attr("VpcId") == vpc_id && t.attr("RouteTableType") == "System")
        .map(|t| t.id.clone())
        .unwrap_or_default();
    let text = call.require("CidrBlock")?;
    let id = new_resource(
        state,
        call,
        "vsw",
        VSWITCH_PENDING_MS,
        json!({"VpcId": vpc_id, "ZoneId": zone, "CidrBlock": text,
            "VSwitchName": call.get("VSwitchName").unwrap_or(""),
            "Description": call.get("Description").unwrap_or(""), "RouteTableId": system}),
    );
    Ok(json!({"VSwitchId": id}))
}

fn describe_vswitches(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "vsw")
        .filter(|s| id_filter(call, "VSwitchId", &s.id) && attr_filter(call, "VpcId", s))
        .map(|s| {
            let table = s.attr("RouteTableId");
            let kind = state
                .get(call.region, "vtb", table)
                .map_or("System", |t| t.attr("RouteTableType"));
            view(
                s,
                call.now_ms,
                json!({"VSwitchId": s.id,
                    "RouteTable": {"RouteTableId": table, "RouteTableType": kind}}),
            )
        })
        .collect();
    page(items, "VSwitches", "VSwitch")
}

pub(crate) fn vswitch_of<'a>(
    state: &'a State,
    call: &Call<'_>,
    id: &str,
) -> Result<&'a Resource, AliError> {
    state
        .get(call.region, "vsw", id)
        .ok_or_else(|| AliError::not_found("InvalidVSwitchId.NotFound", "vswitch"))
}

fn delete_vswitch(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("VSwitchId")?;
    let vswitch = vswitch_of(state, call, id)?;
    if vswitch.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status(
            "IncorrectVSwitchStatus",
            "vswitch",
        ));
    }
    state.remove(call.region, "vsw", id);
    Ok(json!({}))
}

fn create_route_table(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let vpc_id = call.require("VpcId")?;
    let vpc = vpc_of(state, call, vpc_id)?;
    let vrouter = vpc.attr("VRouterId").to_owned();
    let id = new_resource(
        state,
        call,
        "vtb",
        ROUTE_TABLE_PENDING_MS,
        json!({"VpcId": vpc_id, "RouteTableType": "Custom", "VRouterId": vrouter,
            "RouteTableName": call.get("RouteTableName").unwrap_or(""),
            "Description": call.get("Description").unwrap_or(""), "Entries": []}),
    );
    Ok(json!({"RouteTableId": id, "VpcId": vpc_id}))
}

fn describe_route_tables(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "vtb")
        .filter(|t| id_filter(call, "RouteTableId", &t.id) && attr_filter(call, "VpcId", t))
        .map(|t| {
            let vswitches: Vec<String> = state
                .list(call.region, "vsw")
                .filter(|s| s.attr("RouteTableId") == t.id)
                .map(|s| s.id.clone())
                .collect();
            view(
                t,
                call.now_ms,
                json!({"RouteTableId": t.id, "VSwitchIds": {"VSwitchId": vswitches}}),
            )
        })
        .collect();
    page(items, "RouterTableList", "RouterTableListType")
}

fn table_of<'a>(state: &'a State, call: &Call<'_>, id: &str) -> Result<&'a Resource, AliError> {
    state
        .get(call.region, "vtb", id)
        .ok_or_else(|| AliError::not_found("InvalidRouteTableId.NotFound", "route table"))
}

fn delete_route_table(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("RouteTableId")?;
    let table = table_of(state, call, id)?;
    if table.attr("RouteTableType") == "System" {
        return Err(AliError::new(
            400,
            "OperationFailed.SystemRouteTable",
            "The system route table cannot be deleted.",
        ));
    }
    if state
        .list(call.region, "vsw")
        .any(|s| s.attr("RouteTableId") == id)
    {
        return Err(AliError::dependency(
            "DependencyViolation.RouteTable",
            "associated vswitches",
        ));
    }
    state.remove(call.region, "vtb", id);
    Ok(json!({}))
}

fn associate(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let table_id = call.require("RouteTableId")?;
    let vswitch_id = call.require("VSwitchId")?;
    let table = table_of(state, call, table_id)?;
    if table.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status(
            "IncorrectRouteTableStatus",
            "route table",
        ));
    }
    let table_vpc = table.attr("VpcId").to_owned();
    let vswitch = vswitch_of(state, call, vswitch_id)?;
    if vswitch.attr("VpcId") != table_vpc {
        return Err(AliError::new(
            400,
            "InvalidVSwitchId.VpcMismatch",
            "The vswitch and the route table belong to different VPCs.",
        ));
    }
    let current = vswitch.attr("RouteTableId").to_owned();
    let current_custom = state
        .get(call.region, "vtb", &current)
        .is_some_and(|t| t.attr("RouteTableType") == "Custom");
    if current_custom && current != table_id {
        return Err(AliError::new(
            400,
            "OperationConflict.VSwitchAssociated",
            "The vswitch is already associated with another custom route table.",
        ));
    }
    if let Some(v) = state.get_mut(call.region, "vsw", vswitch_id) {
        v.set("RouteTableId", table_id);
    }
    Ok(json!({}))
}

fn unassociate(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let table_id = call.require("RouteTableId")?;
    let vswitch_id = call.require("VSwitchId")?;
    let table = table_of(state, call, table_id)?;
    let vpc_id = table.attr("VpcId").to_owned();
    let vswitch = vswitch_of(state, call, vswitch_id)?;
    if vswitch.attr("RouteTableId") != table_id {
        return Err(AliError::new(
            400,
            "InvalidRouteTableId.NotAssociated",
            "The vswitch is not associated with this route table.",
        ));
    }
    let system = state
        .list(call.region, "vtb")
        .find(|t| t.attr("VpcId") == vpc_id && t.attr("RouteTableType") == "System")
        .map(|t| t.id.clone())
        .unwrap_or_default();
    if let Some(v) = state.get_mut(call.region, "vsw", vswitch_id) {
        v.set("RouteTableId", system);
    }
    Ok(json!({}))
}

fn entries(table: &Resource) -> Vec<Value> {
    table
        .attrs
        .get("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn create_route_entry(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let table_id = call.require("RouteTableId")?;
    let destination = call.require("DestinationCidrBlock")?;
    cidr(call, "DestinationCidrBlock")?;
    let next_hop = call.require("NextHopId")?;
    let hop_type = call.get("NextHopType").unwrap_or("Instance");
    let hop_kind = match hop_type {
        "NatGateway" => Some(("ngw", "InvalidNatGatewayId.NotFound", "NAT gateway")),
        "Instance" => Some(("i", "InvalidInstanceId.NotFound", "instance")),
        _ => None,
    };
    if let Some((kind, code, what)) = hop_kind
        && state.get(call.region, kind, next_hop).is_none()
    {
        return Err(AliError::not_found(code, what));
    }
    let table = table_of(state, call, table_id)?;
    let mut list = entries(table);
    if list
        .iter()
        .any(|e| e["DestinationCidrBlock"] == destination)
    {
        return Err(AliError::new(
            400,
            "InvalidCIDRBlock.Duplicate",
            "Specified CIDR block is already exists.",
        ));
    }
    let id = state.new_id("rte");
    list.push(json!({"RouteEntryId": id, "RouteTableId": table_id,
        "DestinationCidrBlock": destination, "NextHopType": hop_type, "InstanceId": next_hop,
        "RouteEntryName": call.get("RouteEntryName").unwrap_or(""), "Type": "Custom",
        "Status": "Available"}));
    if let Some(t) = state.get_mut(call.region, "vtb", table_id) {
        t.set("Entries", list);
    }
    Ok(json!({"RouteEntryId": id}))
}

fn delete_route_entry(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let table_id = call.require("RouteTableId")?;
    let table = table_of(state, call, table_id)?;
    let mut list = entries(table);
    let before = list.len();
    if let Some(id) = call.get("RouteEntryId") {
        list.retain(|e| e["RouteEntryId"] != id);
    } else {
        let destination = call.require("DestinationCidrBlock")?;
        let next_hop = call.get("NextHopId");
        list.retain(|e| {
            !(e["DestinationCidrBlock"] == destination
                && next_hop.is_none_or(|hop| e["InstanceId"] == hop))
        });
    }
    if list.len() == before {
        return Err(AliError::not_found(
            "InvalidRouteEntry.NotFound",
            "route entry",
        ));
    }
    if let Some(t) = state.get_mut(call.region, "vtb", table_id) {
        t.set("Entries", list);
    }
    Ok(json!({}))
}

fn describe_route_entries(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let table = table_of(state, call, call.require("RouteTableId")?)?;
    let list: Vec<Value> = entries(table)
        .into_iter()
        .filter(|e| {
            call.get("DestinationCidrBlock")
                .is_none_or(|d| e["DestinationCidrBlock"] == d)
        })
        .collect();
    Ok(json!({"RouteEntrys": {"RouteEntry": list}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_lists_every_nat_and_eip_action() {
        for action in super::super::nat::ACTIONS
            .iter()
            .chain(super::super::eip::ACTIONS)
        {
            assert!(PRODUCT.actions.contains(action), "{action}");
        }
    }
}
