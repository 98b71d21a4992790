//! `storage/create` and `storage/terminate` on the CBS service: `CreateDisks`, `DescribeDisks`,
//! `AttachDisks`, `DetachDisks`, `TerminateDisks`.
//!
//! `storage/create` creates the disk in `AvailableZone`, waits until it is listed `UNATTACHED`,
//! attaches it to `instance_id` and waits until it is `ATTACHED`. A failed attach fails the
//! input (the original swallowed it) and names the disk that was created. Given an existing
//! `id`, it creates nothing; an existing disk that is still unattached is attached.
//! `storage/terminate` detaches an attached disk (waiting until it is `UNATTACHED`), then
//! terminates it; a disk that is already gone counts as terminated; every failure is reported.
//! Waits poll with the host's clock as [`crate::waits::STORAGE`] says.

use broker_sdk::ErrorMessage;
use broker_sdk::clock::{Clock, HostClock, Poll};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{self, Common, TerminateArgs, optional_uint, required_uint};
use crate::waits;

/// The Tencent API host of the CBS service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "cbs.tencentcloudapi.com";
/// Tencent service name.
pub const SERVICE: &str = "cbs";
/// CBS API version.
pub const API_VERSION: &str = "2017-03-12";

/// Validated `storage/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// `Placement.Zone`, from `AvailableZone` in `provider_params`.
    pub zone: String,
    /// Existing disk to look up first (optional).
    pub id: Option<String>,
    /// The instance to attach the disk to.
    pub instance_id: String,
    /// `DiskName`.
    pub disk_name: String,
    /// `DiskType` (`CLOUD_BASIC`, `CLOUD_PREMIUM`, `CLOUD_SSD`).
    pub disk_type: String,
    /// `DiskSize` in GB.
    pub disk_size: u64,
    /// `DiskChargeType` (`PREPAID`, `POSTPAID_BY_HOUR`, `CDCPAID`).
    pub charge_type: String,
    /// `DiskChargePrepaid.Period` in months (required for `PREPAID`).
    pub charge_period: Option<u64>,
}

impl CreateArgs {
    /// Validate a `storage/create` input: `guid`, `provider_params` (with `AvailableZone`),
    /// `instance_id`, `disk_name`, `disk_type`, `disk_size`, `disk_charge_type` required; `id`
    /// and `disk_charge_period` (required for `PREPAID`) optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let zone = common.params.require_zone()?.to_owned();
        let charge_type = input.required_str("disk_charge_type")?.to_owned();
        let charge_period = optional_uint(input, "disk_charge_period")?;
        if charge_type == "PREPAID" && charge_period.is_none() {
            return Err(ErrorMessage::new(
                "missing required field \"disk_charge_period\" (disk_charge_type is PREPAID)",
            ));
        }
        Ok(Self {
            common,
            zone,
            id: input.optional_str("id")?.map(str::to_owned),
            instance_id: input.required_str("instance_id")?.to_owned(),
            disk_name: input.required_str("disk_name")?.to_owned(),
            disk_type: input.required_str("disk_type")?.to_owned(),
            disk_size: required_uint(input, "disk_size")?,
            charge_type,
            charge_period,
        })
    }

    /// The `CreateDisks` payload.
    fn payload(&self) -> Value {
        let mut payload = json!({
            "Placement": {"Zone": self.zone},
            "DiskName": self.disk_name,
            "DiskType": self.disk_type,
            "DiskSize": self.disk_size,
            "DiskChargeType": self.charge_type,
        });
        if self.charge_type == "PREPAID"
            && let Some(period) = self.charge_period
        {
            payload["DiskChargePrepaid"] =
                json!({"Period": period, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"});
        }
        payload
    }
}

/// `DescribeDisks {DiskIds: [id]}` → (request id, the disk if it is listed).
pub fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Option<Value>), ErrorMessage> {
    common::find_by_id(
        api,
        ("DescribeDisks", json!({ "DiskIds": [id] })),
        ("DiskSet", "DiskId"),
        id,
    )
}

