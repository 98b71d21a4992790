//! The CBS product (`cbs`, version `2017-03-12`): `CreateDisks`, `DescribeDisks`, `AttachDisks`,
//! `DetachDisks`, `TerminateDisks`.
//!
//! Disks change state in simulated time ([`crate::TencentSimConfig::clock`]), as on Tencent:
//! - `CreateDisks` answers at once, but the disk shows in `DescribeDisks` (as `UNATTACHED`) only
//!   [`CREATE_MS`] later; until then it cannot be attached (`InvalidDiskId.NotFound`);
//! - `AttachDisks` → `ATTACHING`, `ATTACHED` [`ATTACH_MS`] later; the instance must exist in the
//!   CVM state, be `RUNNING` or `STOPPED`, and be in the disk's zone;
//! - `DetachDisks` → `DETACHING`, `UNATTACHED` [`ATTACH_MS`] later;
//! - `TerminateDisks` removes an unattached disk.
//!
//! An id that is not `disk-` plus 8 characters is `InvalidParameterValue.Malformed`; an unknown
//! one is `InvalidDiskId.NotFound`, except in `DescribeDisks`, which just omits it.

use serde::Serialize;
use serde_json::{Value, json};

use super::cvm::{object, required_member};
use super::error::TcError;
use super::state::{self, State};
use super::{Call, Product, TencentSim};

/// The CBS product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "cbs",
    version: "2017-03-12",
    actions: &[
        "CreateDisks",
        "DescribeDisks",
        "AttachDisks",
        "DetachDisks",
        "TerminateDisks",
    ],
    regional: true,
    handle,
};

/// From `CreateDisks` until the disk is listed, `UNATTACHED`.
pub const CREATE_MS: u64 = 10_000;
/// From `AttachDisks` to `ATTACHED`, and from `DetachDisks` to `UNATTACHED`.
pub const ATTACH_MS: u64 = 5_000;

/// Disk media and their (smallest, largest) size in GB.
const DISK_TYPES: &[(&str, u64, u64)] = &[
    ("CLOUD_BASIC", 10, 32_000),
    ("CLOUD_PREMIUM", 10, 32_000),
    ("CLOUD_SSD", 20, 32_000),
    ("CLOUD_HSSD", 20, 32_000),
];

/// `Placement` of a disk.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Placement {
    zone: String,
    project_id: u64,
}

/// One disk, serialised as `DescribeDisks` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Disk {
    pub(crate) disk_id: String,
    disk_name: String,
    disk_type: String,
    disk_size: u64,
    disk_charge_type: String,
    pub(crate) disk_state: &'static str,
    attached: bool,
    pub(crate) instance_id: String,
    placement: Placement,
    create_time: String,
    /// When it shows in `DescribeDisks` (simulated ms).
    #[serde(skip)]
    listed_at: u64,
    /// The state it moves to next and when (simulated ms).
    #[serde(skip)]
    next: Option<(&'static str, u64)>,
}

