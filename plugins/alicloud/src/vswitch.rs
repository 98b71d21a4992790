//! `vswitch/create`, `vswitch/delete` and their `route_table/bind` / `route_table/unbind`
//! variants (VPC product `CreateVSwitch`, `DescribeVSwitches`, `DeleteVSwitch`, plus the route
//! table actions of [`crate::route_table`]).

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, Session, VPC, find, wait_gone, wait_status};
use crate::route_table::{self, ROUTE_TABLES};
use crate::waits;

/// How vSwitches are described.
pub const VSWITCHES: Describe = Describe {
    noun: "vSwitch",
    action: "DescribeVSwitches",
    id_param: "VSwitchId",
    json_list: false,
    id_field: "VSwitchId",
    list: "VSwitches",
    item: "VSwitch",
};

/// The route table a described vSwitch uses: (id, type `System`/`Custom`).
fn route_table_of(vswitch: &Value) -> (String, String) {
    let table = vswitch.get("RouteTable").cloned().unwrap_or(Value::Null);
    (
        text(&table, "RouteTableId").to_owned(),
        text(&table, "RouteTableType").to_owned(),
    )
}

fn output(vswitch_id: &str, route_table_id: &str) -> Output {
    let mut out = Output::new();
    out.insert("vSwitchId".into(), json!(vswitch_id));
    out.insert("routeTableId".into(), json!(route_table_id));
    out
}

/// An existing vSwitch named by `vSwitchId`, if any.
fn existing(api: &impl AliyunApi, input: &Input) -> Result<Option<Value>, ErrorMessage> {
    match input.optional_str("vSwitchId")? {
        Some(id) => Ok(find(api, &VSWITCHES, id)?),
        None => Ok(None),
    }
}

/// Creates the vSwitch the input describes and waits until it is `Available`; returns it.
fn create(api: &impl AliyunApi, input: &Input) -> Result<Value, ErrorMessage> {
    let mut params = vec![
        ("VpcId", input.required_str("vpcId")?),
        ("ZoneId", input.required_str("zoneId")?),
        ("CidrBlock", input.required_str("cidrBlock")?),
        ("VSwitchName", input.required_str("vSwitchName")?),
    ];
    if let Some(description) = input.optional_str("description")? {
        params.push(("Description", description));
    }
    let created = api.call("CreateVSwitch", &params)?;
    let id = text(&created.body, "VSwitchId").to_owned();
    wait_status(api, &VSWITCHES, &id, "Available", waits::VSWITCH_AVAILABLE)
}

/// `POST /alicloud/v1/vswitch/create`: returns the existing `vSwitchId` or creates one; output
/// `vSwitchId` and `routeTableId` (the table it uses: the VPC's system table for a new one).
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let vswitch = match existing(&api, input)? {
        Some(vswitch) => vswitch,
        None => create(&api, input)?,
    };
    let (table, _) = route_table_of(&vswitch);
    Ok(output(text(&vswitch, "VSwitchId"), &table))
}

/// `POST /alicloud/v1/vswitch/create/route_table/bind`: as `vswitch/create`, then a custom route
/// table `Bind_by_<vSwitchName>` associated with it (the vSwitch is deleted again if the table
/// cannot be made). An existing vSwitch that already has a custom table is returned as is.
pub fn handle_create_with_route_table(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let (vswitch, created) = match existing(&api, input)? {
        Some(vswitch) => (vswitch, false),
        None => (create(&api, input)?, true),
    };
    let id = text(&vswitch, "VSwitchId").to_owned();
    let (table, kind) = route_table_of(&vswitch);
    if kind == "Custom" {
        return Ok(output(&id, &table));
    }
    let vpc_id = text(&vswitch, "VpcId").to_owned();
    let name = format!("Bind_by_{}", text(&vswitch, "VSwitchName"));
    let bound = route_table::create(&api, &vpc_id, Some(&name), None)
        .and_then(|table| route_table::associate(&api, &table, &id).map(|()| table));
    match bound {
        Ok(table) => Ok(output(&id, &table)),
        Err(error) if created => {
            // Leave nothing half made: the vSwitch was created for this call only.
            let _ = delete(&api, &id);
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// Deletes vSwitch `id` and waits until it is gone.
fn delete(api: &impl AliyunApi, id: &str) -> Result<(), ErrorMessage> {
    api.call("DeleteVSwitch", &[("VSwitchId", id)])?;
    wait_gone(api, &VSWITCHES, id, waits::NETWORK_GONE)
}

/// `POST /alicloud/v1/vswitch/delete`: deletes `vSwitchId`; an absent vSwitch counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("vSwitchId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    if find(&api, &VSWITCHES, id)?.is_some() {
        delete(&api, id)?;
    }
    Ok(Output::new())
}

/// `POST /alicloud/v1/vswitch/delete/route_table/unbind`: unassociates and deletes the
/// vSwitch's custom route table (when no other vSwitch uses it), then deletes the vSwitch.
pub fn handle_delete_with_route_table(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("vSwitchId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let Some(vswitch) = find(&api, &VSWITCHES, id)? else {
        return Ok(Output::new());
    };
    let (table, kind) = route_table_of(&vswitch);
    if kind == "Custom" {
        api.call(
            "UnassociateRouteTable",
            &[("RouteTableId", table.as_str()), ("VSwitchId", id)],
        )?;
        let still_used = find(&api, &ROUTE_TABLES, &table)?.is_some_and(|t| {
            t.pointer("/VSwitchIds/VSwitchId")
                .and_then(Value::as_array)
                .is_some_and(|ids| !ids.is_empty())
        });
        if !still_used {
            route_table::delete(&api, &table)?;
        }
    }
    delete(&api, id)?;
    Ok(Output::new())
}
