//! Network handlers: VPCs, subnets, security groups with rules, network configs, and the
//! provider catalogue (regions, zones, instance types, images).

use serde_json::{Value, json};

use super::state::{Rule, SecurityGroup, Subnet, Vpc};
use super::{ApiError, Call, Handled, State, cst, page, pascal_pager};

/// Providers BridgX's code accepts (the handbook also lists Baidu and AWS).
pub const PROVIDERS: &[&str] = &["AlibabaCloud", "HuaweiCloud", "TencentCloud"];

/// Regions of the catalogue: (provider, region, local name, zones).
const REGIONS: &[(&str, &str, &str, &[&str])] = &[
    (
        "AlibabaCloud",
        "cn-qingdao",
        "华北 1",
        &["cn-qingdao-b", "cn-qingdao-c"],
    ),
    (
        "AlibabaCloud",
        "cn-beijing",
        "华北 2",
        &["cn-beijing-h", "cn-beijing-g"],
    ),
    ("AlibabaCloud", "cn-hangzhou", "华东 1", &["cn-hangzhou-h"]),
    (
        "TencentCloud",
        "ap-guangzhou",
        "华南地区(广州)",
        &["ap-guangzhou-3"],
    ),
    ("HuaweiCloud", "cn-north-4", "华北-北京四", &["cn-north-4a"]),
];

/// Instance types of every zone: (family, type, cores, memory GiB).
const INSTANCE_TYPES: &[(&str, &str, u32, u32)] = &[
    ("ecs.s6", "ecs.s6-c1m1.small", 1, 1),
    ("ecs.e3", "ecs.e3.large", 4, 32),
    ("ecs.r6", "ecs.r6.13xlarge", 52, 384),
];

/// Images: (image type, os type, os name, id).
const IMAGES: &[(&str, &str, &str, &str)] = &[
    (
        "global",
        "linux",
        "CentOS  7.6 64位",
        "centos_7_6_x64_20G_alibase_20211030.vhd",
    ),
    (
        "global",
        "linux",
        "Gentoo  13  64bit",
        "gentoo13_64_40G_aliaegis_20160222.vhd",
    ),
    ("self", "linux", "bridgx-base", "m-2ze14bof6m3aadve22aq"),
];

fn region_known(provider: &str, region: &str) -> bool {
    REGIONS
        .iter()
        .any(|(p, r, ..)| *p == provider && *r == region)
}

/// `GET region/list?provider=`.
pub fn regions(state: &mut State, call: &Call) -> Handled {
    let provider = call.required_q("provider")?;
    call.provider_account(state, provider)?;
    Ok(Value::Array(
        REGIONS
            .iter()
            .filter(|(p, ..)| *p == provider)
            .map(|(_, id, name, _)| json!({"RegionId": id, "LocalName": name}))
            .collect(),
    ))
}

/// `GET zone/list?provider=&region_id=`.
pub fn zones(_: &mut State, call: &Call) -> Handled {
    let provider = call.required_q("provider")?;
    let region = call.required_q("region_id")?;
    let zones = REGIONS
        .iter()
        .find(|(p, r, ..)| *p == provider && *r == region)
        .map(|(.., zones)| *zones)
        .unwrap_or_default();
    Ok(Value::Array(
        zones
            .iter()
            .map(|z| json!({"ZoneId": z, "LocalName": format!("可用区 {z}")}))
            .collect(),
    ))
}

/// `GET instance_type/list?provider=&region_id=&zone_id=`.
pub fn instance_types(_: &mut State, call: &Call) -> Handled {
    for name in ["provider", "region_id", "zone_id"] {
        call.required_q(name)?;
    }
    Ok(Value::Array(
        INSTANCE_TYPES
            .iter()
            .map(|(family, ty, core, memory)| {
                json!({"instance_type_family": family, "instance_type": ty, "core": core, "memory": memory})
            })
            .collect(),
    ))
}

/// `GET image/list?provider=&region_id=&image_type=[&instance_type=]`.
pub fn images(_: &mut State, call: &Call) -> Handled {
    call.required_q("provider")?;
    call.required_q("region_id")?;
    let kind = call.required_q("image_type")?;
    Ok(Value::Array(
        IMAGES
            .iter()
            .filter(|(t, ..)| *t == kind)
            .map(|(_, os, name, id)| json!({"OsType": os, "OsName": name, "ImageId": id}))
            .collect(),
    ))
}

