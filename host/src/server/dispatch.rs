//! Route a request to its plugin, run it, and turn the plugin's answer into an HTTP response.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use broker_store::{
    AuditRecord, Begun, FinishedOperation, NewOperation, Operation, OperationStatus, Principal,
    StoredResponse,
};
use time::OffsetDateTime;
use tracing::Instrument;

use super::AppState;
use super::error::{ApiError, internal, plugin_error, status_for};
use crate::audit::Refused;
use crate::bindings::handler;
use crate::bindings::types::{Header, Method};
use crate::capabilities::redact::Redactor;
use crate::operations::{Mode, Outcome, Registration, request_hash};
use crate::runtime::{LoadedPlugin, Slot};
use crate::tenancy::{Admission, Refusal};

/// Headers never forwarded to a plugin: credentials of the broker's own API.
const PRIVATE_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Header with which an admin key names the tenant a plugin call acts for.
pub const ACT_AS_TENANT: &str = "x-broker-tenant";

/// Header naming the operation a routed response belongs to (`GET /v1/operations/{id}`).
pub const OPERATION_ID: &str = "x-operation-id";

/// The fallback handler: every path the broker does not serve itself.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let request_id = request
        .extensions()
        .get::<super::RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let registry = state.runtime.registry();
    let Some(plugin) = registry.route(&path) else {
        return ApiError::not_found(parts.method.as_str(), &path).into_response();
    };
    let template = &plugin.manifest.error_template;
    let plugin_name = plugin.manifest.name.as_str();
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let refusal = |tenant: Option<&str>, response: Response| {
        audit_refusal(
            &state,
            tenant,
            client,
            plugin_name,
            &path,
            &request_id,
            response,
        )
    };

    let peer = super::auth::peer_ip(&parts.extensions);
    let tenant = match caller_tenant(&state, &parts.headers, peer).await {
        Ok(tenant) => tenant,
        Err(e) => return refusal(None, e.into_plugin_response(template)),
    };
    let admission = match state.gate.admit(&tenant, plugin_name).await {
        Ok(admission) => admission,
        Err(refusal_reason) => return refusal(Some(&tenant), refused(template, &refusal_reason)),
    };

    let Some(method) = wit_method(&parts.method) else {
        let response = plugin_error(
            template,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("method {} is not supported", parts.method),
        );
        return refusal(Some(&tenant), response);
    };
    let mode = match Mode::from_headers(&parts.headers) {
        Ok(mode) => mode,
        Err(message) => {
            let response = plugin_error(template, StatusCode::BAD_REQUEST, &message);
            return refusal(Some(&tenant), response);
        }
    };
    let (body, slot) =
        match read_body_in_queue(&state, plugin, template, &parts.headers, body, &request_id).await
        {
            Ok(read) => read,
            Err(response) => return refusal(Some(&tenant), response),
        };
    let query = parts.uri.query().unwrap_or_default();
    let operation = NewOperation {
        id: uuid::Uuid::new_v4(),
        tenant: tenant.clone(),
        plugin: plugin_name.to_string(),
        method: parts.method.to_string(),
        path: path.clone(),
        request_id: request_id.clone(),
        created_at: OffsetDateTime::now_utc(),
        request_hash: mode
            .key
            .as_ref()
            .map(|_| request_hash(&state.store, parts.method.as_str(), &path, query, &body)),
        idempotency_key: mode.key.clone(),
    };
    let registration = match state.operations.open(operation) {
        Ok(registration) => registration,
        Err(too_many) => {
            let mut response = plugin_error(
                template,
                StatusCode::TOO_MANY_REQUESTS,
                &too_many.to_string(),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(ASYNC_RETRY_AFTER_SECS),
            );
            return refusal(Some(&tenant), response);
        }
    };
    let operation_id = registration.operation().id;
    // Written `running` first only when someone may look for it before it ends: an async
    // client, or a retry with the same key. A sync call's row rides its audit commit.
    if mode.respond_async || mode.key.is_some() {
        match state.store.begin_operation(registration.operation()).await {
            Ok(Begun::Started) => {}
            Ok(Begun::Existing(existing)) => {
                let hash = registration.operation().request_hash.clone();
                // Nothing runs for this request: give back its slot and places first.
                drop((slot, registration, admission));
                let wait = plugin.limits().wall() + ATTACHED_WAIT_MARGIN;
                let response = attach(&state, template, &mode, (hash, wait), *existing).await;
                if response.status() == StatusCode::UNPROCESSABLE_ENTITY {
                    return refusal(Some(&tenant), response);
                }
                return response;
            }
            Err(e) => {
                let message = internal("the operation could not be recorded", &e);
                let response = plugin_error(template, StatusCode::SERVICE_UNAVAILABLE, &message);
                return with_operation_id(response, operation_id);
            }
        }
    }
    // Parsed once for the two readers of the body on the host side.
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let guids = request_guids(parsed.as_ref());
    let redactor = Redactor::from_json(parsed.as_ref());
    drop(parsed);
    let wit_request = handler::Request {
        method,
        path: path.clone(),
        query: query.to_string(),
        headers: forwarded_headers(&parts.headers),
        body,
        request_id: request_id.clone(),
        tenant: tenant.clone(),
    };
    let accepted_now = mode
        .respond_async
        .then(|| accepted(operation_id, Some(registration.operation())));
    let call = PluginCall {
        plugin: plugin.clone(),
        request: wit_request,
        redactor,
        guids,
        tenant,
        method: parts.method.clone(),
        admission,
        slot,
        registration,
    };
    // Its own task: hyper drops this handler's future when the client goes away, and a call
    // already running must still finish (the cloud resource exists), be logged and be audited.
    // The task carries the request id along, so its internal errors still name it.
    let work =
        super::error::with_request_id(request_id.clone(), run_and_audit(state.clone(), call));
    let task = tokio::spawn(work);
    if let Some(accepted) = accepted_now {
        // The call goes on in its task; the client polls for its answer.
        return accepted;
    }
    let response = match task.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(
                plugin = %plugin_name,
                request_id = %request_id,
                error.type = "dispatch_task_failed",
                "plugin call task failed: {e}"
            );
            plugin_error(
                template,
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("internal error (request id {request_id})"),
            )
        }
    };
    with_operation_id(response, operation_id)
}

