//! `vm/create`, `vm/terminate`, `vm/start`, `vm/stop` on the CVM service: `RunInstances`,
//! `DescribeInstances`, `TerminateInstances`, `StartInstances`, `StopInstances`.
//!
//! Every route waits for the instance to settle (`RUNNING`, gone, `RUNNING`, `STOPPED`), polling
//! `DescribeInstances` with the host's clock (sleeping, never spinning) as the operator settings
//! of [`crate::waits::VM`] say (default every 5 s for at most 600 s of clock time); running out is
//! an error of that input. `vm/create` generates the root password, hides it from every log line, and returns it
//! encrypted with the WeCube cipher (key from `guid` + `seed`).

use broker_sdk::clock::{Clock, HostClock, Poll, poll_until};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, log, password};
use serde_json::{Value, json};

use crate::common::{self, Common, TerminateArgs, optional_uint};
use crate::waits;

/// The Tencent API host of the CVM service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "cvm.tencentcloudapi.com";
/// Tencent service name.
pub const SERVICE: &str = "cvm";
/// CVM API version.
pub const API_VERSION: &str = "2017-03-12";
/// The charge type when the input gives none.
pub const DEFAULT_CHARGE_TYPE: &str = "POSTPAID_BY_HOUR";

/// Validated `vm/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// `Placement.Zone`, from `AvailableZone` in `provider_params`.
    pub zone: String,
    /// Existing instance to look up first (optional).
    pub id: Option<String>,
    /// Seed of the password cipher.
    pub seed: String,
    /// `VirtualPrivateCloud.VpcId`.
    pub vpc_id: String,
    /// `VirtualPrivateCloud.SubnetId`.
    pub subnet_id: String,
    /// `InstanceName`.
    pub instance_name: String,
    /// `InstanceType`.
    pub instance_type: String,
    /// `ImageId`.
    pub image_id: String,
    /// `SystemDisk.DiskSize` in GB (optional).
    pub system_disk_size: Option<u64>,
    /// `InstanceChargeType` (default [`DEFAULT_CHARGE_TYPE`]).
    pub charge_type: String,
    /// `InstanceChargePrepaid.Period` in months (required for `PREPAID`).
    pub charge_period: Option<u64>,
    /// `VirtualPrivateCloud.PrivateIpAddresses` (optional).
    pub private_ip: Option<String>,
}

impl CreateArgs {
    /// Validate a `vm/create` input: `guid`, `provider_params` (with `AvailableZone`), `seed`,
    /// `vpc_id`, `subnet_id`, `instance_name`, `instance_type`, `image_id` required; `id`,
    /// `system_disk_size`, `instance_charge_type`, `instance_charge_period` (required for
    /// `PREPAID`), `instance_private_ip` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let zone = common.params.require_zone()?.to_owned();
        let charge_type = input
            .optional_str("instance_charge_type")?
            .unwrap_or(DEFAULT_CHARGE_TYPE)
            .to_owned();
        let charge_period = optional_uint(input, "instance_charge_period")?;
        if charge_type == "PREPAID" && charge_period.is_none() {
            return Err(ErrorMessage::new(
                "missing required field \"instance_charge_period\" (instance_charge_type is PREPAID)",
            ));
        }
        Ok(Self {
            common,
            zone,
            id: input.optional_str("id")?.map(str::to_owned),
            seed: input.required_str("seed")?.to_owned(),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            subnet_id: input.required_str("subnet_id")?.to_owned(),
            instance_name: input.required_str("instance_name")?.to_owned(),
            instance_type: input.required_str("instance_type")?.to_owned(),
            image_id: input.required_str("image_id")?.to_owned(),
            system_disk_size: optional_uint(input, "system_disk_size")?,
            charge_type,
            charge_period,
            private_ip: input
                .optional_str("instance_private_ip")?
                .map(str::to_owned),
        })
    }

    /// The `RunInstances` payload with root password `password`.
    fn payload(&self, password: &str) -> Value {
        let mut network = json!({"VpcId": self.vpc_id, "SubnetId": self.subnet_id});
        if let Some(ip) = &self.private_ip {
            network["PrivateIpAddresses"] = json!([ip]);
        }
        let mut payload = json!({
            "Placement": {"Zone": self.zone},
            "ImageId": self.image_id,
            "InstanceType": self.instance_type,
            "InstanceChargeType": self.charge_type,
            "VirtualPrivateCloud": network,
            "InstanceName": self.instance_name,
            "LoginSettings": {"Password": password},
        });
        if let Some(size) = self.system_disk_size {
            payload["SystemDisk"] = json!({ "DiskSize": size });
        }
        if self.charge_type == "PREPAID"
            && let Some(period) = self.charge_period
        {
            payload["InstanceChargePrepaid"] = json!({ "Period": period });
        }
        payload
    }
}

