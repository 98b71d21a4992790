//! The `/ccs` instance actions: cloud servers, their network interfaces and monitoring data
//! (their data disks are in [`super::disk`]).

use serde_json::{Map, Value, json};

use super::disk::data_disks;
use super::error::CdsError;
use super::params::Params;
use super::state::{Instance, Interface, State, new_id};
use super::{Call, REGIONS, success, with_task};

/// vCPU counts the API sells.
pub const CPUS: &[u64] = &[1, 2, 4, 8, 10, 16, 32];
/// Memory sizes (GB) the API sells.
pub const RAMS: &[u64] = &[1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];
/// The default template (CentOS 7.4, the first the console shows).
pub const DEFAULT_IMAGE: &str = "Centos_7.4_64";

fn not_found(id: &str) -> CdsError {
    CdsError::not_found("InstanceNotFound", "instance", id)
}

pub(super) fn instance<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Instance, CdsError> {
    state.instances.get_mut(id).ok_or_else(|| not_found(id))
}

fn check_spec(cpu: Option<u64>, ram: Option<u64>) -> Result<(), CdsError> {
    let unauthorized = || {
        CdsError::new(
            400,
            "InvalidInstanceType.ValueUnauthorized",
            "The specified InstanceType is not authorized.",
        )
    };
    if cpu.is_some_and(|c| !CPUS.contains(&c)) || ram.is_some_and(|r| !RAMS.contains(&r)) {
        return Err(unauthorized());
    }
    Ok(())
}

/// Every address in use by an instance.
fn used_ips(state: &State) -> Vec<String> {
    state
        .instances
        .values()
        .flat_map(|i| i.private.iter().chain(i.public.iter()))
        .map(|n| n.ip.clone())
        .collect()
}

/// A public interface for a new instance: `auto`, or a free address of the VDC's public networks.
fn public_interface(
    state: &State,
    vdc: &str,
    wanted: &str,
    taken: &[String],
) -> Result<Interface, CdsError> {
    let networks: Vec<_> = state
        .public_networks
        .values()
        .filter(|p| p.vdc_id == vdc)
        .collect();
    let free = networks.iter().flat_map(|p| {
        p.segments
            .iter()
            .flat_map(|s| s.addresses.iter().skip(1))
            .map(move |ip| (p.id.clone(), ip.clone()))
    });
    let found = if wanted.eq_ignore_ascii_case("auto") {
        free.clone().find(|(_, ip)| !taken.contains(ip))
    } else {
        if taken.iter().any(|ip| ip == wanted) {
            return Err(CdsError::new(
                400,
                "InvalidPublicIpAddress.Duplicated",
                "Specified public IP address is duplicated.",
            ));
        }
        free.clone().find(|(_, ip)| ip == wanted)
    };
    let (network_id, ip) = found.ok_or_else(|| {
        CdsError::new(
            400,
            "InvalidPublicIpAddress.Malformed",
            "Specified public IP address is malformed.",
        )
    })?;
    Ok(Interface {
        id: new_id(),
        network_id,
        ip,
        connected: 1,
    })
}