/// Seconds a client is told to wait before polling an operation (and after a 429 on the cap
/// of open operations).
const ASYNC_RETRY_AFTER_SECS: u64 = 2;

/// How much longer than the plugin's wall-clock limit a sync retry waits for the operation it
/// attached to (the call's audit commit comes after its limit).
const ATTACHED_WAIT_MARGIN: Duration = Duration::from_secs(10);

/// Adds the `x-operation-id` header.
fn with_operation_id(mut response: Response, id: uuid::Uuid) -> Response {
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(OPERATION_ID, value);
    }
    response
}

/// `202 Accepted` for an operation the client polls at its `Location`.
fn accepted(id: uuid::Uuid, operation: Option<&NewOperation>) -> Response {
    let location = format!("/v1/operations/{id}");
    let mut body =
        serde_json::json!({ "id": id.to_string(), "status": "running", "location": location });
    if let Some(op) = operation {
        body["plugin"] = op.plugin.clone().into();
        body["method"] = op.method.clone().into();
        body["path"] = op.path.clone().into();
    }
    let mut response = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(ASYNC_RETRY_AFTER_SECS),
    );
    // RFC 7240 §3: say which preference was honoured.
    headers.insert(
        "preference-applied",
        HeaderValue::from_static("respond-async"),
    );
    with_operation_id(response, id)
}