/// `DescribeInstances {InstanceIds: [id]}` → (request id, the instance if it exists).
pub fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Option<Value>), ErrorMessage> {
    common::find_by_id(
        api,
        ("DescribeInstances", json!({ "InstanceIds": [id] })),
        ("InstanceSet", "InstanceId"),
        id,
    )
}

/// The `InstanceState` of a described instance.
fn state_of(item: &Value) -> &str {
    item.get("InstanceState")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Polls until instance `id` is in state `want` (`None`: gone); returns it (`None` when gone).
/// `LAUNCH_FAILED` ends the wait at once; `wait.timeout_ms` of clock time ends it too.
pub fn wait_for(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
    want: Option<&str>,
) -> Result<Option<Value>, ErrorMessage> {
    let target = want.unwrap_or("gone");
    let result = poll_until(clock, wait.timeout_ms, wait.interval_ms, || {
        let (_, item) = describe(api, id)?;
        let state = item.as_ref().map_or("gone", state_of);
        if state == target {
            Ok(Poll::Ready(item))
        } else if state == "LAUNCH_FAILED" {
            Err(ErrorMessage::new(format!(
                "instance {id} failed to launch (state LAUNCH_FAILED)"
            )))
        } else {
            Ok(Poll::Pending(state.to_owned()))
        }
    });
    result.map_err(|error| {
        error.into_message(&format!("instance {id} to be {target}"), wait.timeout_ms)
    })
}

/// The output of `vm/create`: id, cpu and memory (as strings), state, private ip, and the
/// encrypted password when one was generated.
fn instance_output(
    request_id: &str,
    guid: &str,
    id: &str,
    item: &Value,
    password: Option<String>,
) -> Output {
    let text = |field: &str| match item.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let mut out = common::output_with_id(request_id, guid, id);
    out.insert("cpu".into(), text("CPU").into());
    out.insert("memory".into(), text("Memory").into());
    if let Some(password) = password {
        out.insert("password".into(), password.into());
    }
    out.insert("instance_state".into(), state_of(item).into());
    let ip = item
        .get("PrivateIpAddresses")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or_default();
    out.insert("instance_private_ip".into(), ip.into());
    out
}

/// Create an instance and wait until it runs, or return the existing one when `id` names one.
pub fn create(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    if let Some(id) = &args.id
        && let (request_id, Some(item)) = describe(api, id)?
    {
        return Ok(instance_output(&request_id, guid, id, &item, None));
    }
    let password = password::generate()?;
    log::redact(&password);
    let response = api.call("RunInstances", &args.payload(&password))?;
    let id = response
        .body
        .get("InstanceIdSet")
        .and_then(Value::as_array)
        .and_then(|set| set.first())
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "RunInstances succeeded but returned no InstanceId (RequestId={})",
                response.request_id
            ))
        })?
        .to_owned();
    let item = wait_for(api, clock, wait, &id, Some("RUNNING"))
        .map_err(|e| ErrorMessage::new(format!("instance {id} was created, but: {}", e.as_str())))?
        .unwrap_or_default();
    let encrypted = password::encrypt(guid, &args.seed, &password);
    Ok(instance_output(
        &response.request_id,
        guid,
        &id,
        &item,
        Some(encrypted),
    ))
}

/// Terminate an instance and wait until it is gone; one already gone counts as terminated.
pub fn terminate(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (mut request_id, item) = describe(api, id)?;
    let Some(item) = item else {
        return Ok(common::output_with_id(&request_id, guid, id));
    };
    if !matches!(state_of(&item), "SHUTDOWN" | "TERMINATING") {
        match api.call("TerminateInstances", &json!({ "InstanceIds": [id] })) {
            Ok(response) => request_id = response.request_id,
            Err(error) if error.is_not_found() => {
                return Ok(common::output_with_id(error.request_id(), guid, id));
            }
            Err(error) => return Err(error.into()),
        }
    }
    wait_for(api, clock, wait, id, None)?;
    Ok(common::output_with_id(&request_id, guid, id))
}

