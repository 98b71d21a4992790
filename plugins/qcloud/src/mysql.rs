//! `mysql-vm/create`, `mysql-vm/terminate`, `mysql-vm/restart` on the CDB service:
//! `CreateDBInstanceHour` / `CreateDBInstance`, `DescribeDBInstances`, `IsolateDBInstance`,
//! `OfflineIsolatedInstances`, `RestartDBInstances`, `DescribeAsyncRequestInfo`.
//!
//! - create: `BYHOUR` → `CreateDBInstanceHour`, `PREPAID` → `CreateDBInstance` with `Period`;
//!   `count` instances (`GoodsNum`) in `AvailableZone` when `provider_params` names one. It waits
//!   until every instance runs (`Status` 1) and answers their ids comma-joined. A create that
//!   returns no id is an error (the original reported success with an empty id). The spec gives
//!   no password or seed for MySQL and lists no password output, so none is set here.
//! - terminate: isolates a running instance (`IsolateDBInstance`), waits until it is isolated
//!   (`Status` 5), then takes it offline (`OfflineIsolatedInstances`) so nothing is left billed
//!   or listed; an instance already gone counts as terminated.
//! - restart: `RestartDBInstances`, then polls `DescribeAsyncRequestInfo` until `SUCCESS`
//!   (`FAILED`, `KILLED`, `REMOVED` are errors) and answers the spec's output (the original
//!   answered `"results": ""`).
//!
//! Waits poll with the host's clock as [`crate::waits::MYSQL`] and
//! [`crate::waits::MYSQL_RESTART`] say.

use broker_sdk::ErrorMessage;
use broker_sdk::clock::{Clock, HostClock, Poll};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{self, Common, TerminateArgs, optional_uint, required_uint};
use crate::waits;

/// The Tencent API host of the CDB service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "cdb.tencentcloudapi.com";
/// Tencent service name.
pub const SERVICE: &str = "cdb";
/// CDB API version.
pub const API_VERSION: &str = "2017-03-20";

/// `Status` of a running instance.
const RUNNING: u64 = 1;
/// `Status` of an instance being isolated.
const ISOLATING: u64 = 4;
/// `Status` of an isolated instance.
const ISOLATED: u64 = 5;

/// Validated `mysql-vm/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing instance(s), comma-separated, to look up first (optional).
    pub id: Option<String>,
    /// `InstanceName` (optional).
    pub name: Option<String>,
    /// `UniqVpcId`.
    pub vpc_id: String,
    /// `UniqSubnetId`.
    pub subnet_id: String,
    /// `EngineVersion` (optional).
    pub engine_version: Option<String>,
    /// `Memory` in MB.
    pub memory: u64,
    /// `Volume` in GB.
    pub volume: u64,
    /// `GoodsNum`.
    pub count: u64,
    /// Whether `charge_type` is `PREPAID` (else `BYHOUR`).
    pub prepaid: bool,
    /// `Period` in months (required for `PREPAID`).
    pub charge_period: Option<u64>,
}

impl CreateArgs {
    /// Validate a `mysql-vm/create` input: `guid`, `provider_params`, `vpc_id`, `subnet_id`,
    /// `memory`, `volume`, `count`, `charge_type` (`PREPAID` or `BYHOUR`) required; `id`,
    /// `name`, `engine_version`, `charge_period` (required for `PREPAID`) optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let prepaid = match input.required_str("charge_type")? {
            "PREPAID" => true,
            "BYHOUR" => false,
            other => {
                return Err(ErrorMessage::new(format!(
                    "field \"charge_type\" must be PREPAID or BYHOUR, got {other:?}"
                )));
            }
        };
        let charge_period = optional_uint(input, "charge_period")?;
        if prepaid && charge_period.is_none() {
            return Err(ErrorMessage::new(
                "missing required field \"charge_period\" (charge_type is PREPAID)",
            ));
        }
        let count = required_uint(input, "count")?;
        if count == 0 {
            return Err(ErrorMessage::new("field \"count\" must be at least 1"));
        }
        Ok(Self {
            common,
            id: input.optional_str("id")?.map(str::to_owned),
            name: input.optional_str("name")?.map(str::to_owned),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            subnet_id: input.required_str("subnet_id")?.to_owned(),
            engine_version: input.optional_str("engine_version")?.map(str::to_owned),
            memory: required_uint(input, "memory")?,
            volume: required_uint(input, "volume")?,
            count,
            prepaid,
            charge_period,
        })
    }

    /// The create action and its payload.
    fn request(&self) -> (&'static str, Value) {
        let mut payload = json!({
            "GoodsNum": self.count,
            "Memory": self.memory,
            "Volume": self.volume,
            "UniqVpcId": self.vpc_id,
            "UniqSubnetId": self.subnet_id,
        });
        if let Some(version) = &self.engine_version {
            payload["EngineVersion"] = json!(version);
        }
        if let Some(name) = &self.name {
            payload["InstanceName"] = json!(name);
        }
        if let Some(zone) = self.common.params.zone() {
            payload["Zone"] = json!(zone);
        }
        if self.prepaid {
            payload["Period"] = json!(self.charge_period);
            ("CreateDBInstance", payload)
        } else {
            ("CreateDBInstanceHour", payload)
        }
    }
}