/// `POST vpc/create`: `provider`, `region_id`, `vpc_name`, `ak` required.
pub fn create_vpc(state: &mut State, call: &Call) -> Handled {
    let provider = call.required_b("provider")?;
    let region = call.required_b("region_id")?;
    let name = call.required_b("vpc_name")?;
    let ak = call.required_b("ak")?;
    call.account(state, ak)?;
    let cidr = call.optional_b("cidr_block").unwrap_or("172.16.0.0/12");
    let id = insert_vpc(state, call, provider, region, name, cidr, ak);
    Ok(Value::String(id))
}

fn insert_vpc(
    state: &mut State,
    call: &Call,
    provider: &str,
    region: &str,
    name: &str,
    cidr: &str,
    ak: &str,
) -> String {
    let id = format!("vpc-{:016x}", state.next());
    let vpc = Vpc {
        id: id.clone(),
        name: name.into(),
        cidr_block: cidr.into(),
        provider: provider.into(),
        region_id: region.into(),
        account_key: ak.into(),
        create_at_ms: call.now_ms,
    };
    call.org_mut(state).vpcs.push(vpc);
    id
}

fn vpc_json(state: &State, call: &Call, vpc: &Vpc) -> Value {
    let switches: Vec<&str> = call
        .org(state)
        .subnets
        .iter()
        .filter(|s| s.vpc_id == vpc.id)
        .map(|s| s.id.as_str())
        .collect();
    json!({
        "VpcId": vpc.id,
        "VpcName": vpc.name,
        "CidrBlock": vpc.cidr_block,
        "SwitchIds": switches.join(","),
        "Provider": vpc.provider,
        "Status": "Available",
        "CreateAt": cst(vpc.create_at_ms),
    })
}

/// `GET vpc/describe`: `provider`, `region_id`, `account_key` are bound as required; a bind
/// failure is BridgX's HTTP 500 `permission_denied`.
pub fn describe_vpcs(state: &mut State, call: &Call) -> Handled {
    let denied = || ApiError::new(500, "permission_denied");
    let provider = call.query("provider").ok_or_else(denied)?;
    let region = call.query("region_id").ok_or_else(denied)?;
    let ak = call.query("account_key").ok_or_else(denied)?;
    let name = call.query("vpc_name");
    let found: Vec<Value> = call
        .org(state)
        .vpcs
        .iter()
        .filter(|v| v.provider == provider && v.region_id == region && v.account_key == ak)
        .filter(|v| name.is_none_or(|n| v.name == n))
        .map(|v| vpc_json(state, call, v))
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"Vpcs": items, "Pager": pascal_pager(&pager)}))
}

/// `GET vpc/info/:id`.
pub fn vpc_info(state: &mut State, call: &Call) -> Handled {
    let id = call.param(0);
    let vpc = call
        .org(state)
        .vpcs
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| ApiError::new(400, "record not found"))?;
    let mut answer = vpc_json(state, call, vpc);
    answer.as_object_mut().map(|o| o.remove("SwitchIds"));
    Ok(answer)
}

/// `POST subnet/create`: `account_key`, `vpc_id`, `switch_name`, `cidr_block`, `zone_id`.
pub fn create_subnet(state: &mut State, call: &Call) -> Handled {
    let ak = call.required_b("account_key")?;
    call.account(state, ak)?;
    let vpc_id = call.required_b("vpc_id")?;
    let name = call.required_b("switch_name")?;
    let cidr = call.required_b("cidr_block")?;
    let zone = call.required_b("zone_id")?;
    let gateway = call.optional_b("gateway_ip").unwrap_or("");
    Ok(Value::String(insert_subnet(
        state, call, vpc_id, name, cidr, zone, gateway,
    )?))
}

fn insert_subnet(
    state: &mut State,
    call: &Call,
    vpc_id: &str,
    name: &str,
    cidr: &str,
    zone: &str,
    gateway: &str,
) -> Result<String, ApiError> {
    if !call.org(state).vpcs.iter().any(|v| v.id == vpc_id) {
        return Err(ApiError::new(400, format!("vpc {vpc_id} not found")));
    }
    let id = format!("vsw-{:016x}", state.next());
    let subnet = Subnet {
        id: id.clone(),
        vpc_id: vpc_id.into(),
        zone_id: zone.into(),
        name: name.into(),
        cidr_block: cidr.into(),
        gateway_ip: gateway.into(),
        create_at_ms: call.now_ms,
    };
    call.org_mut(state).subnets.push(subnet);
    Ok(id)
}

