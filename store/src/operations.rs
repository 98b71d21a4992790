//! Operations: every routed plugin call, with its final answer kept byte for byte.
//!
//! A call that must be visible before it ends (async mode, an `Idempotency-Key`) is written
//! `running` first by [`Store::begin_operation`]; the unique index on `(tenant,
//! idempotency_key)` makes two requests with one key one operation even when they race, on one
//! broker or several. Every call's final row is written by [`Store::record_calls_and_operations`]
//! in the audit writer's transaction (an upsert, so a sync call without a key costs no round
//! trip of its own). Old rows go with [`Store::purge_operations`]; keys are released earlier by
//! [`Store::expire_idempotency_keys`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::cap;
use crate::{AuditRecord, Result, Store, StoreError, from_millis, to_millis, with_pool, with_tx};

/// Rows returned when [`OperationQuery::limit`] is `None`.
pub const DEFAULT_OPERATION_LIMIT: u32 = 50;
/// Most rows one [`Store::list_operations`] call returns.
pub const MAX_OPERATION_LIMIT: u32 = 500;
/// Longest error text kept; longer ones are cut with a mark.
pub const MAX_ERROR_BYTES: usize = 4096;
/// Longest idempotency key accepted (the IETF draft sets none; ours keeps rows small).
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
/// Upstream calls recorded per operation; a poll loop past it keeps only the first ones.
pub const MAX_UPSTREAM_CALLS: usize = 1000;
const COLUMNS: &str = "id, tenant, plugin, method, path, request_id, status, created_at, \
     finished_at, idempotency_key, request_hash, response_status, response_type, response_body, \
     error, upstream_calls";
const BEGIN: &str = "INSERT INTO operations (id, tenant, plugin, method, path, request_id, status, \
     created_at, idempotency_key, request_hash) VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9) \
     ON CONFLICT (tenant, idempotency_key) DO NOTHING";
// An upsert: a row begun earlier is finished (a cancelled one stays cancelled, a row already
// finished — e.g. failed at a restart — is left alone); a call never begun is inserted whole.
const FINISH: &str = "INSERT INTO operations (id, tenant, plugin, method, path, request_id, status, \
     created_at, finished_at, idempotency_key, request_hash, response_status, response_type, \
     response_body, error, upstream_calls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
     $12, $13, $14, $15, $16) ON CONFLICT (id) DO UPDATE SET \
     status = CASE WHEN operations.status = 'cancelled' THEN 'cancelled' ELSE excluded.status END, \
     finished_at = COALESCE(operations.finished_at, excluded.finished_at), \
     response_status = excluded.response_status, response_type = excluded.response_type, \
     response_body = excluded.response_body, \
     error = COALESCE(operations.error, excluded.error), upstream_calls = excluded.upstream_calls \
     WHERE operations.status IN ('running', 'waiting', 'cancelled') \
     AND operations.response_status IS NULL";
const CANCEL: &str = "UPDATE operations SET status = 'cancelled', finished_at = $3, error = $4 \
     WHERE id = $1 AND tenant = $2 AND status IN ('running', 'waiting')";
const FAIL_UNFINISHED: &str = "UPDATE operations SET status = 'failed', finished_at = $1, error = $2 \
     WHERE status IN ('running', 'waiting')";
const EXPIRE_KEYS: &str = "UPDATE operations SET idempotency_key = NULL \
     WHERE idempotency_key IS NOT NULL AND created_at < $1 AND status NOT IN ('running', 'waiting')";
const PURGE: &str = "DELETE FROM operations WHERE id IN (SELECT id FROM operations \
     WHERE finished_at < $1 AND status NOT IN ('running', 'waiting') LIMIT $2)";

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationStatus {
    /// The plugin call is running.
    Running,
    /// Suspended until a wake time (journal replay; not written yet by this broker).
    Waiting,
    /// The plugin answered; its answer (whatever its status) is kept.
    Succeeded,
    /// The broker could not get the plugin's answer (crash, limit, restart, shutdown).
    Failed,
    /// A client cancelled it.
    Cancelled,
}