/// `DescribeDBInstances {InstanceIds: [id]}` → (request id, the instance if it exists).
pub fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Option<Value>), ErrorMessage> {
    common::find_by_id(
        api,
        ("DescribeDBInstances", json!({ "InstanceIds": [id] })),
        ("Items", "InstanceId"),
        id,
    )
}

/// The `Status` of a described instance.
fn status_of(item: &Value) -> Option<u64> {
    item.get("Status").and_then(Value::as_u64)
}

/// Polls until instance `id` has `Status` `want`, or (with `gone_ok`) is gone.
fn wait_for(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
    (want, what): (u64, &str),
    gone_ok: bool,
) -> Result<(), ErrorMessage> {
    common::wait_until(
        clock,
        wait,
        &format!("MySQL instance {id} to be {what}"),
        || match describe(api, id)? {
            (_, Some(item)) if status_of(&item) == Some(want) => Ok(Poll::Ready(())),
            (_, Some(item)) => Ok(Poll::Pending(format!(
                "Status {}",
                status_of(&item).map_or("?".to_owned(), |s| s.to_string())
            ))),
            (_, None) if gone_ok => Ok(Poll::Ready(())),
            (_, None) => Ok(Poll::Pending("not listed".to_owned())),
        },
    )
}

/// Create the instances and wait until they run, or return the existing ones when every id of
/// `id` names one.
pub fn create(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    if let Some(id) = &args.id {
        let mut request_id = String::new();
        let mut all_found = true;
        for one in id.split(',').map(str::trim) {
            let (rid, item) = describe(api, one)?;
            request_id = rid;
            all_found &= item.is_some();
        }
        if all_found {
            return Ok(common::output_with_id(&request_id, guid, id));
        }
    }
    let (action, payload) = args.request();
    let response = api.call(action, &payload)?;
    let ids: Vec<&str> = response
        .body
        .get("InstanceIds")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.iter().any(|id| id.is_empty()) {
        return Err(ErrorMessage::new(format!(
            "{action} succeeded but returned no InstanceIds (RequestId={})",
            response.request_id
        )));
    }
    let joined = ids.join(",");
    for id in &ids {
        wait_for(api, clock, wait, id, (RUNNING, "running"), false).map_err(|e| {
            ErrorMessage::new(format!(
                "MySQL instance(s) {joined} were created, but: {}",
                e.as_str()
            ))
        })?;
    }
    Ok(common::output_with_id(&response.request_id, guid, &joined))
}

/// Isolate the instance, wait until it is isolated, and take it offline; one already gone
/// counts as terminated.
pub fn terminate(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (request_id, item) = describe(api, id)?;
    let Some(item) = item else {
        return Ok(common::output_with_id(&request_id, guid, id));
    };
    let mut status = status_of(&item);
    if status == Some(0) {
        // Still being created: it can be isolated once it runs.
        wait_for(api, clock, wait, id, (RUNNING, "running"), false)?;
        status = Some(RUNNING);
    }
    if status == Some(RUNNING) {
        match api.call("IsolateDBInstance", &json!({ "InstanceId": id })) {
            Ok(_) => status = Some(ISOLATING),
            Err(error) if error.is_not_found() => {
                return Ok(common::output_with_id(error.request_id(), guid, id));
            }
            Err(error) => return Err(error.into()),
        }
    }
    if status == Some(ISOLATING) {
        wait_for(api, clock, wait, id, (ISOLATED, "isolated"), true)?;
    }
    match api.call("OfflineIsolatedInstances", &json!({ "InstanceIds": [id] })) {
        Ok(response) => Ok(common::output_with_id(&response.request_id, guid, id)),
        Err(error) if error.is_not_found() => {
            Ok(common::output_with_id(error.request_id(), guid, id))
        }
        Err(error) => Err(error.into()),
    }
}

/// Restart the instance and wait until the restart's asynchronous request succeeds.
pub fn restart(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let response = api.call("RestartDBInstances", &json!({ "InstanceIds": [id] }))?;
    let request = response
        .body
        .get("AsyncRequestId")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "RestartDBInstances succeeded but returned no AsyncRequestId (RequestId={})",
                response.request_id
            ))
        })?;
    common::wait_until(
        clock,
        wait,
        &format!("the restart of MySQL instance {id} (request {request})"),
        || {
            let info = api.call(
                "DescribeAsyncRequestInfo",
                &json!({ "AsyncRequestId": request }),
            )?;
            let status = info
                .body
                .get("Status")
                .and_then(Value::as_str)
                .unwrap_or("");
            match status {
                "SUCCESS" => Ok(Poll::Ready(())),
                "FAILED" | "KILLED" | "REMOVED" => Err(ErrorMessage::new(format!(
                    "the restart of MySQL instance {id} ended {status}: {} (RequestId={})",
                    info.body.get("Info").and_then(Value::as_str).unwrap_or(""),
                    info.request_id
                ))),
                other => Ok(Poll::Pending(other.to_owned())),
            }
        },
    )?;
    Ok(common::output_with_id(&response.request_id, guid, id))
}

