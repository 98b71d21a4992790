//! The read-only actions outside the resource families: `DescribeAvailableResource`,
//! `DescribeTask` (`/ccs`), `DescribeBill`, `DescribeBillInfo` (`/billing`) and `GetMetering`
//! (`/ccs-product`). Bills are computed from the resources the state holds.

use serde_json::{Value, json};

use super::disk::DISK_TYPES;
use super::error::CdsError;
use super::instance::{CPUS, RAMS};
use super::state::State;
use super::{Call, REGIONS, success};

/// `DescribeAvailableResource`: what `RegionId` sells.
pub fn available_resource(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let region = call.params.str("RegionId")?;
    if !REGIONS.contains(&region.as_str()) {
        return Err(CdsError::invalid_parameter_value("RegionId"));
    }
    let private: Vec<Value> = state
        .templates
        .values()
        .filter(|t| t.regions.contains(&region))
        .map(|t| json!({"GicDisplayName": t.name, "ImageType": "centos", "ImageId": t.id}))
        .collect();
    let wan_goods: Vec<Value> = ["Bandwidth_BGP", "Bandwidth_Tow_Line_BGP", "Bandwidth_China_Optimized"]
        .iter()
        .map(|t| json!({"Type": t, "BillingMethod": [{"MaxQos": 500, "Key": "Bandwidth"}, {"MaxQos": 500, "Key": "Traffic"}]}))
        .collect();
    let disk_goods: Vec<Value> = DISK_TYPES
        .iter()
        .map(|t| json!({"MinSize": 10, "MaxSize": 4000, "Type": t, "Step": 10}))
        .collect();
    Ok(success(json!({
        "RegionId": region,
        "RegionName": region,
        "WanGoods": wan_goods,
        "InstanceGoods": [{
            "InstanceType": "Standard",
            "Cpu": CPUS,
            "Ram": RAMS,
            "ImageGoods": {
                "PublicImage": [
                    {"GicDisplayName": "CDS-OS-CentOS7.6-64bit-General-V2", "ImageType": "centos", "ImageId": "Centos_7.6_64"},
                    {"GicDisplayName": "CDS-OS-CentOS7.4-64bit-General", "ImageType": "centos", "ImageId": "Centos_7.4_64"},
                    {"GicDisplayName": "CDS-OS-Ubuntu16.04-64bit", "ImageType": "ubuntu", "ImageId": "Ubuntu_16.04_64"},
                ],
                "PrivateImages": private,
            },
            "DiskGoods": disk_goods,
        }],
    })))
}

/// `DescribeTask`: `TaskId` → `{Status, ResourceId, ResourceIds, TaskType}`.
pub fn describe_task(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("TaskId")?;
    if state.fail_next_polls > 0 {
        state.fail_next_polls -= 1;
        return Err(CdsError::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        ));
    }
    let data = state
        .task_data(&id, call.now_ms, call.timing)
        .ok_or_else(|| {
            CdsError::new(
                400,
                "InvalidTaskID.Malformed",
                format!("The specified task \"{id}\" does not exist."),
            )
        })?;
    Ok(json!({"Code": "Success", "Message": "Success.", "Data": data, "TaskId": id}))
}

/// One bill line per billable resource: instances (`vm`), public networks (`wan`).
fn bill_lines(state: &State) -> Vec<Value> {
    let vdc_name = |id: &str| {
        state
            .vdcs
            .get(id)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    let vdc_region = |id: &str| {
        state
            .vdcs
            .get(id)
            .map(|v| v.region_id.clone())
            .unwrap_or_default()
    };
    let vms = state.instances.values().map(|i| json!({
        "CreateTime": "", "DeleteTime": "", "RegionId": i.region_id, "ResourceId": i.id,
        "ResourceName": i.name, "ResourceType": "vm", "TotalCost": (i.cpu * 2 + i.ram) as f64 * 0.31,
        "VdcId": i.vdc_id, "VdcName": vdc_name(&i.vdc_id),
    }));
    let wans = state.public_networks.values().map(|p| json!({
        "CreateTime": "", "DeleteTime": "", "RegionId": vdc_region(&p.vdc_id), "ResourceId": p.id,
        "ResourceName": p.name, "ResourceType": "wan", "TotalCost": p.qos as f64 * 1.25,
        "VdcId": p.vdc_id, "VdcName": vdc_name(&p.vdc_id),
    }));
    vms.chain(wans).collect()
}

/// A billing answer: billing says `success` in lower case.
fn billing(data: Value, message: &str) -> Value {
    json!({"Code": "success", "Data": data, "Message": message, "TaskId": ""})
}

/// `yyyy.mm.dd` (the billing date format), checked.
fn check_date(name: &str, text: &str) -> Result<(), CdsError> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(CdsError::invalid_parameter_value(name))
    }
}

/// `DescribeBill`: `DateFromTo` = `"2019.09.02 - 2019.09.03"`.
pub fn describe_bill(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let range = call.params.str("DateFromTo")?;
    let (from, to) = range
        .split_once('-')
        .ok_or_else(|| CdsError::invalid_parameter_value("DateFromTo"))?;
    check_date("DateFromTo", from)?;
    check_date("DateFromTo", to)?;
    let lines = bill_lines(state);
    let total: f64 = lines.iter().filter_map(|l| l["TotalCost"].as_f64()).sum();
    Ok(billing(
        json!({"BillInfo": lines, "TotalMasterCost": 0, "TotalViceCost": total}),
        "bill day query success",
    ))
}

/// `DescribeBillInfo`: `DateFrom`, `DateTo`, `ResourceId`.
pub fn describe_bill_info(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    check_date("DateFrom", &call.params.str("DateFrom")?)?;
    check_date("DateTo", &call.params.str("DateTo")?)?;
    let id = call.params.str("ResourceId")?;
    let line = bill_lines(state)
        .into_iter()
        .find(|l| l["ResourceId"] == id)
        .ok_or_else(|| CdsError::not_found("ResourceNotFound", "resource", &id))?;
    let ips: Vec<String> = state
        .instances
        .get(&id)
        .and_then(|i| i.public.as_ref())
        .map(|n| vec![n.ip.clone()])
        .unwrap_or_default();
    let mut detail = line.clone();
    detail["IPs"] = json!(ips);
    detail["PayDesc"] = json!("按需计费");
    detail["PayType"] = json!("1");
    detail["Status"] = json!("running");
    detail["UnitPrice"] = json!(0.01417548);
    Ok(billing(
        json!({"BillDetail": [detail], "TotalCost": line["TotalCost"]}),
        "bill details query success",
    ))
}

/// `GetMetering`: `EndTime` (`yyyy-mm-dd`), optional `Uid`; cold-storage pools.
pub fn get_metering(_state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let end = call.params.str("EndTime")?;
    if end.len() < 10
        || !end[..10].bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return Err(CdsError::invalid_parameter_value("EndTime"));
    }
    let uid = call
        .params
        .opt_str("Uid")
        .unwrap_or_else(|| "2001".to_owned());
    Ok(success(
        json!([{"Cold": 165.1226, "Id": uid, "Name": "storage-pool-1", "TotalSize": "10240", "Warm": 37.9796}]),
    ))
}
