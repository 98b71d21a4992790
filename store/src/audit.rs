//! The audit log: one row per plugin call, append-only, kept when a tenant is deleted.

use time::OffsetDateTime;

use crate::{Result, Store, StoreError, from_millis, to_millis, with_pool, with_tx};

/// Rows returned when [`AuditQuery::limit`] is `None`.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;
/// Most rows one [`Store::audit`] call returns; page with [`AuditQuery::before_id`] for more.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

const INSERT: &str = "INSERT INTO audit (at, tenant, plugin, route, request_id, guids, outcome, \
     status, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
// Every filter is optional: `$n IS NULL OR ...` keeps this one static statement.
const QUERY: &str = "SELECT id, at, tenant, plugin, route, request_id, guids, outcome, status, \
     duration_ms FROM audit WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR plugin = $2) \
     AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) AND ($5 IS NULL OR id < $5) \
     ORDER BY id DESC LIMIT $6";

/// One plugin call, as the host records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the call started (stored with millisecond precision).
    pub at: OffsetDateTime,
    /// The calling tenant; `None` for admin calls.
    pub tenant: Option<String>,
    /// Plugin that handled the call.
    pub plugin: String,
    /// Route (path) that was called.
    pub route: String,
    /// Request id, to join with logs.
    pub request_id: String,
    /// Resource ids (GUIDs) the request named, to answer "who touched this resource".
    pub guids: Vec<String>,
    /// `"ok"`, `"error"`, or a host failure class such as `"trap"`.
    pub outcome: String,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Wall time of the call.
    pub duration_ms: u64,
}

/// A stored [`AuditRecord`] with its id (increasing in insertion order; use it for paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Row id.
    pub id: i64,
    /// The record.
    pub record: AuditRecord,
}

/// Filters for [`Store::audit`]; `Default` = the newest [`DEFAULT_AUDIT_LIMIT`] rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this tenant's calls.
    pub tenant: Option<String>,
    /// Only this plugin's calls.
    pub plugin: Option<String>,
    /// Only calls at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only calls before this time.
    pub until: Option<OffsetDateTime>,
    /// Rows to return: default [`DEFAULT_AUDIT_LIMIT`], capped at [`MAX_AUDIT_LIMIT`].
    pub limit: Option<u32>,
    /// Paging: only rows with `id < before_id`; pass the last id of the previous page.
    pub before_id: Option<i64>,
}

/// The effective row limit of a query.
pub(crate) fn effective_limit(limit: Option<u32>) -> u32 {
    limit
        .unwrap_or(DEFAULT_AUDIT_LIMIT)
        .clamp(1, MAX_AUDIT_LIMIT)
}

type Row = (
    i64,
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

fn from_row(r: Row) -> Result<AuditRow> {
    let corrupt = |what: &str| StoreError::Invalid(format!("audit row {}: bad {what}", r.0));
    Ok(AuditRow {
        id: r.0,
        record: AuditRecord {
            at: from_millis(r.1),
            tenant: r.2.clone(),
            plugin: r.3.clone(),
            route: r.4.clone(),
            request_id: r.5.clone(),
            guids: serde_json::from_str(&r.6).map_err(|_| corrupt("guids"))?,
            outcome: r.7.clone(),
            status: u16::try_from(r.8).map_err(|_| corrupt("status"))?,
            duration_ms: u64::try_from(r.9).map_err(|_| corrupt("duration_ms"))?,
        },
    })
}

impl Store {
    /// Appends one record; returns its id. The tenant is stored by name and not checked, so
    /// calls of deleted or unknown tenants are recorded too.
    pub async fn record_call(&self, record: &AuditRecord) -> Result<i64> {
        let ids = self.record_calls(std::slice::from_ref(record)).await?;
        Ok(ids[0])
    }

    /// Appends several records in one transaction: one commit (one fsync) for the lot, which
    /// is what keeps a busy broker's audit writer cheap. All or none are written; returns the
    /// new ids in order.
    pub async fn record_calls(&self, records: &[AuditRecord]) -> Result<Vec<i64>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(records.len());
        with_tx!(self, tx => {
            for record in records {
                let guids = serde_json::to_string(&record.guids).expect("a list of strings serialises");
                let (id,): (i64,) = sqlx::query_as(INSERT)
                    .bind(to_millis(record.at))
                    .bind(&record.tenant)
                    .bind(&record.plugin)
                    .bind(&record.route)
                    .bind(&record.request_id)
                    .bind(&guids)
                    .bind(&record.outcome)
                    .bind(i64::from(record.status))
                    .bind(i64::try_from(record.duration_ms).unwrap_or(i64::MAX))
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
        });
        Ok(ids)
    }

    /// Matching rows, newest first (by id), at most [`AuditQuery::limit`] of them.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        let rows: Vec<Row> = with_pool!(self, pool => sqlx::query_as(QUERY)
            .bind(&query.tenant)
            .bind(&query.plugin)
            .bind(query.since.map(to_millis))
            .bind(query.until.map(to_millis))
            .bind(query.before_id)
            .bind(i64::from(effective_limit(query.limit)))
            .fetch_all(pool).await)?;
        rows.into_iter().map(from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_limit_defaults_to_100_and_is_capped_at_1000() {
        assert_eq!(effective_limit(None), 100);
        assert_eq!(effective_limit(Some(5)), 5);
        assert_eq!(effective_limit(Some(0)), 1);
        assert_eq!(effective_limit(Some(50_000)), 1000);
    }
}
