//! The admin API (`/admin/*`, admin keys only): tenants, API keys, cloud accounts, policies and
//! the audit log. JSON in, JSON out; errors as `{"error":{"code","message"}}`.

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use broker_store::{AuditQuery, NewAccount, Policy, Principal, Secret, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::{ApiError, internal};

/// The admin routes, behind the admin-key check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/tenants", post(create_tenant).get(list_tenants))
        .route(
            "/admin/tenants/{tenant}",
            get(get_tenant).delete(delete_tenant),
        )
        .route(
            "/admin/tenants/{tenant}/keys",
            post(issue_tenant_key).get(list_tenant_keys),
        )
        .route("/admin/keys", post(issue_admin_key).get(list_admin_keys))
        .route("/admin/keys/{id}/rotate", post(rotate_key))
        .route("/admin/keys/{id}", axum::routing::delete(revoke_key))
        .route("/admin/tenants/{tenant}/accounts", get(list_accounts))
        .route(
            "/admin/tenants/{tenant}/accounts/{provider}/{name}",
            put(put_account).get(get_account).delete(delete_account),
        )
        .route(
            "/admin/tenants/{tenant}/policy",
            put(set_policy).get(get_policy),
        )
        .route("/admin/audit", get(audit))
        // Operators' data, so behind the admin key (Prometheus sends it as a bearer token).
        .route("/metrics", get(metrics))
        .merge(super::plugins_admin::routes())
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// `GET /metrics`: the sandbox counters in the Prometheus text format, and the slot queue's
/// gauges.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.runtime.metrics().render();
    let (pending, busy) = state.runtime.occupancy();
    for (name, help, value) in [
        ("broker_instances_busy", "Instance slots in use.", busy),
        (
            "broker_queue_requests",
            "Requests waiting for an instance slot (or reading their body before it).",
            pending.requests,
        ),
        (
            "broker_queue_bytes",
            "Request-body bytes reserved by the waiting requests.",
            pending.bytes,
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Lets only admin keys through.
async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = super::auth::peer_ip(request.extensions());
    match state.auth.authenticate(request.headers(), peer).await {
        Ok(Principal::Admin { .. }) => next.run(request).await,
        Ok(Principal::Tenant { .. }) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the admin API needs an admin key; this is a tenant key",
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

type ApiResult = Result<Response, ApiError>;

/// The JSON body, or a 400 in our envelope saying what is wrong with it.
/// A JSON request body, whatever its `Content-Type` says: `curl -d` sends
/// `application/x-www-form-urlencoded`, and an operator should not have to add a header to be
/// understood. Read up to the broker's body limit.
struct JsonBody(axum::body::Bytes);

impl axum::extract::FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        axum::body::to_bytes(request.into_body(), state.body_limit)
            .await
            .map(JsonBody)
            .map_err(|e| {
                ApiError::unreadable_body(
                    &e,
                    format!("the body is larger than {} bytes", state.body_limit),
                )
            })
    }
}

/// The body as a `T`; malformed JSON, wrong types and unknown fields are 400s that say where.
fn body<T: serde::de::DeserializeOwned>(payload: JsonBody) -> Result<T, ApiError> {
    if payload.0.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request needs a JSON body",
        ));
    }
    serde_json::from_slice(&payload.0).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not the expected JSON: {e}"),
        )
    })
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

fn ok(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

// ---- tenants -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
}

/// `POST /admin/tenants {"name"}` → 201 with the tenant and its first key (shown once).
async fn create_tenant(State(state): State<AppState>, payload: JsonBody) -> ApiResult {
    let NewTenant { name } = body(payload)?;
    let tenant = state.store.create_tenant(&name).await?;
    let key = state
        .store
        .issue_key(Some(&tenant.name), "first key")
        .await?;
    created(json!({
        "tenant": { "name": tenant.name, "id": tenant.id, "created_at": rfc3339(tenant.created_at) },
        "key": { "id": key.id, "key": key.key, "prefix": key.prefix },
    }))
}

async fn list_tenants(State(state): State<AppState>) -> ApiResult {
    let tenants: Vec<Value> = state
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| json!({ "name": t.name, "id": t.id, "created_at": rfc3339(t.created_at) }))
        .collect();
    ok(json!({ "tenants": tenants }))
}