/// A request whose `Idempotency-Key` names an existing operation: refused when it is a
/// different request; else the operation's answer (waiting for it, in sync mode), or a 202 for
/// it. Never a second run.
async fn attach(
    state: &AppState,
    template: &str,
    mode: &Mode,
    (hash, wait): (Option<String>, Duration),
    existing: Operation,
) -> Response {
    let op = &existing.operation;
    let key = op.idempotency_key.as_deref().unwrap_or_default();
    if op.request_hash != hash {
        let message = format!(
            "the Idempotency-Key `{key}` was already used for a different request (operation \
             {}); send a new key for a new request",
            op.id
        );
        return plugin_error(template, StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    if let Some(response) = &existing.response
        && existing.status.is_finished()
    {
        tracing::info!(
            plugin = %op.plugin,
            tenant = %op.tenant,
            operation = %op.id,
            status = response.status,
            "stored answer replayed for an idempotency key"
        );
        return with_operation_id(replay(response), op.id);
    }
    if existing.status.is_finished() {
        let message = format!(
            "operation {} {}: {}",
            op.id,
            existing.status.as_str(),
            existing
                .error
                .as_deref()
                .unwrap_or("no answer was recorded")
        );
        return with_operation_id(
            plugin_error(template, StatusCode::INTERNAL_SERVER_ERROR, &message),
            op.id,
        );
    }
    tracing::info!(
        plugin = %op.plugin,
        tenant = %op.tenant,
        operation = %op.id,
        status = existing.status.as_str(),
        "request attached to its idempotency key's operation"
    );
    if mode.respond_async {
        return accepted(op.id, Some(op));
    }
    // A sync retry waits as long as the call itself may run, then says where to poll.
    match state.operations.wait(&op.tenant, op.id, wait).await {
        Ok(Some(outcome)) => with_operation_id(replay(&outcome.response), op.id),
        Ok(None) => accepted(op.id, Some(op)),
        Err(e) => {
            let message = internal("the operation could not be read", &e);
            with_operation_id(
                plugin_error(template, StatusCode::SERVICE_UNAVAILABLE, &message),
                op.id,
            )
        }
    }
}

/// A stored answer, as the call answered it.
fn replay(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(stored.body.clone())).into_response();
    if let Some(value) = stored
        .content_type
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// An admitted plugin call, owned so it can run in a task of its own.
struct PluginCall {
    plugin: Arc<LoadedPlugin>,
    request: handler::Request,
    redactor: Redactor,
    guids: Vec<String>,
    tenant: String,
    method: axum::http::Method,
    /// Held until the call is audited: the tenant's concurrency counts it until then.
    admission: Admission,
    /// The instance slot the call runs in, taken while the body was read.
    slot: Slot,
    /// The call's operation, counted as open until the call is audited.
    registration: Registration,
}

/// Runs the plugin call, logs it and records its audit row (durably, when so configured),
/// then returns the answer. Runs to the end whether or not the client still waits.
async fn run_and_audit(state: AppState, call: PluginCall) -> Response {
    let PluginCall {
        plugin,
        request,
        redactor,
        guids,
        tenant,
        method,
        admission,
        slot,
        registration,
    } = call;
    let template = &plugin.manifest.error_template;
    let plugin_name = plugin.manifest.name.as_str();
    let (request_id, path) = (request.request_id.clone(), request.path.clone());
    let span = tracing::info_span!("plugin_call", plugin = %plugin_name, request_id = %request_id);
    let at = OffsetDateTime::now_utc();
    let started = std::time::Instant::now();
    let control = registration.control();
    let call = state
        .runtime
        .call_controlled(slot, &plugin, request, redactor, control.clone())
        .instrument(span);
    let mut abandon = state.abandon.clone();
    let result = tokio::select! {
        result = call => Some(result),
        () = abandoned(&mut abandon) => None,
    };
    let (status, error) = operation_outcome(result.as_ref(), control.is_cancelled());
    let (response, outcome) = match result {
        None => {
            tracing::warn!(
                plugin = %plugin_name,
                request_id = %request_id,
                path = %path,
                error.type = "interrupted",
                "plugin call stopped at the shutdown drain deadline"
            );
            let response = plugin_error(
                template,
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "the broker shut down before the plugin answered (plugin `{plugin_name}`, \
                     request id {request_id}); upstream work it started may exist: check \
                     before retrying"
                ),
            );
            (response, "interrupted")
        }
        Some(Ok(response)) => {
            let outcome = plugin_outcome(&response);
            (into_http(response, template), outcome)
        }
        Some(Err(error)) => {
            tracing::warn!(
                plugin = %plugin_name,
                request_id = %request_id,
                path = %path,
                error.type = error_type(&error),
                "plugin call failed: {error}"
            );
            let response = plugin_error(
                template,
                status_for(&error),
                &format!("{error} (plugin `{plugin_name}`, request id {request_id})"),
            );
            (response, error_type(&error))
        }
    };
    let elapsed = started.elapsed();
    tracing::info!(
        plugin = %plugin_name,
        tenant = %tenant,
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = elapsed.as_millis() as u64,
        "request"
    );
    let (response, stored) = capture(response).await;
    let finished = FinishedOperation {
        operation: registration.operation().clone(),
        status,
        finished_at: OffsetDateTime::now_utc(),
        response: stored.clone(),
        error,
        upstream_calls: control.upstream_calls(),
    };
    state
        .audit
        .record_with(
            AuditRecord {
                at,
                tenant: Some(tenant),
                plugin: plugin_name.to_string(),
                route: path,
                request_id,
                guids,
                outcome: outcome.to_string(),
                status: response.status().as_u16(),
                duration_ms: elapsed.as_millis() as u64,
                count: 1,
                client: None,
            },
            Some(finished),
        )
        .await;
    registration.finish(Outcome {
        status,
        response: stored,
    });
    drop(admission);
    response
}

/// The operation status of a call's result (`None`: stopped at shutdown), and its error.
fn operation_outcome(
    result: Option<&Result<handler::Response, crate::runtime::CallError>>,
    cancelled: bool,
) -> (OperationStatus, Option<String>) {
    match result {
        _ if cancelled => (
            OperationStatus::Cancelled,
            Some("cancelled by the client".to_string()),
        ),
        Some(Ok(_)) => (OperationStatus::Succeeded, None),
        Some(Err(crate::runtime::CallError::Cancelled)) => (
            OperationStatus::Cancelled,
            Some("cancelled by the client".to_string()),
        ),
        Some(Err(e)) => (OperationStatus::Failed, Some(e.to_string())),
        None => (
            OperationStatus::Failed,
            Some("the broker shut down before the plugin answered".to_string()),
        ),
    }
}

/// The response's body read back (it is in memory), so the operation keeps exactly what the
/// client gets.
async fn capture(response: Response) -> (Response, StoredResponse) {
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: bytes.to_vec(),
    };
    (Response::from_parts(parts, Body::from(bytes)), stored)
}