/// `CreateInstance`.
pub fn create(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let region = p.str("RegionId")?;
    if !REGIONS.contains(&region.as_str()) {
        return Err(CdsError::new(
            403,
            "Zone.NotOnSale",
            "The resource in the specified zone is no longer available for sale. Please try other regions and zones.",
        ));
    }
    let vdc = p.str("VdcId")?;
    match state.vdcs.get(&vdc) {
        None => return Err(CdsError::not_found("VdcNotFound", "VDC", &vdc)),
        Some(v) if v.region_id != region => {
            return Err(CdsError::invalid_parameter_value("RegionId"));
        }
        Some(_) => {}
    }
    let password = p.str("Password")?;
    if password.len() < 8 {
        return Err(CdsError::new(
            400,
            "InvalidPassword.Malformed",
            "The specified parameter \"Password\" is not valid.",
        ));
    }
    let (cpu, ram) = (p.opt_u64("Cpu")?, p.opt_u64("Ram")?);
    check_spec(cpu, ram)?;
    let amount = p.opt_u64("Amount")?.unwrap_or(1);
    if !(1..=99).contains(&amount) {
        return Err(CdsError::invalid_parameter_value("Amount"));
    }
    let charge = p
        .opt_str("InstanceChargeType")
        .unwrap_or_else(|| "PostPaid".to_owned());
    if !matches!(charge.as_str(), "PostPaid" | "PrePaid") {
        return Err(CdsError::invalid_parameter_value("InstanceChargeType"));
    }
    let image = p
        .opt_str("ImageId")
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    // `PublicIp`: a list (or list text) of addresses or "auto"; the spec's sample sends "".
    let public_wanted = match p.get(&["PublicIp"]) {
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(_) => p.str_list("PublicIp")?,
        None => Vec::new(),
    };
    // `PrivateIp`: [{PrivateId (the sample spells it PrivateID), IP: [..]}].
    let private_wanted = p.objects("PrivateIp")?;
    let mut taken = used_ips(state);
    let mut instances = Vec::new();
    let mut disks = Vec::new();
    for n in 0..amount as usize {
        let id = new_id();
        disks.extend(data_disks(p, &id)?);
        let mut private = Vec::new();
        // Without `PrivateIp`, the instance joins the VDC's first private network.
        let default_network = state
            .private_networks
            .values()
            .find(|n| n.vdc_id == vdc)
            .map(|n| n.id.clone())
            .filter(|_| private_wanted.is_empty());
        if let Some(net) = default_network {
            let ip = state.private_ip(&net);
            private.push(Interface {
                id: new_id(),
                network_id: net,
                ip,
                connected: 1,
            });
        }
        for wanted in &private_wanted {
            let wanted = Params(wanted.clone());
            let net = wanted
                .opt_str_any(&["PrivateId", "PrivateID"])
                .ok_or_else(|| CdsError::missing_parameter("PrivateId"))?;
            if state
                .private_networks
                .get(&net)
                .is_none_or(|n| n.vdc_id != vdc)
            {
                return Err(CdsError::new(
                    400,
                    "InvalidPrivateIpAddress.Malformed",
                    "Specified private IP address is malformed.",
                ));
            }
            let ips = match wanted.get(&["IP"]) {
                Some(_) => wanted.str_list("IP")?,
                None => Vec::new(),
            };
            let ip = match ips.get(n) {
                Some(ip) if taken.contains(ip) => {
                    return Err(CdsError::new(
                        400,
                        "InvalidPrivateIpAddress.Duplicated",
                        "Specified private IP address is duplicated.",
                    ));
                }
                Some(ip) if ip.parse::<std::net::Ipv4Addr>().is_err() => {
                    return Err(CdsError::new(
                        400,
                        "InvalidPrivateIpAddress.Malformed",
                        "Specified private IP address is malformed.",
                    ));
                }
                Some(ip) => ip.clone(),
                None => state.private_ip(&net),
            };
            taken.push(ip.clone());
            private.push(Interface {
                id: new_id(),
                network_id: net,
                ip,
                connected: 1,
            });
        }
        let public = match public_wanted.get(n).or(public_wanted
            .first()
            .filter(|w| w.eq_ignore_ascii_case("auto")))
        {
            Some(wanted) => {
                let nic = public_interface(state, &vdc, wanted, &taken)?;
                taken.push(nic.ip.clone());
                Some(nic)
            }
            None => None,
        };
        instances.push(Instance {
            name: match p.opt_str("InstanceName") {
                Some(name) if amount > 1 => format!("{name}-{}", n + 1),
                Some(name) => name,
                None => id.clone(),
            },
            id,
            vdc_id: vdc.clone(),
            region_id: region.clone(),
            cpu: cpu.unwrap_or(1),
            ram: ram.unwrap_or(1),
            instance_type: p
                .opt_str("InstanceType")
                .unwrap_or_else(|| "Standard".to_owned()),
            image_id: image.clone(),
            charge_type: charge.clone(),
            password: password.clone(),
            status: "running",
            system_disk_size: 60,
            private,
            public,
        });
    }
    let ids = instances.iter().map(|i| i.id.clone()).collect();
    let (apply, task) = state.start_task("orderCreateVM", call.now_ms, ids);
    if apply {
        for i in instances {
            state.instances.insert(i.id.clone(), i);
        }
        for d in disks {
            state.disks.insert(d.id.clone(), d);
        }
    }
    Ok(with_task(&task))
}

/// `DeleteInstance`: `InstanceIds`; their disks go with them.
pub fn delete(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let ids = call.params.str_list("InstanceIds")?;
    if ids.is_empty() {
        return Err(CdsError::invalid_parameter_value("InstanceIds"));
    }
    for id in &ids {
        instance(state, id)?;
    }
    let (apply, task) = state.start_task("deleteVM", call.now_ms, ids.clone());
    if apply {
        for id in &ids {
            state.instances.remove(id);
            state.disks.retain(|_, d| &d.instance_id != id);
            for g in state.security_groups.values_mut() {
                g.bindings.retain(|(i, _)| i != id);
            }
        }
    }
    Ok(with_task(&task))
}

/// A power action: the instance must be in `from`; it ends in `to`.
fn power(
    state: &mut State,
    call: &Call,
    from: &str,
    to: &'static str,
    task_type: &'static str,
) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    if instance(state, &id)?.status != from {
        return Err(CdsError::incorrect_status("IncorrectInstanceStatus"));
    }
    let (apply, task) = state.start_task(task_type, call.now_ms, vec![id.clone()]);
    if apply {
        instance(state, &id)?.status = to;
    }
    Ok(with_task(&task))
}