impl OperationStatus {
    /// The stored (and answered) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "running" => Self::Running,
            "waiting" => Self::Waiting,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether the operation has ended (no call runs for it any more).
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Running | Self::Waiting)
    }
}

/// What identifies an operation and the request that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    /// The operation id (a UUID).
    pub id: uuid::Uuid,
    /// The calling tenant.
    pub tenant: String,
    /// The plugin routed to.
    pub plugin: String,
    /// HTTP method.
    pub method: String,
    /// Path called (capped like the audit's route).
    pub path: String,
    /// The request id of the request that started it.
    pub request_id: String,
    /// When it started (stored with millisecond precision).
    pub created_at: OffsetDateTime,
    /// The client's `Idempotency-Key`, if any (at most [`MAX_IDEMPOTENCY_KEY_BYTES`]).
    pub idempotency_key: Option<String>,
    /// A hash of method, path, query and body, to tell a retry from a different request.
    pub request_hash: Option<String>,
}

/// The answer a finished operation gave, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if the answer had one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// An upstream call a plugin made: the host, and the action when the signing scheme names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamCall {
    /// Host the request went to (as the plugin named it, before the operator's mapping).
    pub host: String,
    /// The API action (`X-TC-Action`, `Action=`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
}

/// A finished operation, as the audit writer stores it beside the call's audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedOperation {
    /// The operation (inserted whole when it was never begun).
    pub operation: NewOperation,
    /// `succeeded`, `failed` or `cancelled`.
    pub status: OperationStatus,
    /// When it finished.
    pub finished_at: OffsetDateTime,
    /// What the client was (or would have been) answered.
    pub response: StoredResponse,
    /// Why it failed, for `failed` and `cancelled`.
    pub error: Option<String>,
    /// The upstream calls made.
    pub upstream_calls: Vec<UpstreamCall>,
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// What started it.
    pub operation: NewOperation,
    /// Where it stands.
    pub status: OperationStatus,
    /// When it ended.
    pub finished_at: Option<OffsetDateTime>,
    /// The answer, once the call ended.
    pub response: Option<StoredResponse>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The upstream calls made, once finished.
    pub upstream_calls: Vec<UpstreamCall>,
}

/// What [`Store::begin_operation`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// A new `running` operation was written.
    Started,
    /// The tenant already has an operation with this idempotency key.
    Existing(Box<Operation>),
}

/// Filters for [`Store::list_operations`]: one tenant's operations, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationQuery {
    /// Whose operations.
    pub tenant: String,
    /// Only this status.
    pub status: Option<OperationStatus>,
    /// Only this plugin's.
    pub plugin: Option<String>,
    /// Rows to return: default [`DEFAULT_OPERATION_LIMIT`], capped at [`MAX_OPERATION_LIMIT`].
    pub limit: Option<u32>,
    /// Paging: only operations after this one in the order (pass the last of the previous page).
    pub after: Option<uuid::Uuid>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    String,
);

fn from_row(r: Row) -> Result<Operation> {
    let corrupt = |what: &str| StoreError::Invalid(format!("operation {}: bad {what}", r.0));
    let response = match (r.11, r.13) {
        (Some(status), Some(body)) => Some(StoredResponse {
            status: u16::try_from(status).map_err(|_| corrupt("response status"))?,
            content_type: r.12,
            body,
        }),
        _ => None,
    };
    Ok(Operation {
        operation: NewOperation {
            id: uuid::Uuid::parse_str(&r.0).map_err(|_| corrupt("id"))?,
            tenant: r.1,
            plugin: r.2,
            method: r.3,
            path: r.4,
            request_id: r.5,
            created_at: from_millis(r.7),
            idempotency_key: r.9,
            request_hash: r.10,
        },
        status: OperationStatus::parse(&r.6).ok_or_else(|| corrupt("status"))?,
        finished_at: r.8.map(from_millis),
        response,
        error: r.14,
        upstream_calls: serde_json::from_str(&r.15).map_err(|_| corrupt("upstream calls"))?,
    })
}

impl NewOperation {
    /// The operation as stored: fields a client controls are capped.
    fn bounded(&self) -> NewOperation {
        NewOperation {
            path: cap(&self.path, crate::MAX_ROUTE_BYTES),
            method: cap(&self.method, crate::MAX_NAME_BYTES),
            request_id: cap(&self.request_id, crate::MAX_NAME_BYTES),
            ..self.clone()
        }
    }
}

