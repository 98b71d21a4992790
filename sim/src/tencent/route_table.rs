//! Route tables and routes of the VPC product: `CreateRouteTable`, `DescribeRouteTables`,
//! `DeleteRouteTable`, `ReplaceRouteTableAssociation`, `DescribeRouteConflicts`, `CreateRoutes`,
//! `DeleteRoutes`.
//!
//! A route table belongs to one VPC; every VPC has one main table (`Main: true`, made with the
//! VPC, never deletable: `UnsupportedOperation`). A subnet is associated with exactly one table
//! (its `RouteTableId`); a table's `AssociationSet` lists the subnets pointing at it, and a table
//! with associations cannot be deleted (`ResourceInUse`). Routes have integer `RouteId`s, unique
//! in the simulator; two routes of one table may not share a destination (that is what
//! `DescribeRouteConflicts` reports).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Call;
use super::error::TcError;
use super::params::Params;
use super::state::{self, State};
use super::subnet::Subnet;
use super::vpc::{parse_cidr, required_name};

/// Gateway types `CreateRoutes` accepts (upper case, as Tencent requires).
const GATEWAY_TYPES: &[&str] = &[
    "CVM",
    "VPN",
    "DIRECTCONNECT",
    "PEERCONNECTION",
    "SSLVPN",
    "HAVIP",
    "NAT",
    "NORMAL_CVM",
    "EIP",
    "CCN",
    "LOCAL_GATEWAY",
];

/// One route, serialised as Tencent returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Route {
    route_id: u64,
    destination_cidr_block: String,
    gateway_type: String,
    gateway_id: String,
    route_description: String,
    enabled: bool,
    route_type: String,
    route_table_id: String,
    destination_ipv6_cidr_block: String,
}

/// One route table. Its `AssociationSet` is not stored: it is computed from the subnets.
#[derive(Clone, Debug)]
pub(crate) struct RouteTable {
    pub(crate) route_table_id: String,
    pub(crate) vpc_id: String,
    route_table_name: String,
    /// The VPC's main (default) table.
    pub(crate) main: bool,
    routes: Vec<Route>,
    created_time: String,
}

impl RouteTable {
    /// A table without routes.
    pub(crate) fn new(id: String, vpc_id: &str, name: &str, main: bool) -> Self {
        Self {
            route_table_id: id,
            vpc_id: vpc_id.to_owned(),
            route_table_name: name.to_owned(),
            main,
            routes: Vec::new(),
            created_time: state::created_time(),
        }
    }

    /// The `RouteId`s of its routes, in creation order.
    pub(crate) fn route_ids(&self) -> Vec<u64> {
        self.routes.iter().map(|r| r.route_id).collect()
    }

    /// How many subnets of `subnets` are associated with this table.
    pub(crate) fn association_count(&self, subnets: &[Subnet]) -> usize {
        subnets
            .iter()
            .filter(|s| s.route_table_id == self.route_table_id)
            .count()
    }

    /// The table as Tencent returns it, with `routes` as its `RouteSet`.
    fn to_json(&self, subnets: &[Subnet], routes: &[&Route]) -> Value {
        let associations: Vec<Value> = subnets
            .iter()
            .filter(|s| s.route_table_id == self.route_table_id)
            .map(|s| json!({"SubnetId": s.subnet_id, "RouteTableId": self.route_table_id}))
            .collect();
        json!({
            "RouteTableId": self.route_table_id,
            "VpcId": self.vpc_id,
            "RouteTableName": self.route_table_name,
            "AssociationSet": associations,
            "RouteSet": routes,
            "Main": self.main,
            "CreatedTime": self.created_time,
            "TagSet": [],
            "LocalCidrForCcn": [],
        })
    }
}

fn subnets<'a>(state: &'a State, region: &str) -> &'a [Subnet] {
    state.subnets.get(region).map_or(&[][..], Vec::as_slice)
}

/// The index of table `id` in `region` (`Malformed` / `ResourceNotFound`).
fn find(state: &State, region: &str, name: &str, id: &str) -> Result<usize, TcError> {
    state::check_id("rtb", name, id)?;
    state
        .route_tables
        .get(region)
        .and_then(|tables| tables.iter().position(|t| t.route_table_id == id))
        .ok_or_else(TcError::resource_not_found)
}

fn table_mut<'a>(state: &'a mut State, region: &str, index: usize) -> &'a mut RouteTable {
    &mut state
        .route_tables
        .get_mut(region)
        .expect("the region was found")[index]
}

