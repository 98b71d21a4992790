//! The CDB (MySQL) product (`cdb`, version `2017-03-20`): `CreateDBInstanceHour`,
//! `CreateDBInstance`, `DescribeDBInstances`, `IsolateDBInstance`, `OfflineIsolatedInstances`,
//! `RestartDBInstances`, `DescribeAsyncRequestInfo`.
//!
//! Instances change `Status` in simulated time ([`crate::TencentSimConfig::clock`]), as on
//! Tencent: created `0` (creating), running `1` [`CREATE_MS`] later; `IsolateDBInstance` → `4`
//! (isolating), `5` (isolated) [`ISOLATE_MS`] later; `OfflineIsolatedInstances` removes isolated
//! instances. `RestartDBInstances` starts an asynchronous request that is `RUNNING` for
//! [`RESTART_MS`], then `SUCCESS`.
//!
//! An id that is not `cdb-` plus 8 characters is `InvalidParameterValue.Malformed`; an unknown
//! one is `InvalidParameter.InstanceNotFound`, except in `DescribeDBInstances`, which just omits
//! it. An action in the wrong status is `FailedOperation.StatusConflict`.

use serde::Serialize;
use serde_json::{Value, json};

use super::database;
use super::error::TcError;
use super::params::Params;
use super::state::{self, State};
use super::{Call, Product, TencentSim};

/// The CDB product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "cdb",
    version: "2017-03-20",
    actions: &[
        "CreateDBInstanceHour",
        "CreateDBInstance",
        "DescribeDBInstances",
        "IsolateDBInstance",
        "OfflineIsolatedInstances",
        "RestartDBInstances",
        "DescribeAsyncRequestInfo",
    ],
    regional: true,
    handle,
};

/// From a create to `Status` 1 (running).
pub const CREATE_MS: u64 = 60_000;
/// From `IsolateDBInstance` to `Status` 5 (isolated).
pub const ISOLATE_MS: u64 = 10_000;
/// How long a restart's asynchronous request runs.
pub const RESTART_MS: u64 = 20_000;

/// Memory sizes (MB) the simulator sells.
const MEMORY_MB: &[u64] = &[1000, 2000, 4000, 8000, 12000, 16000, 24000, 32000, 64000];
/// MySQL versions.
const ENGINE_VERSIONS: &[&str] = &["5.5", "5.6", "5.7", "8.0"];

/// One MySQL instance, serialised as `DescribeDBInstances` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DbInstance {
    pub(crate) instance_id: String,
    instance_name: String,
    pub(crate) status: u8,
    memory: u64,
    volume: u64,
    engine_version: String,
    vip: String,
    vport: u64,
    uniq_vpc_id: String,
    uniq_subnet_id: String,
    zone: String,
    region: String,
    /// 0 prepaid, 1 postpaid.
    pay_type: u8,
    task_status: u8,
    create_time: String,
    /// The status it moves to next and when (simulated ms); `None`: removed.
    #[serde(skip)]
    next: Option<(Option<u8>, u64)>,
}