impl Disk {
    /// Whether `DescribeDisks` shows it at `now_ms`.
    fn listed(&self, now_ms: u64) -> bool {
        self.listed_at <= now_ms
    }
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "CreateDisks" => create(state, call),
        "DescribeDisks" => describe(state, call),
        "AttachDisks" => attach(state, call),
        "DetachDisks" => detach(state, call),
        "TerminateDisks" => terminate(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every disk transition due at `now_ms`.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for disk in state.disks.values_mut().flatten() {
        if let Some((next, at)) = disk.next
            && at <= now_ms
        {
            disk.disk_state = next;
            disk.attached = next == "ATTACHED";
            if next == "UNATTACHED" {
                disk.instance_id.clear();
            }
            disk.next = None;
        }
    }
}

/// `CreateDisks {Placement{Zone}, DiskChargeType, DiskType, DiskSize, DiskName?,
/// DiskChargePrepaid{Period}?, DiskCount?}` → `{DiskIdSet}`.
fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "Placement",
        "DiskChargeType",
        "DiskType",
        "DiskName",
        "DiskSize",
        "DiskChargePrepaid",
        "DiskCount",
        "Tags",
        "ClientToken",
    ])?;
    let zone = required_member(object(p, "Placement")?, "Placement", "Zone")?;
    state::check_zone(zone, call.region)?;
    let disk_type = p.required_str("DiskType")?;
    let &(_, min, max) = DISK_TYPES
        .iter()
        .find(|(t, _, _)| *t == disk_type)
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue",
                format!("The value `{disk_type}` of parameter `DiskType` is not supported."),
            )
        })?;
    let size = p
        .uint("DiskSize")?
        .ok_or_else(|| TcError::missing_parameter("DiskSize"))?;
    if !(min..=max).contains(&size) || size % 10 != 0 {
        return Err(TcError::out_of_range(
            "DiskSize",
            &size.to_string(),
            &format!("{min} to {max} GB in steps of 10 for {disk_type}"),
        ));
    }
    let charge_type = p.required_str("DiskChargeType")?;
    match charge_type {
        "POSTPAID_BY_HOUR" | "CDCPAID" => {}
        "PREPAID" => {
            let prepaid = object(p, "DiskChargePrepaid")?;
            if prepaid.and_then(|o| o.get("Period")).is_none() {
                return Err(TcError::missing_parameter("DiskChargePrepaid.Period"));
            }
        }
        other => {
            return Err(TcError::new(
                "InvalidParameterValue",
                format!("The value `{other}` of parameter `DiskChargeType` is not supported."),
            ));
        }
    }
    if let Some(count) = p.uint("DiskCount")?
        && count != 1
    {
        return Err(TcError::out_of_range(
            "DiskCount",
            &count.to_string(),
            "1 (the simulator creates one disk per call)",
        ));
    }
    let name = p.str("DiskName")?.unwrap_or("未命名");
    if name.chars().count() > 60 {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            "The value of parameter `DiskName` is longer than 60 characters.",
        ));
    }
    let disk = Disk {
        disk_id: state.new_id("disk"),
        disk_name: name.to_owned(),
        disk_type: disk_type.to_owned(),
        disk_size: size,
        disk_charge_type: charge_type.to_owned(),
        disk_state: "UNATTACHED",
        attached: false,
        instance_id: String::new(),
        placement: Placement {
            zone: zone.to_owned(),
            project_id: 0,
        },
        create_time: state::created_time(),
        listed_at: call.now_ms.saturating_add(CREATE_MS),
        next: None,
    };
    let id = disk.disk_id.clone();
    state
        .disks
        .entry(call.region.to_owned())
        .or_default()
        .push(disk);
    Ok(json!({ "DiskIdSet": [id] }))
}

/// The well-formed `DiskIds` of a call (required unless `optional`).
fn disk_ids<'a>(call: &Call<'a>) -> Result<Vec<&'a str>, TcError> {
    let ids = call
        .params
        .str_list("DiskIds")?
        .ok_or_else(|| TcError::missing_parameter("DiskIds"))?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(TcError::out_of_range(
            "DiskIds",
            &ids.len().to_string(),
            "1 to 100 ids",
        ));
    }
    ids.iter()
        .try_for_each(|id| state::check_id("disk", "DiskIds", id))?;
    Ok(ids)
}

/// `DescribeDisks {DiskIds?, Offset?, Limit?}` → `{TotalCount, DiskSet}`.
fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["DiskIds", "Offset", "Limit"])?;
    let ids = match p.get("DiskIds") {
        Some(_) => Some(disk_ids(call)?),
        None => None,
    };
    let limit = p.uint("Limit")?.unwrap_or(20);
    if limit > 100 {
        return Err(TcError::out_of_range(
            "Limit",
            &limit.to_string(),
            "0 to 100",
        ));
    }
    let offset = p.uint("Offset")?.unwrap_or(0);
    let matched: Vec<&Disk> = state
        .disks
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|d| d.listed(call.now_ms))
        .filter(|d| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&d.disk_id.as_str()))
        })
        .collect();
    let (total, page) = state::page(matched, offset, limit);
    Ok(json!({ "TotalCount": total, "DiskSet": page }))
}

/// The listed disk `id` of the call's region, or `InvalidDiskId.NotFound`.
fn disk_mut<'s>(state: &'s mut State, call: &Call<'_>, id: &str) -> Result<&'s mut Disk, TcError> {
    state
        .disks
        .get_mut(call.region)
        .into_iter()
        .flatten()
        .find(|d| d.disk_id == id && d.listed(call.now_ms))
        .ok_or_else(|| {
            TcError::new(
                "InvalidDiskId.NotFound",
                format!("The disk `{id}` does not exist."),
            )
        })
}