/// The effective row limit of a listing.
fn effective_limit(limit: Option<u32>) -> u32 {
    limit
        .unwrap_or(DEFAULT_OPERATION_LIMIT)
        .clamp(1, MAX_OPERATION_LIMIT)
}

impl Store {
    /// Writes `new` as `running`, unless the tenant already has an operation with its
    /// idempotency key: then that one is returned and nothing is written. Racing requests with
    /// one key get one `Started` between them (the unique index decides).
    pub async fn begin_operation(&self, new: &NewOperation) -> Result<Begun> {
        if let Some(key) = &new.idempotency_key
            && key.len() > MAX_IDEMPOTENCY_KEY_BYTES
        {
            return Err(StoreError::Invalid(format!(
                "an idempotency key has at most {MAX_IDEMPOTENCY_KEY_BYTES} bytes"
            )));
        }
        let new = new.bounded();
        let inserted = with_pool!(self, pool => sqlx::query(BEGIN)
            .bind(new.id.to_string())
            .bind(&new.tenant)
            .bind(&new.plugin)
            .bind(&new.method)
            .bind(&new.path)
            .bind(&new.request_id)
            .bind(to_millis(new.created_at))
            .bind(&new.idempotency_key)
            .bind(&new.request_hash)
            .execute(pool).await.map(|done| done.rows_affected()))?;
        if inserted == 1 {
            return Ok(Begun::Started);
        }
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        match self.operation_by_key(&new.tenant, key).await? {
            Some(existing) => Ok(Begun::Existing(Box::new(existing))),
            // Only a key can conflict; its row went (purged) between the two statements.
            None => Err(StoreError::Conflict(format!(
                "operation with idempotency key `{key}` changed meanwhile; retry"
            ))),
        }
    }

