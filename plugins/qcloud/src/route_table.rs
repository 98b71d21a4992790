//! `route-table/create`, `route-table/terminate` and `route-table/associate-subnet`:
//! `DescribeRouteTables`, `CreateRouteTable`, `DeleteRouteTable`, `ReplaceRouteTableAssociation`.
//!
//! Unlike the original plugin, terminating an absent table succeeds; a table still associated
//! with subnets is refused before the delete with a message naming how many.

use broker_sdk::ErrorMessage;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{self, Common, Resource, TerminateArgs};

/// How `DescribeRouteTables`, `CreateRouteTable` and `DeleteRouteTable` name things.
pub const ROUTE_TABLE: Resource = Resource {
    plural: "route tables",
    describe: "DescribeRouteTables",
    ids_param: "RouteTableIds",
    set_key: "RouteTableSet",
    id_field: "RouteTableId",
    create: "CreateRouteTable",
    created_key: "RouteTable",
    delete: "DeleteRouteTable",
};

/// Validated `route-table/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing route table to look up first (optional).
    pub id: Option<String>,
    /// `RouteTableName`.
    pub name: String,
    /// `VpcId`.
    pub vpc_id: String,
}

impl CreateArgs {
    /// Validate a `route-table/create` input: `guid`, `provider_params`, `name`, `vpc_id`
    /// required, `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            name: input.required_str("name")?.to_owned(),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            id: input.optional_str("id")?.map(str::to_owned),
        })
    }
}

/// Validated `route-table/associate-subnet` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// `RouteTableId`.
    pub route_table_id: String,
    /// `SubnetId`.
    pub subnet_id: String,
}

impl AssociateArgs {
    /// Validate a `route-table/associate-subnet` input: every field required.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            route_table_id: input.required_str("route_table_id")?.to_owned(),
            subnet_id: input.required_str("subnet_id")?.to_owned(),
        })
    }
}

/// Create a route table, or return the existing one when `id` names exactly one.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    common::create_or_existing(
        api,
        &ROUTE_TABLE,
        &args.common.guid,
        args.id.as_deref(),
        &json!({ "VpcId": args.vpc_id, "RouteTableName": args.name }),
    )
}

/// Refuse to delete a table that subnets are still associated with.
fn check_unassociated(id: &str, table: &Value) -> Result<(), ErrorMessage> {
    let associated = table
        .get("AssociationSet")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if associated == 0 {
        Ok(())
    } else {
        Err(ErrorMessage::new(format!(
            "route table {id} is still associated with {associated} subnet(s); associate them with another route table first"
        )))
    }
}

/// Delete a route table; one that is already gone counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    common::terminate(api, &ROUTE_TABLE, &args.common.guid, &args.id, |table| {
        check_unassociated(&args.id, table)
    })
}

/// Associate the subnet with the route table (`ReplaceRouteTableAssociation`).
pub fn associate(api: &impl TencentApi, args: &AssociateArgs) -> Result<Output, ErrorMessage> {
    let response = api.call(
        "ReplaceRouteTableAssociation",
        &json!({ "SubnetId": args.subnet_id, "RouteTableId": args.route_table_id }),
    )?;
    Ok(common::output(&response.request_id, &args.common.guid))
}

/// `POST /v1/qcloud/route-table/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    common::with_client("route-table/create", &args.common, |api| create(api, &args))
}

/// `POST /v1/qcloud/route-table/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    common::with_client("route-table/terminate", &args.common, |api| {
        terminate(api, &args)
    })
}

/// `POST /v1/qcloud/route-table/associate-subnet`, one input.
pub fn handle_associate_subnet(input: &Input) -> Result<Output, ErrorMessage> {
    let args = AssociateArgs::from_input(input)?;
    common::with_client("route-table/associate-subnet", &args.common, |api| {
        associate(api, &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, PARAMS, input, ok};

    fn terminate_args() -> TerminateArgs {
        TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "rtb-1"}),
        ))
        .unwrap()
    }

    #[test]
    fn terminate_refuses_a_table_with_associations_without_deleting() {
        let api = FakeApi::new(vec![ok(
            "r-d",
            json!({"TotalCount": 1, "RouteTableSet": [{"RouteTableId": "rtb-1",
                "AssociationSet": [{"SubnetId": "subnet-1"}, {"SubnetId": "subnet-2"}]}]}),
        )]);
        let e = terminate(&api, &terminate_args()).unwrap_err();
        assert!(
            e.as_str()
                .starts_with("route table rtb-1 is still associated with 2 subnet(s)"),
            "{e}"
        );
        assert_eq!(api.actions(), ["DescribeRouteTables"]);
    }

    #[test]
    fn terminate_deletes_an_unassociated_table_and_associate_answers_request_id_and_guid() {
        let api = FakeApi::new(vec![
            ok(
                "r-d",
                json!({"TotalCount": 1, "RouteTableSet": [{"RouteTableId": "rtb-1", "AssociationSet": []}]}),
            ),
            ok("r-del", json!({})),
        ]);
        assert_eq!(
            terminate(&api, &terminate_args()).unwrap()["request_id"],
            "r-del"
        );
        assert_eq!(api.calls.borrow()[1].1, json!({"RouteTableId": "rtb-1"}));

        let args =
            AssociateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS,
            "route_table_id": "rtb-1", "subnet_id": "subnet-1"})))
            .unwrap();
        let api = FakeApi::new(vec![ok("r-a", json!({}))]);
        assert_eq!(
            Value::Object(associate(&api, &args).unwrap()),
            json!({"request_id": "r-a", "guid": "g"})
        );
    }
}
