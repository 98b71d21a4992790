//! Tencent Cloud API 3.0 simulator.
//!
//! One HTTP server answers every simulated Tencent service on `POST /`, the way
//! `<service>.tencentcloudapi.com` does: a JSON body, `X-TC-Action`, `X-TC-Version`,
//! `X-TC-Region`, `X-TC-Timestamp` and a `TC3-HMAC-SHA256` `Authorization` header. Because the
//! broker maps `vpc.tencentcloudapi.com` to `http://127.0.0.1:PORT`, the `Host` header says
//! nothing about the service; the service is taken from the credential scope
//! (`Credential=<SecretId>/<date>/<service>/tc3_request`), which the signature covers.
//!
//! A request is handled in this order, each step answering Tencent's own error code:
//! 1. faults ([`crate::faults`]) — latency, then a queued failure;
//! 2. signature ([`verify`]) — `AuthFailure.InvalidAuthorization`, `MissingParameter`
//!    (`Timestamp`), `AuthFailure.SignatureExpire`, `AuthFailure.SecretIdNotFound`,
//!    `AuthFailure.SignatureFailure`;
//! 3. routing — `MissingParameter` (`Action`, `Version`), `InvalidAction`, `NoSuchVersion`,
//!    `MissingParameter` (`Region`), `UnsupportedRegion`;
//! 4. the body — `InvalidParameter` unless it is a JSON object;
//! 5. the product's action ([`vpc`]; its subnets, route tables, security groups, NAT gateways,
//!    EIPs and peering connections live in `subnet`, `route_table`, `security_group`, `nat`,
//!    `address` and `peering`; instances of `cvm` in `cvm`, disks of `cbs` in `cbs`, database
//!    instances of `cdb`, `mariadb` and `redis` in their modules, sharing `database`). Every
//!    state transition follows [`TencentSimConfig::clock`].
//!
//! Every answer is HTTP 200 with `{"Response": {..., "RequestId": "<uuid>"}}`, errors included.
//! Only `POST` is simulated (the broker never uses API 3.0's `GET` form).

mod address;
mod cbs;
mod cdb;
mod cvm;
mod database;
pub mod error;
mod mariadb;
mod nat;
mod params;
mod peering;
mod redis;
mod route_table;
mod security_group;
mod state;
mod subnet;
pub mod verify;
pub mod vpc;

use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use self::error::{TcError, success_body};
use self::params::Params;
use self::state::State;
use self::verify::SignedRequest;
use crate::faults::{self, Faults};
use crate::{SimClock, SimCredential, SystemSimClock};

/// Key pairs a default simulator accepts.
///
/// The first pair is literally the placeholder text in the API spec's example requests
/// (`provider_params: "...;SecretID={$your_SecretID};SecretKey={$your_SecretKey}"` in
/// `shared/spec/qcloud-api.md`), so the spec examples work verbatim against the simulator. The
/// second is a realistic-looking `AKID…` pair for hand-written tests. The third is the sample
/// pair the spec's MySQL, MariaDB and Redis examples carry, so those work verbatim too.
pub const DEMO_CREDENTIALS: &[(&str, &str)] = &[
    ("{$your_SecretID}", "{$your_SecretKey}"),
    (
        "AKIDsimulatorDEMO0000000000000000000",
        "simulatorDEMOsecretKey0000000000",
    ),
    (
        "AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t",
        "kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby",
    ),
];

/// Tencent's default tolerance between `X-TC-Timestamp` and the server clock, in seconds.
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Regions the simulator accepts in `X-TC-Region`; anything else is `UnsupportedRegion`.
pub const REGIONS: &[&str] = &[
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-jakarta",
    "ap-seoul",
    "ap-tokyo",
    "ap-mumbai",
    "ap-bangkok",
    "na-siliconvalley",
    "na-ashburn",
    "na-toronto",
    "sa-saopaulo",
    "eu-frankfurt",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-beijing-fsi",
];

/// Settings of one Tencent simulator.
#[derive(Clone)]
pub struct TencentSimConfig {
    /// Accepted key pairs; any other `SecretId` is `AuthFailure.SecretIdNotFound`.
    pub credentials: Vec<SimCredential>,
    /// Largest accepted distance between `X-TC-Timestamp` and now, in seconds
    /// (default [`DEFAULT_MAX_CLOCK_SKEW_SECS`]); beyond it, `AuthFailure.SignatureExpire`.
    pub max_clock_skew_secs: i64,
    /// VPCs one region may hold (Tencent's default quota is
    /// [`vpc::VPC_QUOTA_PER_REGION`]); beyond it, `LimitExceeded`. Benchmarks raise it.
    pub vpc_quota_per_region: usize,
    /// The time of resource transitions (instance boot, stop, …); default the system clock.
    pub clock: Arc<dyn SimClock>,
}

