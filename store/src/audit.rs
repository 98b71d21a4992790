//! The audit log: one row per plugin call, append-only, kept when a tenant is deleted.
//!
//! Every field a client controls is capped when written ([`MAX_GUID_BYTES`], [`MAX_GUIDS`],
//! [`MAX_GUIDS_BYTES`], [`MAX_ROUTE_BYTES`], ...), so a row is a few KiB at most and a page of
//! [`MAX_AUDIT_LIMIT`] rows stays a few MiB. Old rows go with [`Store::purge_audit`].

use time::OffsetDateTime;

use crate::{Result, Store, StoreError, from_millis, to_millis, with_pool};

/// Rows returned when [`AuditQuery::limit`] is `None`.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;
/// Most rows one [`Store::audit`] call returns; page with [`AuditQuery::before_id`] for more.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// Longest guid kept; a longer one is cut and ends in `…`. Real resource ids are < 64 bytes.
pub const MAX_GUID_BYTES: usize = 256;
/// Most guids kept per row; the rest are left out.
pub const MAX_GUIDS: usize = 100;
/// Most bytes of guids kept per row (after each is capped); the guids past it are left out.
pub const MAX_GUIDS_BYTES: usize = 8 << 10;
/// Longest route kept; a longer one is cut and ends in `…`.
pub const MAX_ROUTE_BYTES: usize = 1024;
/// Longest request id, tenant, plugin, outcome or client address kept. Request ids the broker
/// accepts are ≤ 128 bytes and names are short; this only guards the row against other writers.
pub const MAX_NAME_BYTES: usize = 256;
pub(crate) const INSERT: &str = "INSERT INTO audit (at, tenant, plugin, route, request_id, guids, outcome, \
     status, duration_ms, count, client) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     RETURNING id";
// Every filter is optional: `$n IS NULL OR ...` keeps this one static statement.
const QUERY: &str = "SELECT id, at, tenant, plugin, route, request_id, guids, outcome, status, \
     duration_ms, count, client FROM audit WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR plugin = $2) \
     AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) AND ($5 IS NULL OR id < $5) \
     ORDER BY id DESC LIMIT $6";
// Chunked, as `Store::purge_chunked` runs it: a bounded sub-select instead of `DELETE ... LIMIT`,
// which PostgreSQL lacks and SQLite has only as a compile-time option.
const PURGE: &str =
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY id LIMIT $2)";

/// One plugin call, or a summary of refused requests, as the host records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the call started (stored with millisecond precision).
    pub at: OffsetDateTime,
    /// The calling tenant; `None` for admin calls.
    pub tenant: Option<String>,
    /// Plugin that handled the call.
    pub plugin: String,
    /// Route (path) that was called; for a summary, the first refused one.
    pub route: String,
    /// Request id, to join with logs; for a summary, the first refused request's.
    pub request_id: String,
    /// Resource ids (GUIDs) the request named, to answer "who touched this resource".
    pub guids: Vec<String>,
    /// `"ok"`, `"error"`, or a host failure class such as `"trap"`.
    pub outcome: String,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Wall time of the call.
    pub duration_ms: u64,
    /// Requests this row stands for: 1 for a plugin call, more for a summary of refusals.
    pub count: u64,
    /// The client's address, for refusals before the tenant is known (bad or missing key).
    pub client: Option<String>,
}

impl AuditRecord {
    /// The record as it is stored: every field cut to its cap (see the module doc).
    pub fn bounded(&self) -> AuditRecord {
        let mut guids = Vec::new();
        let mut guid_bytes = 0;
        for guid in self.guids.iter().take(MAX_GUIDS) {
            let guid = cap(guid, MAX_GUID_BYTES);
            guid_bytes += guid.len();
            if guid_bytes > MAX_GUIDS_BYTES {
                break;
            }
            guids.push(guid);
        }
        AuditRecord {
            at: self.at,
            tenant: self.tenant.as_deref().map(|t| cap(t, MAX_NAME_BYTES)),
            plugin: cap(&self.plugin, MAX_NAME_BYTES),
            route: cap(&self.route, MAX_ROUTE_BYTES),
            request_id: cap(&self.request_id, MAX_NAME_BYTES),
            guids,
            outcome: cap(&self.outcome, MAX_NAME_BYTES),
            status: self.status,
            duration_ms: self.duration_ms,
            count: self.count.max(1),
            client: self.client.as_deref().map(|c| cap(c, MAX_NAME_BYTES)),
        }
    }
}

/// `text` if it fits in `max` bytes, otherwise its longest prefix (on a character boundary)
/// that fits with a trailing `…`, so a reader sees the value was cut. NUL characters are
/// removed: PostgreSQL refuses them in text, and a row that can never be written would stall
/// the audit writer, which retries rather than drops.
pub(crate) fn cap(text: &str, max: usize) -> String {
    let text = &text.replace('\0', "");
    if text.len() <= max {
        return text.to_string();
    }
    const MARK: &str = "…";
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
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
    i64,
    Option<String>,
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
            count: u64::try_from(r.10).map_err(|_| corrupt("count"))?,
            client: r.11.clone(),
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
    /// new ids in order. Each record is stored [`AuditRecord::bounded`].
    pub async fn record_calls(&self, records: &[AuditRecord]) -> Result<Vec<i64>> {
        self.record_calls_and_operations(records, &[]).await
    }

    /// Deletes the rows recorded before `cutoff` (the retention purge); returns how many.
    /// Works in chunks of a few thousand rows, each its own statement, so writers are never
    /// held up for long; rows of other brokers sharing the database go too.
    pub async fn purge_audit(&self, cutoff: OffsetDateTime) -> Result<u64> {
        self.purge_chunked(PURGE, cutoff).await
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

    #[test]
    fn a_long_value_is_cut_on_a_character_boundary_with_a_mark() {
        assert_eq!(cap("short", 10), "short");
        let cut = cap(&"é".repeat(100), 11);
        assert!(cut.len() <= 11, "{cut}");
        assert_eq!(cut, "éééé…");
        assert_eq!(cap("a\0b", 10), "ab");
    }
}