/// Which way `vm/start` and `vm/stop` go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// `StartInstances`, until `RUNNING`.
    On,
    /// `StopInstances`, until `STOPPED`.
    Off,
}

/// Start or stop an instance and wait until it is `RUNNING` or `STOPPED`. An instance already
/// there succeeds; one on its way there is waited for; one on its way the other way is waited
/// for, then switched.
pub fn power(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
    power: Power,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (action, payload, target, transient, opposite, opposite_transient) = match power {
        Power::On => (
            "StartInstances",
            json!({ "InstanceIds": [id] }),
            "RUNNING",
            &["STARTING", "PENDING"][..],
            "STOPPED",
            "STOPPING",
        ),
        Power::Off => (
            "StopInstances",
            json!({ "InstanceIds": [id], "StopType": "SOFT_FIRST" }),
            "STOPPED",
            &["STOPPING"][..],
            "RUNNING",
            "STARTING",
        ),
    };
    let (mut request_id, item) = describe(api, id)?;
    let Some(item) = item else {
        return Err(ErrorMessage::new(format!(
            "instance {id} does not exist (RequestId={request_id})"
        )));
    };
    let mut state = state_of(&item).to_owned();
    if state == opposite_transient || (power == Power::Off && state == "PENDING") {
        wait_for(api, clock, wait, id, Some(opposite))?;
        state = opposite.to_owned();
    }
    if state == opposite {
        request_id = api.call(action, &payload)?.request_id;
    } else if state != target && !transient.contains(&state.as_str()) {
        return Err(ErrorMessage::new(format!(
            "instance {id} is {state}; it cannot be {} (RequestId={request_id})",
            if power == Power::On {
                "started"
            } else {
                "stopped"
            }
        )));
    }
    if state != target {
        wait_for(api, clock, wait, id, Some(target))?;
    }
    Ok(common::output_with_id(&request_id, guid, id))
}

/// `POST /v1/qcloud/vm/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::VM.read()?;
    common::with_service_client("vm/create", &args.common, (SERVICE, API_VERSION), |api| {
        create(api, &HostClock, wait, &args)
    })
}

/// `POST /v1/qcloud/vm/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::VM.read()?;
    common::with_service_client(
        "vm/terminate",
        &args.common,
        (SERVICE, API_VERSION),
        |api| terminate(api, &HostClock, wait, &args),
    )
}

/// `POST /v1/qcloud/vm/start`, one input.
pub fn handle_start(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::VM.read()?;
    common::with_service_client("vm/start", &args.common, (SERVICE, API_VERSION), |api| {
        power(api, &HostClock, wait, &args, Power::On)
    })
}

