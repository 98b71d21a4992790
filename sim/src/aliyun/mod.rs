//! Alibaba Cloud RPC API simulator.
//!
//! One HTTP server answers every simulated Alibaba product on `/`, the way
//! `<product>.aliyuncs.com` does: the parameters in the query string (or a form body), the common
//! parameters `Action`, `Version`, `RegionId`, `Format`, and an RPC v1 `HMAC-SHA1` signature
//! over all of them. Because the broker maps `*.aliyuncs.com` to `http://127.0.0.1:PORT`, the
//! product is told by `Version`, which differs for every product (ECS `2014-05-26`, VPC
//! `2016-04-28`, …).
//!
//! A request is handled in this order, each step answering Alibaba's own error:
//! 1. faults ([`crate::faults`]);
//! 2. signature ([`verify`]) — `MissingParameter`, `InvalidTimeStamp.Format`,
//!    `InvalidTimeStamp.Expired`, `InvalidAccessKeyId.NotFound`, `SignatureDoesNotMatch`,
//!    `SignatureNonceUsed`;
//! 3. routing — `MissingParameter` (`Action`, `Version`, `RegionId`), `InvalidVersion`,
//!    `InvalidAction.NotFound`, `InvalidRegionId.NotFound`;
//! 4. the product's action ([`vpc`]), whose resources change state as
//!    [`AliyunSimConfig::clock`] says.
//!
//! Success is HTTP 200 with the action's JSON and `RequestId`; an error is its HTTP status with
//! `{"RequestId","HostId","Code","Message","Recommend"}`.

mod cen;
mod common;
mod disk;
mod ecs;
mod eip;
pub mod error;
mod kvstore;
mod nat;
mod rds;
mod slb;
mod state;
pub mod verify;
mod vpc;

use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use self::error::AliError;
use self::state::State;
use self::verify::{NonceCache, param};
use crate::faults::{self, Faults};
use crate::{SimClock, SimCredential, SystemSimClock};

/// Key pairs a default simulator accepts.
///
/// The first two pairs are literally the placeholder text of the alicloud spec's examples
/// (`identityParams: "accessKeyId=*******;secret=*******"` in `shared/spec/alicloud-api.md`; from
/// the security group examples on, the secret is written with six stars), so the examples work
/// verbatim. The last is a realistic-looking `LTAI…` pair for tests.
pub const DEMO_CREDENTIALS: &[(&str, &str)] = &[
    ("*******", "*******"),
    ("*******", "******"),
    (
        "LTAI5tSimulatorDemo0000000",
        "simulatorDemoSecret000000000000",
    ),
];

/// Alibaba's tolerance between `Timestamp` and the server clock, in seconds (15 minutes).
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: i64 = 900;

/// Regions the simulator accepts in `RegionId`.
pub const REGIONS: &[&str] = &[
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-northeast-1",
    "us-west-1",
    "us-east-1",
    "eu-central-1",
];

/// Settings of one Alibaba simulator.
#[derive(Clone)]
pub struct AliyunSimConfig {
    /// Accepted key pairs; any other `AccessKeyId` is `InvalidAccessKeyId.NotFound`.
    pub credentials: Vec<SimCredential>,
    /// Largest accepted distance between `Timestamp` and now, in seconds.
    pub max_clock_skew_secs: i64,
    /// The time of resource transitions (a VPC becomes Available, …); default the system clock.
    pub clock: Arc<dyn SimClock>,
}

impl std::fmt::Debug for AliyunSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSimConfig")
            .field("credentials", &self.credentials)
            .field("max_clock_skew_secs", &self.max_clock_skew_secs)
            .finish_non_exhaustive()
    }
}

impl Default for AliyunSimConfig {
    /// [`DEMO_CREDENTIALS`], a 15-minute clock skew and the system clock.
    fn default() -> Self {
        Self {
            credentials: DEMO_CREDENTIALS
                .iter()
                .map(|(id, key)| SimCredential::new(*id, *key))
                .collect(),
            max_clock_skew_secs: DEFAULT_MAX_CLOCK_SKEW_SECS,
            clock: Arc::new(SystemSimClock),
        }
    }
}

/// A simulated product: one Alibaba API at one version.
pub(crate) struct Product {
    /// The product code, e.g. `Vpc` (for logs).
    name: &'static str,
    /// The `Version` that selects it.
    version: &'static str,
    /// Every action it implements; others are `InvalidAction.NotFound`.
    actions: &'static [&'static str],
    /// Whether `RegionId` is required.
    regional: bool,
    /// Runs one action against the state.
    handle: fn(&mut State, &Call<'_>) -> Result<Value, AliError>,
}

/// Every product the simulator serves.
const PRODUCTS: &[Product] = &[
    vpc::PRODUCT,
    ecs::PRODUCT,
    cen::PRODUCT,
    slb::PRODUCT,
    rds::PRODUCT,
    kvstore::PRODUCT,
];

/// One routed, verified call.
pub(crate) struct Call<'a> {
    action: &'a str,
    /// The region, empty for global products.
    region: &'a str,
    params: &'a [(String, String)],
    /// Simulated time of the call, ms since the epoch.
    now_ms: u64,
}

impl Call<'_> {
    /// The value of parameter `key`, if present and non-empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        param(self.params, key).filter(|v| !v.is_empty())
    }

    /// The value of parameter `key`, or `MissingParameter`.
    pub(crate) fn require(&self, key: &str) -> Result<&str, AliError> {
        self.get(key)
            .ok_or_else(|| AliError::missing_parameter(key))
    }
}