impl std::fmt::Debug for TencentSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSimConfig")
            .field("credentials", &self.credentials)
            .field("max_clock_skew_secs", &self.max_clock_skew_secs)
            .field("vpc_quota_per_region", &self.vpc_quota_per_region)
            .field("clock_now_ms", &self.clock.now_ms())
            .finish()
    }
}

impl Default for TencentSimConfig {
    /// [`DEMO_CREDENTIALS`], a 300 s clock skew and the system clock.
    fn default() -> Self {
        Self {
            credentials: DEMO_CREDENTIALS
                .iter()
                .map(|(id, key)| SimCredential::new(*id, *key))
                .collect(),
            max_clock_skew_secs: DEFAULT_MAX_CLOCK_SKEW_SECS,
            vpc_quota_per_region: vpc::VPC_QUOTA_PER_REGION,
            clock: Arc::new(SystemSimClock),
        }
    }
}

/// A simulated product: one Tencent service at one API version.
pub(crate) struct Product {
    /// The service name in the credential scope (`vpc`).
    service: &'static str,
    /// The only `X-TC-Version` it answers.
    version: &'static str,
    /// Every action it implements; others are `InvalidAction`.
    actions: &'static [&'static str],
    /// Whether `X-TC-Region` is required.
    regional: bool,
    /// Runs one action against the state.
    handle: fn(&mut State, &Call<'_>) -> Result<Value, TcError>,
}

/// Every product the simulator serves.
const PRODUCTS: &[Product] = &[
    vpc::PRODUCT,
    cvm::PRODUCT,
    cbs::PRODUCT,
    cdb::PRODUCT,
    mariadb::PRODUCT,
    redis::PRODUCT,
];

/// One routed, verified call.
pub(crate) struct Call<'a> {
    action: &'a str,
    /// The region, empty for global products.
    region: &'a str,
    params: Params<'a>,
    /// The simulated time of the call ([`TencentSimConfig::clock`]), in ms since the epoch.
    now_ms: u64,
    /// The `RequestId` the answer will carry (CVM records it as `LatestOperationRequestId`).
    request_id: &'a str,
}

/// What the server tasks share with the [`TencentSim`] handle.
struct Shared {
    config: TencentSimConfig,
    state: Mutex<State>,
    faults: Arc<Faults>,
    requests: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Actions validate before they mutate, so a poisoned lock still holds consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state with every transition due by the simulated now applied (for inspection).
    fn state_now(&self) -> MutexGuard<'_, State> {
        let now = self.config.clock.now_ms();
        let mut state = self.state();
        advance_all(&mut state, now);
        state
    }

    /// Verify, route and run one API request.
    fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        request_id: &str,
    ) -> Result<Value, TcError> {
        let request = SignedRequest {
            method: method.as_str(),
            uri: uri.path(),
            query: uri.query().unwrap_or(""),
            headers,
            body,
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let verified = verify::verify(
            &request,
            &self.config.credentials,
            now,
            self.config.max_clock_skew_secs,
        )?;

        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let action = header("x-tc-action").ok_or_else(|| TcError::missing_parameter("Action"))?;
        let version =
            header("x-tc-version").ok_or_else(|| TcError::missing_parameter("Version"))?;
        let product = PRODUCTS
            .iter()
            .find(|p| p.service == verified.service && p.actions.contains(&action))
            .ok_or_else(TcError::invalid_action)?;
        if version != product.version {
            return Err(TcError::no_such_version(product.service, version));
        }
        let region = match header("x-tc-region") {
            _ if !product.regional => "",
            None | Some("") => return Err(TcError::missing_parameter("Region")),
            Some(region) if !REGIONS.contains(&region) => return Err(TcError::unsupported_region()),
            Some(region) => region,
        };
        let body: Value = serde_json::from_slice(body)
            .map_err(|_| TcError::new("InvalidParameter", "The request body is not valid JSON."))?;
        let call = Call {
            action,
            region,
            params: Params::new(&body)?,
            now_ms: self.config.clock.now_ms(),
            request_id,
        };
        let mut state = self.state();
        // Transitions due by now happen first, whichever product is called.
        advance_all(&mut state, call.now_ms);
        (product.handle)(&mut state, &call)
    }
}

/// Apply every product's transitions due at `now_ms`.
fn advance_all(state: &mut State, now_ms: u64) {
    cvm::advance(state, now_ms);
    nat::advance(state, now_ms);
    peering::advance(state, now_ms);
    cbs::advance(state, now_ms);
    cdb::advance(state, now_ms);
    mariadb::advance(state, now_ms);
    redis::advance(state, now_ms);
}