/// `POST /v1/qcloud/vm/stop`, one input.
pub fn handle_stop(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::VM.read()?;
    common::with_service_client("vm/stop", &args.common, (SERVICE, API_VERSION), |api| {
        power(api, &HostClock, wait, &args, Power::Off)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, api_error, input, ok};

    /// The VM wait with its declared defaults (600 s, every 5 s).
    const DEFAULT_WAIT: Wait = Wait {
        timeout_ms: 600_000,
        interval_ms: 5_000,
    };
    fn instance(state: &str) -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "InstanceSet": [{"InstanceId": "ins-1", "InstanceState": state,
                "CPU": 2, "Memory": 4, "PrivateIpAddresses": ["10.0.1.2"]}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "seed": "s", "vpc_id": "vpc-1",
            "subnet_id": "subnet-1", "instance_name": "app", "instance_type": "S5.MEDIUM4",
            "image_id": "img-1", "system_disk_size": 50, "instance_charge_period": null,
            "instance_private_ip": ""})
    }

    #[test]
    fn create_sends_the_name_and_a_complex_password_and_waits_until_running() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-run", json!({"InstanceIdSet": ["ins-1"]})),
            instance("PENDING"),
            instance("PENDING"),
            instance("RUNNING"),
        ]);
        let clock = FakeClock::new();
        let out = create(&api, &clock, DEFAULT_WAIT, &args).unwrap();
        assert_eq!(clock.sleeps.get(), 2);
        let calls = api.calls.borrow();
        let sent = &calls[0].1;
        assert_eq!(sent["InstanceName"], "app");
        assert_eq!(sent["Placement"]["Zone"], "ap-shanghai-1");
        assert_eq!(sent["SystemDisk"]["DiskSize"], 50);
        assert_eq!(sent["InstanceChargeType"], "POSTPAID_BY_HOUR");
        assert!(
            sent["VirtualPrivateCloud"]
                .get("PrivateIpAddresses")
                .is_none()
        );
        let plain = sent["LoginSettings"]["Password"].as_str().unwrap();
        let encrypted = out["password"].as_str().unwrap();
        assert!(encrypted.starts_with(password::CIPHER_PREFIX));
        assert_eq!(password::decrypt("g", "s", encrypted).unwrap(), plain);
        assert_eq!(
            Value::Object(out.clone()),
            json!({"request_id": "r-run", "guid": "g", "id": "ins-1", "cpu": "2", "memory": "4",
                "password": encrypted, "instance_state": "RUNNING",
                "instance_private_ip": "10.0.1.2"})
        );
    }

    #[test]
    fn create_needs_seed_and_zone_and_a_period_for_prepaid() {
        let mut v = create_input();
        v.as_object_mut().unwrap().remove("seed");
        assert_eq!(
            CreateArgs::from_input(&input(v)).unwrap_err().as_str(),
            "missing required field \"seed\""
        );
        let mut v = create_input();
        v["provider_params"] = json!("Region=ap-shanghai;SecretID=a;SecretKey=b");
        assert_eq!(
            CreateArgs::from_input(&input(v)).unwrap_err().as_str(),
            "provider_params is missing `AvailableZone`"
        );
        let mut v = create_input();
        v["instance_charge_type"] = json!("PREPAID");
        assert!(
            CreateArgs::from_input(&input(v.clone()))
                .unwrap_err()
                .as_str()
                .contains("instance_charge_period")
        );
        v["instance_charge_period"] = json!("3");
        let args = CreateArgs::from_input(&input(v)).unwrap();
        assert_eq!(
            args.payload("p")["InstanceChargePrepaid"],
            json!({"Period": 3})
        );
        let mut v = create_input();
        v["system_disk_size"] = json!("big");
        assert!(CreateArgs::from_input(&input(v)).is_err());
    }

    #[test]
    fn create_times_out_after_the_wait_limit() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let mut answers = vec![ok("r-run", json!({"InstanceIdSet": ["ins-1"]}))];
        let polls = DEFAULT_WAIT.timeout_ms / DEFAULT_WAIT.interval_ms + 1;
        answers.extend((0..polls).map(|_| instance("PENDING")));
        let api = FakeApi::new(answers);
        let clock = FakeClock::new();
        let error = create(&api, &clock, DEFAULT_WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "instance ins-1 was created, but: timed out after 600 s waiting for instance ins-1 \
             to be RUNNING (last state PENDING)"
        );
        assert_eq!(clock.now.get(), 1_000 + DEFAULT_WAIT.timeout_ms);
    }

    #[test]
    fn terminate_of_an_absent_instance_succeeds_without_a_call() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "ins-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![ok("r-d", json!({"TotalCount": 0, "InstanceSet": []}))]);
        let out = terminate(&api, &FakeClock::new(), DEFAULT_WAIT, &args).unwrap();
        assert_eq!(out["id"], "ins-1");
        assert_eq!(api.actions(), ["DescribeInstances"]);

        let api = FakeApi::new(vec![
            instance("RUNNING"),
            ok("r-t", json!({})),
            instance("SHUTDOWN"),
            api_error("InvalidInstanceId.NotFound", "r-x"),
        ]);
        let out = terminate(&api, &FakeClock::new(), DEFAULT_WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-t");
    }

    #[test]
    fn stop_of_a_stopped_instance_succeeds_and_start_of_a_stopping_one_waits_then_starts() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "ins-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![instance("STOPPED")]);
        power(&api, &FakeClock::new(), DEFAULT_WAIT, &args, Power::Off).unwrap();
        assert_eq!(api.actions(), ["DescribeInstances"]);

        let api = FakeApi::new(vec![
            instance("STOPPING"),
            instance("STOPPED"),
            ok("r-s", json!({})),
            instance("RUNNING"),
        ]);
        let out = power(&api, &FakeClock::new(), DEFAULT_WAIT, &args, Power::On).unwrap();
        assert_eq!(out["request_id"], "r-s");
        assert_eq!(
            api.actions(),
            [
                "DescribeInstances",
                "DescribeInstances",
                "StartInstances",
                "DescribeInstances"
            ]
        );
    }
}
