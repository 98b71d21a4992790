//! BridgX simulator: the developer API of a BridgX server (galaxy-future/bridgx), as its code
//! behaves (`shared/reference/cds_bridgx_tencent.md` §2), not as its handbook says.
//!
//! * `POST /user/login` (JSON or form `username`, `password`) answers a HS256 JWT that expires
//!   after [`BridgxSimConfig::token_lifetime_secs`] of simulated time ([`BridgxSim::logins`]
//!   counts logins). Every `/api/v1/` route needs `Authorization: Bearer <jwt>`: no header is
//!   HTTP 400 `missing jwt token`, a malformed one 401 `token base info error`, a bad or expired
//!   token 401 `token auth fail`. [`BridgxSim::rotate_signing_key`] invalidates every token.
//! * Every answer is `{code, msg, data}` with HTTP status = `code` (200, 400, 401, 500).
//! * State per organisation (the token's `org_id`): cloud accounts, VPCs, subnets, security
//!   groups with rules, clusters, tasks, instances. Expand/shrink tasks go INIT → RUNNING after
//!   5 s → SUCCESS 10 s later in [`BridgxSimConfig::clock`] time; task ids are sonyflake ids
//!   (above 2^53), numbers when created and strings in lists.
//! * Lists page with `page_number` (default 1) and `page_size` (default and maximum 50);
//!   network lists answer PascalCase (`Vpcs`, `Pager{PageNumber,…}`), the others snake_case.
//! * Unknown routes and wrong methods answer gin's plain-text 404.

mod cluster;
mod jwt;
mod network;
mod state;

use crate::server::Server;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use self::state::{Org, State};
use crate::faults::{self, Faults};
use crate::{SimClock, SystemSimClock};

/// The demo user of a fresh BridgX install (`docs/getting-started.md`).
pub const DEMO_USER: (&str, &str) = ("root", "123456");

/// The cloud accounts of the demo organisation: (account key, provider).
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("LTAI5tAwAMpXAQ78pePcRb6t", "AlibabaCloud"),
    ("AKIDbridgxDEMOtencent000000000", "TencentCloud"),
];

/// BridgX's default token lifetime (`JwtTokenCreatedExpires`), in seconds.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 28_800;

/// Settings of one BridgX simulator.
#[derive(Clone)]
pub struct BridgxSimConfig {
    /// Users who may log in: (name, password, organisation id).
    pub users: Vec<(String, String, u64)>,
    /// Token lifetime in simulated seconds.
    pub token_lifetime_secs: u64,
    /// Time of token expiry and task progress.
    pub clock: Arc<dyn SimClock>,
}

impl Default for BridgxSimConfig {
    /// [`DEMO_USER`] in organisation 1, 8 h tokens, the system clock.
    fn default() -> Self {
        Self {
            users: vec![(DEMO_USER.0.into(), DEMO_USER.1.into(), 1)],
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            clock: Arc::new(SystemSimClock),
        }
    }
}

/// A BridgX error: HTTP status = `code`, and `msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    code: u16,
    msg: String,
}

impl ApiError {
    fn new(code: u16, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }
}

type Handled = Result<Value, ApiError>;

/// One authenticated API call.
pub(crate) struct Call {
    query: BTreeMap<String, String>,
    body: Value,
    params: Vec<String>,
    now_ms: u64,
    org_id: u64,
    user: String,
}

impl Call {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required_q(&self, name: &str) -> Result<&str, ApiError> {
        self.query(name)
            .ok_or_else(|| ApiError::new(400, "param_invalid"))
    }

    fn optional_b(&self, name: &str) -> Option<&str> {
        self.body
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required_b(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_b(name)
            .ok_or_else(|| ApiError::new(400, "param_invalid"))
    }

    fn param(&self, n: usize) -> &str {
        self.params.get(n).map_or("", String::as_str)
    }

    fn org<'a>(&self, state: &'a State) -> &'a Org {
        state
            .orgs
            .get(&self.org_id)
            .expect("orgs exist for every user")
    }

    fn org_mut<'a>(&self, state: &'a mut State) -> &'a mut Org {
        state.orgs.entry(self.org_id).or_default()
    }

    /// The caller's organisation must own the cloud account `ak`.
    fn account(&self, state: &State, ak: &str) -> Result<(), ApiError> {
        if self.org(state).accounts.contains_key(ak) {
            Ok(())
        } else {
            Err(ApiError::new(400, "permission_denied"))
        }
    }

    /// The caller's organisation must have an account of `provider` (its keys list regions).
    fn provider_account(&self, state: &State, provider: &str) -> Result<(), ApiError> {
        if self.org(state).accounts.values().any(|p| p == provider) {
            Ok(())
        } else {
            Err(ApiError::new(
                400,
                format!("no cloud account of {provider}"),
            ))
        }
    }
}

