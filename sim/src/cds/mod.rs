//! Capital Online (首云, CDS) API simulator.
//!
//! One HTTP server answers the products of `cdsapi.capitalonline.net` (and `api.`, where the
//! spec puts `DeleteInstance`): `/ccs`, `/network`, `/billing`, `/ccs-product`, each as
//! `<path>/?<signed query>`. GET actions carry their parameters in the query; POST actions a
//! JSON body, with only the common parameters in the (signed) query.
//!
//! A request is handled in this order, each step answering Capital Online's own error:
//! 1. faults ([`crate::faults`]);
//! 2. signature ([`verify`]): `MissingParameter`, `InvalidParameter`,
//!    `InvalidTimeStamp.Expired`, `InvalidAccessKeyId.NotFound`, `SignatureDoesNotMatch`,
//!    `SignatureNonceUsed`;
//! 3. routing: `InvalidAction.NotFound` (no such action under this path),
//!    `UnsupportedHTTPMethod` (a GET action sent as POST or the reverse);
//! 4. the action (modules `network`, `instance`, `disk`, `security_group`, `template`,
//!    `misc`).
//!
//! Success is HTTP 200 with `{"Code":"Success", ...}` (`success` in billing); a failure is an
//! HTTP error status with `{"Code","Message","RequestId"}`. Mutating actions start tasks that
//! move `NEW` → `DOING` → `FINISH` as [`CdsSimConfig::clock`] says; see [`state`].

mod disk;
pub mod error;
mod instance;
mod misc;
mod network;
pub mod params;
mod security_group;
pub mod state;
mod template;
pub mod verify;

use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use self::error::CdsError;
use self::params::Params;
use self::state::{State, TaskTiming};
use crate::faults::{self, Faults};
use crate::{SimClock, SimCredential, SystemSimClock};

/// Key pairs a default simulator accepts.
///
/// The first pair is the placeholder text of the spec's examples (`AK`, `AccessKeySecret` in
/// its Python samples), so examples work verbatim; the second a realistic-looking pair.
pub const DEMO_CREDENTIALS: &[(&str, &str)] = &[
    ("AK", "AccessKeySecret"),
    (
        "2b0dd2a5f5e411e9a8d80242ac110002",
        "cdsSimulatorDemoSecret00000000000",
    ),
];

/// Largest accepted distance between `Timestamp` and the server's clock, in seconds.
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: i64 = 900;

/// `RegionId`s the simulator sells in (the spec's appendix 1).
pub const REGIONS: &[&str] = &[
    "CN_Beijing_A",
    "CN_Beijing_B",
    "CN_Beijing_C",
    "CN_Beijing_D",
    "CN_Beijing_E",
    "CN_Beijing_F",
    "US_Dallas_A",
    "US_Dallas_B",
    "US_Dallas_C",
    "EUR_Germany_A",
    "EUR_Germany_B",
    "APAC_Tokyo_A",
    "CN_Guangzhou_A",
    "EUR_Netherlands_A",
    "US_LosAngeles_A",
    "US_NewYork_A",
    "CN_Shanghai_A",
    "CN_Shanghai_B",
    "APAC_Seoul_A",
    "CN_Taipei_A",
    "CN_Wuxi_A",
    "CN_Hongkong_A",
    "APAC_Singapore_A",
    "APAC_Singapore_B",
    "APAC_Mumbai_A",
];

/// Settings of one simulator.
#[derive(Clone)]
pub struct CdsSimConfig {
    /// Accepted key pairs; any other `AccessKeyId` is `InvalidAccessKeyId.NotFound`.
    pub credentials: Vec<SimCredential>,
    /// Largest accepted `Timestamp` skew, in seconds.
    pub max_clock_skew_secs: i64,
    /// How long tasks take.
    pub task_timing: TaskTiming,
    /// The time tasks move by; default the system clock.
    pub clock: Arc<dyn SimClock>,
}

impl Default for CdsSimConfig {
    /// [`DEMO_CREDENTIALS`], a 900 s skew, default task timing, the system clock.
    fn default() -> Self {
        Self {
            credentials: DEMO_CREDENTIALS
                .iter()
                .map(|(id, key)| SimCredential::new(*id, *key))
                .collect(),
            max_clock_skew_secs: DEFAULT_MAX_CLOCK_SKEW_SECS,
            task_timing: TaskTiming::default(),
            clock: Arc::new(SystemSimClock),
        }
    }
}

/// One routed, verified call.
pub(crate) struct Call {
    /// The action's parameters.
    pub params: Params,
    /// Simulated time of the call.
    pub now_ms: u64,
    /// Task durations.
    pub timing: TaskTiming,
}

type Handler = fn(&mut State, &Call) -> Result<Value, CdsError>;

/// GET or POST, as the API defines each action.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verb {
    Get,
    Post,
}

