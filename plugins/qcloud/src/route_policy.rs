//! `route-policy/create` and `route-policy/terminate`: routes of a route table.
//!
//! Create checks `gateway_type` (case-insensitive) before any call; when `id` is given it looks
//! the route up in its table (`DescribeRouteTables`) and returns it if present — the original
//! plugin ignored `id`. Then `DescribeRouteConflicts` (any conflicting route is an error) and
//! `CreateRoutes`; the output `id` is the new `RouteId` as a decimal string. Terminate calls
//! `DeleteRoutes`; a route (or table) that is already gone counts as deleted.

use broker_sdk::ErrorMessage;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{self, Common, Lookup};
use crate::route_table::ROUTE_TABLE;

/// The gateway types the spec allows (compared case-insensitively, sent upper-case).
pub const GATEWAY_TYPES: &[&str] = &[
    "CVM",
    "VPN",
    "DIRECTCONNECT",
    "PEERCONNECTION",
    "SSLVPN",
    "NAT",
    "NORMAL_CVM",
    "EIP",
    "CCN",
];

/// A route id: Tencent's `RouteId` is an integer, WeCube carries it as a decimal string.
fn route_id(id: &str) -> Result<u64, ErrorMessage> {
    id.trim().parse().map_err(|_| {
        ErrorMessage::new(format!(
            "id must be a route id (a decimal RouteId), got {id:?}"
        ))
    })
}

/// Validated `route-policy/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing route to look up first (optional).
    pub id: Option<u64>,
    /// `RouteTableId`.
    pub route_table_id: String,
    /// `DestinationCidrBlock`.
    pub dest_cidr: String,
    /// `GatewayType`, upper-cased.
    pub gateway_type: String,
    /// `GatewayId`.
    pub gateway_id: String,
    /// `RouteDescription`.
    pub desc: String,
}

impl CreateArgs {
    /// Validate a `route-policy/create` input: `guid`, `provider_params`, `route_table_id`,
    /// `dest_cidr`, `gateway_type` (one of [`GATEWAY_TYPES`]), `gateway_id`, `desc` required;
    /// `id` optional (a decimal route id).
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let gateway_type = input.required_str("gateway_type")?.to_ascii_uppercase();
        if !GATEWAY_TYPES.contains(&gateway_type.as_str()) {
            return Err(ErrorMessage::new(format!(
                "gateway_type must be one of {}, got {:?}",
                GATEWAY_TYPES.join(", "),
                input.required_str("gateway_type")?
            )));
        }
        Ok(Self {
            common,
            id: input.optional_str("id")?.map(route_id).transpose()?,
            route_table_id: input.required_str("route_table_id")?.to_owned(),
            dest_cidr: input.required_str("dest_cidr")?.to_owned(),
            gateway_type,
            gateway_id: input.required_str("gateway_id")?.to_owned(),
            desc: input.required_str("desc")?.to_owned(),
        })
    }
}

/// Validated `route-policy/terminate` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// The route to delete.
    pub id: u64,
    /// Its `RouteTableId`.
    pub route_table_id: String,
}

impl TerminateArgs {
    /// Validate a `route-policy/terminate` input: every field required, `id` a decimal route id.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            id: route_id(input.required_str("id")?)?,
            route_table_id: input.required_str("route_table_id")?.to_owned(),
        })
    }
}

/// The `RouteId`s of `table`'s `RouteSet`.
fn route_ids(table: &Value) -> impl Iterator<Item = u64> + '_ {
    table
        .get("RouteSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|route| route.get("RouteId").and_then(Value::as_u64))
}

/// Create a route, or return route `id` when its table already has it.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    let table = &args.route_table_id;
    if let Some(id) = args.id {
        let (request_id, lookup) = common::describe(api, &ROUTE_TABLE, table)?;
        if let Lookup::One(_, found) = lookup
            && route_ids(&found).any(|r| r == id)
        {
            return Ok(common::output_with_id(&request_id, guid, &id.to_string()));
        }
    }
    let conflicts = api.call(
        "DescribeRouteConflicts",
        &json!({ "RouteTableId": table, "DestinationCidrBlocks": [args.dest_cidr] }),
    )?;
    let conflicting: Vec<String> = conflicts
        .body
        .get("RouteConflictSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("ConflictSet").and_then(Value::as_array))
        .flatten()
        .map(|route| {
            route
                .get("RouteId")
                .map_or_else(String::new, |id| id.to_string())
        })
        .collect();
    if !conflicting.is_empty() {
        return Err(ErrorMessage::new(format!(
            "route table {table} already has {} route(s) to {} (RouteId {}) (RequestId={})",
            conflicting.len(),
            args.dest_cidr,
            conflicting.join(", "),
            conflicts.request_id
        )));
    }
    let response = api.call(
        "CreateRoutes",
        &json!({
            "RouteTableId": table,
            "Routes": [{
                "DestinationCidrBlock": args.dest_cidr,
                "GatewayType": args.gateway_type,
                "GatewayId": args.gateway_id,
                "Enabled": true,
                "RouteDescription": args.desc,
            }],
        }),
    )?;
    let new_id = response
        .body
        .get("RouteTableSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|t| t.get("RouteSet").and_then(Value::as_array))
        .flatten()
        .find(|r| r.get("DestinationCidrBlock").and_then(Value::as_str) == Some(&args.dest_cidr))
        .and_then(|r| r.get("RouteId"))
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "CreateRoutes succeeded but returned no RouteId for {} (RequestId={})",
                args.dest_cidr, response.request_id
            ))
        })?;
    Ok(common::output_with_id(
        &response.request_id,
        guid,
        &new_id.to_string(),
    ))
}

