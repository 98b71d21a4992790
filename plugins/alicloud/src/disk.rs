//! `disk/create_attach` and `disk/detach_delete` (ECS disks).
//!
//! The original copied Python scripts to the instance and ran them over SSH as root, with the
//! root password decrypted in the plugin. The broker never opens SSH: it runs the
//! format-and-mount (and the unmount) on the instance with ECS Cloud Assistant (`RunCommand`,
//! then `DescribeInvocationResults` until the invocation finishes). So `password`, `seed` and
//! `instanceGuid` are accepted for compatibility but not needed.
//!
//! Everything that goes into a script is checked first (file system from a fixed list, absolute
//! paths and device names from a safe alphabet), so no input can inject shell code.

use base64::Engine as _;
use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, text};
use broker_sdk::clock::Poll;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, ECS, Session, find, push_optional, wait_for};
use crate::vm::require_instance;
use crate::waits;

/// How disks are described.
pub const DISKS: Describe = Describe {
    noun: "disk",
    action: "DescribeDisks",
    id_param: "DiskIds",
    json_list: true,
    id_field: "DiskId",
    list: "Disks",
    item: "Disk",
};

/// Disk `id`, `None` when it does not exist.
fn find_disk(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(find(api, &DISKS, id)?)
}

/// Waits until disk `id` has `Status` `want`; returns it.
fn wait_disk(api: &impl AliyunApi, id: &str, want: &str) -> Result<Value, ErrorMessage> {
    wait_for(&format!("disk {id} to be {want}"), waits::DISK, || {
        let disk = find_disk(api, id)?
            .ok_or_else(|| ErrorMessage::new(format!("disk {id} disappeared")))?;
        Ok(if text(&disk, "Status") == want {
            Poll::Ready(disk.clone())
        } else {
            Poll::Pending(text(&disk, "Status").to_owned())
        })
    })
}

/// The device name inside the guest: ECS reports `/dev/xvdb`, which virtio guests see as
/// `/dev/vdb`.
pub fn guest_device(reported: &str) -> String {
    match reported.strip_prefix("/dev/xvd") {
        Some(rest) => format!("/dev/vd{rest}"),
        None => reported.to_owned(),
    }
}

/// An absolute path of `[A-Za-z0-9/_.-]` without `..`, safe to put in a script.
pub fn safe_path(field: &str, value: &str) -> Result<String, ErrorMessage> {
    let ok = value.starts_with('/')
        && value.len() > 1
        && !value.split('/').any(|part| part == "..")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ErrorMessage::new(format!(
            "{field} must be an absolute path of letters, digits, '/', '_', '.' and '-', got \"{value}\""
        )))
    }
}

/// The file systems the format step supports.
pub const FILE_SYSTEMS: &[&str] = &["ext3", "ext4", "xfs"];

/// The script that formats `device` with `fs` unless it has a file system, mounts it on `dir`
/// and records the mount in `/etc/fstab` (`nofail`, so a later detach cannot block a boot).
pub fn mount_script(device: &str, fs: &str, dir: &str) -> String {
    format!(
        "set -e\n\
         dev={device}; fs={fs}; dir={dir}\n\
         blkid \"$dev\" >/dev/null 2>&1 || mkfs -t \"$fs\" \"$dev\"\n\
         mkdir -p \"$dir\"\n\
         mountpoint -q \"$dir\" || mount -t \"$fs\" \"$dev\" \"$dir\"\n\
         grep -q \"^$dev \" /etc/fstab || echo \"$dev $dir $fs defaults,nofail 0 0\" >> /etc/fstab\n"
    )
}

/// The script that unmounts `dir` (if mounted) and drops `device` from `/etc/fstab`.
pub fn unmount_script(device: &str, dir: &str) -> String {
    format!(
        "set -e\n\
         dev={device}; dir={dir}\n\
         if mountpoint -q \"$dir\"; then umount \"$dir\"; fi\n\
         sed -i \"\\#^$dev #d\" /etc/fstab\n"
    )
}

/// Runs `script` on `instance` with Cloud Assistant and waits until it finished with exit code 0.
fn run(api: &impl AliyunApi, instance: &str, name: &str, script: &str) -> Result<(), ErrorMessage> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(script);
    let started = api.call(
        "RunCommand",
        &[
            ("Type", "RunShellScript"),
            ("Name", name),
            ("ContentEncoding", "Base64"),
            ("CommandContent", encoded.as_str()),
            ("InstanceId.1", instance),
            ("Timeout", "600"),
        ],
    )?;
    let invoke = text(&started.body, "InvokeId").to_owned();
    let result = wait_for(
        &format!("command {name} on {instance}"),
        waits::COMMAND,
        || {
            let answer = api.call(
                "DescribeInvocationResults",
                &[("InvokeId", invoke.as_str()), ("InstanceId", instance)],
            )?;
            let result = answer
                .body
                .pointer("/Invocation/InvocationResults/InvocationResult/0")
                .cloned()
                .unwrap_or(Value::Null);
            Ok(match text(&result, "InvokeRecordStatus") {
                "Finished" | "Failed" | "Stopped" | "PartialFailed" => Poll::Ready(result),
                other => Poll::Pending(other.to_owned()),
            })
        },
    )?;
    let exit = result.get("ExitCode").and_then(Value::as_i64);
    if text(&result, "InvokeRecordStatus") == "Finished" && exit == Some(0) {
        return Ok(());
    }
    let output = base64::engine::general_purpose::STANDARD
        .decode(text(&result, "Output"))
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    Err(ErrorMessage::new(format!(
        "{name} on {instance} ended {} (exit code {}): {} {output}",
        text(&result, "InvokeRecordStatus"),
        exit.map_or_else(|| "none".to_owned(), |c| c.to_string()),
        text(&result, "ErrorInfo")
    )))
}

