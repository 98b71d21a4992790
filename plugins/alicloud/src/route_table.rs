//! `route_table/create`, `route_table/delete`, `route_table/vswitch/associate` and the route
//! entries of a table (`route_table/route_entry/create|delete`), VPC product.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, Session, VPC, find, wait_gone, wait_status};
use crate::waits;

/// How route tables are described.
pub const ROUTE_TABLES: Describe = Describe {
    noun: "route table",
    action: "DescribeRouteTableList",
    id_param: "RouteTableId",
    json_list: false,
    id_field: "RouteTableId",
    list: "RouterTableList",
    item: "RouterTableListType",
};

/// Creates a custom route table in `vpc_id` and waits until it is `Available`; returns its id.
pub fn create(
    api: &impl AliyunApi,
    vpc_id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<String, ErrorMessage> {
    let mut params = vec![("VpcId", vpc_id)];
    if let Some(name) = name {
        params.push(("RouteTableName", name));
    }
    if let Some(description) = description {
        params.push(("Description", description));
    }
    let created = api.call("CreateRouteTable", &params)?;
    let id = text(&created.body, "RouteTableId").to_owned();
    wait_status(
        api,
        &ROUTE_TABLES,
        &id,
        "Available",
        waits::ROUTE_TABLE_AVAILABLE,
    )?;
    Ok(id)
}

/// Associates vSwitch `vswitch_id` with route table `table_id`.
pub fn associate(
    api: &impl AliyunApi,
    table_id: &str,
    vswitch_id: &str,
) -> Result<(), ErrorMessage> {
    api.call(
        "AssociateRouteTable",
        &[("RouteTableId", table_id), ("VSwitchId", vswitch_id)],
    )?;
    Ok(())
}

/// Deletes route table `id` and waits until it is gone.
pub fn delete(api: &impl AliyunApi, id: &str) -> Result<(), ErrorMessage> {
    api.call("DeleteRouteTable", &[("RouteTableId", id)])?;
    wait_gone(api, &ROUTE_TABLES, id, waits::NETWORK_GONE)
}

/// `POST /alicloud/v1/route_table/create`: returns the existing `routeTableId` or creates a
/// custom table in `vpcId`; output `routeTableId`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let id = match input.optional_str("routeTableId")? {
        Some(id) if find(&api, &ROUTE_TABLES, id)?.is_some() => id.to_owned(),
        _ => create(
            &api,
            input.required_str("vpcId")?,
            input.optional_str("routeTableName")?,
            input.optional_str("description")?,
        )?,
    };
    let mut out = Output::new();
    out.insert("routeTableId".into(), json!(id));
    Ok(out)
}

/// `POST /alicloud/v1/route_table/delete`: unassociates every vSwitch, then deletes the table.
/// An absent table counts as deleted; a VPC's system table is left alone (it goes with its VPC),
/// as the original did.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("routeTableId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let Some(table) = find(&api, &ROUTE_TABLES, id)? else {
        return Ok(Output::new());
    };
    if text(&table, "RouteTableType") == "System" {
        return Ok(Output::new());
    }
    let vswitches = table
        .pointer("/VSwitchIds/VSwitchId")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for vswitch in vswitches.iter().filter_map(Value::as_str) {
        api.call(
            "UnassociateRouteTable",
            &[("RouteTableId", id), ("VSwitchId", vswitch)],
        )?;
    }
    delete(&api, id)?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/route_table/vswitch/associate`: associates `vSwitchId` with
/// `routeTableId` (already associated is success).
pub fn handle_associate_vswitch(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let table = input.required_str("routeTableId")?;
    let vswitch = input.required_str("vSwitchId")?;
    let session = Session::new(&common);
    associate(&session.client(VPC), table, vswitch)?;
    Ok(Output::new())
}

/// The entries of `table_id` towards `destination`.
fn entries_to(
    api: &impl AliyunApi,
    table_id: &str,
    destination: &str,
) -> Result<Vec<Value>, broker_sdk::AliyunError> {
    let answer = api.call(
        "DescribeRouteEntryList",
        &[
            ("RouteTableId", table_id),
            ("DestinationCidrBlock", destination),
        ],
    )?;
    Ok(items(&answer.body, "RouteEntrys", "RouteEntry").to_vec())
}

/// `POST /alicloud/v1/route_table/route_entry/create`: adds the route `destinationCidrBlock` →
/// `nextHopId` (`nextHopType`, default `Instance`). The same route already present is success.
pub fn handle_create_entry(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let table = input.required_str("routeTableId")?;
    let destination = input.required_str("destinationCidrBlock")?;
    let next_hop = input.required_str("nextHopId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let present = entries_to(&api, table, destination)?
        .iter()
        .any(|e| text(e, "InstanceId") == next_hop);
    if !present {
        let mut params = vec![
            ("RouteTableId", table),
            ("DestinationCidrBlock", destination),
            ("NextHopId", next_hop),
            (
                "NextHopType",
                input.optional_str("nextHopType")?.unwrap_or("Instance"),
            ),
        ];
        if let Some(name) = input.optional_str("routeEntryName")? {
            params.push(("RouteEntryName", name));
        }
        api.call("CreateRouteEntry", &params)?;
    }
    Ok(Output::new())
}

/// `POST /alicloud/v1/route_table/route_entry/delete`: removes the route; a route (or table)
/// that does not exist counts as deleted.
pub fn handle_delete_entry(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let table = input.required_str("routeTableId")?;
    let destination = input.required_str("destinationCidrBlock")?;
    let next_hop = input.required_str("nextHopId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let present = match entries_to(&api, table, destination) {
        Ok(entries) => entries.iter().any(|e| text(e, "InstanceId") == next_hop),
        Err(error) if error.is_not_found() => false,
        Err(error) => return Err(error.into()),
    };
    if present {
        api.call(
            "DeleteRouteEntry",
            &[
                ("RouteTableId", table),
                ("DestinationCidrBlock", destination),
                ("NextHopId", next_hop),
            ],
        )?;
    }
    Ok(Output::new())
}