/// Page `items` as `getPager` does: page 1 and size 50 by default, size at most 50.
fn page(call: &Call, items: Vec<Value>) -> (Vec<Value>, (u64, u64, usize)) {
    let number = call
        .query("page_number")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let size = call
        .query("page_size")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
        .min(50);
    let total = items.len();
    let skip = usize::try_from((number - 1) * size).unwrap_or(usize::MAX);
    let page = items.into_iter().skip(skip).take(size as usize).collect();
    (page, (number, size, total))
}

fn snake_pager(&(n, s, t): &(u64, u64, usize)) -> Value {
    json!({"page_number": n, "page_size": s, "total": t})
}

fn pascal_pager(&(n, s, t): &(u64, u64, usize)) -> Value {
    json!({"PageNumber": n, "PageSize": s, "Total": t})
}

/// A time as BridgX prints it (Go's `time.Time` in CST): `2021-11-02 06:09:38 +0800 CST`.
fn cst(ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(ms / 1000).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    format!("{} +0800 CST", at.format(&format).unwrap_or_default())
}

type Handler = fn(&mut State, &Call) -> Handled;

/// Every `/api/v1/` route: method, path (`:id` is a parameter), handler.
const ROUTES: &[(&str, &str, Handler)] = &[
    ("POST", "cluster/create", cluster::create_cluster),
    ("GET", "cluster/describe_all", cluster::describe_clusters),
    ("POST", "vpc/create", network::create_vpc),
    ("GET", "vpc/describe", network::describe_vpcs),
    ("POST", "subnet/create", network::create_subnet),
    ("GET", "subnet/describe", network::describe_subnets),
    (
        "POST",
        "security_group/create_with_rule",
        network::create_group,
    ),
    ("GET", "security_group/describe", network::describe_groups),
    ("POST", "network_config/create", network::create_network),
    ("GET", "region/list", network::regions),
    ("GET", "zone/list", network::zones),
    ("GET", "instance_type/list", network::instance_types),
    ("GET", "image/list", network::images),
    ("POST", "network_config/sync", network::sync_network),
    ("GET", "network_config/template", network::template),
    ("GET", "vpc/info/:id", network::vpc_info),
    ("GET", "subnet/info/:id", network::subnet_info),
    ("GET", "security_group/:id/rules", network::group_rules),
    ("POST", "cluster/expand", cluster::expand),
    ("POST", "cluster/shrink", cluster::shrink),
    ("GET", "task/list", cluster::list_tasks),
    ("GET", "instance/describe_all", cluster::describe_instances),
    ("GET", "instance/id/describe", cluster::describe_instance),
    ("GET", "instance/num", cluster::count_instances),
    ("GET", "instance/usage_total", cluster::usage_total),
    (
        "GET",
        "instance/usage_statistics",
        cluster::usage_statistics,
    ),
];

