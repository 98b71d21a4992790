//! Route a request to its plugin, run it, and turn the plugin's answer into an HTTP response.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use broker_store::{AuditRecord, Principal};
use time::OffsetDateTime;
use tracing::Instrument;

use super::AppState;
use super::error::{ApiError, internal, plugin_error, status_for};
use crate::audit::Refused;
use crate::bindings::handler;
use crate::bindings::types::{Header, Method};
use crate::capabilities::redact::Redactor;
use crate::runtime::{LoadedPlugin, Slot};
use crate::tenancy::{Admission, Refusal};

/// Headers never forwarded to a plugin: credentials of the broker's own API.
const PRIVATE_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Header with which an admin key names the tenant a plugin call acts for.
pub const ACT_AS_TENANT: &str = "x-broker-tenant";

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
    let (body, slot) =
        match read_body_in_queue(&state, plugin, template, &parts.headers, body, &request_id).await
        {
            Ok(read) => read,
            Err(response) => return refusal(Some(&tenant), response),
        };
    // Parsed once for the two readers of the body on the host side.
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let guids = request_guids(parsed.as_ref());
    let redactor = Redactor::from_json(parsed.as_ref());
    drop(parsed);
    let wit_request = handler::Request {
        method,
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: forwarded_headers(&parts.headers),
        body,
        request_id: request_id.clone(),
        tenant: tenant.clone(),
    };
    let call = PluginCall {
        plugin: plugin.clone(),
        request: wit_request,
        redactor,
        guids,
        tenant,
        method: parts.method.clone(),
        admission,
        slot,
    };
    // Its own task: hyper drops this handler's future when the client goes away, and a call
    // already running must still finish (the cloud resource exists), be logged and be audited.
    // The task carries the request id along, so its internal errors still name it.
    let work =
        super::error::with_request_id(request_id.clone(), run_and_audit(state.clone(), call));
    match tokio::spawn(work).await {
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
    }
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
    } = call;
    let template = &plugin.manifest.error_template;
    let plugin_name = plugin.manifest.name.as_str();
    let (request_id, path) = (request.request_id.clone(), request.path.clone());
    let span = tracing::info_span!("plugin_call", plugin = %plugin_name, request_id = %request_id);
    let at = OffsetDateTime::now_utc();
    let started = std::time::Instant::now();
    let call = state
        .runtime
        .call_in(slot, &plugin, request, redactor)
        .instrument(span);
    let mut abandon = state.abandon.clone();
    let result = tokio::select! {
        result = call => Some(result),
        () = abandoned(&mut abandon) => None,
    };
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
    state
        .audit
        .record(AuditRecord {
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
        })
        .await;
    drop(admission);
    response
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
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "refused",
    }
}

/// The tenant a plugin request acts for: a tenant key's own tenant, or, for an admin key, the
/// tenant named in `X-Broker-Tenant`.
async fn caller_tenant(
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
        assert_eq!(refusal_outcome(StatusCode::IM_A_TEAPOT), "refused");
    }
}