/// The `DiskState` of a described disk.
fn state_of(disk: &Value) -> &str {
    disk.get("DiskState")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Polls until disk `id` is listed in state `want`; returns it. `absent` is what a disk that
/// is not listed means: still being created (pending) or gone (an error).
fn wait_for(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
    want: &str,
) -> Result<Value, ErrorMessage> {
    common::wait_until(
        clock,
        wait,
        &format!("disk {id} to be {want}"),
        || match describe(api, id)? {
            (_, Some(disk)) if state_of(&disk) == want => Ok(Poll::Ready(disk)),
            (_, Some(disk)) => Ok(Poll::Pending(state_of(&disk).to_owned())),
            (_, None) => Ok(Poll::Pending("not listed".to_owned())),
        },
    )
}

/// Attach disk `id` to `instance_id` and wait until it is attached; returns the request id.
fn attach(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
    instance_id: &str,
) -> Result<String, ErrorMessage> {
    let payload = json!({ "DiskIds": [id], "InstanceId": instance_id });
    let request_id = api.call("AttachDisks", &payload)?.request_id;
    let disk = wait_for(api, clock, wait, id, "ATTACHED")?;
    let attached_to = disk
        .get("InstanceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if attached_to != instance_id {
        return Err(ErrorMessage::new(format!(
            "disk {id} is attached to {attached_to:?}, not {instance_id}"
        )));
    }
    Ok(request_id)
}

/// Create a disk and attach it to the instance, or return the existing one when `id` names
/// one (attaching it if it is still unattached).
pub fn create(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    if let Some(id) = &args.id
        && let (request_id, Some(disk)) = describe(api, id)?
    {
        let request_id = if state_of(&disk) == "UNATTACHED" {
            attach(api, clock, wait, id, &args.instance_id).map_err(|e| {
                ErrorMessage::new(format!(
                    "disk {id} exists, but attaching it to {} failed: {}",
                    args.instance_id,
                    e.as_str()
                ))
            })?
        } else {
            request_id
        };
        return Ok(common::output_with_id(&request_id, guid, id));
    }
    let response = api.call("CreateDisks", &args.payload())?;
    let id = response
        .body
        .get("DiskIdSet")
        .and_then(Value::as_array)
        .and_then(|set| set.first())
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "CreateDisks succeeded but returned no DiskId (RequestId={})",
                response.request_id
            ))
        })?
        .to_owned();
    wait_for(api, clock, wait, &id, "UNATTACHED")
        .and_then(|_| attach(api, clock, wait, &id, &args.instance_id))
        .map_err(|e| {
            ErrorMessage::new(format!(
                "disk {id} was created, but attaching it to {} failed: {}",
                args.instance_id,
                e.as_str()
            ))
        })?;
    Ok(common::output_with_id(&response.request_id, guid, &id))
}