    /// Appends audit records and writes finished operations, all in one transaction (one
    /// commit for the lot: see [`Store::record_calls`]). Returns the audit ids.
    pub async fn record_calls_and_operations(
        &self,
        records: &[AuditRecord],
        finished: &[FinishedOperation],
    ) -> Result<Vec<i64>> {
        if records.is_empty() && finished.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(records.len());
        with_tx!(self, tx => {
            for record in records {
                let record = record.bounded();
                let guids = serde_json::to_string(&record.guids)
                    .map_err(|e| StoreError::Invalid(format!("audit guids: {e}")))?;
                let (id,): (i64,) = sqlx::query_as(crate::audit::INSERT)
                    .bind(to_millis(record.at))
                    .bind(&record.tenant)
                    .bind(&record.plugin)
                    .bind(&record.route)
                    .bind(&record.request_id)
                    .bind(&guids)
                    .bind(&record.outcome)
                    .bind(i64::from(record.status))
                    .bind(i64::try_from(record.duration_ms).unwrap_or(i64::MAX))
                    .bind(i64::try_from(record.count).unwrap_or(i64::MAX))
                    .bind(&record.client)
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
            for done in finished {
                let op = done.operation.bounded();
                let calls: Vec<_> = done.upstream_calls.iter().take(MAX_UPSTREAM_CALLS).collect();
                let calls = serde_json::to_string(&calls)
                    .map_err(|e| StoreError::Invalid(format!("upstream calls: {e}")))?;
                sqlx::query(FINISH)
                    .bind(op.id.to_string())
                    .bind(&op.tenant)
                    .bind(&op.plugin)
                    .bind(&op.method)
                    .bind(&op.path)
                    .bind(&op.request_id)
                    .bind(done.status.as_str())
                    .bind(to_millis(op.created_at))
                    .bind(to_millis(done.finished_at))
                    .bind(&op.idempotency_key)
                    .bind(&op.request_hash)
                    .bind(i64::from(done.response.status))
                    .bind(&done.response.content_type)
                    .bind(&done.response.body)
                    .bind(done.error.as_deref().map(|e| cap(e, MAX_ERROR_BYTES)))
                    .bind(calls)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(ids)
    }

    /// The tenant's operation `id`; `None` when it does not exist or is another tenant's.
    pub async fn operation(&self, tenant: &str, id: uuid::Uuid) -> Result<Option<Operation>> {
        let sql = format!("SELECT {COLUMNS} FROM operations WHERE id = $1 AND tenant = $2");
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(tenant)
            .fetch_optional(pool).await)?;
        row.map(from_row).transpose()
    }

    /// The tenant's operation holding idempotency key `key`.
    pub async fn operation_by_key(&self, tenant: &str, key: &str) -> Result<Option<Operation>> {
        let sql =
            format!("SELECT {COLUMNS} FROM operations WHERE tenant = $1 AND idempotency_key = $2");
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(tenant)
            .bind(key)
            .fetch_optional(pool).await)?;
        row.map(from_row).transpose()
    }

    /// The tenant's operations, newest first (by start time, then id), filtered and paged.
    pub async fn list_operations(&self, query: &OperationQuery) -> Result<Vec<Operation>> {
        // The cursor is an operation id: its (created_at, id) bounds the page.
        let sql = format!(
            "SELECT {COLUMNS} FROM operations o WHERE tenant = $1 \
             AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR plugin = $3) \
             AND ($4 IS NULL OR EXISTS (SELECT 1 FROM operations c WHERE c.id = $4 \
                 AND c.tenant = o.tenant AND (o.created_at < c.created_at \
                 OR (o.created_at = c.created_at AND o.id < c.id)))) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        let rows: Vec<Row> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(&query.tenant)
            .bind(query.status.map(OperationStatus::as_str))
            .bind(&query.plugin)
            .bind(query.after.map(|id| id.to_string()))
            .bind(i64::from(effective_limit(query.limit)))
            .fetch_all(pool).await)?;
        rows.into_iter().map(from_row).collect()
    }

    /// Marks the tenant's operation `id` cancelled if it is still running; returns it as it is
    /// now (`None`: no such operation of this tenant). The call itself is stopped by the host.
    pub async fn cancel_operation(
        &self,
        tenant: &str,
        id: uuid::Uuid,
        reason: &str,
    ) -> Result<Option<Operation>> {
        with_pool!(self, pool => sqlx::query(CANCEL)
            .bind(id.to_string())
            .bind(tenant)
            .bind(to_millis(OffsetDateTime::now_utc()))
            .bind(cap(reason, MAX_ERROR_BYTES))
            .execute(pool).await.map(|_| ()))?;
        self.operation(tenant, id).await
    }

    /// Marks every unfinished operation `failed` with `error`; returns how many. For a broker
    /// that is the store's only user, at start: nothing runs them any more.
    pub async fn fail_unfinished_operations(&self, error: &str) -> Result<u64> {
        let done = with_pool!(self, pool => sqlx::query(FAIL_UNFINISHED)
            .bind(to_millis(OffsetDateTime::now_utc()))
            .bind(cap(error, MAX_ERROR_BYTES))
            .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Releases the idempotency keys of finished operations started before `cutoff`, so the
    /// key may start a new operation; returns how many.
    pub async fn expire_idempotency_keys(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let done = with_pool!(self, pool => sqlx::query(EXPIRE_KEYS)
            .bind(to_millis(cutoff))
            .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Deletes operations that finished before `cutoff`, in chunks; returns how many.
    pub async fn purge_operations(&self, cutoff: OffsetDateTime) -> Result<u64> {
        self.purge_chunked(PURGE, cutoff).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_running_and_waiting_are_open() {
        for status in [
            OperationStatus::Running,
            OperationStatus::Waiting,
            OperationStatus::Succeeded,
            OperationStatus::Failed,
            OperationStatus::Cancelled,
        ] {
            assert_eq!(OperationStatus::parse(status.as_str()), Some(status));
        }
        assert!(!OperationStatus::Running.is_finished());
        assert!(!OperationStatus::Waiting.is_finished());
        assert!(OperationStatus::Cancelled.is_finished());
        assert_eq!(OperationStatus::parse("done"), None);
        assert_eq!(effective_limit(Some(10_000)), MAX_OPERATION_LIMIT);
    }
}
