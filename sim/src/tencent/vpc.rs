//! The VPC product (`vpc`, version `2017-03-12`): `CreateVpc`, `DescribeVpcs`, `DeleteVpc`
//! here; subnets, route tables (with routes) and security groups in their own modules.
//!
//! Behaviour follows the real API where it matters to a client:
//! - `CidrBlock` must lie in 10.0.0.0/8 (prefix /12–/28), 172.16.0.0/12 or 192.168.0.0/16
//!   (/16–/28); garbage is `InvalidParameterValue.Malformed`, a valid block outside those ranges
//!   is `InvalidParameterValue.Range`.
//! - `DescribeVpcs` with `VpcIds` that are well-formed but unknown answers `ResourceNotFound`
//!   (real Tencent does this, rather than an empty set); unknown ids in a `vpc-id` *filter* just
//!   match nothing. `VpcIds` and `Filters` cannot be combined.
//! - Each region holds at most [`VPC_QUOTA_PER_REGION`] VPCs (`LimitExceeded`).
//! - A new VPC gets its main route table (`Main: true`), as on Tencent; `DeleteVpc` of a VPC
//!   that still has subnets is `ResourceInUse`, otherwise its route tables go with it.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Value, json};

use super::error::TcError;
use super::params::Params;
use super::state::{self, State};
use super::{Call, Product, address, nat, peering, route_table, security_group, subnet};

/// The VPC product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "vpc",
    version: "2017-03-12",
    actions: &[
        "CreateVpc",
        "DescribeVpcs",
        "DeleteVpc",
        "CreateSubnet",
        "DescribeSubnets",
        "DeleteSubnet",
        "CreateRouteTable",
        "DescribeRouteTables",
        "DeleteRouteTable",
        "ReplaceRouteTableAssociation",
        "DescribeRouteConflicts",
        "CreateRoutes",
        "DeleteRoutes",
        "CreateSecurityGroup",
        "DescribeSecurityGroups",
        "DeleteSecurityGroup",
        "CreateNatGateway",
        "DescribeNatGateways",
        "DeleteNatGateway",
        "AllocateAddresses",
        "DescribeAddresses",
        "ReleaseAddresses",
        "CreateVpcPeeringConnection",
        "DescribeVpcPeeringConnections",
        "AcceptVpcPeeringConnection",
        "DeleteVpcPeeringConnection",
    ],
    regional: true,
    handle,
};

/// Tencent's default VPC quota per region.
pub const VPC_QUOTA_PER_REGION: usize = 20;

/// Name limit in characters (`VpcName`, `SubnetName`, `RouteTableName`, `GroupName`).
pub(super) const MAX_NAME_CHARS: usize = 60;

/// Tencent's own resolvers, the default `DnsServerSet` of a new VPC.
const DEFAULT_DNS: [&str; 2] = ["183.60.83.19", "183.60.82.98"];

/// The private ranges a VPC may use: (network, network prefix, smallest and largest VPC prefix).
const ALLOWED_RANGES: [(Ipv4Addr, u8, u8, u8); 3] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8, 12, 28),
    (Ipv4Addr::new(172, 16, 0, 0), 12, 16, 28),
    (Ipv4Addr::new(192, 168, 0, 0), 16, 16, 28),
];

/// One VPC, serialised exactly as `DescribeVpcs` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Vpc {
    pub(crate) vpc_id: String,
    vpc_name: String,
    pub(crate) cidr_block: String,
    is_default: bool,
    enable_multicast: bool,
    created_time: String,
    dns_server_set: Vec<String>,
    domain_name: String,
    dhcp_options_id: String,
    enable_dhcp: bool,
    ipv6_cidr_block: String,
    tag_set: Vec<Tag>,
    assistant_cidr_set: Vec<Value>,
}