/// `ResourceBusy` for a disk in a transitional state, `ResourceUnavailable.Attached` or
/// `ResourceUnavailable.NotAttached` for one in the other settled state.
fn wrong_state(disk: &Disk) -> TcError {
    match disk.disk_state {
        "ATTACHED" => TcError::new(
            "ResourceUnavailable.Attached",
            format!(
                "The disk `{}` is attached to `{}`.",
                disk.disk_id, disk.instance_id
            ),
        ),
        "UNATTACHED" => TcError::new(
            "ResourceUnavailable.NotAttached",
            format!("The disk `{}` is not attached.", disk.disk_id),
        ),
        other => TcError::new(
            "ResourceBusy",
            format!("The disk `{}` is {other}; try again later.", disk.disk_id),
        ),
    }
}

/// `AttachDisks {DiskIds, InstanceId, DeleteWithInstance?, AttachMode?}` → `{}`.
fn attach(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["DiskIds", "InstanceId", "DeleteWithInstance", "AttachMode"])?;
    let ids = disk_ids(call)?;
    let instance_id = p.required_str("InstanceId")?;
    p.flag("DeleteWithInstance")?;
    if !state::is_id("ins", instance_id) {
        return Err(TcError::new(
            "InvalidInstanceId.Malformed",
            format!("The instance id `{instance_id}` is malformed."),
        ));
    }
    let instance = state
        .instances
        .get(call.region)
        .into_iter()
        .flatten()
        .find(|i| i.instance_id == instance_id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidInstanceId.NotFound",
                format!("The instance `{instance_id}` does not exist."),
            )
        })?;
    if !["RUNNING", "STOPPED"].contains(&instance.instance_state) {
        return Err(TcError::new(
            "ResourceUnavailable.InstanceState",
            format!(
                "The instance `{instance_id}` is {}; disks attach to RUNNING or STOPPED instances.",
                instance.instance_state
            ),
        ));
    }
    let instance_zone = instance.zone().to_owned();
    for id in &ids {
        let disk = disk_mut(state, call, id)?;
        if disk.disk_state != "UNATTACHED" {
            return Err(wrong_state(disk));
        }
        if disk.placement.zone != instance_zone {
            return Err(TcError::new(
                "InvalidParameter.InstanceNotSameZone",
                format!(
                    "The disk `{id}` is in zone `{}`, the instance in `{instance_zone}`.",
                    disk.placement.zone
                ),
            ));
        }
    }
    for id in &ids {
        let disk = disk_mut(state, call, id)?;
        disk.disk_state = "ATTACHING";
        disk.instance_id = instance_id.to_owned();
        disk.next = Some(("ATTACHED", call.now_ms.saturating_add(ATTACH_MS)));
    }
    Ok(json!({}))
}

/// `DetachDisks {DiskIds, InstanceId?}` → `{}`.
fn detach(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["DiskIds", "InstanceId"])?;
    let ids = disk_ids(call)?;
    let instance_id = p.str("InstanceId")?;
    for id in &ids {
        let disk = disk_mut(state, call, id)?;
        if disk.disk_state != "ATTACHED" {
            return Err(wrong_state(disk));
        }
        if let Some(instance_id) = instance_id
            && disk.instance_id != instance_id
        {
            return Err(TcError::new(
                "InvalidParameterValue",
                format!("The disk `{id}` is not attached to `{instance_id}`."),
            ));
        }
    }
    for id in &ids {
        let disk = disk_mut(state, call, id)?;
        disk.disk_state = "DETACHING";
        disk.next = Some(("UNATTACHED", call.now_ms.saturating_add(ATTACH_MS)));
    }
    Ok(json!({}))
}

/// `TerminateDisks {DiskIds, DeleteSnapshot?}` → `{}`: every disk must be unattached.
fn terminate(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["DiskIds", "DeleteSnapshot"])?;
    let ids = disk_ids(call)?;
    for id in &ids {
        let disk = disk_mut(state, call, id)?;
        if disk.disk_state != "UNATTACHED" {
            return Err(wrong_state(disk));
        }
    }
    if let Some(disks) = state.disks.get_mut(call.region) {
        disks.retain(|d| !ids.contains(&d.disk_id.as_str()));
    }
    Ok(json!({}))
}

/// Test helpers: what the CBS state holds.
impl TencentSim {
    /// The ids of the disks in `region` (not yet listed ones included), in creation order.
    pub fn disk_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state_now();
        state
            .disks
            .get(region)
            .map(|d| d.iter().map(|d| d.disk_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The `(DiskState, InstanceId)` of disk `id` in `region`, if it exists.
    pub fn disk_state(&self, region: &str, id: &str) -> Option<(String, String)> {
        let state = self.shared.state_now();
        state
            .disks
            .get(region)?
            .iter()
            .find(|d| d.disk_id == id)
            .map(|d| (d.disk_state.to_owned(), d.instance_id.clone()))
    }
}
