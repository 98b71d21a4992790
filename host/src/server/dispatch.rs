//! Route a request to its plugin, run it, and turn the plugin's answer into an HTTP response.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use tracing::Instrument;

use super::AppState;
use super::error::{ApiError, plugin_error, status_for};
use crate::bindings::handler;
use crate::bindings::types::{Header, Method};

/// Headers never forwarded to a plugin: credentials of the broker's own API.
const PRIVATE_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

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
    let Some(method) = wit_method(&parts.method) else {
        return plugin_error(
            template,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("method {} is not supported", parts.method),
        );
    };
    let limit = state.body_limit;
    let body = match to_bytes(body, limit).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => {
            return plugin_error(
                template,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body is larger than the limit of {limit} bytes"),
            );
        }
    };
    let wit_request = handler::Request {
        method,
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: forwarded_headers(&parts.headers),
        body,
        request_id: request_id.clone(),
        tenant: "default".to_string(),
    };
    let span = tracing::info_span!("plugin_call", plugin = %plugin.manifest.name, request_id = %request_id);
    match state
        .runtime
        .call(plugin, wit_request)
        .instrument(span)
        .await
    {
        Ok(response) => into_http(response, template),
        Err(error) => {
            tracing::warn!(
                plugin = %plugin.manifest.name,
                request_id = %request_id,
                path = %path,
                error.type = error_type(&error),
                "plugin call failed: {error}"
            );
            plugin_error(
                template,
                status_for(&error),
                &format!(
                    "{error} (plugin `{}`, request id {request_id})",
                    plugin.manifest.name
                ),
            )
        }
    }
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