/// The API handler: counts, injects faults, answers in Tencent's envelope.
async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if let Some(response) = shared.faults.apply().await {
        tracing::debug!(action, outcome = "injected fault", "tencent sim request");
        return response;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match shared.handle(&method, &uri, &headers, &body, &request_id) {
        Ok(fields) => {
            tracing::debug!(action, request_id, outcome = "ok", "tencent sim request");
            success_body(fields, &request_id)
        }
        Err(error) => {
            tracing::debug!(
                action,
                request_id,
                outcome = error.code,
                "tencent sim request"
            );
            error.to_body(&request_id)
        }
    };
    (StatusCode::OK, Json(body)).into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    let faults = Arc::clone(&shared.faults);
    Router::new()
        .route("/", post(api))
        .with_state(shared)
        .merge(faults::routes(faults))
}

fn shared(config: TencentSimConfig) -> Arc<Shared> {
    let state = State {
        vpc_quota: config.vpc_quota_per_region,
        ..State::default()
    };
    Arc::new(Shared {
        config,
        state: Mutex::new(state),
        faults: Arc::new(Faults::new()),
        requests: AtomicU64::new(0),
    })
}

/// A running Tencent simulator on `127.0.0.1`; dropping it stops the server.
pub struct TencentSim {
    server: Server,
    shared: Arc<Shared>,
}

impl TencentSim {
    /// Bind `127.0.0.1:0` and serve in a tokio task.
    pub async fn spawn(config: TencentSimConfig) -> std::io::Result<TencentSim> {
        let shared = shared(config);
        let app = router(Arc::clone(&shared));
        let server = Server::spawn("tencent", app).await?;
        Ok(TencentSim { server, shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, the base URL to map `<service>.tencentcloudapi.com` to.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Fault injection for later requests.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// How many VPCs exist, over all regions.
    pub fn vpc_count(&self) -> usize {
        self.shared.state().vpcs.values().map(Vec::len).sum()
    }

    /// The ids of the VPCs in `region`, in creation order.
    pub fn vpc_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .vpcs
            .get(region)
            .map(|vpcs| vpcs.iter().map(|v| v.vpc_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The ids of the subnets in `region`, in creation order.
    pub fn subnet_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .subnets
            .get(region)
            .map(|s| s.iter().map(|s| s.subnet_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The ids of the route tables in `region` (main tables included), in creation order.
    pub fn route_table_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .route_tables
            .get(region)
            .map(|t| t.iter().map(|t| t.route_table_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The main route table of VPC `vpc_id` in `region`, if the VPC exists.
    pub fn main_route_table(&self, region: &str, vpc_id: &str) -> Option<String> {
        let state = self.shared.state();
        state
            .route_tables
            .get(region)?
            .iter()
            .find(|t| t.vpc_id == vpc_id && t.main)
            .map(|t| t.route_table_id.clone())
    }

    /// The route table subnet `subnet_id` of `region` is associated with, if the subnet exists.
    pub fn subnet_route_table(&self, region: &str, subnet_id: &str) -> Option<String> {
        let state = self.shared.state();
        state
            .subnets
            .get(region)?
            .iter()
            .find(|s| s.subnet_id == subnet_id)
            .map(|s| s.route_table_id.clone())
    }

    /// The `RouteId`s of route table `route_table_id` in `region`, if the table exists.
    pub fn route_ids(&self, region: &str, route_table_id: &str) -> Option<Vec<u64>> {
        let state = self.shared.state();
        state
            .route_tables
            .get(region)?
            .iter()
            .find(|t| t.route_table_id == route_table_id)
            .map(|t| t.route_ids())
    }

    /// The ids of the security groups in `region`, in creation order.
    pub fn security_group_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .security_groups
            .get(region)
            .map(|g| g.iter().map(|g| g.security_group_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The ids of the instances in `region` (terminated ones until they are gone), in creation
    /// order.
    pub fn instance_ids(&self, region: &str) -> Vec<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        cvm::advance(&mut state, now);
        state
            .instances
            .get(region)
            .map(|i| i.iter().map(|i| i.instance_id.clone()).collect())
            .unwrap_or_default()
    }

    /// The `InstanceState` of instance `id` in `region`, if it exists.
    pub fn instance_state(&self, region: &str, id: &str) -> Option<String> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        cvm::advance(&mut state, now);
        state
            .instances
            .get(region)?
            .iter()
            .find(|i| i.instance_id == id)
            .map(|i| i.instance_state.to_owned())
    }

    /// How many API requests arrived (`POST /`, any outcome, injected faults included).
    pub fn requests_seen(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// Serve a Tencent simulator on `listen` until the process ends (for the `broker-sim` binary).
pub async fn run_tencent(listen: SocketAddr, config: TencentSimConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "tencent simulator listening");
    axum::serve(listener, router(shared(config))).await
}