/// The parameters of `path` if it matches `pattern`.
fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let (p, s): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    if p.len() != s.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in p.iter().zip(&s) {
        if p.starts_with(':') {
            if s.is_empty() {
                return None;
            }
            params.push((*s).to_owned());
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// Decodes an `application/x-www-form-urlencoded` string.
fn form_pairs(text: &str) -> BTreeMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// What the server tasks share with the [`BridgxSim`] handle.
struct Shared {
    config: BridgxSimConfig,
    state: Mutex<State>,
    faults: Arc<Faults>,
    /// The JWT signing key; rotating it refuses every token issued before.
    key: Mutex<Vec<u8>>,
    logins: AtomicU64,
    requests: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(&self) -> Vec<u8> {
        self.key.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn now_secs(&self) -> u64 {
        self.config.clock.now_ms() / 1000
    }

    fn login(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
        let form = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let (user, password) = if form {
            let pairs = form_pairs(&String::from_utf8_lossy(body));
            (
                pairs.get("username").cloned(),
                pairs.get("password").cloned(),
            )
        } else {
            let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let field = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
            (field("username"), field("password"))
        };
        let (Some(user), Some(password)) = (
            user.filter(|u| !u.is_empty()),
            password.filter(|p| !p.is_empty()),
        ) else {
            return Err(ApiError::new(400, "missing username/password"));
        };
        let Some((_, _, org)) = self
            .config
            .users
            .iter()
            .find(|(u, p, _)| *u == user && *p == password)
        else {
            return Err(ApiError::new(400, "incorrect username/password"));
        };
        self.logins.fetch_add(1, Ordering::SeqCst);
        let claims = jwt::Claims {
            name: user,
            org_id: *org,
        };
        Ok(Value::String(jwt::issue(
            &self.key(),
            &claims,
            *org,
            self.now_secs(),
            self.config.token_lifetime_secs,
        )))
    }

    /// `CheckTokenAuth`: split on one space, exactly two parts, a token of ≥ 20 characters.
    fn authenticate(&self, headers: &HeaderMap) -> Result<jwt::Claims, ApiError> {
        let Some(header) = headers.get("authorization") else {
            return Err(ApiError::new(400, "missing jwt token"));
        };
        let header = header.to_str().unwrap_or("");
        let parts: Vec<&str> = header.split(' ').collect();
        if parts.len() != 2 || parts[1].len() < 20 {
            return Err(ApiError::new(401, "token base info error"));
        }
        jwt::verify(&self.key(), parts[1], self.now_secs())
            .ok_or_else(|| ApiError::new(401, "token auth fail"))
    }

    fn api(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Handled> {
        let (handler, params) = ROUTES.iter().find_map(|(m, pattern, handler)| {
            (*m == method.as_str())
                .then(|| matches(pattern, path))
                .flatten()
                .map(|params| (*handler, params))
        })?;
        let claims = match self.authenticate(headers) {
            Ok(claims) => claims,
            Err(e) => return Some(Err(e)),
        };
        let body = if method == Method::POST {
            match serde_json::from_slice::<Value>(body) {
                Ok(v @ Value::Object(_)) => v,
                _ => return Some(Err(ApiError::new(400, "param_invalid"))),
            }
        } else {
            Value::Null
        };
        let call = Call {
            query: form_pairs(query),
            body,
            params,
            now_ms: self.config.clock.now_ms(),
            org_id: claims.org_id,
            user: claims.name,
        };
        let mut state = self.state();
        state.orgs.entry(call.org_id).or_insert_with(|| Org {
            accounts: DEMO_ACCOUNTS
                .iter()
                .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
                .collect(),
            ..Org::default()
        });
        cluster::advance(&mut state, call.now_ms);
        Some(handler(&mut state, &call))
    }
}

fn envelope(result: Handled) -> Response {
    let (code, msg, data) = match result {
        Ok(data) => (200, "success".to_owned(), data),
        Err(e) => (e.code, e.msg, Value::Null),
    };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"code": code, "msg": msg, "data": data})),
    )
        .into_response()
}

async fn serve(
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
    let path = uri.path();
    let answer = if path == "/user/login" && method == Method::POST {
        Some(shared.login(&headers, &body))
    } else if let Some(rest) = path.strip_prefix("/api/v1/") {
        shared.api(&method, rest, uri.query().unwrap_or(""), &headers, &body)
    } else {
        None
    };
    tracing::debug!(%method, path, "bridgx sim request");
    match answer {
        Some(result) => envelope(result),
        None => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
    }
}

/// A running BridgX simulator on `127.0.0.1`; dropping it stops the server.
pub struct BridgxSim {
    server: Server,
    shared: Arc<Shared>,
}

impl BridgxSim {
    /// Bind `127.0.0.1:0` and serve in a tokio task.
    pub async fn spawn(config: BridgxSimConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            faults: Arc::new(Faults::new()),
            key: Mutex::new(b"bridgx".to_vec()),
            logins: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .fallback(serve)
            .with_state(Arc::clone(&shared))
            .merge(faults::routes(Arc::clone(&shared.faults)));
        let server = Server::spawn("bridgx", app).await?;
        Ok(Self { server, shared })
    }

    /// `http://127.0.0.1:PORT`, the base URL of the simulated server.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Successful logins so far.
    pub fn logins(&self) -> u64 {
        self.shared.logins.load(Ordering::SeqCst)
    }

    /// Requests received so far (logins and API calls).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Fault injection for later requests.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Changes the JWT signing key (as a restart with a new `JwtTokenSignKey` would): every
    /// token issued so far is refused with 401 `token auth fail`.
    pub fn rotate_signing_key(&self) {
        let mut key = self.shared.key.lock().unwrap_or_else(|p| p.into_inner());
        key.extend_from_slice(b"-rotated");
    }

    /// The status of task `id` (`INIT`, `RUNNING`, `SUCCESS`, `FAILED`), as of the clock now.
    pub fn task_status(&self, id: u64) -> Option<&'static str> {
        let mut state = self.shared.state();
        cluster::advance(&mut state, self.shared.config.clock.now_ms());
        state
            .orgs
            .values()
            .flat_map(|o| &o.tasks)
            .find(|t| t.id == id)
            .map(|t| t.status)
    }
}