/// `StopInstance`: running → shutdown.
pub fn stop(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    power(state, call, "running", "shutdown", "stopVM")
}

/// `StartInstance` (newer docs; GET): shutdown → running.
pub fn start(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    power(state, call, "shutdown", "running", "startVM")
}

/// `RebootInstance`: running → running.
pub fn reboot(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    power(state, call, "running", "running", "rebootVM")
}

/// Applies `change` to instance `InstanceId` under a task of `task_type`.
fn modify(
    state: &mut State,
    call: &Call,
    task_type: &'static str,
    change: impl FnOnce(&mut Instance),
) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    instance(state, &id)?;
    let (apply, task) = state.start_task(task_type, call.now_ms, vec![id.clone()]);
    if apply {
        change(instance(state, &id)?);
    }
    Ok(with_task(&task))
}

/// `ModifyInstanceChargeType`: `PrePaid` or `PostPaid`.
pub fn modify_charge_type(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let charge = call.params.str("InstanceChargeType")?;
    if !matches!(charge.as_str(), "PostPaid" | "PrePaid") {
        return Err(CdsError::invalid_parameter_value("InstanceChargeType"));
    }
    modify(state, call, "newOrderUpdateVM", |i| i.charge_type = charge)
}

/// `ModifyInstanceSpec`: `Cpu` and/or `Ram`.
pub fn modify_spec(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let (cpu, ram) = (call.params.opt_u64("Cpu")?, call.params.opt_u64("Ram")?);
    check_spec(cpu, ram)?;
    modify(state, call, "newOrderUpdateVM", |i| {
        i.cpu = cpu.unwrap_or(i.cpu);
        i.ram = ram.unwrap_or(i.ram);
    })
}

/// `ResetImage`: `ImageId` (a public template name or a custom template id).
pub fn reset_image(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let image = call.params.str("ImageId")?;
    if !image.contains('_') && !state.templates.contains_key(&image) {
        return Err(CdsError::new(
            404,
            "InvalidLaunchTemplateVersion.NotFound",
            format!("The template {image} is not found."),
        ));
    }
    modify(state, call, "resetImage", |i| i.image_id = image)
}

fn interface<'a>(i: &'a mut Instance, interface_id: &str) -> Result<&'a mut Interface, CdsError> {
    i.private
        .iter_mut()
        .chain(i.public.iter_mut())
        .find(|n| n.id == interface_id)
        .ok_or_else(|| CdsError::not_found("InterfaceNotFound", "network interface", interface_id))
}

/// `ConnectNetworkInterface` / `DisconnectNetworkInterface`.
fn set_connected(state: &mut State, call: &Call, connected: u8) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    let nic = call.params.str("InterfaceId")?;
    let current = interface(instance(state, &id)?, &nic)?.connected;
    if current == connected {
        return Err(CdsError::incorrect_status("IncorrectInterfaceStatus"));
    }
    let (apply, task) = state.start_task(
        if connected == 1 {
            "connectInterface"
        } else {
            "disconnectInterface"
        },
        call.now_ms,
        vec![nic.clone()],
    );
    if apply {
        interface(instance(state, &id)?, &nic)?.connected = connected;
    }
    Ok(with_task(&task))
}

/// `ConnectNetworkInterface`.
pub fn connect_interface(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    set_connected(state, call, 1)
}

/// `DisconnectNetworkInterface`.
pub fn disconnect_interface(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    set_connected(state, call, 0)
}

/// `ModifyIpAddress`: `InstanceId`, `InterfaceId`, `Address` (free, in the interface's network).
pub fn modify_ip(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    let nic = call.params.str("InterfaceId")?;
    let address = call.params.str("Address")?;
    let invalid = || {
        CdsError::new(
            403,
            "InvalidIp.Address",
            format!("The address {address} is not valid for this interface."),
        )
    };
    if address.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(invalid());
    }
    if used_ips(state).contains(&address) {
        return Err(CdsError::new(
            403,
            "InvalidIp.IpAssigned",
            format!("The address {address} is assigned already."),
        ));
    }
    let network = interface(instance(state, &id)?, &nic)?.network_id.clone();
    if let Some(net) = state.private_networks.get(&network) {
        let prefix: Vec<&str> = net.address.split('.').take(3).collect();
        if !address.starts_with(&format!("{}.", prefix.join("."))) {
            return Err(invalid());
        }
    }
    let (apply, task) = state.start_task("modifyIpAddress", call.now_ms, vec![nic.clone()]);
    if apply {
        interface(instance(state, &id)?, &nic)?.ip = address;
    }
    Ok(with_task(&task))
}

