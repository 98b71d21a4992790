//! ECS disks and Cloud Assistant commands (ECS product).
//!
//! A disk is `Creating` for [`DISK_PENDING_MS`], then `Available`; `AttachDisk` makes it
//! `Attaching` → `In_use` with the next free device of the instance (`/dev/xvdb`, `/dev/xvdc`, …,
//! as `DescribeDisks` reports them), `DetachDisk` `Detaching` → `Available`.
//!
//! `RunCommand` records the script for the instance (see [`super::AliyunSim::commands`]); the
//! invocation is `Running` for [`COMMAND_MS`], then `Finished` with exit code 0.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::Call;
use super::common::{new_resource, page, view};
use super::error::AliError;
use super::state::{Resource, State};

/// How long a disk transition takes, in simulated ms.
pub const DISK_PENDING_MS: u64 = 5_000;
/// How long a Cloud Assistant command runs, in simulated ms.
pub const COMMAND_MS: u64 = 3_000;

/// The disk and Cloud Assistant actions of the ECS product.
pub(crate) const ACTIONS: &[&str] = &[
    "CreateDisk",
    "DescribeDisks",
    "AttachDisk",
    "DetachDisk",
    "DeleteDisk",
    "RunCommand",
    "DescribeInvocationResults",
];

/// Runs a disk or Cloud Assistant action.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateDisk" => create(state, call),
        "DescribeDisks" => Ok(describe(state, call)),
        "AttachDisk" => attach(state, call),
        "DetachDisk" => detach(state, call),
        "DeleteDisk" => delete(state, call),
        "RunCommand" => run_command(state, call),
        "DescribeInvocationResults" => invocation_results(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let zone = call.require("ZoneId")?;
    let size: u32 = call
        .require("Size")?
        .parse()
        .map_err(|_| AliError::invalid_parameter("Size", "It must be a number of GiB."))?;
    if !(20..=32_768).contains(&size) {
        return Err(AliError::new(
            400,
            "InvalidSize.ValueNotSupported",
            "The specified disk size is not supported.",
        ));
    }
    let category = call.get("DiskCategory").unwrap_or("cloud");
    if !matches!(
        category,
        "cloud" | "cloud_efficiency" | "cloud_ssd" | "cloud_essd"
    ) {
        return Err(AliError::invalid_parameter(
            "DiskCategory",
            "Unknown disk category.",
        ));
    }
    let id = new_resource(
        state,
        call,
        "d",
        DISK_PENDING_MS,
        json!({"ZoneId": zone, "Size": size, "Category": category,
            "DiskName": call.get("DiskName").unwrap_or(""),
            "Description": call.get("Description").unwrap_or(""), "InstanceId": "", "Device": ""}),
    );
    if let Some(d) = state.get_mut(call.region, "d", &id) {
        d.pending_status = "Creating";
    }
    Ok(json!({"DiskId": id}))
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let ids: Option<Vec<String>> = call
        .get("DiskIds")
        .map(|t| serde_json::from_str(t).unwrap_or_else(|_| vec![t.to_owned()]));
    let items = state
        .list(call.region, "d")
        .filter(|d| ids.as_ref().is_none_or(|ids| ids.contains(&d.id)))
        .filter(|d| {
            call.get("InstanceId")
                .is_none_or(|i| d.attr("InstanceId") == i)
        })
        .map(|d| view(d, call.now_ms, json!({"DiskId": d.id})))
        .collect();
    page(items, "Disks", "Disk")
}

fn disk<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let id = call.require("DiskId")?;
    state
        .get(call.region, "d", id)
        .ok_or_else(|| AliError::not_found("InvalidDiskId.NotFound", "disk"))
}