/// `POST /v1/qcloud/mysql-vm/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::MYSQL.read()?;
    common::with_service_client(
        "mysql-vm/create",
        &args.common,
        (SERVICE, API_VERSION),
        |api| create(api, &HostClock, wait, &args),
    )
}

/// `POST /v1/qcloud/mysql-vm/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::MYSQL.read()?;
    common::with_service_client(
        "mysql-vm/terminate",
        &args.common,
        (SERVICE, API_VERSION),
        |api| terminate(api, &HostClock, wait, &args),
    )
}

/// `POST /v1/qcloud/mysql-vm/restart`, one input.
pub fn handle_restart(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::MYSQL_RESTART.read()?;
    common::with_service_client(
        "mysql-vm/restart",
        &args.common,
        (SERVICE, API_VERSION),
        |api| restart(api, &HostClock, wait, &args),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, WAIT, api_error, input, ok};

    fn instance(status: u64) -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "Items": [{"InstanceId": "cdb-1", "Status": status}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "name": "m", "vpc_id": "vpc-1",
            "subnet_id": "subnet-1", "engine_version": "5.7", "memory": 1000, "volume": 100,
            "count": 1, "charge_type": "BYHOUR", "charge_period": 1})
    }

    #[test]
    fn create_hourly_sends_the_zone_and_waits_until_running() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"InstanceIds": ["cdb-1"], "DealIds": ["x"]})),
            instance(0),
            instance(1),
        ]);
        let clock = FakeClock::new();
        let out = create(&api, &clock, WAIT, &args).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "cdb-1"})
        );
        assert_eq!(clock.sleeps.get(), 1);
        let calls = api.calls.borrow();
        assert_eq!(calls[0].0, "CreateDBInstanceHour");
        assert_eq!(
            calls[0].1,
            json!({"GoodsNum": 1, "Memory": 1000, "Volume": 100, "UniqVpcId": "vpc-1",
                "UniqSubnetId": "subnet-1", "EngineVersion": "5.7", "InstanceName": "m",
                "Zone": "ap-shanghai-1"})
        );
    }

    #[test]
    fn a_create_without_ids_is_an_error_not_an_empty_success() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![ok("r-c", json!({"InstanceIds": []}))]);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "CreateDBInstanceHour succeeded but returned no InstanceIds (RequestId=r-c)"
        );
    }

    #[test]
    fn prepaid_needs_a_period_and_uses_the_prepaid_action() {
        let mut v = create_input();
        v["charge_type"] = json!("PREPAID");
        v["charge_period"] = json!(null);
        assert!(
            CreateArgs::from_input(&input(v.clone()))
                .unwrap_err()
                .as_str()
                .contains("charge_period")
        );
        v["charge_period"] = json!("3");
        let (action, payload) = CreateArgs::from_input(&input(v)).unwrap().request();
        assert_eq!(action, "CreateDBInstance");
        assert_eq!(payload["Period"], 3);
        let mut v = create_input();
        v["charge_type"] = json!("MONTHLY");
        assert!(
            CreateArgs::from_input(&input(v))
                .unwrap_err()
                .as_str()
                .contains("PREPAID or BYHOUR")
        );
    }

    #[test]
    fn terminate_isolates_waits_and_takes_offline() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "cdb-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![
            instance(1),
            ok("r-i", json!({"AsyncRequestId": "a"})),
            instance(4),
            instance(5),
            ok("r-o", json!({})),
        ]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-o");
        assert_eq!(
            api.actions(),
            [
                "DescribeDBInstances",
                "IsolateDBInstance",
                "DescribeDBInstances",
                "DescribeDBInstances",
                "OfflineIsolatedInstances"
            ]
        );
        let api = FakeApi::new(vec![ok("r-d", json!({"TotalCount": 0, "Items": []}))]);
        assert_eq!(
            terminate(&api, &FakeClock::new(), WAIT, &args).unwrap()["request_id"],
            "r-d"
        );
    }

    #[test]
    fn restart_polls_the_async_request_and_reports_a_failure() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "cdb-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![
            ok("r-r", json!({"AsyncRequestId": "a-1"})),
            ok("r-1", json!({"Status": "RUNNING", "Info": ""})),
            ok("r-2", json!({"Status": "SUCCESS", "Info": ""})),
        ]);
        let out = restart(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-r");
        assert_eq!(api.calls.borrow()[1].1, json!({"AsyncRequestId": "a-1"}));

        let api = FakeApi::new(vec![
            ok("r-r", json!({"AsyncRequestId": "a-1"})),
            ok("r-1", json!({"Status": "FAILED", "Info": "disk full"})),
        ]);
        let error = restart(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "the restart of MySQL instance cdb-1 ended FAILED: disk full (RequestId=r-1)"
        );

        let api = FakeApi::new(vec![api_error("InvalidParameter.InstanceNotFound", "r-x")]);
        assert!(restart(&api, &FakeClock::new(), WAIT, &args).is_err());
    }
}