/// `CreateRouteTable {VpcId, RouteTableName, Tags?}` → `{RouteTable}`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["VpcId", "RouteTableName", "Tags"])?;
    let vpc_id = p.required_str("VpcId")?;
    let name = required_name(p, "RouteTableName")?;
    super::vpc::tags(p)?;
    state.vpc(call.region, "VpcId", vpc_id)?;
    let table = RouteTable::new(state.new_id("rtb"), vpc_id, name, false);
    let body = table.to_json(&[], &[]);
    state
        .route_tables
        .entry(call.region.to_owned())
        .or_default()
        .push(table);
    Ok(json!({ "RouteTable": body }))
}

/// `DescribeRouteTables {RouteTableIds?, Offset?, Limit?}` → `{TotalCount, RouteTableSet}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["RouteTableIds", "Offset", "Limit"])?;
    let ids = p.str_list("RouteTableIds")?;
    let tables = state
        .route_tables
        .get(call.region)
        .map_or(&[][..], Vec::as_slice);
    let (total, page) = state::describe_page(
        tables,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("rtb", "RouteTableIds"),
        |t| &t.route_table_id,
    )?;
    let subnets = subnets(state, call.region);
    let set: Vec<Value> = page
        .iter()
        .map(|t| t.to_json(subnets, &t.routes.iter().collect::<Vec<_>>()))
        .collect();
    Ok(json!({ "TotalCount": total, "RouteTableSet": set }))
}

/// `DeleteRouteTable {RouteTableId}` → `{}`.
pub(super) fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["RouteTableId"])?;
    let id = p.required_str("RouteTableId")?;
    let index = find(state, call.region, "RouteTableId", id)?;
    let table = &state.route_tables[call.region][index];
    if table.main {
        return Err(TcError::new(
            "UnsupportedOperation",
            format!("The route table `{id}` is the main route table of its VPC."),
        ));
    }
    let associated = table.association_count(subnets(state, call.region));
    if associated > 0 {
        return Err(TcError::new(
            "ResourceInUse",
            format!("The route table `{id}` is associated with {associated} subnet(s)."),
        ));
    }
    state
        .route_tables
        .get_mut(call.region)
        .expect("the region was found")
        .remove(index);
    Ok(json!({}))
}

/// `ReplaceRouteTableAssociation {SubnetId, RouteTableId}` → `{}`.
pub(super) fn replace_association(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["SubnetId", "RouteTableId"])?;
    let subnet_id = p.required_str("SubnetId")?;
    let table_id = p.required_str("RouteTableId")?;
    state::check_id("subnet", "SubnetId", subnet_id)?;
    let index = find(state, call.region, "RouteTableId", table_id)?;
    let vpc_id = state.route_tables[call.region][index].vpc_id.clone();
    let subnet = state
        .subnets
        .get_mut(call.region)
        .and_then(|s| s.iter_mut().find(|s| s.subnet_id == subnet_id))
        .ok_or_else(TcError::resource_not_found)?;
    if subnet.vpc_id != vpc_id {
        return Err(TcError::new(
            "UnsupportedOperation.VpcMismatch",
            format!(
                "The subnet `{subnet_id}` and the route table `{table_id}` are in different VPCs."
            ),
        ));
    }
    subnet.route_table_id = table_id.to_owned();
    Ok(json!({}))
}

/// The `Routes` list: objects, each read by `read`.
fn routes_param<T>(
    p: &Params<'_>,
    read: impl Fn(&Map<String, Value>) -> Result<T, TcError>,
) -> Result<Vec<T>, TcError> {
    let items = p
        .get("Routes")
        .ok_or_else(|| TcError::missing_parameter("Routes"))?
        .as_array()
        .ok_or_else(|| TcError::parameter_type("Routes"))?;
    if items.is_empty() {
        return Err(TcError::missing_parameter("Routes"));
    }
    items
        .iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| TcError::parameter_type("Routes"))
                .and_then(&read)
        })
        .collect()
}

fn route_str<'a>(
    route: &'a Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<&'a str>, TcError> {
    match route.get(name).filter(|v| !v.is_null()) {
        None if required => Err(TcError::missing_parameter(&format!("Routes.{name}"))),
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| TcError::parameter_type(&format!("Routes.{name}"))),
    }
}