/// Delete a route; a route or table that is already gone counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    match api.call(
        "DeleteRoutes",
        &json!({ "RouteTableId": args.route_table_id, "Routes": [{ "RouteId": args.id }] }),
    ) {
        Ok(response) => Ok(common::output(&response.request_id, guid)),
        Err(error) if error.is_not_found() => Ok(common::output(error.request_id(), guid)),
        Err(error) => Err(error.into()),
    }
}

/// `POST /v1/qcloud/route-policy/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    common::with_client("route-policy/create", &args.common, |api| {
        create(api, &args)
    })
}

/// `POST /v1/qcloud/route-policy/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    common::with_client("route-policy/terminate", &args.common, |api| {
        terminate(api, &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, PARAMS, api_error, input, ok};

    fn create_args(extra: Value) -> Result<CreateArgs, ErrorMessage> {
        let mut v = json!({"guid": "g", "provider_params": PARAMS, "route_table_id": "rtb-1",
            "dest_cidr": "10.0.0.0/8", "gateway_type": "nat", "gateway_id": "nat-1", "desc": "d"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        CreateArgs::from_input(&input(v))
    }

    #[test]
    fn gateway_types_are_checked_case_insensitively_and_sent_upper_case() {
        assert_eq!(create_args(json!({})).unwrap().gateway_type, "NAT");
        let e = create_args(json!({"gateway_type": "router"})).unwrap_err();
        assert!(
            e.as_str()
                .starts_with("gateway_type must be one of CVM, VPN"),
            "{e}"
        );
        let e = create_args(json!({"id": "abc"})).unwrap_err();
        assert_eq!(
            e.as_str(),
            "id must be a route id (a decimal RouteId), got \"abc\""
        );
    }

    #[test]
    fn create_checks_conflicts_then_returns_the_new_route_id_as_a_string() {
        let api = FakeApi::new(vec![
            ok("r-x", json!({"RouteConflictSet": [{"ConflictSet": []}]})),
            ok(
                "r-c",
                json!({"TotalCount": 1, "RouteTableSet": [{"RouteSet": [
                    {"RouteId": 114914, "DestinationCidrBlock": "10.0.0.0/8"}]}]}),
            ),
        ]);
        let out = create(&api, &create_args(json!({})).unwrap()).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "114914"})
        );
        assert_eq!(
            api.calls.borrow()[1].1["Routes"][0],
            json!({"DestinationCidrBlock": "10.0.0.0/8", "GatewayType": "NAT",
                "GatewayId": "nat-1", "Enabled": true, "RouteDescription": "d"})
        );
    }

    #[test]
    fn a_conflicting_route_is_an_error_and_an_existing_id_is_returned() {
        let api = FakeApi::new(vec![ok(
            "r-x",
            json!({"RouteConflictSet": [{"ConflictSet": [{"RouteId": 7}]}]}),
        )]);
        let e = create(&api, &create_args(json!({})).unwrap()).unwrap_err();
        assert_eq!(
            e.as_str(),
            "route table rtb-1 already has 1 route(s) to 10.0.0.0/8 (RouteId 7) (RequestId=r-x)"
        );

        let api = FakeApi::new(vec![ok(
            "r-d",
            json!({"TotalCount": 1, "RouteTableSet": [{"RouteTableId": "rtb-1", "RouteSet": [{"RouteId": 7}]}]}),
        )]);
        let out = create(&api, &create_args(json!({"id": "7"})).unwrap()).unwrap();
        assert_eq!(out["id"], "7");
        assert_eq!(api.actions(), ["DescribeRouteTables"]);
    }

    #[test]
    fn terminate_of_an_absent_route_succeeds() {
        let args =
            TerminateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS,
            "id": "114914", "route_table_id": "rtb-1"})))
            .unwrap();
        let api = FakeApi::new(vec![api_error("ResourceNotFound", "r-del")]);
        assert_eq!(
            Value::Object(terminate(&api, &args).unwrap()),
            json!({"request_id": "r-del", "guid": "g"})
        );
        assert_eq!(
            api.calls.borrow()[0].1,
            json!({"RouteTableId": "rtb-1", "Routes": [{"RouteId": 114914}]})
        );
    }
}
