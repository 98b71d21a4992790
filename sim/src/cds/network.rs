//! The `/network` product: VDCs, their public networks (bandwidth, address blocks) and private
//! networks.

use serde_json::{Value, json};

use super::error::CdsError;
use super::state::{PrivateNetwork, PublicNetwork, State, Vdc, new_id};
use super::{Call, REGIONS, success, with_task};

fn vdc_not_found(id: &str) -> CdsError {
    CdsError::not_found("VdcNotFound", "VDC", id)
}

fn public_not_found(id: &str) -> CdsError {
    CdsError::not_found("PublicNetworkNotFound", "public network", id)
}

fn private_not_found(id: &str) -> CdsError {
    CdsError::not_found("PrivateNetworkNotFound", "private network", id)
}

fn check_region(region: &str) -> Result<(), CdsError> {
    if REGIONS.contains(&region) {
        Ok(())
    } else {
        Err(CdsError::new(
            403,
            "Region.NotOnSale",
            "The resource in the specified Region is no longer available for sale. Please try other regions and zones.",
        ))
    }
}

/// A public network from `PublicNetwork`/`CreatePublicNetwork` parameters (`IPNum`, or `Ip` as
/// the spec's table spells it).
fn public_network(
    state: &mut State,
    vdc_id: &str,
    params: &super::params::Params,
) -> Result<PublicNetwork, CdsError> {
    let ip_num = match params.opt_u64("IPNum")? {
        Some(n) => n,
        None => params.opt_u64("Ip")?.unwrap_or(4),
    };
    Ok(PublicNetwork {
        id: new_id(),
        vdc_id: vdc_id.to_owned(),
        name: params
            .opt_str("Name")
            .unwrap_or_else(|| "public-1".to_owned()),
        kind: params
            .opt_str("Type")
            .unwrap_or_else(|| "Bandwidth_BGP".to_owned()),
        billing_method: params
            .opt_str("BillingMethod")
            .unwrap_or_else(|| "Bandwidth".to_owned()),
        qos: params.opt_u64("Qos")?.unwrap_or(10),
        auto_renew: params.opt_u64("AutoRenew")?.unwrap_or(1),
        segments: vec![state.public_segment(ip_num)],
    })
}

/// `CreateVdc`: `RegionId`, optional `VdcName` and `PublicNetwork`.
pub fn create_vdc(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let region = call.params.str("RegionId")?;
    check_region(&region)?;
    let id = new_id();
    let name = call.params.opt_str("VdcName").unwrap_or_else(|| id.clone());
    let public = match call.params.object("PublicNetwork")? {
        Some(p) => Some(public_network(state, &id, &p)?),
        None => None,
    };
    let (apply, task) = state.start_task("createVdc", call.now_ms, vec![id.clone()]);
    if apply {
        state.vdcs.insert(
            id.clone(),
            Vdc {
                id,
                name,
                region_id: region,
            },
        );
        if let Some(p) = public {
            state.public_networks.insert(p.id.clone(), p);
        }
    }
    Ok(with_task(&task))
}

/// `DeleteVdc`: refused while the VDC has instances.
pub fn delete_vdc(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("VdcId")?;
    if !state.vdcs.contains_key(&id) {
        return Err(vdc_not_found(&id));
    }
    if state.instances.values().any(|i| i.vdc_id == id) {
        return Err(CdsError::in_use("VDC"));
    }
    let (apply, task) = state.start_task("deleteVdc", call.now_ms, vec![id.clone()]);
    if apply {
        state.vdcs.remove(&id);
        state.public_networks.retain(|_, p| p.vdc_id != id);
        state.private_networks.retain(|_, p| p.vdc_id != id);
    }
    Ok(with_task(&task))
}

fn public_json(p: &PublicNetwork, used: usize) -> Value {
    let total: usize = p.segments.iter().map(|s| s.addresses.len()).sum();
    json!({
        "Status": "ok",
        "Qos": p.qos,
        "Name": p.name,
        "Type": p.kind,
        "BillingMethod": p.billing_method,
        "AutoRenew": p.auto_renew,
        "Segments": p.segments.iter().map(|s| json!({
            "Mask": s.mask,
            "Gateway": s.addresses.first(),
            "SegmentId": s.id,
            "Address": s.addresses.first(),
            "IPs": s.addresses,
        })).collect::<Vec<_>>(),
        "UnuseIpNum": total.saturating_sub(used),
        "PublicId": p.id,
    })
}