/// One instance as `DescribeInstances` shows it.
fn instance_json(state: &State, i: &Instance) -> Value {
    let nic = |n: &Interface, key: &str, name: &str| {
        let mut m = Map::new();
        m.insert("InterfaceId".into(), json!(n.id));
        m.insert("Name".into(), json!(name));
        m.insert("IP".into(), json!(n.ip));
        m.insert(
            "MAC".into(),
            json!(format!("00:50:56:a5:{}", &n.id[..5].replace('-', ""))),
        );
        m.insert("Connected".into(), json!(n.connected));
        m.insert(key.into(), json!(n.network_id));
        Value::Object(m)
    };
    let net_name = |id: &str| {
        state
            .private_networks
            .get(id)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    };
    json!({
        "InstanceStatus": i.status,
        "RegionId": i.region_id,
        "InstanceId": i.id,
        "InstanceName": i.name,
        "VdcId": i.vdc_id,
        "VdcName": state.vdcs.get(&i.vdc_id).map(|v| v.name.clone()).unwrap_or_default(),
        "InstanceChargeType": i.charge_type,
        "InstanceType": i.instance_type,
        "Cpu": i.cpu,
        "Ram": i.ram,
        "ImageId": i.image_id,
        "PrivateNetworkInterface": i.private.iter().map(|n| nic(n, "PrivateId", &net_name(&n.network_id))).collect::<Vec<_>>(),
        "PublicNetworkInterface": i.public.as_ref().map_or(json!({}), |n| nic(n, "PublicId", "public")),
        "Disks": {
            "SystemDisk": {"IOPS": 600, "Size": i.system_disk_size},
            "DataDisks": state.disks.values().filter(|d| d.instance_id == i.id)
                .map(|d| json!({"DiskId": d.id, "Size": d.size, "Type": d.kind, "IOPS": 10 * d.size}))
                .collect::<Vec<_>>(),
        },
    })
}

/// `DescribeInstances`: filters `VdcId`, `InstanceId`, `PublicIp` (the sample's `PubIp` too),
/// pages of `PageSize` (default 20).
pub fn describe(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let vdc = p.opt_str("VdcId");
    let id = p.opt_str("InstanceId");
    let public_ip = p.opt_str_any(&["PublicIp", "PubIp"]);
    let size = p.opt_u64("PageSize")?.unwrap_or(20).max(1) as usize;
    let page = p.opt_u64("PageNumber")?.unwrap_or(1).max(1) as usize;
    let matching: Vec<&Instance> = state
        .instances
        .values()
        .filter(|i| vdc.as_ref().is_none_or(|v| &i.vdc_id == v))
        .filter(|i| id.as_ref().is_none_or(|v| &i.id == v))
        .filter(|i| {
            public_ip
                .as_ref()
                .is_none_or(|ip| i.public.as_ref().is_some_and(|n| &n.ip == ip))
        })
        .collect();
    let pages = matching.len().div_ceil(size).max(1);
    let shown: Vec<Value> = matching
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|i| instance_json(state, i))
        .collect();
    Ok(success(
        json!({"Instances": shown, "PageNumber": page, "PageCount": pages, "Total": matching.len()}),
    ))
}

/// `DescribeInstanceMonitor`: one data point per `Period` between `StartTime` and `EndTime`.
pub fn monitor(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let id = p.str("InstanceId")?;
    instance(state, &id)?;
    let metric = p.str("MetricName")?;
    const METRICS: &[&str] = &[
        "CPUUtilization",
        "RAMUtilization",
        "DiskWriteIOPS",
        "DiskReadIOPS",
        "DiskWriteBPS",
        "DiskReadBPS",
        "InterfaceInRate",
        "InterfaceOutRate",
    ];
    if !METRICS.contains(&metric.as_str()) {
        return Err(CdsError::invalid_parameter_value("MetricName"));
    }
    let period = p.u64("Period")?;
    if ![60, 900, 3600].contains(&period) {
        return Err(CdsError::invalid_parameter_value("Period"));
    }
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let parse = |name: &str| -> Result<time::PrimitiveDateTime, CdsError> {
        time::PrimitiveDateTime::parse(&p.str(name)?, format)
            .map_err(|_| CdsError::invalid_parameter_value(name))
    };
    let (start, end) = (parse("StartTime")?, parse("EndTime")?);
    if end < start {
        return Err(CdsError::invalid_parameter_value("EndTime"));
    }
    let mut points = Vec::new();
    let mut t = start;
    let mut n = 0u64;
    while t <= end && points.len() < 1440 {
        points.push(json!({"Timestamp": t.format(format).unwrap_or_default(), "Value": 40.0 + ((n * 37) % 20) as f64 + 0.67}));
        t += time::Duration::seconds(period as i64);
        n += 1;
    }
    Ok(success(
        json!({"DataPoints": points, "InstanceId": id, "Period": period.to_string()}),
    ))
}