/// One asynchronous request (a restart).
#[derive(Clone, Debug)]
pub(crate) struct AsyncRequest {
    status: &'static str,
    done_at: u64,
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "CreateDBInstanceHour" => create(state, call, false),
        "CreateDBInstance" => create(state, call, true),
        "DescribeDBInstances" => describe(state, call),
        "IsolateDBInstance" => isolate(state, call),
        "OfflineIsolatedInstances" => offline(state, call),
        "RestartDBInstances" => restart(state, call),
        "DescribeAsyncRequestInfo" => async_info(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every instance and request transition due at `now_ms`.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for instances in state.db_instances.values_mut() {
        instances.retain_mut(|i| match i.next {
            Some((next, at)) if at <= now_ms => match next {
                Some(status) => {
                    i.status = status;
                    i.next = None;
                    true
                }
                None => false,
            },
            _ => true,
        });
    }
    for request in state.async_requests.values_mut() {
        if request.status == "RUNNING" && request.done_at <= now_ms {
            request.status = "SUCCESS";
        }
    }
}

/// A required non-negative integer.
fn required_uint(p: &Params<'_>, name: &str) -> Result<u64, TcError> {
    p.uint(name)?
        .ok_or_else(|| TcError::missing_parameter(name))
}

/// `CreateDBInstanceHour` / `CreateDBInstance` (`prepaid`: `Period` required) `{GoodsNum,
/// Memory, Volume, EngineVersion?, UniqVpcId?, UniqSubnetId?, Zone?, InstanceName?, Port?, …}`
/// → `{DealIds, InstanceIds}`.
fn create(state: &mut State, call: &Call<'_>, prepaid: bool) -> Result<Value, TcError> {
    let p = &call.params;
    let mut allowed = vec![
        "GoodsNum",
        "Memory",
        "Volume",
        "EngineVersion",
        "UniqVpcId",
        "UniqSubnetId",
        "ProjectId",
        "Zone",
        "Port",
        "Password",
        "InstanceName",
        "SecurityGroup",
        "ClientToken",
    ];
    if prepaid {
        allowed.extend(["Period", "AutoRenewFlag"]);
    }
    p.only(&allowed)?;
    let count = required_uint(p, "GoodsNum")?;
    database::check_count("GoodsNum", count, 100)?;
    let memory = required_uint(p, "Memory")?;
    if !MEMORY_MB.contains(&memory) {
        return Err(TcError::out_of_range(
            "Memory",
            &memory.to_string(),
            "a sold memory size in MB (1000, 2000, 4000, …)",
        ));
    }
    let volume = required_uint(p, "Volume")?;
    if !(25..=6000).contains(&volume) || volume % 5 != 0 {
        return Err(TcError::out_of_range(
            "Volume",
            &volume.to_string(),
            "25 to 6000 GB in steps of 5",
        ));
    }
    let version = p.str("EngineVersion")?.unwrap_or("5.7");
    if !ENGINE_VERSIONS.contains(&version) {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{version}` of parameter `EngineVersion` is not supported."),
        ));
    }
    if prepaid {
        database::check_period("Period", required_uint(p, "Period")?)?;
    }
    let zone = match p.str("Zone")? {
        Some(zone) => {
            state::check_zone(zone, call.region)?;
            zone.to_owned()
        }
        None => format!("{}-1", call.region),
    };
    let vpc_id = p.required_str("UniqVpcId")?;
    let subnet_id = p.required_str("UniqSubnetId")?;
    let cidr = database::network(state, call.region, vpc_id, subnet_id)?;
    let name = p.str("InstanceName")?.unwrap_or("");
    if name.chars().count() > 60 {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            "The value of parameter `InstanceName` is longer than 60 characters.",
        ));
    }
    let port = p.uint("Port")?.unwrap_or(3306);
    let mut ids = Vec::new();
    for _ in 0..count {
        let used: Vec<String> = state
            .db_instances
            .values()
            .flatten()
            .map(|i| i.vip.clone())
            .collect();
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let instance = DbInstance {
            instance_id: state.new_id("cdb"),
            instance_name: name.to_owned(),
            status: 0,
            memory,
            volume,
            engine_version: version.to_owned(),
            vip: database::service_ip(&cidr, &used)?,
            vport: port,
            uniq_vpc_id: vpc_id.to_owned(),
            uniq_subnet_id: subnet_id.to_owned(),
            zone: zone.clone(),
            region: call.region.to_owned(),
            pay_type: if prepaid { 0 } else { 1 },
            task_status: 0,
            create_time: state::created_time(),
            next: Some((Some(1), call.now_ms.saturating_add(CREATE_MS))),
        };
        ids.push(instance.instance_id.clone());
        state
            .db_instances
            .entry(call.region.to_owned())
            .or_default()
            .push(instance);
    }
    let deal = uuid::Uuid::new_v4().simple().to_string();
    Ok(json!({ "DealIds": [deal], "InstanceIds": ids }))
}

/// `InvalidParameterValue.Malformed` unless every id looks like `cdb-xxxxxxxx`.
fn check_ids(name: &str, ids: &[&str]) -> Result<(), TcError> {
    ids.iter()
        .try_for_each(|id| state::check_id("cdb", name, id))
}

/// `DescribeDBInstances {InstanceIds?, Offset?, Limit?}` → `{TotalCount, Items}`.
fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds", "Offset", "Limit"])?;
    let ids = p.str_list("InstanceIds")?;
    if let Some(ids) = &ids {
        check_ids("InstanceIds", ids)?;
    }
    let limit = p.uint("Limit")?.unwrap_or(20);
    if limit > 2000 {
        return Err(TcError::out_of_range(
            "Limit",
            &limit.to_string(),
            "0 to 2000",
        ));
    }
    let offset = p.uint("Offset")?.unwrap_or(0);
    let matched: Vec<&DbInstance> = state
        .db_instances
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|i| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&i.instance_id.as_str()))
        })
        .collect();
    let (total, page) = state::page(matched, offset, limit);
    Ok(json!({ "TotalCount": total, "Items": page }))
}

/// Instance `id` of the call's region (`InvalidParameter.InstanceNotFound` if unknown), which
/// must be in one of `statuses` (`FailedOperation.StatusConflict` otherwise).
fn instance_in<'s>(
    state: &'s mut State,
    call: &Call<'_>,
    id: &str,
    statuses: &[u8],
) -> Result<&'s mut DbInstance, TcError> {
    let instance = state
        .db_instances
        .get_mut(call.region)
        .into_iter()
        .flatten()
        .find(|i| i.instance_id == id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameter.InstanceNotFound",
                format!("The instance `{id}` does not exist."),
            )
        })?;
    if !statuses.contains(&instance.status) {
        return Err(TcError::new(
            "FailedOperation.StatusConflict",
            format!(
                "The instance `{id}` has status {}; the operation is not allowed now.",
                instance.status
            ),
        ));
    }
    Ok(instance)
}

/// A new asynchronous request id (Tencent's look like UUIDs).
fn new_async_request(state: &mut State, now_ms: u64, ms: u64) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    state.async_requests.insert(
        id.clone(),
        AsyncRequest {
            status: "RUNNING",
            done_at: now_ms.saturating_add(ms),
        },
    );
    id
}

/// `IsolateDBInstance {InstanceId}` → `{AsyncRequestId}`: running → isolating → isolated.
fn isolate(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceId"])?;
    let id = p.required_str("InstanceId")?;
    check_ids("InstanceId", &[id])?;
    let instance = instance_in(state, call, id, &[1])?;
    instance.status = 4;
    instance.next = Some((Some(5), call.now_ms.saturating_add(ISOLATE_MS)));
    let request = new_async_request(state, call.now_ms, ISOLATE_MS);
    Ok(json!({ "AsyncRequestId": request }))
}

/// `OfflineIsolatedInstances {InstanceIds}` → `{}`: every instance must be isolated.
fn offline(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds"])?;
    let ids = p
        .str_list("InstanceIds")?
        .ok_or_else(|| TcError::missing_parameter("InstanceIds"))?;
    check_ids("InstanceIds", &ids)?;
    for id in &ids {
        instance_in(state, call, id, &[5])?;
    }
    if let Some(instances) = state.db_instances.get_mut(call.region) {
        instances.retain(|i| !ids.contains(&i.instance_id.as_str()));
    }
    Ok(json!({}))
}

/// `RestartDBInstances {InstanceIds}` → `{AsyncRequestId}`: every instance must be running.
fn restart(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds"])?;
    let ids = p
        .str_list("InstanceIds")?
        .ok_or_else(|| TcError::missing_parameter("InstanceIds"))?;
    if ids.is_empty() {
        return Err(TcError::missing_parameter("InstanceIds"));
    }
    check_ids("InstanceIds", &ids)?;
    for id in &ids {
        instance_in(state, call, id, &[1])?;
    }
    let request = new_async_request(state, call.now_ms, RESTART_MS);
    Ok(json!({ "AsyncRequestId": request }))
}

/// `DescribeAsyncRequestInfo {AsyncRequestId}` → `{Status, Info}`.
fn async_info(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["AsyncRequestId"])?;
    let id = p.required_str("AsyncRequestId")?;
    let request = state.async_requests.get(id).ok_or_else(|| {
        TcError::new(
            "InvalidParameter.ResourceNotFound",
            format!("The asynchronous request `{id}` does not exist."),
        )
    })?;
    Ok(json!({ "Status": request.status, "Info": "" }))
}

/// Test helpers: what the CDB state holds.
impl TencentSim {
    /// The ids of the MySQL instances in `region`, in creation order.
    pub fn mysql_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state_now();
        state
            .db_instances
            .get(region)
            .map(|i| i.iter().map(|i| i.instance_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The `Status` of MySQL instance `id` in `region`, if it exists.
    pub fn mysql_status(&self, region: &str, id: &str) -> Option<u8> {
        let state = self.shared.state_now();
        state
            .db_instances
            .get(region)?
            .iter()
            .find(|i| i.instance_id == id)
            .map(|i| i.status)
    }

    /// How many CDB asynchronous requests (isolations, restarts) were started.
    pub fn mysql_async_requests(&self) -> usize {
        self.shared.state_now().async_requests.len()
    }
}
