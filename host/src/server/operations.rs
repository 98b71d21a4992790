//! `/v1/operations`: a tenant's plugin calls as resources — read one, list them, cancel one.
//!
//! Tenant-scoped like plugin calls: a tenant key sees its own operations; an admin key acts for
//! the tenant named in `X-Broker-Tenant`. Another tenant's operation is answered 404, exactly
//! like one that does not exist, so ids reveal nothing. Errors are the broker's JSON errors and
//! name the request id.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use broker_store::{Operation, OperationQuery, OperationStatus, StoredResponse, UpstreamCall};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::{ApiError, current_request_id};
use crate::operations::Running;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/operations", get(list))
        .route("/v1/operations/{id}", get(show).delete(cancel))
}

type ApiResult = Result<Response, ApiError>;

/// The tenant the caller acts for (see the module doc).
async fn tenant(state: &AppState, request: &Parts) -> Result<String, ApiError> {
    let peer = super::auth::peer_ip(&request.extensions);
    super::dispatch::caller_tenant(state, &request.headers, peer).await
}

/// 404 for an id that is not one of the tenant's operations (or not an id at all).
fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no operation `{id}` for this tenant (request id {})",
            current_request_id()
        ),
    )
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("{message} (request id {})", current_request_id()),
    )
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The operation as JSON; `with_response` adds the stored answer (for a single operation).
fn operation_json(op: &Operation, with_response: bool) -> Value {
    let o = &op.operation;
    let mut body = json!({
        "id": o.id.to_string(),
        "status": op.status.as_str(),
        "plugin": o.plugin,
        "method": o.method,
        "path": o.path,
        "request_id": o.request_id,
        "created_at": rfc3339(o.created_at),
        "finished_at": op.finished_at.map(rfc3339),
        "idempotency_key": o.idempotency_key,
    });
    if let Some(error) = &op.error {
        body["error"] = error.clone().into();
    }
    if with_response {
        body["upstream_calls"] = calls_json(&op.upstream_calls);
        if let Some(response) = &op.response {
            body["response"] = response_json(response);
        }
    }
    body
}

fn calls_json(calls: &[UpstreamCall]) -> Value {
    serde_json::to_value(calls).unwrap_or_else(|_| json!([]))
}

/// The plugin's answer: the body as JSON when it is JSON, else base64; `body_encoding` says
/// which.
fn response_json(response: &StoredResponse) -> Value {
    let (encoding, body) = match serde_json::from_slice::<Value>(&response.body) {
        Ok(value) => ("json", value),
        Err(_) => (
            "base64",
            base64::engine::general_purpose::STANDARD
                .encode(&response.body)
                .into(),
        ),
    };
    json!({
        "status": response.status,
        "content_type": response.content_type,
        "body_encoding": encoding,
        "body": body,
    })
}

/// A call running here that is not stored yet (a sync call without a key).
fn running_json(running: &Running) -> Value {
    let o = &running.operation;
    json!({
        "id": o.id.to_string(),
        "status": OperationStatus::Running.as_str(),
        "plugin": o.plugin,
        "method": o.method,
        "path": o.path,
        "request_id": o.request_id,
        "created_at": rfc3339(o.created_at),
        "finished_at": null,
        "idempotency_key": o.idempotency_key,
        "upstream_calls": calls_json(&running.control.upstream_calls()),
    })
}

/// `GET /v1/operations/{id}`.
async fn show(State(state): State<AppState>, Path(id): Path<String>, request: Parts) -> ApiResult {
    let tenant = tenant(&state, &request).await?;
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return Err(not_found(&id));
    };
    let running = state.operations.get(&tenant, uuid);
    match state.store.operation(&tenant, uuid).await? {
        Some(op) => {
            let mut body = operation_json(&op, true);
            // Still running here: the upstream calls so far.
            if let Some(running) = running.filter(|_| !op.status.is_finished()) {
                body["upstream_calls"] = calls_json(&running.control.upstream_calls());
            }
            Ok(axum::Json(body).into_response())
        }
        None => match running {
            Some(running) => Ok(axum::Json(running_json(&running)).into_response()),
            None => Err(not_found(&id)),
        },
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    plugin: Option<String>,
    limit: Option<u32>,
    /// Paging: the `next_after` of the previous page.
    after: Option<String>,
}

/// `GET /v1/operations?status=&plugin=&limit=&after=`, newest first. Sync calls without an
/// `Idempotency-Key` are listed once they have finished.
async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
    request: Parts,
) -> ApiResult {
    let tenant = tenant(&state, &request).await?;
    let Query(p) = params.map_err(|e| bad_request(e.body_text()))?;
    let status = p
        .status
        .map(|s| {
            OperationStatus::parse(&s).ok_or_else(|| {
                bad_request(format!(
                    "`status` is one of running, waiting, succeeded, failed, cancelled; got `{s}`"
                ))
            })
        })
        .transpose()?;
    let after = p
        .after
        .map(|a| {
            uuid::Uuid::parse_str(&a)
                .map_err(|_| bad_request(format!("`after` must be an operation id, got `{a}`")))
        })
        .transpose()?;
    let query = OperationQuery {
        tenant,
        status,
        plugin: p.plugin,
        limit: p.limit,
        after,
    };
    let ops = state.store.list_operations(&query).await?;
    let full_page = ops.len()
        == p.limit
            .unwrap_or(broker_store::DEFAULT_OPERATION_LIMIT)
            .clamp(1, broker_store::MAX_OPERATION_LIMIT) as usize;
    let next_after = ops
        .last()
        .filter(|_| full_page)
        .map(|op| op.operation.id.to_string());
    let ops: Vec<Value> = ops.iter().map(|op| operation_json(op, false)).collect();
    Ok(axum::Json(json!({ "operations": ops, "next_after": next_after })).into_response())
}

/// `DELETE /v1/operations/{id}`: cancels a running operation. The call stops before its next
/// host call; the answer lists the upstream calls it had already made (none is made after).
async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Parts,
) -> ApiResult {
    let tenant = tenant(&state, &request).await?;
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return Err(not_found(&id));
    };
    let reason = format!(
        "cancelled by the client (request id {})",
        current_request_id()
    );
    let running = state.operations.get(&tenant, uuid);
    let stored = state.store.cancel_operation(&tenant, uuid, &reason).await?;
    if let Some(op) = &stored
        && op.status != OperationStatus::Cancelled
        && op.status.is_finished()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "operation {id} has already {}; nothing to cancel (request id {})",
                op.status.as_str(),
                current_request_id()
            ),
        ));
    }
    let (calls, known) = match (&running, &stored) {
        (Some(running), _) => (running.control.cancel(), true),
        // Run by another broker sharing the store: it is marked cancelled there, and its
        // calls are known once it ends.
        (None, Some(op)) => (op.upstream_calls.clone(), op.response.is_some()),
        (None, None) => return Err(not_found(&id)),
    };
    Ok(axum::Json(json!({
        "id": uuid.to_string(),
        "status": OperationStatus::Cancelled.as_str(),
        "upstream_calls": calls_json(&calls),
        "upstream_calls_complete": known,
    }))
    .into_response())
}
