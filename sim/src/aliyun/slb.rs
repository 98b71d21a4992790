//! The SLB product (`slb.aliyuncs.com`, API `2014-05-15`): load balancers, VServer groups and
//! listeners of the four protocols.
//!
//! A load balancer is `active` at once. A listener (`lsn`, id `<lb>:<port>`) is `stopped` until
//! `StartLoadBalancerListener`. A listener that does not exist is reported the way SLB does:
//! `InvalidParameter`, "The specified resource does not exist.".

use serde_json::{Value, json};

use super::common::{new_resource, object, page, view};
use super::error::AliError;
use super::state::{Cidr, Resource, State};
use super::vpc::vswitch_of;
use super::{Call, Product};

/// The SLB product.
pub(crate) const PRODUCT: Product = Product {
    name: "Slb",
    version: "2014-05-15",
    actions: &[
        "CreateLoadBalancer",
        "DescribeLoadBalancers",
        "DeleteLoadBalancer",
        "CreateVServerGroup",
        "DescribeVServerGroupAttribute",
        "AddVServerGroupBackendServers",
        "RemoveVServerGroupBackendServers",
        "DeleteVServerGroup",
        "CreateLoadBalancerTCPListener",
        "CreateLoadBalancerUDPListener",
        "CreateLoadBalancerHTTPListener",
        "CreateLoadBalancerHTTPSListener",
        "DescribeLoadBalancerTCPListenerAttribute",
        "DescribeLoadBalancerUDPListenerAttribute",
        "DescribeLoadBalancerHTTPListenerAttribute",
        "DescribeLoadBalancerHTTPSListenerAttribute",
        "SetLoadBalancerTCPListenerAttribute",
        "SetLoadBalancerUDPListenerAttribute",
        "SetLoadBalancerHTTPListenerAttribute",
        "SetLoadBalancerHTTPSListenerAttribute",
        "StartLoadBalancerListener",
        "DeleteLoadBalancerListener",
    ],
    regional: true,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let protocol = |prefix: &str, suffix: &str| {
        call.action
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .map(str::to_owned)
    };
    if let Some(protocol) = protocol("CreateLoadBalancer", "Listener") {
        return create_listener(state, call, &protocol);
    }
    if let Some(protocol) = protocol("DescribeLoadBalancer", "ListenerAttribute") {
        return describe_listener(state, call, &protocol);
    }
    if let Some(protocol) = protocol("SetLoadBalancer", "ListenerAttribute") {
        return set_listener(state, call, &protocol);
    }
    match call.action {
        "CreateLoadBalancer" => create(state, call),
        "DescribeLoadBalancers" => Ok(describe(state, call)),
        "DeleteLoadBalancer" => delete(state, call),
        "CreateVServerGroup" => create_group(state, call),
        "DescribeVServerGroupAttribute" => describe_group(state, call),
        "AddVServerGroupBackendServers" => change_servers(state, call, true),
        "RemoveVServerGroupBackendServers" => change_servers(state, call, false),
        "DeleteVServerGroup" => delete_group(state, call),
        "StartLoadBalancerListener" => start_listener(state, call),
        "DeleteLoadBalancerListener" => delete_listener(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn lb<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let id = call.require("LoadBalancerId")?;
    state
        .get(call.region, "lb", id)
        .ok_or_else(|| AliError::not_found("InvalidLoadBalancerId.NotFound", "load balancer"))
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let kind = call.get("AddressType").unwrap_or("internet");
    let vswitch = call.get("VSwitchId").unwrap_or("");
    let address = match kind {
        "internet" => {
            let n = state.list(call.region, "lb").count();
            format!("161.117.{}.{}", n / 250, n % 250 + 1)
        }
        "intranet" => {
            if vswitch.is_empty() {
                return Err(AliError::missing_parameter("VSwitchId"));
            }
            let block = Cidr::parse(vswitch_of(state, call, vswitch)?.attr("CidrBlock"))
                .ok_or_else(|| AliError::invalid_parameter("VSwitchId", ""))?;
            match call.get("Address") {
                Some(address) => address.to_owned(),
                None => block
                    .host(200 + u32::try_from(state.list(call.region, "lb").count()).unwrap_or(0)),
            }
        }
        _ => {
            return Err(AliError::invalid_parameter(
                "AddressType",
                "Valid values: internet, intranet.",
            ));
        }
    };
    if !vswitch.is_empty() {
        vswitch_of(state, call, vswitch)?;
    }
    let id = new_resource(
        state,
        call,
        "lb",
        0,
        json!({"LoadBalancerName": call.get("LoadBalancerName").unwrap_or(""), "Address": address,
            "AddressType": kind, "VpcId": call.get("VpcId").unwrap_or(""), "VSwitchId": vswitch,
            "PayType": call.get("PayType").unwrap_or("PayOnDemand")}),
    );
    if let Some(lb) = state.get_mut(call.region, "lb", &id) {
        lb.ready_status = "active".to_owned();
    }
    Ok(
        json!({"LoadBalancerId": id, "Address": address, "VpcId": call.get("VpcId").unwrap_or(""),
        "VSwitchId": vswitch}),
    )
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "lb")
        .filter(|l| {
            call.get("LoadBalancerId")
                .is_none_or(|ids| ids.split(',').any(|i| i == l.id))
        })
        .map(|l| {
            let mut item = view(l, call.now_ms, json!({"LoadBalancerId": l.id}));
            item["LoadBalancerStatus"] = item["Status"].take();
            item.as_object_mut().map(|m| m.remove("Status"));
            item
        })
        .collect();
    page(items, "LoadBalancers", "LoadBalancer")
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = lb(state, call)?.id.clone();
    for kind in ["lsn", "rsp"] {
        for child in state.ids_where(call.region, kind, |r| r.attr("LoadBalancerId") == id) {
            state.remove(call.region, kind, &child);
        }
    }
    state.remove(call.region, "lb", &id);
    Ok(json!({}))
}

/// `BackendServers`: `[{"ServerId","Port","Weight"}]`, every server an existing instance.
fn servers(state: &State, call: &Call<'_>) -> Result<Vec<Value>, AliError> {
    let list: Vec<Value> = serde_json::from_str(call.require("BackendServers")?)
        .map_err(|_| AliError::invalid_parameter("BackendServers", "It must be a JSON list."))?;
    for server in &list {
        let id = server["ServerId"].as_str().unwrap_or("");
        let port = server["Port"]
            .as_str()
            .map_or_else(|| server["Port"].as_u64(), |p| p.parse().ok());
        if state.get(call.region, "i", id).is_none() {
            return Err(AliError::not_found(
                "InvalidBackendServer.NotFound",
                "backend server",
            ));
        }
        if port.is_none_or(|p| p == 0 || p > 65_535) {
            return Err(AliError::invalid_parameter(
                "BackendServers",
                "Port must be 1 to 65535.",
            ));
        }
    }
    Ok(list
        .into_iter()
        .map(|s| {
            json!({"ServerId": s["ServerId"], "Port": s["Port"].as_str().map_or_else(|| s["Port"].to_string(), str::to_owned),
                "Weight": s.get("Weight").cloned().unwrap_or(json!("100"))})
        })
        .collect())
}

fn group<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let id = call.require("VServerGroupId")?;
    state.get(call.region, "rsp", id).ok_or_else(|| {
        AliError::not_found("InvalidParameter.VServerGroupId.NotFound", "VServer group")
    })
}

