//! `vpc/create` and `vpc/delete` (VPC product `CreateVpc`, `DescribeVpcs`, `DeleteVpc`).

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::json;

use crate::common::{Common, Describe, Session, VPC, find, wait_gone, wait_status};
use crate::waits;

/// How VPCs are described.
pub const VPCS: Describe = Describe {
    noun: "VPC",
    action: "DescribeVpcs",
    id_param: "VpcId",
    json_list: false,
    id_field: "VpcId",
    list: "Vpcs",
    item: "Vpc",
};

/// `POST /alicloud/v1/vpc/create`: returns the VPC `vpcId` names when it exists, else creates one
/// and waits until it is `Available`. Output `vpcId` and `routeTableId` (its system route table).
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    if let Some(id) = input.optional_str("vpcId")?
        && find(&api, &VPCS, id)?.is_some()
    {
        return output(&api, id);
    }
    let name = input.required_str("vpcName")?;
    let cidr = input.required_str("cidrBlock")?;
    let mut params = vec![("VpcName", name), ("CidrBlock", cidr)];
    if let Some(description) = input.optional_str("description")? {
        params.push(("Description", description));
    }
    let created = api.call("CreateVpc", &params)?;
    let id = text(&created.body, "VpcId").to_owned();
    wait_status(&api, &VPCS, &id, "Available", waits::VPC_AVAILABLE)?;
    output(&api, &id)
}

fn output(api: &impl AliyunApi, id: &str) -> Result<Output, ErrorMessage> {
    let mut out = Output::new();
    out.insert("vpcId".into(), json!(id));
    out.insert("routeTableId".into(), json!(system_route_table(api, id)?));
    Ok(out)
}

/// The id of VPC `vpc_id`'s system route table.
pub fn system_route_table(api: &impl AliyunApi, vpc_id: &str) -> Result<String, ErrorMessage> {
    let answer = api.call("DescribeRouteTableList", &[("VpcId", vpc_id)])?;
    items(&answer.body, "RouterTableList", "RouterTableListType")
        .iter()
        .find(|t| text(t, "RouteTableType") == "System")
        .map(|t| text(t, "RouteTableId").to_owned())
        .ok_or_else(|| ErrorMessage::new(format!("VPC {vpc_id} has no system route table")))
}

/// `POST /alicloud/v1/vpc/delete`: deletes VPC `vpcId` and waits until it is gone; a VPC that
/// does not exist counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("vpcId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    if find(&api, &VPCS, id)?.is_some() {
        api.call("DeleteVpc", &[("VpcId", id)])?;
        wait_gone(&api, &VPCS, id, waits::NETWORK_GONE)?;
    }
    Ok(Output::new())
}
