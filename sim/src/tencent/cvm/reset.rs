//! `ResetInstance`: reinstall an instance's system, optionally from another image, with a new
//! login and a larger system disk. `RUNNING` or `STOPPED` → `RESETTING` → `RUNNING`.

use serde_json::{Value, json};

use super::super::error::TcError;
use super::super::state::State;
use super::run::{image_os, login_settings, system_disk_size};
use super::{Call, RESET_MS, check_enhanced_service, check_ids, object, wrong_state};

/// `ResetInstance {InstanceId, ImageId?, SystemDisk{DiskSize?}?, LoginSettings?,
/// EnhancedService?, HostName?}` → `{}`.
pub(super) fn reset(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "InstanceId",
        "ImageId",
        "SystemDisk",
        "LoginSettings",
        "EnhancedService",
        "HostName",
        "UserData",
    ])?;
    let id = p.required_str("InstanceId")?;
    check_ids(&[id])?;
    let image = p
        .str("ImageId")?
        .map(|image| image_os(image).map(|os| (image, os)))
        .transpose()?;
    let disk_size = system_disk_size(object(p, "SystemDisk")?)?;
    let login = login_settings(object(p, "LoginSettings")?)?;
    check_enhanced_service(p)?;
    let instance = state
        .instances
        .get_mut(call.region)
        .into_iter()
        .flatten()
        .find(|i| i.instance_id == id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidInstanceId.NotFound",
                format!("The instance `{id}` does not exist."),
            )
        })?;
    if !["RUNNING", "STOPPED"].contains(&instance.instance_state) {
        return Err(wrong_state(id, instance.instance_state));
    }
    if let Some(size) = disk_size
        && size < instance.system_disk.disk_size
    {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!(
                "The system disk can only grow: {size} GB is less than the current {} GB.",
                instance.system_disk.disk_size
            ),
        ));
    }
    if let Some((image, os)) = image {
        instance.image_id = image.to_owned();
        instance.os_name = os.to_owned();
    }
    if let Some(size) = disk_size {
        instance.system_disk.disk_size = size;
    }
    instance.login_settings = login;
    instance.instance_state = "RESETTING";
    instance.next = Some((Some("RUNNING"), call.now_ms.saturating_add(RESET_MS)));
    instance.record(call, false);
    Ok(json!({}))
}
