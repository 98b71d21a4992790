//! `redis/create` on the Redis service: `CreateInstances`, `DescribeInstances`.
//!
//! `CreateInstances` (API 3.0) buys `goods_num` instances in `AvailableZone` (sent as
//! `ZoneName`, so no CVM zone lookup is needed) and answers their `InstanceIds` and `DealId`;
//! the route waits until every instance runs (`Status` 2) and answers the ids comma-joined with
//! `deal_id`, as the spec's example shows. With `password` the instances get it (it never
//! reaches a log line); without, they are password-free (`NoAuth`), as the spec describes. The
//! spec lists no seed and no password output, so nothing is generated or echoed. `name` is sent
//! as `InstanceName` (the original ignored it); the spec's example has none, so it is optional.
//! Given an existing `id` (every id of a comma-joined list found), nothing is created. Waits
//! poll with the host's clock as [`crate::waits::REDIS`] says.

use broker_sdk::clock::{Clock, HostClock, Poll};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, log};
use serde_json::{Value, json};

use crate::common::{self, Common, optional_uint, required_uint};
use crate::waits;

/// The Tencent API host of the Redis service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "redis.tencentcloudapi.com";
/// Tencent service name.
pub const SERVICE: &str = "redis";
/// Redis API version.
pub const API_VERSION: &str = "2018-04-12";

/// `Status` of a running instance.
const RUNNING: i64 = 2;

/// Validated `redis/create` input.
#[derive(Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// `ZoneName`, from `AvailableZone` in `provider_params`.
    pub zone: String,
    /// Existing instance(s), comma-separated, to look up first (optional).
    pub id: Option<String>,
    /// `InstanceName` (optional).
    pub name: Option<String>,
    /// `VpcId`.
    pub vpc_id: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// `TypeId`.
    pub type_id: u64,
    /// `MemSize` in MB.
    pub mem_size: u64,
    /// `GoodsNum`.
    pub goods_num: u64,
    /// `Password`; `None` asks for password-free instances.
    pub password: Option<String>,
    /// `BillingMode`: 0 hourly (default), 1 monthly.
    pub billing_mode: u64,
    /// `Period` in months.
    pub period: u64,
}

impl std::fmt::Debug for CreateArgs {
    /// Everything but the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateArgs")
            .field("common", &self.common)
            .field("id", &self.id)
            .field("type_id", &self.type_id)
            .field("mem_size", &self.mem_size)
            .field("goods_num", &self.goods_num)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl CreateArgs {
    /// Validate a `redis/create` input: `guid`, `provider_params` (with `AvailableZone`),
    /// `vpc_id`, `subnet_id`, `type_id`, `mem_size`, `goods_num` (at least 1), `period`
    /// required; `id`, `name`, `password`, `billing_mode` (0 or 1) optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let zone = common.params.require_zone()?.to_owned();
        let password = input.optional_str("password")?.map(str::to_owned);
        if let Some(password) = &password {
            log::redact(password);
        }
        let goods_num = required_uint(input, "goods_num")?;
        if goods_num == 0 {
            return Err(ErrorMessage::new("field \"goods_num\" must be at least 1"));
        }
        let billing_mode = optional_uint(input, "billing_mode")?.unwrap_or(0);
        if billing_mode > 1 {
            return Err(ErrorMessage::new(format!(
                "field \"billing_mode\" must be 0 (hourly) or 1 (monthly), got {billing_mode}"
            )));
        }
        Ok(Self {
            common,
            zone,
            id: input.optional_str("id")?.map(str::to_owned),
            name: input.optional_str("name")?.map(str::to_owned),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            subnet_id: input.required_str("subnet_id")?.to_owned(),
            type_id: required_uint(input, "type_id")?,
            mem_size: required_uint(input, "mem_size")?,
            goods_num,
            password,
            billing_mode,
            period: required_uint(input, "period")?,
        })
    }

    /// The `CreateInstances` payload.
    fn payload(&self) -> Value {
        let mut payload = json!({
            "ZoneName": self.zone,
            "TypeId": self.type_id,
            "MemSize": self.mem_size,
            "GoodsNum": self.goods_num,
            "Period": self.period,
            "BillingMode": self.billing_mode,
            "VpcId": self.vpc_id,
            "SubnetId": self.subnet_id,
        });
        match &self.password {
            Some(password) => payload["Password"] = json!(password),
            None => payload["NoAuth"] = json!(true),
        }
        if let Some(name) = &self.name {
            payload["InstanceName"] = json!(name);
        }
        payload
    }
}

/// `DescribeInstances {InstanceId: id}` → (request id, the instance if it exists).
pub fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Option<Value>), ErrorMessage> {
    common::find_by_id(
        api,
        ("DescribeInstances", json!({ "InstanceId": id })),
        ("InstanceSet", "InstanceId"),
        id,
    )
}

