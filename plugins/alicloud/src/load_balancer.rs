//! `load_balancer/create|delete` and `load_balancer/backend_server/add|remove` (SLB).
//!
//! Backend servers go through a VServer group on the listener `listenerProtocol`/`listenerPort`:
//! `add` creates the listener (and group) when there is none, gives an existing listener a group
//! when it has none, adds the servers (`hostIds` zipped with `hostPorts`) and starts the
//! listener. `remove` takes the servers out and, with `deleteListener=Y`, deletes the listener and
//! then the group it names.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, AliyunError, items, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, SLB, Session, find, push_optional};
use crate::security_group::split_list;

/// How load balancers are described.
pub const LOAD_BALANCERS: Describe = Describe {
    noun: "load balancer",
    action: "DescribeLoadBalancers",
    id_param: "LoadBalancerId",
    json_list: false,
    id_field: "LoadBalancerId",
    list: "LoadBalancers",
    item: "LoadBalancer",
};

/// Load balancer `id`, `None` when it does not exist.
fn find_lb(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(find(api, &LOAD_BALANCERS, id)?)
}

/// `POST /alicloud/v1/load_balancer/create`: returns the existing `loadBalancerId` or creates
/// one (delete protection off). Output `loadBalancerId`, `address`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(SLB);
    let existing = match input.optional_str("loadBalancerId")? {
        Some(id) => find_lb(&api, id)?,
        None => None,
    };
    let (id, address) = match existing {
        Some(lb) => (
            text(&lb, "LoadBalancerId").to_owned(),
            text(&lb, "Address").to_owned(),
        ),
        None => {
            let mut params = vec![
                ("AddressType", input.required_str("addressType")?),
                ("DeleteProtection", "off"),
            ];
            push_optional(
                input,
                &mut params,
                &[
                    ("internetChargeType", "InternetChargeType"),
                    ("bandWidth", "Bandwidth"),
                    ("loadBalancerName", "LoadBalancerName"),
                    ("vpcId", "VpcId"),
                    ("vSwitchId", "VSwitchId"),
                    ("masterZoneId", "MasterZoneId"),
                    ("slaveZoneId", "SlaveZoneId"),
                    ("loadBalancerSpec", "LoadBalancerSpec"),
                    ("payType", "PayType"),
                    ("pricingCycle", "PricingCycle"),
                    ("duration", "Duration"),
                    ("address", "Address"),
                ],
            )?;
            let created = api.call("CreateLoadBalancer", &params)?;
            (
                text(&created.body, "LoadBalancerId").to_owned(),
                text(&created.body, "Address").to_owned(),
            )
        }
    };
    let mut out = Output::new();
    out.insert("loadBalancerId".into(), json!(id));
    out.insert("address".into(), json!(address));
    Ok(out)
}

/// `POST /alicloud/v1/load_balancer/delete`: deletes it (listeners go with it); an absent load
/// balancer counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("loadBalancerId")?;
    let session = Session::new(&common);
    let api = session.client(SLB);
    if find_lb(&api, id)?.is_some() {
        api.call("DeleteLoadBalancer", &[("LoadBalancerId", id)])?;
    }
    Ok(Output::new())
}

/// `tcp` → `TCP` (the protocols SLB actions are named after).
fn protocol(value: &str) -> Result<&'static str, ErrorMessage> {
    match value.to_ascii_lowercase().as_str() {
        "tcp" => Ok("TCP"),
        "udp" => Ok("UDP"),
        "http" => Ok("HTTP"),
        "https" => Ok("HTTPS"),
        _ => Err(ErrorMessage::new(format!(
            "listenerProtocol must be tcp, udp, http or https, got \"{value}\""
        ))),
    }
}

/// SLB's answer for a listener that does not exist.
fn is_missing_listener(error: &AliyunError) -> bool {
    matches!(error, AliyunError::Api { code, message, .. }
        if code == "InvalidParameter" && message.contains("does not exist"))
        || error.is_not_found()
}