fn instance<'a>(state: &'a State, call: &Call<'_>, id: &str) -> Result<&'a Resource, AliError> {
    state
        .get(call.region, "i", id)
        .filter(|i| i.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidInstanceId.NotFound", "instance"))
}

fn attach(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let instance_id = call.require("InstanceId")?;
    let vm = instance(state, call, instance_id)?;
    if !matches!(vm.status(call.now_ms), "Running" | "Stopped") {
        return Err(AliError::incorrect_status(
            "IncorrectInstanceStatus",
            "instance",
        ));
    }
    let zone = vm.attr("ZoneId").to_owned();
    let d = disk(state, call)?;
    if d.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectDiskStatus", "disk"));
    }
    if d.attr("ZoneId") != zone {
        return Err(AliError::new(
            400,
            "InvalidDiskId.ZoneMismatch",
            "The disk and the instance are in different zones.",
        ));
    }
    let used: Vec<String> = state
        .list(call.region, "d")
        .filter(|d| d.attr("InstanceId") == instance_id)
        .map(|d| d.attr("Device").to_owned())
        .collect();
    let device = (b'b'..=b'z')
        .map(|c| format!("/dev/xvd{}", char::from(c)))
        .find(|dev| !used.contains(dev))
        .unwrap_or_default();
    let id = d.id.clone();
    if let Some(d) = state.get_mut(call.region, "d", &id) {
        d.set("InstanceId", instance_id);
        d.set("Device", device);
        d.transition("Attaching", "In_use", call.now_ms, DISK_PENDING_MS);
    }
    Ok(json!({}))
}

fn detach(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let instance_id = call.require("InstanceId")?;
    let d = disk(state, call)?;
    if d.attr("InstanceId") != instance_id || d.status(call.now_ms) != "In_use" {
        return Err(AliError::incorrect_status("IncorrectDiskStatus", "disk"));
    }
    let id = d.id.clone();
    if let Some(d) = state.get_mut(call.region, "d", &id) {
        d.set("InstanceId", "");
        d.set("Device", "");
        d.transition("Detaching", "Available", call.now_ms, DISK_PENDING_MS);
    }
    Ok(json!({}))
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let d = disk(state, call)?;
    if d.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status("IncorrectDiskStatus", "disk"));
    }
    let id = d.id.clone();
    state.remove(call.region, "d", &id);
    Ok(json!({}))
}

fn run_command(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let kind = call.require("Type")?;
    if !matches!(
        kind,
        "RunShellScript" | "RunBatScript" | "RunPowerShellScript"
    ) {
        return Err(AliError::invalid_parameter("Type", "Unknown command type."));
    }
    let content = call.require("CommandContent")?;
    let script = match call.get("ContentEncoding").unwrap_or("PlainText") {
        "Base64" => STANDARD
            .decode(content)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                AliError::invalid_parameter("CommandContent", "It is not Base64 text.")
            })?,
        _ => content.to_owned(),
    };
    let instance_id = call.require("InstanceId.1")?;
    if instance(state, call, instance_id)?.status(call.now_ms) != "Running" {
        return Err(AliError::new(
            400,
            "InstanceNotRunning",
            "The Cloud Assistant command needs a running instance.",
        ));
    }
    let command = state.new_id("c");
    let invoke = new_resource(
        state,
        call,
        "t",
        COMMAND_MS,
        json!({"CommandId": command, "InstanceId": instance_id, "Script": script,
            "Name": call.get("Name").unwrap_or("")}),
    );
    if let Some(t) = state.get_mut(call.region, "t", &invoke) {
        t.transition("Running", "Finished", call.now_ms, COMMAND_MS);
    }
    Ok(json!({"CommandId": command, "InvokeId": invoke}))
}

fn invocation_results(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("InvokeId")?;
    let invocation = state
        .get(call.region, "t", id)
        .ok_or_else(|| AliError::not_found("InvalidInvokeId.NotFound", "invocation"))?;
    let status = invocation.status(call.now_ms);
    let finished = status == "Finished";
    Ok(
        json!({"Invocation": {"InvocationResults": {"InvocationResult": [{
        "InvokeId": id, "CommandId": invocation.attr("CommandId"),
        "InstanceId": invocation.attr("InstanceId"), "InvokeRecordStatus": status,
        "ExitCode": if finished { json!(0) } else { Value::Null },
        "Output": if finished { STANDARD.encode("ok\n") } else { String::new() },
        "ErrorInfo": ""}]}}}),
    )
}