fn private_json(p: &PrivateNetwork, used: usize) -> Value {
    let total = 2u64.pow(u32::from(32 - p.mask.min(30))) - 3;
    let prefix: Vec<&str> = p.address.split('.').take(3).collect();
    let prefix = prefix.join(".");
    json!({
        "Status": "ok",
        "UnuseIpNum": total.saturating_sub(used as u64),
        "Segments": [format!("{prefix}.0/{m}~{prefix}.255/{m}", m = p.mask)],
        "PrivateId": p.id,
        "Name": p.name,
    })
}

/// `DescribeVdc`: optional `RegionId`, `VdcId`, `Keyword`, `PageNumber`.
pub fn describe_vdc(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let region = call.params.opt_str("RegionId");
    let vdc_id = call.params.opt_str("VdcId");
    let keyword = call.params.opt_str("Keyword");
    let used_on = |network: &str| {
        state
            .instances
            .values()
            .flat_map(|i| i.private.iter().chain(i.public.iter()))
            .filter(|n| n.network_id == network)
            .count()
    };
    let data: Vec<Value> = state
        .vdcs
        .values()
        .filter(|v| region.as_ref().is_none_or(|r| &v.region_id == r))
        .filter(|v| vdc_id.as_ref().is_none_or(|id| &v.id == id))
        .filter(|v| keyword.as_ref().is_none_or(|k| v.name.contains(k.as_str())))
        .map(|v| {
            json!({
                "VdcId": v.id,
                "VdcName": v.name,
                "RegionId": v.region_id,
                "VdcStatus": "ok",
                "PageNumber": 1,
                "PageCount": 1,
                "PublicNetwork": state.public_networks.values().filter(|p| p.vdc_id == v.id)
                    .map(|p| public_json(p, used_on(&p.id))).collect::<Vec<_>>(),
                "PrivateNetwork": state.private_networks.values().filter(|p| p.vdc_id == v.id)
                    .map(|p| private_json(p, used_on(&p.id))).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(success(json!(data)))
}

/// `CreatePublicNetwork`: a second (or first) public network of a VDC.
pub fn create_public_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let vdc = call.params.str("VdcId")?;
    if !state.vdcs.contains_key(&vdc) {
        return Err(vdc_not_found(&vdc));
    }
    for required in ["Type", "BillingMethod", "Qos", "IPNum"] {
        if call.params.get(&[required]).is_none() {
            return Err(CdsError::missing_parameter(required));
        }
    }
    let network = public_network(state, &vdc, &call.params)?;
    let (apply, task) =
        state.start_task("createPublicNetwork", call.now_ms, vec![network.id.clone()]);
    if apply {
        state.public_networks.insert(network.id.clone(), network);
    }
    Ok(with_task(&task))
}

/// `CreatePrivateNetwork`: `VdcId`, optional `Name`, `Type`, `Address`, `Mask`.
pub fn create_private_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let vdc = call.params.str("VdcId")?;
    if !state.vdcs.contains_key(&vdc) {
        return Err(vdc_not_found(&vdc));
    }
    let count = state
        .private_networks
        .values()
        .filter(|p| p.vdc_id == vdc)
        .count();
    let address = call
        .params
        .opt_str("Address")
        .unwrap_or_else(|| format!("10.240.{}.0", 1 + count));
    if address.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(CdsError::invalid_parameter_value("Address"));
    }
    let mask = match call.params.opt_u64("Mask")? {
        None => 24,
        Some(m @ 8..=29) => m as u8,
        Some(_) => return Err(CdsError::invalid_parameter_value("Mask")),
    };
    let network = PrivateNetwork {
        id: new_id(),
        vdc_id: vdc,
        name: call
            .params
            .opt_str("Name")
            .unwrap_or_else(|| format!("private-{}", count + 1)),
        address,
        mask,
    };
    let (apply, task) = state.start_task(
        "createPrivateNetwork",
        call.now_ms,
        vec![network.id.clone()],
    );
    if apply {
        state.private_networks.insert(network.id.clone(), network);
    }
    Ok(with_task(&task))
}

fn public_mut<'a>(state: &'a mut State, id: &str) -> Result<&'a mut PublicNetwork, CdsError> {
    state
        .public_networks
        .get_mut(id)
        .ok_or_else(|| public_not_found(id))
}