/// Detach the disk if needed and terminate it; one already gone counts as terminated.
pub fn terminate(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (request_id, disk) = describe(api, id)?;
    let Some(disk) = disk else {
        return Ok(common::output_with_id(&request_id, guid, id));
    };
    let mut state = state_of(&disk).to_owned();
    if state == "ATTACHING" {
        state = state_of(&wait_for(api, clock, wait, id, "ATTACHED")?).to_owned();
    }
    if state == "ATTACHED" {
        api.call("DetachDisks", &json!({ "DiskIds": [id] }))?;
        state = "DETACHING".to_owned();
    }
    if state == "DETACHING" {
        wait_for(api, clock, wait, id, "UNATTACHED")?;
    }
    match api.call("TerminateDisks", &json!({ "DiskIds": [id] })) {
        Ok(response) => Ok(common::output_with_id(&response.request_id, guid, id)),
        Err(error) if error.is_not_found() => {
            Ok(common::output_with_id(error.request_id(), guid, id))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /v1/qcloud/storage/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::STORAGE.read()?;
    common::with_service_client(
        "storage/create",
        &args.common,
        (SERVICE, API_VERSION),
        |api| create(api, &HostClock, wait, &args),
    )
}

/// `POST /v1/qcloud/storage/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::STORAGE.read()?;
    common::with_service_client(
        "storage/terminate",
        &args.common,
        (SERVICE, API_VERSION),
        |api| terminate(api, &HostClock, wait, &args),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, WAIT, api_error, input, ok};

    fn disk(
        state: &str,
        instance: &str,
    ) -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "DiskSet": [{"DiskId": "disk-1", "DiskState": state, "InstanceId": instance}]}),
        )
    }

    fn none() -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok("r-d", json!({"TotalCount": 0, "DiskSet": []}))
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "instance_id": "ins-1", "disk_name": "d",
            "disk_type": "CLOUD_PREMIUM", "disk_size": 10, "disk_charge_type": "POSTPAID_BY_HOUR",
            "disk_charge_period": null})
    }

    #[test]
    fn create_waits_for_the_disk_then_attaches_it_and_waits_until_attached() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"DiskIdSet": ["disk-1"]})),
            none(),
            disk("UNATTACHED", ""),
            ok("r-a", json!({})),
            disk("ATTACHING", "ins-1"),
            disk("ATTACHED", "ins-1"),
        ]);
        let clock = FakeClock::new();
        let out = create(&api, &clock, WAIT, &args).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "disk-1"})
        );
        assert_eq!(clock.sleeps.get(), 2);
        let calls = api.calls.borrow();
        assert_eq!(
            calls[0].1,
            json!({"Placement": {"Zone": "ap-shanghai-1"}, "DiskName": "d",
                "DiskType": "CLOUD_PREMIUM", "DiskSize": 10, "DiskChargeType": "POSTPAID_BY_HOUR"})
        );
        assert_eq!(
            calls[3].1,
            json!({"DiskIds": ["disk-1"], "InstanceId": "ins-1"})
        );
    }

    #[test]
    fn a_failed_attach_fails_the_input_and_names_the_created_disk() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"DiskIdSet": ["disk-1"]})),
            disk("UNATTACHED", ""),
            api_error("InvalidInstanceId.NotFound", "r-a"),
        ]);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "disk disk-1 was created, but attaching it to ins-1 failed: [TencentCloudSDKError] \
             Code=InvalidInstanceId.NotFound, Message=msg, RequestId=r-a"
        );
    }

    #[test]
    fn create_times_out_when_the_disk_never_shows() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let mut answers = vec![ok("r-c", json!({"DiskIdSet": ["disk-1"]}))];
        answers.extend((0..=WAIT.timeout_ms / WAIT.interval_ms).map(|_| none()));
        let api = FakeApi::new(answers);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(
            error
                .as_str()
                .ends_with("timed out after 60 s waiting for disk disk-1 to be UNATTACHED (last state not listed)"),
            "{error:?}"
        );
    }

    #[test]
    fn create_needs_the_fields_and_a_period_for_prepaid() {
        let mut v = create_input();
        v["disk_size"] = json!("ten");
        assert!(
            CreateArgs::from_input(&input(v))
                .unwrap_err()
                .as_str()
                .contains("disk_size")
        );
        let mut v = create_input();
        v["disk_charge_type"] = json!("PREPAID");
        assert!(
            CreateArgs::from_input(&input(v.clone()))
                .unwrap_err()
                .as_str()
                .contains("disk_charge_period")
        );
        v["disk_charge_period"] = json!(1);
        let args = CreateArgs::from_input(&input(v)).unwrap();
        assert_eq!(
            args.payload()["DiskChargePrepaid"],
            json!({"Period": 1, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"})
        );
        let mut v = create_input();
        v.as_object_mut().unwrap().remove("instance_id");
        assert_eq!(
            CreateArgs::from_input(&input(v)).unwrap_err().as_str(),
            "missing required field \"instance_id\""
        );
    }

    #[test]
    fn terminate_detaches_waits_and_terminates_and_reports_a_failure() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "disk-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![
            disk("ATTACHED", "ins-1"),
            ok("r-x", json!({})),
            disk("DETACHING", "ins-1"),
            disk("UNATTACHED", ""),
            ok("r-t", json!({})),
        ]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-t");
        assert_eq!(
            api.actions(),
            [
                "DescribeDisks",
                "DetachDisks",
                "DescribeDisks",
                "DescribeDisks",
                "TerminateDisks"
            ]
        );

        let api = FakeApi::new(vec![
            disk("UNATTACHED", ""),
            api_error("InternalError", "r-t"),
        ]);
        let error = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(error.as_str().contains("Code=InternalError"), "{error:?}");

        let api = FakeApi::new(vec![none()]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["id"], "disk-1");
        assert_eq!(api.actions(), ["DescribeDisks"]);
    }
}