/// Every action: product path, action, method, handler.
const ACTIONS: &[(&str, &str, Verb, Handler)] = {
    use Verb::{Get, Post};
    &[
        ("ccs", "CreateInstance", Post, instance::create),
        ("ccs", "DeleteInstance", Post, instance::delete),
        ("ccs", "StopInstance", Get, instance::stop),
        ("ccs", "StartInstance", Get, instance::start),
        ("ccs", "RebootInstance", Get, instance::reboot),
        (
            "ccs",
            "ModifyInstanceChargeType",
            Post,
            instance::modify_charge_type,
        ),
        ("ccs", "ModifyInstanceSpec", Post, instance::modify_spec),
        ("ccs", "CreateDisk", Post, disk::create_disk),
        ("ccs", "ResizeDisk", Post, disk::resize_disk),
        ("ccs", "DeleteDisk", Post, disk::delete_disk),
        ("ccs", "ResetImage", Post, instance::reset_image),
        ("ccs", "DescribeInstances", Post, instance::describe),
        (
            "ccs",
            "ConnectNetworkInterface",
            Post,
            instance::connect_interface,
        ),
        (
            "ccs",
            "DisconnectNetworkInterface",
            Post,
            instance::disconnect_interface,
        ),
        ("ccs", "ModifyIpAddress", Post, instance::modify_ip),
        ("ccs", "DescribeInstanceMonitor", Post, instance::monitor),
        ("ccs", "CreateSecurityGroup", Post, security_group::create),
        ("ccs", "DeleteSecurityGroup", Get, security_group::delete),
        (
            "ccs",
            "ForceDeleteSecurityGroup",
            Get,
            security_group::force_delete,
        ),
        (
            "ccs",
            "DescribeSecurityGroupAttribute",
            Get,
            security_group::describe_attribute,
        ),
        (
            "ccs",
            "ModifySecurityGroupAttribute",
            Post,
            security_group::modify_attribute,
        ),
        (
            "ccs",
            "DescribeSecurityGroups",
            Post,
            security_group::describe,
        ),
        (
            "ccs",
            "AddSecurityGroupRule",
            Post,
            security_group::add_rule,
        ),
        (
            "ccs",
            "RemoveSecurityGroupRule",
            Post,
            security_group::remove_rules,
        ),
        (
            "ccs",
            "ModifySecurityGroupRule",
            Post,
            security_group::modify_rule,
        ),
        ("ccs", "JoinSecurityGroup", Post, security_group::join),
        ("ccs", "LeaveSecurityGroup", Post, security_group::leave),
        (
            "ccs",
            "ModifySecurityGroupRulePriority",
            Post,
            security_group::modify_priority,
        ),
        ("ccs", "CreateTemplate", Post, template::create),
        ("ccs", "DeleteTemplate", Post, template::delete),
        ("ccs", "SyncTemplate", Post, template::sync),
        ("ccs", "DescribeTemplateInfo", Post, template::describe),
        (
            "ccs",
            "DescribeAvailableResource",
            Get,
            misc::available_resource,
        ),
        ("ccs", "DescribeTask", Get, misc::describe_task),
        ("network", "DescribeVdc", Get, network::describe_vdc),
        ("network", "CreateVdc", Post, network::create_vdc),
        ("network", "DeleteVdc", Get, network::delete_vdc),
        (
            "network",
            "CreatePublicNetwork",
            Post,
            network::create_public_network,
        ),
        (
            "network",
            "CreatePrivateNetwork",
            Post,
            network::create_private_network,
        ),
        (
            "network",
            "ModifyPublicNetwork",
            Get,
            network::modify_public_network,
        ),
        ("network", "AddPublicIp", Get, network::add_public_ip),
        ("network", "DeletePublicIp", Get, network::delete_public_ip),
        (
            "network",
            "DeletePublicNetwork",
            Get,
            network::delete_public_network,
        ),
        (
            "network",
            "DeletePrivateNetwork",
            Get,
            network::delete_private_network,
        ),
        (
            "network",
            "RenewPublicNetwork",
            Get,
            network::renew_public_network,
        ),
        (
            "network",
            "DescribeBandwidthTraffic",
            Get,
            network::describe_bandwidth_traffic,
        ),
        ("billing", "DescribeBill", Get, misc::describe_bill),
        ("billing", "DescribeBillInfo", Get, misc::describe_bill_info),
        ("ccs-product", "GetMetering", Get, misc::get_metering),
    ]
};

/// `{"Code":"Success","Message":"Success.","Data":data}`.
pub(crate) fn success(data: Value) -> Value {
    json!({"Code": "Success", "Message": "Success.", "Data": data})
}

/// `{"Code":"Success","TaskId":task}`, the answer of a mutating action.
pub(crate) fn with_task(task: &str) -> Value {
    json!({"Code": "Success", "Message": "Success.", "TaskId": task})
}