fn subnet_json(s: &Subnet) -> Value {
    json!({
        "VpcId": s.vpc_id,
        "SwitchId": s.id,
        "ZoneId": s.zone_id,
        "SwitchName": s.name,
        "CidrBlock": s.cidr_block,
        "GatewayIp": s.gateway_ip,
        "VStatus": "Available",
        "CreateAt": cst(s.create_at_ms),
        "IsDefault": "N",
        "AvailableIpAddressCount": 252,
    })
}

/// `GET subnet/describe?vpc_id=&switch_name=&zone_id=`.
pub fn describe_subnets(state: &mut State, call: &Call) -> Handled {
    let found: Vec<Value> = call
        .org(state)
        .subnets
        .iter()
        .filter(|s| call.query("vpc_id").is_none_or(|v| s.vpc_id == v))
        .filter(|s| call.query("switch_name").is_none_or(|v| s.name == v))
        .filter(|s| call.query("zone_id").is_none_or(|v| s.zone_id == v))
        .map(subnet_json)
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"Switches": items, "Pager": pascal_pager(&pager)}))
}

/// `GET subnet/info/:id?vpc_id=`.
pub fn subnet_info(state: &mut State, call: &Call) -> Handled {
    let id = call.param(0);
    call.org(state)
        .subnets
        .iter()
        .find(|s| s.id == id && call.query("vpc_id").is_none_or(|v| s.vpc_id == v))
        .map(subnet_json)
        .ok_or_else(|| ApiError::new(400, "record not found"))
}

/// Rules as BridgX binds them: integer `port_from`/`port_to`; `port_range` is not a field of
/// the request type, so it is ignored.
fn parse_rules(body: &Value) -> Result<Vec<Rule>, ApiError> {
    let Some(rules) = body.get("rules") else {
        return Ok(Vec::new());
    };
    let rules = rules
        .as_array()
        .ok_or_else(|| ApiError::new(400, "param_invalid"))?;
    rules
        .iter()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let port = |k: &str| match r.get(k) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v
                    .as_i64()
                    .ok_or_else(|| ApiError::new(400, "param_invalid")),
            };
            Ok(Rule {
                protocol: s("protocol"),
                port_from: port("port_from")?,
                port_to: port("port_to")?,
                direction: s("direction"),
                group_id: s("group_id"),
                cidr_ip: s("cidr_ip"),
                prefix_list_id: s("prefix_list_id"),
            })
        })
        .collect()
}

fn insert_group(state: &mut State, call: &Call, vpc_id: &str, name: &str, ak: &str) -> Handled {
    let rules = parse_rules(&call.body)?;
    let id = format!("sg-{:016x}", state.next());
    let group = SecurityGroup {
        id: id.clone(),
        vpc_id: vpc_id.into(),
        name: name.into(),
        kind: call
            .optional_b("security_group_type")
            .unwrap_or("normal")
            .into(),
        account_key: ak.into(),
        rules,
        create_at_ms: call.now_ms,
    };
    call.org_mut(state).groups.push(group);
    Ok(Value::String(id))
}

/// `POST security_group/create_with_rule`: `account_key`, `vpc_id`, `region_id`,
/// `security_group_name` required.
pub fn create_group(state: &mut State, call: &Call) -> Handled {
    let ak = call.required_b("account_key")?;
    call.account(state, ak)?;
    let vpc_id = call.required_b("vpc_id")?;
    call.required_b("region_id")?;
    let name = call.required_b("security_group_name")?;
    if !call.org(state).vpcs.iter().any(|v| v.id == vpc_id) {
        return Err(ApiError::new(400, format!("vpc {vpc_id} not found")));
    }
    insert_group(state, call, vpc_id, name, ak)
}