async fn get_tenant(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiResult {
    let t = state.store.get_tenant(&tenant).await?;
    ok(json!({ "name": t.name, "id": t.id, "created_at": rfc3339(t.created_at) }))
}

async fn delete_tenant(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiResult {
    state.store.delete_tenant(&tenant).await?;
    state.auth.forget_all();
    state.gate.invalidate(&tenant);
    no_content()
}

// ---- keys ----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewKey {
    #[serde(default)]
    label: String,
}

fn key_json(key: &broker_store::KeyInfo) -> Value {
    json!({
        "id": key.id,
        "tenant": key.tenant,
        "label": key.label,
        "prefix": key.prefix,
        "created_at": rfc3339(key.created_at),
        "revoked_at": key.revoked_at.map(rfc3339),
    })
}

/// An optional JSON body: empty means the default.
fn optional_body<T: Default + serde::de::DeserializeOwned>(
    payload: JsonBody,
) -> Result<T, ApiError> {
    if payload.0.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    body(payload)
}

async fn issue_tenant_key(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    payload: JsonBody,
) -> ApiResult {
    let NewKey { label } = optional_body(payload)?;
    let key = state.store.issue_key(Some(&tenant), &label).await?;
    created(json!({ "id": key.id, "key": key.key, "prefix": key.prefix, "tenant": tenant }))
}

async fn list_tenant_keys(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiResult {
    state.store.get_tenant(&tenant).await?;
    let keys: Vec<Value> = state
        .store
        .list_keys(Some(&tenant))
        .await?
        .iter()
        .map(key_json)
        .collect();
    ok(json!({ "keys": keys }))
}

async fn issue_admin_key(State(state): State<AppState>, payload: JsonBody) -> ApiResult {
    let NewKey { label } = optional_body(payload)?;
    let key = state.store.issue_key(None, &label).await?;
    created(json!({ "id": key.id, "key": key.key, "prefix": key.prefix, "tenant": null }))
}

async fn list_admin_keys(State(state): State<AppState>) -> ApiResult {
    let keys: Vec<Value> = state
        .store
        .list_keys(None)
        .await?
        .iter()
        .map(key_json)
        .collect();
    ok(json!({ "keys": keys }))
}

async fn rotate_key(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let key = state.store.rotate_key(&id).await?;
    state.auth.forget_all();
    created(json!({ "id": key.id, "key": key.key, "prefix": key.prefix, "replaces": id }))
}

async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    state.store.revoke_key(&id).await?;
    state.auth.forget_all();
    no_content()
}

// ---- accounts ------------------------------------------------------------------------------

/// A cloud account as registered. Which fields are required depends on the provider.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    /// Public key id (Tencent `SecretId`, Alibaba/CDS `AccessKeyId`).
    #[serde(default, alias = "access_key_id")]
    secret_id: Option<String>,
    /// Secret key or password.
    #[serde(alias = "secret_key", alias = "access_key_secret", alias = "password")]
    secret: Option<String>,
    #[serde(default)]
    default_region: Option<String>,
    /// Server base URL (BridgX).
    #[serde(default)]
    endpoint: Option<String>,
    /// User name (BridgX).
    #[serde(default)]
    username: Option<String>,
}

/// Checks that an account has what its provider needs to sign or log in.
fn validate_account(provider: &str, account: &AccountBody) -> Result<(), ApiError> {
    let missing = |field: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("a `{provider}` account needs `{field}`"),
        )
    };
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !present(&account.secret) {
        return Err(missing("secret"));
    }
    match provider {
        "bridgx" => {
            if !present(&account.endpoint) {
                return Err(missing("endpoint"));
            }
            if !present(&account.username) {
                return Err(missing("username"));
            }
            let endpoint = account.endpoint.as_deref().unwrap_or_default();
            if !matches!(
                url::Url::parse(endpoint)
                    .map(|u| u.scheme().to_string())
                    .as_deref(),
                Ok("http" | "https")
            ) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("`endpoint` must be an http(s) URL, got `{endpoint}`"),
                ));
            }
        }
        _ => {
            if !present(&account.secret_id) {
                return Err(missing("secret_id"));
            }
        }
    }
    Ok(())
}

fn account_json(a: &broker_store::Account) -> Value {
    json!({
        "tenant": a.tenant,
        "provider": a.provider,
        "name": a.name,
        "secret_id": a.secret_id,
        "default_region": a.default_region,
        "endpoint": a.endpoint,
        "username": a.username,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
    })
}