/// One `{Key, Value}` tag.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Tag {
    key: String,
    value: String,
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "CreateVpc" => create(state, call),
        "DescribeVpcs" => describe(state, call),
        "DeleteVpc" => delete(state, call),
        "CreateSubnet" => subnet::create(state, call),
        "DescribeSubnets" => subnet::describe(state, call),
        "DeleteSubnet" => subnet::delete(state, call),
        "CreateRouteTable" => route_table::create(state, call),
        "DescribeRouteTables" => route_table::describe(state, call),
        "DeleteRouteTable" => route_table::delete(state, call),
        "ReplaceRouteTableAssociation" => route_table::replace_association(state, call),
        "DescribeRouteConflicts" => route_table::describe_conflicts(state, call),
        "CreateRoutes" => route_table::create_routes(state, call),
        "DeleteRoutes" => route_table::delete_routes(state, call),
        "CreateSecurityGroup" => security_group::create(state, call),
        "DescribeSecurityGroups" => security_group::describe(state, call),
        "DeleteSecurityGroup" => security_group::delete(state, call),
        "CreateNatGateway" => nat::create(state, call),
        "DescribeNatGateways" => nat::describe(state, call),
        "DeleteNatGateway" => nat::delete(state, call),
        "AllocateAddresses" => address::allocate_addresses(state, call),
        "DescribeAddresses" => address::describe(state, call),
        "ReleaseAddresses" => address::release(state, call),
        "CreateVpcPeeringConnection" => peering::create(state, call),
        "DescribeVpcPeeringConnections" => peering::describe(state, call),
        "AcceptVpcPeeringConnection" => peering::accept(state, call),
        "DeleteVpcPeeringConnection" => peering::delete(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "VpcName",
        "CidrBlock",
        "EnableMulticast",
        "DnsServers",
        "DomainName",
        "Tags",
    ])?;
    let name = required_name(p, "VpcName")?;
    let cidr = p.required_str("CidrBlock")?;
    check_vpc_cidr(cidr)?;
    let enable_multicast = p.flag("EnableMulticast")?.unwrap_or(false);
    let dns = match p.str_list("DnsServers")? {
        None => DEFAULT_DNS.iter().map(|s| s.to_string()).collect(),
        Some(list) if list.len() > 4 => {
            return Err(TcError::out_of_range(
                "DnsServers",
                &list.len().to_string(),
                "at most 4 servers",
            ));
        }
        Some(list) => list
            .into_iter()
            .map(|ip| match ip.parse::<Ipv4Addr>() {
                Ok(_) => Ok(ip.to_owned()),
                Err(_) => Err(TcError::malformed("DnsServers", ip)),
            })
            .collect::<Result<_, _>>()?,
    };
    let domain_name = p.str("DomainName")?.unwrap_or("").to_owned();
    let tags = tags(p)?;

    let id = state.new_id("vpc");
    let main_table = state.new_id("rtb");
    let quota = state.vpc_quota;
    let region = state.vpcs.entry(call.region.to_owned()).or_default();
    if region.len() >= quota {
        return Err(TcError::new(
            "LimitExceeded",
            format!("The number of VPCs in this region has reached the quota of {quota}."),
        ));
    }
    let vpc = Vpc {
        vpc_id: id,
        vpc_name: name.to_owned(),
        cidr_block: cidr.to_owned(),
        is_default: false,
        enable_multicast,
        created_time: state::created_time(),
        dns_server_set: dns,
        domain_name,
        dhcp_options_id: String::new(),
        enable_dhcp: true,
        ipv6_cidr_block: String::new(),
        tag_set: tags,
        assistant_cidr_set: Vec::new(),
    };
    region.push(vpc.clone());
    let table = route_table::RouteTable::new(main_table, &vpc.vpc_id, "default", true);
    state
        .route_tables
        .entry(call.region.to_owned())
        .or_default()
        .push(table);
    Ok(json!({ "Vpc": vpc }))
}

/// A required, non-empty name of at most [`MAX_NAME_CHARS`] characters.
pub(super) fn required_name<'a>(p: &Params<'a>, param: &str) -> Result<&'a str, TcError> {
    let name = p.required_str(param)?;
    if name.is_empty() {
        return Err(TcError::new(
            "InvalidParameterValue.Empty",
            format!("The value of parameter `{param}` is empty."),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            format!("The value of parameter `{param}` exceeds {MAX_NAME_CHARS} characters."),
        ));
    }
    Ok(name)
}