/// `yyyy-mm-dd HH:MM:SS` of a simulated time.
pub(crate) fn created_text(now_ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp(i64::try_from(now_ms / 1000).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// What the server tasks share with the [`CdsSim`] handle.
struct Shared {
    config: CdsSimConfig,
    state: Mutex<State>,
    nonces: Mutex<verify::Nonces>,
    faults: Arc<Faults>,
    requests: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Actions validate before they mutate, so a poisoned lock still holds consistent state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn handle(
        &self,
        product: &str,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Result<Value, CdsError> {
        let verified = verify::Verifier {
            credentials: &self.config.credentials,
            max_skew_secs: self.config.max_clock_skew_secs,
            now_secs: OffsetDateTime::now_utc().unix_timestamp(),
        }
        .verify(
            method.as_str(),
            uri.query().unwrap_or(""),
            &mut lock(&self.nonces),
        )?;
        let action = verified.action.as_str();
        let (_, _, verb, handler) = ACTIONS
            .iter()
            .find(|(p, a, _, _)| *p == product && *a == action)
            .ok_or_else(|| CdsError::invalid_action(action, product))?;
        let expected = if *method == Method::GET {
            Verb::Get
        } else if *method == Method::POST {
            Verb::Post
        } else {
            return Err(CdsError::unsupported_method(action, method.as_str()));
        };
        if expected != *verb {
            return Err(CdsError::unsupported_method(action, method.as_str()));
        }
        let params = match verb {
            Verb::Get => Map::from_iter(
                verified
                    .business
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v))),
            ),
            Verb::Post if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Verb::Post => match serde_json::from_slice(body) {
                Ok(Value::Object(map)) => map,
                _ => return Err(CdsError::invalid_parameter("the body is not a JSON object")),
            },
        };
        let call = Call {
            params: Params(params),
            now_ms: self.config.clock.now_ms(),
            timing: self.config.task_timing,
        };
        handler(&mut lock(&self.state), &call)
    }
}

/// The API handler: counts, injects faults, answers in Capital Online's format.
async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(product): Path<String>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(response) = shared.faults.apply().await {
        return response;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    match shared.handle(&product, &method, &uri, &body) {
        Ok(mut answer) => {
            answer["RequestId"] = json!(request_id);
            (StatusCode::OK, Json(answer)).into_response()
        }
        Err(error) => {
            tracing::debug!(product, code = error.code, "cds sim request refused");
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(error.to_body(&request_id))).into_response()
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let faults = Arc::clone(&shared.faults);
    Router::new()
        .route("/{product}", any(api))
        .route("/{product}/", any(api))
        .with_state(shared)
        .merge(faults::routes(faults))
}

fn shared(config: CdsSimConfig) -> Arc<Shared> {
    Arc::new(Shared {
        config,
        state: Mutex::new(State::default()),
        nonces: Mutex::new(verify::Nonces::default()),
        faults: Arc::new(Faults::new()),
        requests: AtomicU64::new(0),
    })
}

/// A running Capital Online simulator on `127.0.0.1`; dropping it stops the server.
pub struct CdsSim {
    server: Server,
    shared: Arc<Shared>,
}

impl CdsSim {
    /// Bind `127.0.0.1:0` and serve in a tokio task.
    pub async fn spawn(config: CdsSimConfig) -> std::io::Result<CdsSim> {
        let shared = shared(config);
        let app = router(Arc::clone(&shared));
        let server = Server::spawn("cds", app).await?;
        Ok(CdsSim { server, shared })
    }

    /// `http://127.0.0.1:PORT`, the base URL to map `cdsapi.capitalonline.net` to.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Fault injection for later requests (HTTP-level).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The next `n` tasks end in `ERROR` and change nothing.
    pub fn fail_next_tasks(&self, n: u32) {
        lock(&self.shared.state).fail_next_tasks = n;
    }

    /// The next `n` `DescribeTask` calls fail with HTTP 500 `InternalError`.
    pub fn fail_next_task_polls(&self, n: u32) {
        lock(&self.shared.state).fail_next_polls = n;
    }

    /// Every action the simulator serves: (product path, action, `GET`/`POST`).
    pub fn actions() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
        ACTIONS
            .iter()
            .map(|(p, a, v, _)| (*p, *a, if *v == Verb::Get { "GET" } else { "POST" }))
    }

    /// Runs `look` on the state (tests check what the API did).
    pub fn inspect<T>(&self, look: impl FnOnce(&State) -> T) -> T {
        look(&lock(&self.shared.state))
    }

    /// How many API requests arrived.
    pub fn requests_seen(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// Serve a Capital Online simulator on `listen` until the process ends.
pub async fn run_cds(listen: SocketAddr, config: CdsSimConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "cds simulator listening");
    axum::serve(listener, router(shared(config))).await
}