/// Resolves once the broker gives up on calls still running at shutdown (the drain deadline);
/// never, while it serves.
async fn abandoned(abandon: &mut tokio::sync::watch::Receiver<bool>) {
    if abandon.wait_for(|gone| *gone).await.is_err() {
        // The broker was dropped without a shutdown: nothing will ask the call to stop.
        std::future::pending::<()>().await;
    }
}

/// Counts a refused request in the audit's summary rows and returns its answer.
fn audit_refusal(
    state: &AppState,
    tenant: Option<&str>,
    client: Option<IpAddr>,
    plugin: &str,
    route: &str,
    request_id: &str,
    response: Response,
) -> Response {
    let status = response.status();
    state.audit.refused(Refused {
        tenant,
        client,
        plugin,
        route,
        request_id,
        outcome: refusal_outcome(status),
        status: status.as_u16(),
    });
    response
}

/// The audit outcome of a refusal, by its status (so new refusal kinds need no new case).
fn refusal_outcome(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        StatusCode::UNPROCESSABLE_ENTITY => "idempotency_key_reused",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "refused",
    }
}

/// The tenant a plugin request acts for: a tenant key's own tenant, or, for an admin key, the
/// tenant named in `X-Broker-Tenant`.
pub(super) async fn caller_tenant(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<String, ApiError> {
    match state.auth.authenticate(headers, peer).await? {
        Principal::Tenant { tenant, .. } => Ok(tenant),
        Principal::Admin { .. } => headers
            .get(ACT_AS_TENANT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "an admin key calls plugins for a tenant: name it in `{ACT_AS_TENANT}`"
                    ),
                )
            }),
    }
}

/// Takes a place in the slot queue (before reading: a full queue refuses at once and buffers
/// nothing), reads the body, then waits for an instance slot. Refusals come in the plugin's
/// envelope: 413 for a body over the limit, 503 with `Retry-After` when the broker is full.
async fn read_body_in_queue(
    state: &AppState,
    plugin: &crate::runtime::LoadedPlugin,
    template: &str,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<(Vec<u8>, crate::runtime::Slot), Response> {
    let limit = state.body_limit;
    // What the body will hold: its declared length, or the limit when it declares none.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .map_or(limit, |length| length.min(limit));
    let capacity = |error: crate::runtime::CallError| {
        let mut response = plugin_error(template, status_for(&error), &error.to_string());
        if let Some(secs) = error.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    };
    let mut ticket = state.runtime.queue(plugin, declared).map_err(capacity)?;
    let body = match to_bytes(body, limit).await {
        // Takes the buffer over when it is the only reference, instead of copying it.
        Ok(bytes) => Vec::from(bytes),
        Err(e) => return Err(unreadable_body(template, &e, limit, request_id)),
    };
    ticket.settle(body.len());
    let slot = state.runtime.slot(plugin, ticket).await.map_err(capacity)?;
    Ok((body, slot))
}

/// A refusal of the tenant gate, in the plugin's envelope.
fn refused(template: &str, refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::PluginNotAllowed { .. } | Refusal::UnknownTenant(_) => StatusCode::FORBIDDEN,
        Refusal::TooManyConcurrent { .. } | Refusal::RateLimited { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Refusal::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = match refusal {
        Refusal::Store(detail) => internal(&refusal.to_string(), detail),
        _ => refusal.to_string(),
    };
    let mut response = plugin_error(template, status, &message);
    if let Some(secs) = refusal.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `ok` or `error`, from the status and, for WeCube envelopes, the batch's result code.
fn plugin_outcome(response: &handler::Response) -> &'static str {
    if response.status >= 400 {
        return "error";
    }
    let failed = serde_json::from_slice::<serde_json::Value>(&response.body).is_ok_and(|v| {
        ["result_code", "resultCode"]
            .iter()
            .any(|k| v.get(k).and_then(|c| c.as_str()) == Some("1"))
    });
    if failed { "error" } else { "ok" }
}

/// Most guids recorded per audit row.
const MAX_AUDIT_GUIDS: usize = 100;

/// The `guid`s of a WeCube-style batch (`inputs[].guid`, key case-insensitive), for the audit.
fn request_guids(body: Option<&serde_json::Value>) -> Vec<String> {
    let Some(serde_json::Value::Object(top)) = body else {
        return Vec::new();
    };
    top.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("inputs"))
        .filter_map(|(_, v)| v.as_array())
        .flatten()
        .filter_map(|input| input.get("guid").and_then(|g| g.as_str()))
        .take(MAX_AUDIT_GUIDS)
        .map(str::to_string)
        .collect()
}

fn error_type(error: &crate::runtime::CallError) -> &'static str {
    use crate::runtime::CallError::*;
    match error {
        CpuLimit(_) => "cpu_limit_exceeded",
        WallTimeout(_) => "wall_timeout",
        MemoryLimit(_) => "memory_limit_exceeded",
        Trap(_) => "trap",
        ResponseTooLarge(..) => "response_too_large",
        Busy => "busy",
        QueueFull => "queue_full",
        StackOverflow => "stack_overflow",
        Cancelled => "cancelled",
    }
}