/// Polls until instance `id` runs; an isolated or deleted one (`Status` below 0) is an error.
fn wait_running(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
) -> Result<(), ErrorMessage> {
    common::wait_until(
        clock,
        wait,
        &format!("Redis instance {id} to run"),
        || match describe(api, id)? {
            (_, None) => Ok(Poll::Pending("not listed".to_owned())),
            (request_id, Some(item)) => match item.get("Status").and_then(Value::as_i64) {
                Some(RUNNING) => Ok(Poll::Ready(())),
                Some(status) if status < 0 => Err(ErrorMessage::new(format!(
                    "Redis instance {id} has status {status} (isolated or deleted) (RequestId={request_id})"
                ))),
                status => Ok(Poll::Pending(format!(
                    "Status {}",
                    status.map_or("?".to_owned(), |s| s.to_string())
                ))),
            },
        },
    )
}

/// The output of `redis/create`.
fn redis_output(request_id: &str, guid: &str, id: &str, deal_id: &str) -> Output {
    let mut out = common::output_with_id(request_id, guid, id);
    out.insert("deal_id".into(), deal_id.into());
    out
}

/// Create the instances and wait until they run, or return the existing ones when every id of
/// `id` names one (with an empty `deal_id`: nothing was bought).
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
            return Ok(redis_output(&request_id, guid, id, ""));
        }
    }
    let response = api.call("CreateInstances", &args.payload())?;
    let ids: Vec<&str> = response
        .body
        .get("InstanceIds")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.iter().any(|id| id.is_empty()) {
        return Err(ErrorMessage::new(format!(
            "CreateInstances succeeded but returned no InstanceIds (RequestId={})",
            response.request_id
        )));
    }
    let deal_id = match response.body.get("DealId") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let joined = ids.join(",");
    for id in &ids {
        wait_running(api, clock, wait, id).map_err(|e| {
            ErrorMessage::new(format!(
                "Redis instance(s) {joined} were bought (deal {deal_id}), but: {}",
                e.as_str()
            ))
        })?;
    }
    Ok(redis_output(&response.request_id, guid, &joined, &deal_id))
}

/// `POST /v1/qcloud/redis/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::REDIS.read()?;
    common::with_service_client(
        "redis/create",
        &args.common,
        (SERVICE, API_VERSION),
        |api| create(api, &HostClock, wait, &args),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, WAIT, input, ok};

    fn instance(
        id: &str,
        status: i64,
    ) -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "InstanceSet": [{"InstanceId": id, "Status": status}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "vpc_id": "vpc-1", "subnet_id": "subnet-1",
            "type_id": 2, "mem_size": 256, "goods_num": 2, "period": 1, "password": "sample@2018!",
            "billing_mode": 1})
    }

    #[test]
    fn create_waits_for_every_instance_and_answers_ids_and_deal() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok(
                "r-c",
                json!({"DealId": "59842767", "InstanceIds": ["crs-1", "crs-2"]}),
            ),
            instance("crs-1", 1),
            instance("crs-1", 2),
            instance("crs-2", 2),
        ]);
        let out = create(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "crs-1,crs-2", "deal_id": "59842767"})
        );
        assert_eq!(
            api.calls.borrow()[0].1,
            json!({"ZoneName": "ap-shanghai-1", "TypeId": 2, "MemSize": 256, "GoodsNum": 2,
                "Period": 1, "BillingMode": 1, "VpcId": "vpc-1", "SubnetId": "subnet-1",
                "Password": "sample@2018!"})
        );
    }

    #[test]
    fn without_a_password_the_instances_are_password_free() {
        let mut v = create_input();
        v.as_object_mut().unwrap().remove("password");
        let args = CreateArgs::from_input(&input(v)).unwrap();
        let payload = args.payload();
        assert_eq!(payload["NoAuth"], true);
        assert!(payload.get("Password").is_none());
        assert!(
            !format!(
                "{:?}",
                CreateArgs::from_input(&input(create_input())).unwrap()
            )
            .contains("sample@2018!")
        );
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        for (field, value, expected) in [
            ("billing_mode", json!(2), "billing_mode"),
            ("goods_num", json!(0), "goods_num"),
            ("type_id", json!("two"), "type_id"),
            ("period", json!(null), "period"),
        ] {
            let mut v = create_input();
            v[field] = value;
            let error = CreateArgs::from_input(&input(v)).unwrap_err();
            assert!(error.as_str().contains(expected), "{error:?}");
        }
    }

    #[test]
    fn an_isolated_instance_ends_the_wait() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"DealId": "1", "InstanceIds": ["crs-1"]})),
            instance("crs-1", -2),
        ]);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(error.as_str().contains("status -2"), "{error:?}");
    }
}