/// `GET security_group/describe?account_key=&vpc_id=&security_group_name=`.
pub fn describe_groups(state: &mut State, call: &Call) -> Handled {
    let found: Vec<Value> = call
        .org(state)
        .groups
        .iter()
        .filter(|g| call.query("account_key").is_none_or(|v| g.account_key == v))
        .filter(|g| call.query("vpc_id").is_none_or(|v| g.vpc_id == v))
        .filter(|g| {
            call.query("security_group_name")
                .is_none_or(|v| g.name == v)
        })
        .map(|g| {
            json!({
                "VpcId": g.vpc_id,
                "SecurityGroupId": g.id,
                "SecurityGroupName": g.name,
                "SecurityGroupType": g.kind,
                "CreateAt": cst(g.create_at_ms),
            })
        })
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"Groups": items, "Pager": pascal_pager(&pager)}))
}

/// `GET security_group/:id/rules`: rules carry `port_range` (`from/to`) in answers only.
pub fn group_rules(state: &mut State, call: &Call) -> Handled {
    let id = call.param(0);
    let group = call
        .org(state)
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::new(400, "record not found"))?;
    let rules: Vec<Value> = group
        .rules
        .iter()
        .map(|r| {
            let range = if r.port_from == 0 && r.port_to == 0 {
                String::new()
            } else {
                format!("{}/{}", r.port_from, r.port_to)
            };
            json!({
                "protocol": r.protocol,
                "port_range": range,
                "direction": r.direction,
                "group_id": r.group_id,
                "cidr_ip": r.cidr_ip,
                "prefix_list_id": r.prefix_list_id,
            })
        })
        .collect();
    Ok(json!({
        "security_group_id": group.id,
        "security_group_name": group.name,
        "security_group_type": group.kind,
        "rules": rules,
    }))
}

/// `POST network_config/create`: a VPC, a subnet and a security group with rules in one call.
pub fn create_network(state: &mut State, call: &Call) -> Handled {
    let mut values = Vec::new();
    for name in [
        "provider",
        "region_id",
        "cidr_block",
        "vpc_name",
        "zone_id",
        "switch_cidr_block",
        "gateway_ip",
        "switch_name",
        "security_group_name",
        "ak",
    ] {
        values.push(call.required_b(name)?);
    }
    let [
        provider,
        region,
        cidr,
        vpc_name,
        zone,
        switch_cidr,
        gateway,
        switch_name,
        sg_name,
        ak,
    ] = values[..]
    else {
        unreachable!("ten names above")
    };
    call.account(state, ak)?;
    if !region_known(provider, region) {
        return Err(ApiError::new(400, format!("region {region} not found")));
    }
    parse_rules(&call.body)?;
    let vpc_id = insert_vpc(state, call, provider, region, vpc_name, cidr, ak);
    insert_subnet(
        state,
        call,
        &vpc_id,
        switch_name,
        switch_cidr,
        zone,
        gateway,
    )?;
    insert_group(state, call, &vpc_id, sg_name, ak)?;
    Ok(Value::String(vpc_id))
}

/// `POST network_config/sync`: `provider`, `region_id`, `account_key`; a bind failure is
/// BridgX's HTTP 500 `param_invalid`.
pub fn sync_network(state: &mut State, call: &Call) -> Handled {
    let invalid = || ApiError::new(500, "param_invalid");
    let field = |k: &str| call.optional_b(k).ok_or_else(invalid);
    let (provider, region, ak) = (
        field("provider")?,
        field("region_id")?,
        field("account_key")?,
    );
    call.account(state, ak)?;
    call.org_mut(state)
        .syncs
        .push((provider.into(), region.into(), ak.into()));
    Ok(Value::Null)
}

/// `GET network_config/template?provider=`.
pub fn template(_: &mut State, call: &Call) -> Handled {
    let provider = call.query("provider").unwrap_or("AlibabaCloud");
    let rule = |direction: &str| {
        json!({"protocol": "all", "port_from": 0, "port_to": 0, "direction": direction,
               "group_id": "", "cidr_ip": "0.0.0.0/0", "prefix_list_id": ""})
    };
    Ok(json!({
        "provider": provider,
        "region_id": "",
        "cidr_block": "10.0.0.0/16",
        "vpc_name": "默认的vpc",
        "zone_id": "",
        "switch_cidr_block": "10.0.0.0/24",
        "gateway_ip": "10.0.0.254",
        "switch_name": "默认的子网",
        "security_group_name": "默认的安全组",
        "security_group_type": "normal",
        "ak": "",
        "rules": [rule("ingress"), rule("egress")],
    }))
}