/// `POST /alicloud/v1/disk/create_attach`: creates the disk (or takes `diskId`), attaches it to
/// `instanceId`, formats it with `fileSystemType` and mounts it on `mountDir` through Cloud
/// Assistant. Output `diskId` and `volumeName` (the guest device, e.g. `/dev/vdb`).
pub fn handle_create_attach(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let instance = input.required_str("instanceId")?;
    let fs = input.required_str("fileSystemType")?;
    if !FILE_SYSTEMS.contains(&fs) {
        return Err(ErrorMessage::new(format!(
            "fileSystemType must be one of {}, got \"{fs}\"",
            FILE_SYSTEMS.join(", ")
        )));
    }
    let dir = safe_path("mountDir", input.required_str("mountDir")?)?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    require_instance(&api, instance)?;
    let existing = match input.optional_str("diskId")? {
        Some(id) => find_disk(&api, id)?,
        None => None,
    };
    let mut disk = match existing {
        Some(disk) => disk,
        None => {
            let mut params = vec![
                ("ZoneId", input.required_str("zoneId")?),
                ("Size", input.required_str("size")?),
            ];
            push_optional(
                input,
                &mut params,
                &[
                    ("diskName", "DiskName"),
                    ("diskCategory", "DiskCategory"),
                    ("description", "Description"),
                ],
            )?;
            let created = api.call("CreateDisk", &params)?;
            wait_disk(&api, text(&created.body, "DiskId"), "Available")?
        }
    };
    let id = text(&disk, "DiskId").to_owned();
    match text(&disk, "InstanceId") {
        "" => {
            api.call(
                "AttachDisk",
                &[("InstanceId", instance), ("DiskId", id.as_str())],
            )?;
            disk = wait_disk(&api, &id, "In_use")?;
        }
        attached if attached == instance => {
            if text(&disk, "Status") != "In_use" {
                disk = wait_disk(&api, &id, "In_use")?;
            }
        }
        other => {
            return Err(ErrorMessage::new(format!(
                "disk {id} is attached to {other}, not {instance}"
            )));
        }
    }
    let device = guest_device(text(&disk, "Device"));
    let device = safe_path("the disk's device", &device)?;
    run(
        &api,
        instance,
        "broker-format-and-mount",
        &mount_script(&device, fs, &dir),
    )?;
    let mut out = Output::new();
    out.insert("diskId".into(), json!(id));
    out.insert("volumeName".into(), json!(device));
    Ok(out)
}

/// `POST /alicloud/v1/disk/detach_delete`: unmounts `unmountDir` through Cloud Assistant (when the
/// instance runs), detaches and deletes the disk; an absent disk counts as deleted.
pub fn handle_detach_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("diskId")?;
    let instance = input.required_str("instanceId")?;
    let dir = safe_path("unmountDir", input.required_str("unmountDir")?)?;
    let volume = safe_path("volumeName", input.required_str("volumeName")?)?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    let Some(disk) = find_disk(&api, id)? else {
        return Ok(Output::new());
    };
    if text(&disk, "InstanceId") == instance {
        // A stopped instance has nothing mounted; its fstab entry is `nofail`.
        if text(&require_instance(&api, instance)?, "Status") == "Running" {
            run(
                &api,
                instance,
                "broker-unmount",
                &unmount_script(&volume, &dir),
            )?;
        }
        api.call("DetachDisk", &[("InstanceId", instance), ("DiskId", id)])?;
        wait_disk(&api, id, "Available")?;
    } else if !text(&disk, "InstanceId").is_empty() {
        return Err(ErrorMessage::new(format!(
            "disk {id} is attached to {}, not {instance}",
            text(&disk, "InstanceId")
        )));
    }
    if text(&disk, "Status") == "Creating" {
        wait_disk(&api, id, "Available")?;
    }
    api.call("DeleteDisk", &[("DiskId", id)])?;
    wait_for(&format!("disk {id} to be deleted"), waits::DISK, || {
        Ok(match find_disk(&api, id)? {
            None => Poll::Ready(()),
            Some(d) => Poll::Pending(text(&d, "Status").to_owned()),
        })
    })?;
    Ok(Output::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_shell_characters_are_refused() {
        assert_eq!(safe_path("mountDir", "/data/test").unwrap(), "/data/test");
        for bad in [
            "data",
            "/",
            "/data;reboot",
            "/a b",
            "/a/../etc",
            "/$(id)",
            "/a`b`",
        ] {
            assert!(safe_path("mountDir", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn devices_and_scripts() {
        assert_eq!(guest_device("/dev/xvdb"), "/dev/vdb");
        assert_eq!(guest_device("/dev/vdc"), "/dev/vdc");
        let script = mount_script("/dev/vdb", "ext3", "/data/test");
        assert!(script.contains("mkfs -t \"$fs\" \"$dev\""));
        assert!(script.contains("dev=/dev/vdb; fs=ext3; dir=/data/test"));
        assert!(unmount_script("/dev/vdb", "/data/test").contains("umount \"$dir\""));
    }
}
