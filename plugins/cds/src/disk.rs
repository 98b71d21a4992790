//! `disk/*`: data disks of an instance.

use broker_sdk::ErrorMessage;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Ctx, Params, existing, req_u64, run_and_wait, run_for_id, text};
use crate::vm;

fn disk_output(ctx: &Ctx, instance: &str, disk: &Value) -> Output {
    let mut out = ctx.output(Some(text(disk, "DiskId")));
    out.insert("instance_id".into(), instance.into());
    out.insert(
        "size".into(),
        disk.get("Size").cloned().unwrap_or(Value::Null),
    );
    out.insert("type".into(), text(disk, "Type").into());
    out
}

fn find(vm: &Value, id: &str) -> Option<Value> {
    vm::data_disks(vm)
        .iter()
        .find(|d| text(d, "DiskId") == id)
        .cloned()
}

/// `disk/create`: `instance_id`, `size` (GB), `type` (default `ssd_disk`); returns the
/// existing disk when `id` names one of the instance's disks.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let instance = input.required_str("instance_id")?;
    if let Some(disk) = existing(input, |id| Ok(find(&vm::require(&api, instance)?, id)))? {
        return Ok(disk_output(&ctx, instance, &disk));
    }
    let disks = json!([{"Size": req_u64(input, "size")?, "Type": input.optional_str("type")?.unwrap_or("ssd_disk")}]);
    let id = run_for_id(
        &api,
        "CreateDisk",
        &Params::new()
            .set("InstanceId", instance)
            .set("DataDisks", disks),
    )?;
    let disk = find(&vm::require(&api, instance)?, &id)
        .ok_or_else(|| ErrorMessage::new(format!("disk {id} is not found after its creation")))?;
    Ok(disk_output(&ctx, instance, &disk))
}

/// `disk/resize`: `instance_id`, `id`, `size` (larger than now).
pub fn handle_resize(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let instance = input.required_str("instance_id")?;
    let id = input.required_str("id")?;
    let params = Params::new()
        .set("InstanceId", instance)
        .set("DiskId", id)
        .set("DataSize", req_u64(input, "size")?);
    run_and_wait(&api, "ResizeDisk", &params)?;
    let disk = find(&vm::require(&api, instance)?, id)
        .ok_or_else(|| ErrorMessage::new(format!("disk {id} is not found")))?;
    Ok(disk_output(&ctx, instance, &disk))
}

/// `disk/terminate`: `instance_id`, `id`; success when the disk (or its instance) is gone.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let instance = input.required_str("instance_id")?;
    let id = input.required_str("id")?;
    let exists = vm::find(&api, instance)?.is_some_and(|vm| find(&vm, id).is_some());
    if exists {
        run_and_wait(
            &api,
            "DeleteDisk",
            &Params::new()
                .set("InstanceId", instance)
                .set("DiskIds", json!([id])),
        )?;
    }
    Ok(ctx.output(Some(id)))
}
