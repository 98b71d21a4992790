//! The HTTP API: broker routes (`/healthz`, `/v1/plugins`), the admin API and `/metrics`
//! (`admin.rs`), and
//! everything else routed to the plugin whose prefix matches (`dispatch.rs`). Every route but
//! `/healthz` needs an API key (`auth.rs`). `/v1/operations` serves a tenant's plugin calls as
//! resources (`operations.rs`).

mod admin;
pub mod auth;
pub mod connections;
mod dispatch;
pub mod error;
mod operations;
mod plugins_admin;

pub use dispatch::{ACT_AS_TENANT, OPERATION_ID};

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::runtime::Runtime;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// The plugin runtime.
    pub runtime: Arc<Runtime>,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Where plugin components live: uploads are written here so a restart keeps them.
    pub plugin_dir: std::path::PathBuf,
    /// Largest component an admin may upload.
    pub upload_limit: usize,
    /// Tenants, keys, accounts, policies, audit.
    pub store: broker_store::Store,
    /// API key verification.
    pub auth: Arc<auth::Authenticator>,
    /// Per-tenant policy enforcement.
    pub gate: Arc<crate::tenancy::Gate>,
    /// The audit log writer.
    pub audit: Arc<crate::audit::AuditLog>,
    /// Turns true when the shutdown drain deadline passes: plugin calls still running (their
    /// clients may be gone) stop there and are answered and audited as interrupted.
    pub abandon: tokio::sync::watch::Receiver<bool>,
    /// The operations running on this broker.
    pub operations: Arc<crate::operations::Operations>,
}

/// The id of the request being served (from `x-request-id`, or generated).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The broker's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/plugins",
            get(list_plugins)
                .route_layer(middleware::from_fn_with_state(state.clone(), require_key)),
        )
        .merge(admin::routes(state.clone()))
        .merge(operations::routes())
        .fallback(dispatch::dispatch)
        .with_state(state)
        // Outermost, so every response (errors included) carries the request id.
        .layer(middleware::from_fn(request_id))
}

/// Lets any valid key through (admin or tenant).
async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = auth::peer_ip(request.extensions());
    match state.auth.authenticate(request.headers(), peer).await {
        Ok(_) => next.run(request).await,
        Err(e) => error::ApiError::from(e).into_response(),
    }
}

/// How long the readiness check waits for the store: a health probe must answer quickly, and a
/// store that takes longer is not serving requests either.
const HEALTH_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /healthz`: ready only when the parts every plugin request needs work: the state store
/// answers (a ping within [`HEALTH_STORE_TIMEOUT`]) and the tenant gate can be entered. Otherwise
/// 503 naming the failed checks; the details go to the log, not to this unauthenticated route.
async fn healthz(State(state): State<AppState>) -> Response {
    let plugins = state.runtime.registry().plugins().len();
    let (store, gate) = tokio::join!(
        tokio::time::timeout(HEALTH_STORE_TIMEOUT, state.store.ping()),
        state.gate.probe()
    );
    let mut checks = serde_json::Map::new();
    match store {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error.type = "health_store", "readiness: the store failed: {e}");
            checks.insert("store".into(), json!("the state store failed; see the log"));
        }
        Err(_) => {
            tracing::error!(error.type = "health_store", "readiness: the store did not answer");
            checks.insert(
                "store".into(),
                json!(format!("no answer within {HEALTH_STORE_TIMEOUT:?}")),
            );
        }
    }
    if let Err(e) = gate {
        tracing::error!(error.type = "health_gate", "readiness: {e}");
        checks.insert("gate".into(), json!(e.to_string()));
    }
    if checks.is_empty() {
        return axum::Json(json!({ "status": "ok", "plugins": plugins })).into_response();
    }
    let failed: Vec<&String> = checks.keys().collect();
    let body =
        json!({ "status": "unavailable", "plugins": plugins, "failed": failed, "checks": checks });
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(body),
    )
        .into_response()
}

async fn list_plugins(State(state): State<AppState>) -> impl IntoResponse {
    let registry = state.runtime.registry();
    let plugins: Vec<_> = registry
        .plugins()
        .iter()
        .map(|p| {
            json!({
                "name": p.manifest.name,
                "version": p.manifest.version,
                "route_prefixes": p.manifest.route_prefixes,
                "operations": p.manifest.operations,
                "upstream_hosts": p.manifest.upstream_hosts,
                "settings": p.manifest.settings,
                "sha256": p.sha256,
            })
        })
        .collect();
    axum::Json(json!({ "plugins": plugins }))
}

/// Takes the client's `x-request-id` when it is a sane token, otherwise makes one; echoes it.
async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = error::with_request_id(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