/// `ModifyPublicNetwork`: `PublicId`, `Qos` (bandwidth, Mbps).
pub fn modify_public_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("PublicId")?;
    let qos = call.params.u64("Qos")?;
    if qos == 0 || qos > 500 {
        return Err(CdsError::invalid_parameter_value("Qos"));
    }
    public_mut(state, &id)?;
    let (apply, task) = state.start_task("updateBandwidth", call.now_ms, vec![id.clone()]);
    if apply {
        public_mut(state, &id)?.qos = qos;
    }
    Ok(with_task(&task))
}

/// `AddPublicIp`: `PublicId`, `Number` of addresses (a new segment).
pub fn add_public_ip(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("PublicId")?;
    let number = call.params.u64("Number")?;
    if number == 0 || number > 64 {
        return Err(CdsError::invalid_parameter_value("Number"));
    }
    public_mut(state, &id)?;
    let segment = state.public_segment(number);
    let (apply, task) = state.start_task("addPublicIp", call.now_ms, vec![segment.id.clone()]);
    if apply {
        public_mut(state, &id)?.segments.push(segment);
    }
    Ok(with_task(&task))
}

/// `DeletePublicIp`: `SegmentId`; a network keeps at least one segment.
pub fn delete_public_ip(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let segment = call.params.str("SegmentId")?;
    let network = state
        .public_networks
        .values()
        .find(|p| p.segments.iter().any(|s| s.id == segment))
        .map(|p| (p.id.clone(), p.segments.len()))
        .ok_or_else(|| CdsError::not_found("SegmentNotFound", "segment", &segment))?;
    if network.1 < 2 {
        return Err(CdsError::incorrect_status("IncorrectSegmentStatus"));
    }
    let (apply, task) = state.start_task("deletePublicIp", call.now_ms, vec![segment.clone()]);
    if apply {
        public_mut(state, &network.0)?
            .segments
            .retain(|s| s.id != segment);
    }
    Ok(with_task(&task))
}

/// `DeletePublicNetwork`: refused while an instance uses it.
pub fn delete_public_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("PublicId")?;
    public_mut(state, &id)?;
    if state
        .instances
        .values()
        .any(|i| i.public.as_ref().is_some_and(|n| n.network_id == id))
    {
        return Err(CdsError::in_use("public network"));
    }
    let (apply, task) = state.start_task("deletePublicNetwork", call.now_ms, vec![id.clone()]);
    if apply {
        state.public_networks.remove(&id);
    }
    Ok(with_task(&task))
}

/// `DeletePrivateNetwork`: refused while an instance uses it.
pub fn delete_private_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("PrivateId")?;
    if !state.private_networks.contains_key(&id) {
        return Err(private_not_found(&id));
    }
    if state
        .instances
        .values()
        .any(|i| i.private.iter().any(|n| n.network_id == id))
    {
        return Err(CdsError::in_use("private network"));
    }
    let (apply, task) = state.start_task("deletePrivateNetwork", call.now_ms, vec![id.clone()]);
    if apply {
        state.private_networks.remove(&id);
    }
    Ok(with_task(&task))
}

/// `RenewPublicNetwork`: `PublicId`, `AutoRenew` 0/1; synchronous (no task), as the spec shows.
pub fn renew_public_network(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("PublicId")?;
    let auto_renew = call.params.u64("AutoRenew")?;
    if auto_renew > 1 {
        return Err(CdsError::invalid_parameter_value("AutoRenew"));
    }
    public_mut(state, &id)?.auto_renew = auto_renew;
    Ok(json!({"Code": "Success", "Message": "Success."}))
}

/// `DescribeBandwidthTraffic`: `NetworkId` (a `PublicId`): the last five minutes' usage.
pub fn describe_bandwidth_traffic(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("NetworkId")?;
    let network = public_mut(state, &id)?;
    let users = 1.0 + network.segments.len() as f64;
    Ok(success(json!({
        "LastFiveMinutesUsage": {"Inbps": 12.5 * users, "Outbps": 107.467 * users},
        "MaxQos": network.qos,
    })))
}