fn wit_method(method: &axum::http::Method) -> Option<Method> {
    Some(match method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => return None,
    })
}

fn forwarded_headers(headers: &HeaderMap) -> Vec<Header> {
    headers
        .iter()
        .filter(|(name, _)| !PRIVATE_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some(Header {
                name: name.as_str().to_string(),
                value: value.to_str().ok()?.to_string(),
            })
        })
        .collect()
}

/// A plugin response as HTTP; a malformed one (bad status or header) becomes an error.
fn into_http(response: handler::Response, template: &str) -> Response {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        return plugin_error(
            template,
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "the plugin answered with an invalid HTTP status {}",
                response.status
            ),
        );
    };
    let mut headers = HeaderMap::new();
    for h in response.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_str(&h.value),
        ) else {
            return plugin_error(
                template,
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the plugin answered with an invalid header `{}`", h.name),
            );
        };
        // Framing headers are the server's business, not the plugin's.
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        headers.append(name, value);
    }
    headers
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    (status, headers, Body::from(response.body)).into_response()
}

/// A body that could not be read, answered in the plugin's envelope: 408 when it arrived too
/// slowly, else 413.
fn unreadable_body(
    template: &str,
    error: &axum::Error,
    limit: usize,
    request_id: &str,
) -> Response {
    let error = ApiError::unreadable_body(
        error,
        format!("request body is larger than the limit of {limit} bytes"),
    );
    let message = match error.status {
        StatusCode::REQUEST_TIMEOUT => format!("{} (request id {request_id})", error.message),
        _ => error.message,
    };
    plugin_error(template, error.status, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_come_from_inputs_with_any_key_case() {
        let body = serde_json::json!({"Inputs":[{"guid":"a"},{"guid":"b"},{"id":"no-guid"}]});
        assert_eq!(request_guids(Some(&body)), ["a", "b"]);
        assert!(request_guids(Some(&serde_json::json!([1]))).is_empty());
        assert!(request_guids(None).is_empty());
    }

    #[test]
    fn a_failed_wecube_batch_is_an_error_outcome() {
        let response = |status, body: &str| handler::Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            plugin_outcome(&response(200, r#"{"result_code":"0"}"#)),
            "ok"
        );
        assert_eq!(
            plugin_outcome(&response(200, r#"{"result_code":"1"}"#)),
            "error"
        );
        assert_eq!(
            plugin_outcome(&response(200, r#"{"resultCode":"1"}"#)),
            "error"
        );
        assert_eq!(plugin_outcome(&response(502, "{}")), "error");
    }

    #[test]
    fn refusals_are_named_by_status() {
        assert_eq!(refusal_outcome(StatusCode::UNAUTHORIZED), "unauthorized");
        assert_eq!(refusal_outcome(StatusCode::TOO_MANY_REQUESTS), "throttled");
        assert_eq!(
            refusal_outcome(StatusCode::UNPROCESSABLE_ENTITY),
            "idempotency_key_reused"
        );
        assert_eq!(refusal_outcome(StatusCode::IM_A_TEAPOT), "refused");
    }
}