/// `PUT /admin/tenants/{tenant}/accounts/{provider}/{name}`: create or replace.
async fn put_account(
    State(state): State<AppState>,
    Path((tenant, provider, name)): Path<(String, String, String)>,
    payload: JsonBody,
) -> ApiResult {
    let account: AccountBody = body(payload)?;
    validate_account(&provider, &account)?;
    let stored = state
        .store
        .put_account(
            &tenant,
            NewAccount {
                provider,
                name,
                secret_id: account.secret_id,
                default_region: account.default_region,
                endpoint: account.endpoint,
                username: account.username,
                secret: Secret::new(account.secret.unwrap_or_default()),
            },
        )
        .await?;
    ok(account_json(&stored))
}

async fn list_accounts(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiResult {
    let accounts: Vec<Value> = state
        .store
        .list_accounts(&tenant)
        .await?
        .iter()
        .map(account_json)
        .collect();
    ok(json!({ "accounts": accounts }))
}

async fn get_account(
    State(state): State<AppState>,
    Path((tenant, provider, name)): Path<(String, String, String)>,
) -> ApiResult {
    ok(account_json(
        &state.store.get_account(&tenant, &provider, &name).await?,
    ))
}

async fn delete_account(
    State(state): State<AppState>,
    Path((tenant, provider, name)): Path<(String, String, String)>,
) -> ApiResult {
    state
        .store
        .delete_account(&tenant, &provider, &name)
        .await?;
    no_content()
}

// ---- policy --------------------------------------------------------------------------------

async fn set_policy(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    payload: JsonBody,
) -> ApiResult {
    let policy: Policy = body(payload)?;
    state.store.set_policy(&tenant, &policy).await?;
    state.gate.invalidate(&tenant);
    ok(serde_json::to_value(&policy).unwrap_or_default())
}

async fn get_policy(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiResult {
    let policy = state.store.policy(&tenant).await?;
    ok(serde_json::to_value(&policy).unwrap_or_default())
}

// ---- audit ---------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    tenant: Option<String>,
    plugin: Option<String>,
    /// RFC 3339, inclusive.
    since: Option<String>,
    /// RFC 3339, exclusive.
    until: Option<String>,
    limit: Option<u32>,
    /// Paging: the `next_before` of the previous page.
    before: Option<i64>,
}

fn parse_time(name: &str, value: Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(&v, &Rfc3339).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!(
                        "`{name}` must be an RFC 3339 time such as 2026-11-22T10:00:00Z, got `{v}`"
                    ),
                )
            })
        })
        .transpose()
}

/// `GET /admin/audit?tenant=&plugin=&since=&until=&limit=&before=`, newest first.
async fn audit(
    State(state): State<AppState>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(p) =
        params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let query = AuditQuery {
        tenant: p.tenant,
        plugin: p.plugin,
        since: parse_time("since", p.since)?,
        until: parse_time("until", p.until)?,
        limit: p.limit,
        before_id: p.before,
    };
    let rows = state.store.audit(&query).await?;
    let next_before = rows.last().map(|r| r.id);
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let c = r.record;
            json!({
                "id": r.id,
                "at": rfc3339(c.at),
                "tenant": c.tenant,
                "plugin": c.plugin,
                "route": c.route,
                "request_id": c.request_id,
                "guids": c.guids,
                "outcome": c.outcome,
                "status": c.status,
                "duration_ms": c.duration_ms,
                "count": c.count,
                "client": c.client,
            })
        })
        .collect();
    ok(json!({ "rows": rows, "next_before": next_before }))
}

/// Store errors the client caused (not found, conflict, invalid input) say what is wrong; the
/// database's and the secrets' own failures are internal: logged, and answered generically.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, code) = match &e {
            StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            StoreError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            StoreError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            StoreError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            _ => {
                let message = internal("the state store is unavailable", &e);
                let mut error = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    message,
                );
                error.retry_after = Some(STORE_RETRY_AFTER_SECS);
                return error;
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// `Retry-After` of a 503 answered because the store failed: a locked or restarting database
/// usually recovers within seconds.
const STORE_RETRY_AFTER_SECS: u64 = 2;

impl From<super::auth::AuthError> for ApiError {
    fn from(e: super::auth::AuthError) -> Self {
        use super::auth::AuthError;
        match e {
            AuthError::Store(inner) => inner.into(),
            AuthError::Throttled { retry_after_secs } => {
                let mut error = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    e.to_string(),
                );
                error.retry_after = Some(retry_after_secs);
                error
            }
            AuthError::Missing | AuthError::Invalid => {
                let mut error =
                    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string());
                error.www_authenticate = true;
                error
            }
        }
    }
}
