//! The `/ccs` disk actions: data disks of an instance.

use serde_json::Value;

use super::error::CdsError;
use super::instance::instance;
use super::params::Params;
use super::state::{Disk, State, new_id};
use super::{Call, with_task};

/// Data disk types the API sells.
pub const DISK_TYPES: &[&str] = &["ssd_disk", "high_disk", "big_disk"];

/// Data disks from `[{Size, Type}]`, validated.
pub(super) fn data_disks(params: &Params, instance_id: &str) -> Result<Vec<Disk>, CdsError> {
    params
        .objects("DataDisks")?
        .into_iter()
        .map(|d| {
            let d = Params(d);
            let size = d.u64("Size")?;
            let kind = d.opt_str("Type").unwrap_or_else(|| "ssd_disk".to_owned());
            if !(10..=4000).contains(&size) || !DISK_TYPES.contains(&kind.as_str()) {
                return Err(CdsError::new(400, "InvalidDataDiskSize.ValueNotSupported", "The specified DataDisk.n.Size beyond the permitted range, or the capacity of snapshot exceeds the size limit of the specified disk category."));
            }
            Ok(Disk { id: new_id(), instance_id: instance_id.to_owned(), size, kind })
        })
        .collect()
}

/// `CreateDisk`: `InstanceId`, `DataDisks`; the task's `ResourceIds` are the new disks.
pub fn create_disk(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    instance(state, &id)?;
    let disks = data_disks(&call.params, &id)?;
    if disks.is_empty() {
        return Err(CdsError::missing_parameter("DataDisks"));
    }
    let (apply, task) = state.start_task(
        "createDisk",
        call.now_ms,
        disks.iter().map(|d| d.id.clone()).collect(),
    );
    if apply {
        for d in disks {
            state.disks.insert(d.id.clone(), d);
        }
    }
    Ok(with_task(&task))
}

fn disk_of<'a>(
    state: &'a mut State,
    instance_id: &str,
    disk_id: &str,
) -> Result<&'a mut Disk, CdsError> {
    state
        .disks
        .get_mut(disk_id)
        .filter(|d| d.instance_id == instance_id)
        .ok_or_else(|| CdsError::not_found("DiskNotFound", "disk", disk_id))
}

/// `ResizeDisk`: `InstanceId`, `DiskId`, `DataSize` (only larger).
pub fn resize_disk(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    let disk = call.params.str("DiskId")?;
    let size = call.params.u64("DataSize")?;
    instance(state, &id)?;
    if size <= disk_of(state, &id, &disk)?.size || size > 4000 {
        return Err(CdsError::new(
            400,
            "InvalidDataDiskSize.ValueNotSupported",
            "The new size must be larger than the current one and at most 4000 GB.",
        ));
    }
    let (apply, task) = state.start_task("resizeDisk", call.now_ms, vec![disk.clone()]);
    if apply {
        disk_of(state, &id, &disk)?.size = size;
    }
    Ok(with_task(&task))
}

/// `DeleteDisk`: `InstanceId`, `DiskIds`.
pub fn delete_disk(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("InstanceId")?;
    let disks = call.params.str_list("DiskIds")?;
    instance(state, &id)?;
    for d in &disks {
        disk_of(state, &id, d)?;
    }
    let (apply, task) = state.start_task("deleteDisk", call.now_ms, disks.clone());
    if apply {
        state.disks.retain(|d, _| !disks.contains(d));
    }
    Ok(with_task(&task))
}