/// The optional `Tags` list (`[{Key, Value}]`).
pub(super) fn tags(p: &Params<'_>) -> Result<Vec<Tag>, TcError> {
    let Some(value) = p.get("Tags") else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| TcError::parameter_type("Tags"))?;
    items
        .iter()
        .map(|tag| {
            let field = |k: &str| tag.get(k).and_then(Value::as_str).map(str::to_owned);
            match (field("Key"), field("Value")) {
                (Some(key), Some(value)) => Ok(Tag { key, value }),
                _ => Err(TcError::parameter_type("Tags")),
            }
        })
        .collect()
}

/// `(network, prefix)` of `cidr` (parameter `name`): `InvalidParameterValue.Malformed` unless it
/// is `a.b.c.d/n` with no host bits set.
pub(super) fn parse_cidr(name: &str, cidr: &str) -> Result<(u32, u8), TcError> {
    let malformed = || TcError::malformed(name, cidr);
    let (addr, prefix) = cidr.split_once('/').ok_or_else(malformed)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| malformed())?;
    let prefix: u8 = prefix.parse().map_err(|_| malformed())?;
    if prefix > 32 || u32::from(addr) & !mask(prefix) != 0 {
        return Err(malformed());
    }
    Ok((u32::from(addr), prefix))
}

/// Whether two parsed blocks share any address.
pub(super) fn overlaps((a, a_prefix): (u32, u8), (b, b_prefix): (u32, u8)) -> bool {
    let common = mask(a_prefix.min(b_prefix));
    a & common == b & common
}

/// `InvalidParameterValue.Malformed` unless `cidr` is `a.b.c.d/n` with no host bits set;
/// `InvalidParameterValue.Range` unless it lies in one of [`ALLOWED_RANGES`].
fn check_vpc_cidr(cidr: &str) -> Result<(), TcError> {
    let (addr, prefix) = parse_cidr("CidrBlock", cidr)?;
    let addr = Ipv4Addr::from(addr);
    let allowed = ALLOWED_RANGES.iter().any(|&(net, net_prefix, min, max)| {
        (min..=max).contains(&prefix) && u32::from(addr) & mask(net_prefix) == u32::from(net)
    });
    if !allowed {
        return Err(TcError::out_of_range(
            "CidrBlock",
            cidr,
            "use 10.0.0.0/8 (/12-/28), 172.16.0.0/12 (/16-/28) or 192.168.0.0/16 (/16-/28)",
        ));
    }
    Ok(())
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn check_vpc_id(name: &str, id: &str) -> Result<(), TcError> {
    state::check_id("vpc", name, id)
}

/// One `Filters` entry: `{"Name": ..., "Values": [...]}`.
struct Filter<'a> {
    name: &'a str,
    values: Vec<&'a str>,
}

impl Filter<'_> {
    fn matches(&self, vpc: &Vpc) -> bool {
        self.values.iter().any(|&want| match self.name {
            "vpc-id" => vpc.vpc_id == want,
            // Tencent documents `vpc-name` as a fuzzy match.
            "vpc-name" => vpc.vpc_name.contains(want),
            "cidr-block" => vpc.cidr_block == want,
            "is-default" => vpc.is_default.to_string() == want,
            _ => false,
        })
    }
}

fn filters<'a>(p: &Params<'a>) -> Result<Vec<Filter<'a>>, TcError> {
    let Some(value) = p.get("Filters") else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| TcError::parameter_type("Filters"))?;
    items
        .iter()
        .map(|item| {
            let name = item.get("Name").and_then(Value::as_str);
            let values = item.get("Values").and_then(Value::as_array);
            let (Some(name), Some(values)) = (name, values) else {
                return Err(TcError::parameter_type("Filters"));
            };
            if !["vpc-id", "vpc-name", "cidr-block", "is-default"].contains(&name) {
                return Err(TcError::new(
                    "InvalidParameter.FilterInvalidKey",
                    format!("The filter name `{name}` is not supported."),
                ));
            }
            let values = values
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| TcError::parameter_type("Filters.Values"))
                })
                .collect::<Result<_, _>>()?;
            Ok(Filter { name, values })
        })
        .collect()
}

fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["VpcIds", "Filters", "Offset", "Limit"])?;
    let ids = p.str_list("VpcIds")?;
    let filters = filters(p)?;
    if ids.is_some() && !filters.is_empty() {
        return Err(TcError::new(
            "InvalidParameter.Coexist",
            "The parameters `VpcIds` and `Filters` cannot be specified at the same time.",
        ));
    }
    // `Filters` is empty when `VpcIds` is given (they cannot coexist).
    let vpcs: Vec<&Vpc> = state
        .vpcs
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|v| filters.iter().all(|f| f.matches(v)))
        .collect();
    let (total, page) = state::describe_page(
        &vpcs,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("vpc", "VpcIds"),
        |v| &v.vpc_id,
    )?;
    Ok(json!({ "TotalCount": total, "VpcSet": page }))
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["VpcId"])?;
    let id = p.required_str("VpcId")?;
    check_vpc_id("VpcId", id)?;
    let gateways = nat::in_vpc(state, call.region, id);
    let peerings = peering::in_vpc(state, call.region, id);
    let vpcs = state
        .vpcs
        .get_mut(call.region)
        .ok_or_else(TcError::resource_not_found)?;
    let index = vpcs
        .iter()
        .position(|v| v.vpc_id == id)
        .ok_or_else(TcError::resource_not_found)?;
    let subnets = state
        .subnets
        .get(call.region)
        .map_or(0, |s| s.iter().filter(|s| s.vpc_id == id).count());
    if subnets > 0 {
        return Err(TcError::new(
            "ResourceInUse",
            format!("The VPC `{id}` still has {subnets} subnet(s)."),
        ));
    }
    if gateways + peerings > 0 {
        return Err(TcError::new(
            "ResourceInUse",
            format!(
                "The VPC `{id}` still has {gateways} NAT gateway(s) and {peerings} peering connection(s)."
            ),
        ));
    }
    vpcs.remove(index);
    if let Some(tables) = state.route_tables.get_mut(call.region) {
        tables.retain(|t| t.vpc_id != id);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_are_checked_for_shape_then_range() {
        for ok in [
            "10.0.0.0/16",
            "10.16.0.0/12",
            "172.16.0.0/16",
            "172.31.255.240/28",
            "192.168.0.0/16",
        ] {
            assert_eq!(check_vpc_cidr(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/x",
            "10.0.0.0/33",
            "10.0.0.1/16",
            "010.0.0.0/16",
        ] {
            assert_eq!(
                check_vpc_cidr(bad).unwrap_err().code,
                "InvalidParameterValue.Malformed",
                "{bad}"
            );
        }
        for out in [
            "10.0.0.0/8",
            "10.0.0.0/29",
            "172.32.0.0/16",
            "172.16.0.0/12",
            "192.169.0.0/16",
            "8.8.8.0/24",
        ] {
            assert_eq!(
                check_vpc_cidr(out).unwrap_err().code,
                "InvalidParameterValue.Range",
                "{out}"
            );
        }
    }

    #[test]
    fn vpc_ids_are_vpc_dash_eight_lowercase_alphanumerics() {
        assert!(state::is_id("vpc", "vpc-2x8kd9f0"));
        for bad in [
            "vpc-2x8kd9f",
            "vpc-2X8KD9F0",
            "subnet-2x8kd9f0",
            "vpc2x8kd9f0",
            "vpc-2x8kd9f0a",
        ] {
            assert!(!state::is_id("vpc", bad), "{bad}");
        }
        let id = State::default().new_id("vpc");
        assert!(state::is_id("vpc", &id), "{id}");
    }
}
