//! Errors the broker itself answers, as JSON.
//!
//! Two shapes: requests no plugin claims get the broker's own `{"error":{"code","message"}}`;
//! failures of a routed request (trap, timeout, limit, bad body) are written in the plugin's
//! own envelope through its manifest's error template, so its clients always get one format.
//!
//! Internal failures (database, secrets, file system) are logged here with the request id; the
//! client gets a generic message naming the request id, never the detail ([`internal`]).

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
    /// Add `Retry-After` with these seconds (429 and 503 answers that pass with time).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            www_authenticate: false,
            retry_after: None,
        }
    }

    /// This error in a plugin's envelope (a routed request), with the same status and headers.
    pub fn into_plugin_response(self, template: &str) -> Response {
        let mut response = plugin_error(template, self.status, &self.message);
        self.add_headers(&mut response);
        response
    }

    fn add_headers(&self, response: &mut Response) {
        if self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
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
        self.add_headers(&mut response);
        response
    }
}

tokio::task_local! {
    /// The id of the request this task serves, set by the request-id middleware.
    static REQUEST_ID: String;
}

/// Runs `work` with `id` as the current request id (see [`current_request_id`]).
pub async fn with_request_id<F: std::future::Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request being served by this task, or `-` outside one.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// Logs an internal failure `detail` with the request id and returns what a client may read:
/// `what`, "try again later" and the request id, so an operator can find the log line.
pub fn internal(what: &str, detail: &dyn std::fmt::Display) -> String {
    let request_id = current_request_id();
    tracing::error!(request_id = %request_id, error.type = "internal", "{what}: {detail}");
    format!("{what}; try again later (request id {request_id})")
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
        CallError::Busy | CallError::QueueFull => StatusCode::SERVICE_UNAVAILABLE,
        CallError::Cancelled => StatusCode::CONFLICT,
        CallError::CpuLimit(_)
        | CallError::MemoryLimit(_)
        | CallError::Trap(_)
        | CallError::StackOverflow
        | CallError::ResponseTooLarge(..) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