fn create_group(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let lb_id = lb(state, call)?.id.clone();
    let list = match call.get("BackendServers") {
        Some(_) => servers(state, call)?,
        None => Vec::new(),
    };
    let id = new_resource(
        state,
        call,
        "rsp",
        0,
        json!({"LoadBalancerId": lb_id, "VServerGroupName": call.get("VServerGroupName").unwrap_or(""),
            "BackendServers": {"BackendServer": list}}),
    );
    Ok(json!({"VServerGroupId": id}))
}

fn describe_group(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let g = group(state, call)?;
    Ok(
        json!({"VServerGroupId": g.id, "VServerGroupName": g.attr("VServerGroupName"),
        "LoadBalancerId": g.attr("LoadBalancerId"), "BackendServers": g.attrs["BackendServers"]}),
    )
}

fn change_servers(state: &mut State, call: &Call<'_>, add: bool) -> Result<Value, AliError> {
    let id = group(state, call)?.id.clone();
    let changes = servers(state, call)?;
    let g = state.get_mut(call.region, "rsp", &id).ok_or_else(|| {
        AliError::not_found("InvalidParameter.VServerGroupId.NotFound", "VServer group")
    })?;
    let mut list = g.attrs["BackendServers"]["BackendServer"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let same = |a: &Value, b: &Value| a["ServerId"] == b["ServerId"] && a["Port"] == b["Port"];
    for change in &changes {
        let present = list.iter().any(|s| same(s, change));
        match (add, present) {
            (true, false) => list.push(change.clone()),
            (false, true) => list.retain(|s| !same(s, change)),
            (true, true) => {
                return Err(AliError::new(
                    400,
                    "BackendServer.alreadyExist",
                    "The backend server is already in the group.",
                ));
            }
            (false, false) => {
                return Err(AliError::not_found(
                    "BackendServer.NotFound",
                    "backend server",
                ));
            }
        }
    }
    g.set("BackendServers", json!({"BackendServer": list}));
    Ok(json!({"VServerGroupId": id, "BackendServers": {"BackendServer": list}}))
}

fn delete_group(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = group(state, call)?.id.clone();
    if state
        .list(call.region, "lsn")
        .any(|l| l.attr("VServerGroupId") == id)
    {
        return Err(AliError::new(
            400,
            "RspoolVipExist",
            "There are listeners using this VServer group.",
        ));
    }
    state.remove(call.region, "rsp", &id);
    Ok(json!({}))
}

fn listener_id(call: &Call<'_>) -> Result<String, AliError> {
    let port = call.require("ListenerPort")?;
    if port.parse::<u32>().map_or(true, |p| p == 0 || p > 65_535) {
        return Err(AliError::invalid_parameter(
            "ListenerPort",
            "It must be 1 to 65535.",
        ));
    }
    Ok(format!("{}:{port}", call.require("LoadBalancerId")?))
}

fn no_listener() -> AliError {
    AliError::new(
        400,
        "InvalidParameter",
        "The specified resource does not exist.",
    )
}

fn create_listener(state: &mut State, call: &Call<'_>, protocol: &str) -> Result<Value, AliError> {
    let lb_id = lb(state, call)?.id.clone();
    let id = listener_id(call)?;
    if state.get(call.region, "lsn", &id).is_some() {
        return Err(AliError::new(
            400,
            "ListenerAlreadyExists",
            "The listener already exists.",
        ));
    }
    let group_id = call.get("VServerGroupId").unwrap_or("").to_owned();
    if !group_id.is_empty() {
        group(state, call)?;
    } else if call.get("BackendServerPort").is_none() {
        return Err(AliError::missing_parameter("BackendServerPort"));
    }
    if protocol == "HTTPS" && call.get("ServerCertificateId").is_none() {
        return Err(AliError::missing_parameter("ServerCertificateId"));
    }
    state.insert(Resource {
        kind: "lsn",
        id,
        region: call.region.to_owned(),
        pending_status: "stopped",
        ready_status: "stopped".to_owned(),
        ready_ms: call.now_ms,
        attrs: object(
            json!({"LoadBalancerId": lb_id, "ListenerProtocol": protocol.to_ascii_lowercase(),
            "ListenerPort": call.require("ListenerPort")?, "VServerGroupId": group_id,
            "Bandwidth": call.get("Bandwidth").unwrap_or("-1")}),
        ),
        gone_ms: None,
    });
    Ok(json!({}))
}

fn listener<'a>(
    state: &'a State,
    call: &Call<'_>,
    protocol: &str,
) -> Result<&'a Resource, AliError> {
    lb(state, call)?;
    let id = listener_id(call)?;
    state
        .get(call.region, "lsn", &id)
        .filter(|l| l.attr("ListenerProtocol").eq_ignore_ascii_case(protocol))
        .ok_or_else(no_listener)
}

fn describe_listener(state: &State, call: &Call<'_>, protocol: &str) -> Result<Value, AliError> {
    let l = listener(state, call, protocol)?;
    Ok(view(l, call.now_ms, json!({})))
}

fn set_listener(state: &mut State, call: &Call<'_>, protocol: &str) -> Result<Value, AliError> {
    let id = listener(state, call, protocol)?.id.clone();
    if let Some(group_id) = call.get("VServerGroupId") {
        group(state, call)?;
        if let Some(l) = state.get_mut(call.region, "lsn", &id) {
            l.set("VServerGroupId", group_id);
        }
    }
    Ok(json!({}))
}

fn start_listener(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    lb(state, call)?;
    let id = listener_id(call)?;
    let l = state
        .get_mut(call.region, "lsn", &id)
        .ok_or_else(no_listener)?;
    l.transition("running", "running", call.now_ms, 0);
    Ok(json!({}))
}

fn delete_listener(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    lb(state, call)?;
    let id = listener_id(call)?;
    if !state.remove(call.region, "lsn", &id) {
        return Err(no_listener());
    }
    Ok(json!({}))
}
