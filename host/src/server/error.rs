//! Errors the broker itself answers, as JSON.
//!
//! Two shapes: requests no plugin claims get the broker's own `{"error":{"code","message"}}`;
//! failures of a routed request (trap, timeout, limit, bad body) are written in the plugin's
//! own envelope through its manifest's error template, so its clients always get one format.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::runtime::{CallError, render_error};

/// An error answered by the broker, not by a plugin.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Add `WWW-Authenticate: Bearer` (401 answers).
    pub www_authenticate: bool,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            www_authenticate: false,
        }
    }

    /// A request body that could not be read: 408 when it arrived too slowly (the body-read
    /// limit), else 413 with `too_large` (the only other way `to_bytes` with a limit fails).
    pub fn unreadable_body(error: &axum::Error, too_large: impl Into<String>) -> Self {
        match super::connections::body_timeout(error) {
            Some(timeout) => Self::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                timeout.to_string(),
            ),
            None => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", too_large),
        }
    }

    /// No plugin serves the path.
    pub fn not_found(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no route for {method} {path}; GET /v1/plugins lists the plugins and their operations"
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A failed plugin call, rendered in the plugin's envelope.
pub fn plugin_error(template: &str, status: StatusCode, message: &str) -> Response {
    let mut response = (status, render_error(template, message)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The HTTP status for a call error.
pub fn status_for(error: &CallError) -> StatusCode {
    match error {
        CallError::WallTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        CallError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        CallError::CpuLimit(_)
        | CallError::MemoryLimit(_)
        | CallError::Trap(_)
        | CallError::StackOverflow
        | CallError::ResponseTooLarge(..) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