/// What the server tasks share with the [`AliyunSim`] handle.
struct Shared {
    config: AliyunSimConfig,
    state: Mutex<State>,
    nonces: Mutex<NonceCache>,
    faults: Arc<Faults>,
    requests: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Actions validate before they mutate, so a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Verify, route and run one API request.
    fn handle(&self, method: &Method, params: &[(String, String)]) -> Result<Value, AliError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        verify::verify(
            method.as_str(),
            params,
            &self.config.credentials,
            now,
            self.config.max_clock_skew_secs,
            &mut self.nonces.lock().unwrap_or_else(|p| p.into_inner()),
        )?;
        let get = |key| param(params, key).filter(|v| !v.is_empty());
        let action = get("Action").ok_or_else(|| AliError::missing_parameter("Action"))?;
        let version = get("Version").ok_or_else(|| AliError::missing_parameter("Version"))?;
        let product = PRODUCTS
            .iter()
            .find(|p| p.version == version)
            .ok_or_else(|| AliError::invalid_version(version))?;
        if !product.actions.contains(&action) {
            return Err(AliError::unknown_action(action));
        }
        let region = match get("RegionId") {
            _ if !product.regional => "",
            None => return Err(AliError::missing_parameter("RegionId")),
            Some(region) if !REGIONS.contains(&region) => {
                return Err(AliError::new(
                    404,
                    "InvalidRegionId.NotFound",
                    "The specified RegionId does not exist.",
                ));
            }
            Some(region) => region,
        };
        let call = Call {
            action,
            region,
            params,
            now_ms: self.config.clock.now_ms(),
        };
        tracing::trace!(product = product.name, action, "aliyun sim call");
        let mut state = self.state();
        state.purge(call.now_ms);
        (product.handle)(&mut state, &call)
    }
}

/// The API handler: counts, injects faults, answers in Alibaba's shape.
async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(response) = shared.faults.apply().await {
        return response;
    }
    let mut params = verify::parse_pairs(uri.query().unwrap_or(""));
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(verify::parse_pairs(&String::from_utf8_lossy(&body)));
    }
    let host_id = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("aliyuncs.com")
        .to_owned();
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let action = param(&params, "Action").unwrap_or("").to_owned();
    match shared.handle(&method, &params) {
        Ok(mut fields) => {
            tracing::debug!(action, request_id, outcome = "ok", "aliyun sim request");
            if let Value::Object(map) = &mut fields {
                map.insert("RequestId".into(), json!(request_id));
            }
            (StatusCode::OK, Json(fields)).into_response()
        }
        Err(error) => {
            tracing::debug!(
                action,
                request_id,
                outcome = error.code,
                "aliyun sim request"
            );
            let status =
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(error.to_body(&request_id, &host_id))).into_response()
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let faults = Arc::clone(&shared.faults);
    Router::new()
        .route("/", any(api))
        .with_state(shared)
        .merge(faults::routes(faults))
}

fn shared(config: AliyunSimConfig) -> Arc<Shared> {
    Arc::new(Shared {
        config,
        state: Mutex::new(State::default()),
        nonces: Mutex::new(NonceCache::default()),
        faults: Arc::new(Faults::new()),
        requests: AtomicU64::new(0),
    })
}

/// A running Alibaba simulator on `127.0.0.1`; dropping it stops the server.
pub struct AliyunSim {
    server: Server,
    shared: Arc<Shared>,
}

impl AliyunSim {
    /// Bind `127.0.0.1:0` and serve in a tokio task.
    pub async fn spawn(config: AliyunSimConfig) -> std::io::Result<AliyunSim> {
        let shared = shared(config);
        let app = router(Arc::clone(&shared));
        let server = Server::spawn("aliyun", app).await?;
        Ok(AliyunSim { server, shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, the base URL to map `*.aliyuncs.com` to.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Fault injection for later requests.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// How many API requests arrived (any outcome, injected faults included).
    pub fn requests_seen(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The ids of the resources of `kind` (`vpc`, `vsw`, `vtb`, …) in `region`, in creation
    /// order.
    pub fn ids(&self, region: &str, kind: &str) -> Vec<String> {
        let mut state = self.shared.state();
        state.purge(self.shared.config.clock.now_ms());
        state.ids(region, kind)
    }

    /// The status of resource `id` of `kind` in `region` now, if it exists.
    pub fn status(&self, region: &str, kind: &str, id: &str) -> Option<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        state.purge(now);
        state
            .get(region, kind, id)
            .map(|r| r.status(now).to_owned())
    }

    /// The string attribute `key` of resource `id` of `kind` in `region` (`""` when unset), as
    /// its describe action shows it.
    pub fn attr(&self, region: &str, kind: &str, id: &str, key: &str) -> Option<Value> {
        let state = self.shared.state();
        state
            .get(region, kind, id)
            .map(|r| r.attrs.get(key).cloned().unwrap_or(Value::Null))
    }

    /// The route table vSwitch `vswitch_id` of `region` uses, if the vSwitch exists.
    pub fn vswitch_route_table(&self, region: &str, vswitch_id: &str) -> Option<String> {
        self.shared.state().vswitch_route_table(region, vswitch_id)
    }

    /// The Cloud Assistant scripts run on instance `instance_id` of `region`, oldest first.
    pub fn commands(&self, region: &str, instance_id: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .list(region, "t")
            .filter(|t| t.attr("InstanceId") == instance_id)
            .map(|t| t.attr("Script").to_owned())
            .collect()
    }

    /// The destinations of the route entries of table `route_table_id` in `region`.
    pub fn route_destinations(&self, region: &str, route_table_id: &str) -> Vec<String> {
        self.shared
            .state()
            .route_destinations(region, route_table_id)
    }
}

/// Serve an Alibaba simulator on `listen` until the process ends (for the `broker-sim` binary).
pub async fn run_aliyun(listen: SocketAddr, config: AliyunSimConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "aliyun simulator listening");
    axum::serve(listener, router(shared(config))).await
}