/// The listener on `port`, `None` when there is none.
fn find_listener(
    api: &impl AliyunApi,
    lb: &str,
    protocol: &str,
    port: &str,
) -> Result<Option<Value>, ErrorMessage> {
    match api.call(
        &format!("DescribeLoadBalancer{protocol}ListenerAttribute"),
        &[("LoadBalancerId", lb), ("ListenerPort", port)],
    ) {
        Ok(answer) => Ok(Some(answer.body)),
        Err(e) if is_missing_listener(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `hostIds` zipped with `hostPorts`: the `BackendServers` JSON items.
fn backend_servers(input: &Input) -> Result<Vec<Value>, ErrorMessage> {
    let ids = split_list(input.required_str("hostIds")?);
    let ports = split_list(input.required_str("hostPorts")?);
    if ids.len() != ports.len() && ports.len() != 1 {
        return Err(ErrorMessage::new(format!(
            "hostIds has {} values but hostPorts has {}: give one port per host, or one for all",
            ids.len(),
            ports.len()
        )));
    }
    Ok(ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let port = &ports[if ports.len() == 1 { 0 } else { i }];
            json!({"ServerId": id, "Port": port, "Weight": "100"})
        })
        .collect())
}

/// The servers of VServer group `group` that are (`present`) or are not in it.
fn servers_in(
    api: &impl AliyunApi,
    group: &str,
    servers: &[Value],
    present: bool,
) -> Result<Vec<Value>, ErrorMessage> {
    let answer = api.call(
        "DescribeVServerGroupAttribute",
        &[("VServerGroupId", group)],
    )?;
    let current = items(&answer.body, "BackendServers", "BackendServer");
    Ok(servers
        .iter()
        .filter(|s| {
            current
                .iter()
                .any(|c| c["ServerId"] == s["ServerId"] && c["Port"] == s["Port"])
                == present
        })
        .cloned()
        .collect())
}

/// `POST /alicloud/v1/load_balancer/backend_server/add`: output `vServerGroupId`.
pub fn handle_add_backend(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let lb = input.required_str("loadBalancerId")?;
    let port = input.required_str("listenerPort")?;
    let protocol = protocol(input.required_str("listenerProtocol")?)?;
    let servers = backend_servers(input)?;
    let bandwidth = input.optional_str("bandwidth")?.unwrap_or("-1");
    let name = input.optional_str("vServerGroupName")?.unwrap_or(lb);
    let session = Session::new(&common);
    let api = session.client(SLB);
    let new_group = |servers: &[Value]| -> Result<String, ErrorMessage> {
        let list = Value::Array(servers.to_vec()).to_string();
        let created = api.call(
            "CreateVServerGroup",
            &[
                ("LoadBalancerId", lb),
                ("VServerGroupName", name),
                ("BackendServers", list.as_str()),
            ],
        )?;
        Ok(text(&created.body, "VServerGroupId").to_owned())
    };
    let group = match find_listener(&api, lb, protocol, port)? {
        Some(listener) if !text(&listener, "VServerGroupId").is_empty() => {
            let group = text(&listener, "VServerGroupId").to_owned();
            let missing = servers_in(&api, &group, &servers, false)?;
            if !missing.is_empty() {
                let list = Value::Array(missing).to_string();
                api.call(
                    "AddVServerGroupBackendServers",
                    &[
                        ("VServerGroupId", group.as_str()),
                        ("BackendServers", list.as_str()),
                    ],
                )?;
            }
            group
        }
        Some(_) => {
            let group = new_group(&servers)?;
            api.call(
                &format!("SetLoadBalancer{protocol}ListenerAttribute"),
                &[
                    ("LoadBalancerId", lb),
                    ("ListenerPort", port),
                    ("VServerGroup", "on"),
                    ("VServerGroupId", group.as_str()),
                ],
            )?;
            group
        }
        None => {
            let group = new_group(&servers)?;
            let mut params = vec![
                ("LoadBalancerId", lb),
                ("ListenerPort", port),
                ("Bandwidth", bandwidth),
                ("VServerGroupId", group.as_str()),
            ];
            if protocol.starts_with("HTTP") {
                params.extend([("StickySession", "off"), ("HealthCheck", "off")]);
            }
            api.call(&format!("CreateLoadBalancer{protocol}Listener"), &params)?;
            group
        }
    };
    api.call(
        "StartLoadBalancerListener",
        &[("LoadBalancerId", lb), ("ListenerPort", port)],
    )?;
    let mut out = Output::new();
    out.insert("vServerGroupId".into(), json!(group));
    Ok(out)
}

/// `POST /alicloud/v1/load_balancer/backend_server/remove`: servers not in the group, a listener
/// or group that is gone all count as removed.
pub fn handle_remove_backend(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let lb = input.required_str("loadBalancerId")?;
    let group = input.required_str("vServerGroupId")?;
    let port = input.required_str("listenerPort")?;
    let protocol = protocol(input.required_str("listenerProtocol")?)?;
    let delete_listener = match input.optional_str("deleteListener")?.unwrap_or("N") {
        "Y" | "y" => true,
        "N" | "n" => false,
        other => {
            return Err(ErrorMessage::new(format!(
                "deleteListener must be Y or N, got \"{other}\""
            )));
        }
    };
    let servers = backend_servers(input)?;
    let session = Session::new(&common);
    let api = session.client(SLB);
    if find_lb(&api, lb)?.is_none() {
        return Ok(Output::new());
    }
    let group_exists = match api.call(
        "DescribeVServerGroupAttribute",
        &[("VServerGroupId", group)],
    ) {
        Ok(_) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e.into()),
    };
    if group_exists {
        let present = servers_in(&api, group, &servers, true)?;
        if !present.is_empty() {
            let list = Value::Array(present).to_string();
            api.call(
                "RemoveVServerGroupBackendServers",
                &[("VServerGroupId", group), ("BackendServers", list.as_str())],
            )?;
        }
    }
    if delete_listener {
        if find_listener(&api, lb, protocol, port)?.is_some() {
            api.call(
                "DeleteLoadBalancerListener",
                &[
                    ("LoadBalancerId", lb),
                    ("ListenerPort", port),
                    ("ListenerProtocol", &protocol.to_ascii_lowercase()),
                ],
            )?;
        }
        if group_exists {
            api.call("DeleteVServerGroup", &[("VServerGroupId", group)])?;
        }
    }
    Ok(Output::new())
}