/// `DescribeRouteConflicts {RouteTableId, DestinationCidrBlocks}` →
/// `{RouteConflictSet: [{RouteTableId, DestinationCidrBlock, ConflictSet}]}`, one entry per block.
pub(super) fn describe_conflicts(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["RouteTableId", "DestinationCidrBlocks"])?;
    let id = p.required_str("RouteTableId")?;
    let blocks = p
        .str_list("DestinationCidrBlocks")?
        .ok_or_else(|| TcError::missing_parameter("DestinationCidrBlocks"))?;
    let index = find(state, call.region, "RouteTableId", id)?;
    let table = &state.route_tables[call.region][index];
    let set = blocks
        .iter()
        .map(|block| {
            parse_cidr("DestinationCidrBlocks", block)?;
            let conflicts: Vec<&Route> = table
                .routes
                .iter()
                .filter(|r| r.destination_cidr_block == *block)
                .collect();
            Ok(json!({
                "RouteTableId": id,
                "DestinationCidrBlock": block,
                "ConflictSet": conflicts,
            }))
        })
        .collect::<Result<Vec<_>, TcError>>()?;
    Ok(json!({ "RouteConflictSet": set }))
}

/// `CreateRoutes {RouteTableId, Routes: [{DestinationCidrBlock, GatewayType, GatewayId,
/// RouteDescription?, Enabled?}]}` → `{TotalCount, RouteTableSet}`, the table holding only the
/// new routes.
pub(super) fn create_routes(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["RouteTableId", "Routes"])?;
    let id = p.required_str("RouteTableId")?;
    let index = find(state, call.region, "RouteTableId", id)?;
    let existing = &state.route_tables[call.region][index].routes;
    let mut next_id = state.last_route_id;
    let mut new: Vec<Route> = Vec::new();
    for route in routes_param(p, |route| {
        let destination = route_str(route, "DestinationCidrBlock", true)?.unwrap_or_default();
        parse_cidr("Routes.DestinationCidrBlock", destination)?;
        let gateway_type = route_str(route, "GatewayType", true)?.unwrap_or_default();
        if !GATEWAY_TYPES.contains(&gateway_type) {
            return Err(TcError::new(
                "InvalidParameterValue",
                format!("The gateway type `{gateway_type}` is not supported."),
            ));
        }
        let gateway_id = route_str(route, "GatewayId", true)?.unwrap_or_default();
        if gateway_id.is_empty() {
            return Err(TcError::new(
                "InvalidParameterValue.Empty",
                "The value of parameter `Routes.GatewayId` is empty.",
            ));
        }
        let enabled = match route.get("Enabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(TcError::parameter_type("Routes.Enabled")),
        };
        Ok((
            destination.to_owned(),
            gateway_type.to_owned(),
            gateway_id.to_owned(),
            route_str(route, "RouteDescription", false)?
                .unwrap_or_default()
                .to_owned(),
            enabled,
        ))
    })? {
        let (destination, gateway_type, gateway_id, description, enabled) = route;
        if existing
            .iter()
            .chain(&new)
            .any(|r| r.destination_cidr_block == destination)
        {
            return Err(TcError::new(
                "InvalidParameterValue.Duplicate",
                format!("The route table `{id}` already has a route to `{destination}`."),
            ));
        }
        next_id += 1;
        new.push(Route {
            route_id: next_id,
            destination_cidr_block: destination,
            gateway_type,
            gateway_id,
            route_description: description,
            enabled,
            route_type: "USER".to_owned(),
            route_table_id: id.to_owned(),
            destination_ipv6_cidr_block: String::new(),
        });
    }
    state.last_route_id = next_id;
    let count = new.len();
    let table = table_mut(state, call.region, index);
    table.routes.extend(new.iter().cloned());
    let table = state.route_tables[call.region][index].clone();
    let body = table.to_json(subnets(state, call.region), &new.iter().collect::<Vec<_>>());
    Ok(json!({ "TotalCount": count, "RouteTableSet": [body] }))
}

/// `DeleteRoutes {RouteTableId, Routes: [{RouteId}]}` → `{RouteSet}` (the deleted routes); an
/// unknown `RouteId` is `ResourceNotFound`.
pub(super) fn delete_routes(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["RouteTableId", "Routes"])?;
    let id = p.required_str("RouteTableId")?;
    let index = find(state, call.region, "RouteTableId", id)?;
    let ids = routes_param(p, |route| match route.get("RouteId") {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| TcError::parameter_type("Routes.RouteId")),
        Some(_) => Err(TcError::parameter_type("Routes.RouteId")),
        None => Err(TcError::missing_parameter("Routes.RouteId")),
    })?;
    let table = table_mut(state, call.region, index);
    if ids
        .iter()
        .any(|rid| !table.routes.iter().any(|r| r.route_id == *rid))
    {
        return Err(TcError::resource_not_found());
    }
    let (deleted, kept): (Vec<Route>, Vec<Route>) = table
        .routes
        .drain(..)
        .partition(|r| ids.contains(&r.route_id));
    table.routes = kept;
    Ok(json!({ "RouteSet": deleted }))
}
