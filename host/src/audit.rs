//! The audit log writer: no plugin call is answered without its row.
//!
//! # The guarantee
//!
//! With `limits.audit_durable = true` (the default) a plugin request is answered only after the
//! transaction holding its audit row has **committed**. What "committed" survives depends on the
//! store:
//!
//! * **SQLite** (the embedded default; WAL journal, `synchronous = NORMAL`): the row survives a
//!   crash of the broker process — `kill -9`, a panic, the OOM killer — because a commit has been
//!   written to the `-wal` file (the OS holds it even if the process dies). It does **not**
//!   necessarily survive a power loss or an OS crash: at `NORMAL`, SQLite fsyncs the WAL only at
//!   checkpoints, so the last transactions before the power cut may be rolled back on recovery
//!   (the database itself stays consistent).
//! * **PostgreSQL** (server default `synchronous_commit = on`): `COMMIT` returns after the WAL
//!   is flushed to disk, so the row also survives a power loss of the database server.
//!
//! Group commit keeps this cheap: one writer task takes whatever rows have queued up (at most
//! [`BATCH`]) and writes them as one transaction — one commit for the lot — then wakes every
//! request waiting on that batch. A write that fails (database locked, connection lost) is
//! retried with backoff and never dropped; meanwhile the requests wait, and once [`QUEUE`] rows
//! are waiting new requests wait to queue theirs.
//!
//! A plugin call's finished operation (`crate::operations`) rides in the same transaction as
//! its audit row, so it is exactly as durable and costs no commit of its own.
//!
//! With `audit_durable = false` a request is answered as soon as its row is queued: faster,
//! but a process crash loses the rows still queued (at most [`QUEUE`]).
//!
//! # Refusals
//!
//! Requests refused at the door (401, 403, 405, 413, 429, 503) are counted, not written one by
//! one: each interval (`limits.audit_refusal_secs`) writes one summary row per tenant (or, before
//! the tenant is known, per client address), plugin, outcome and status, with a `count`. So a
//! flood of refusals costs at most [`MAX_REFUSAL_KEYS`] rows per interval. Summaries are not
//! durable before the answer: a crash loses the current interval's counts.
//!
//! # Retention
//!
//! Rows older than `limits.audit_retention_days` are deleted at start and every
//! [`PURGE_EVERY`] (0 days keeps them forever).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use broker_store::{AuditRecord, FinishedOperation, Store};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::Limits;

/// Rows waiting to be written before requests start to wait for room in the queue.
pub const QUEUE: usize = 10_000;
/// Most rows written in one transaction: the writer takes whatever has queued up since its
/// last write, so a busy broker pays one commit per batch instead of one per request.
pub const BATCH: usize = 256;
/// Distinct refusal summaries kept per interval; past it, new tenants and addresses are
/// counted together in one row per plugin, outcome and status (tenant and client empty).
pub const MAX_REFUSAL_KEYS: usize = 1_000;
/// How often old rows are purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// First wait before retrying a failed write; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(50);
/// Longest wait between two attempts to write a batch.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// How the audit log behaves (from [`Limits`]).
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// Answer a plugin call only once its row has committed.
    pub durable: bool,
    /// How often refusal summaries are written.
    pub refusal_interval: Duration,
    /// Rows older than this are purged; `None` keeps them forever.
    pub retention: Option<Duration>,
}

impl AuditSettings {
    /// The settings in the operator's limits.
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            durable: limits.audit_durable,
            refusal_interval: Duration::from_secs(limits.audit_refusal_secs.max(1)),
            retention: (limits.audit_retention_days > 0)
                .then(|| Duration::from_secs(u64::from(limits.audit_retention_days) * 86_400)),
        }
    }
}

/// A refused request, as [`AuditLog::refused`] counts it.
#[derive(Debug, Clone, Copy)]
pub struct Refused<'a> {
    /// The tenant, when the key was valid.
    pub tenant: Option<&'a str>,
    /// The client's address (recorded only when the tenant is unknown).
    pub client: Option<IpAddr>,
    /// The plugin the request was routed to.
    pub plugin: &'a str,
    /// The path requested.
    pub route: &'a str,
    /// The request id.
    pub request_id: &'a str,
    /// Why it was refused, e.g. `unauthorized`, `throttled`.
    pub outcome: &'static str,
    /// The status answered.
    pub status: u16,
}

/// One row queued for the writer, with whoever waits for it to commit.
struct Pending {
    record: AuditRecord,
    /// The call's finished operation, written in the same transaction as its row.
    operation: Option<FinishedOperation>,
    written: Option<oneshot::Sender<()>>,
}

/// What one summary row stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RefusalKey {
    tenant: Option<String>,
    client: Option<String>,
    plugin: String,
    outcome: &'static str,
    status: u16,
}

/// The first refusal of a key in the interval, and how many there were.
#[derive(Debug)]
struct RefusalCount {
    at: OffsetDateTime,
    route: String,
    request_id: String,
    count: u64,
}

/// Refusals counted since the last summary was written.
#[derive(Debug, Default)]
struct RefusalTally(HashMap<RefusalKey, RefusalCount>);

impl RefusalTally {
    fn count(&mut self, refused: &Refused<'_>, at: OffsetDateTime) {
        let mut key = RefusalKey {
            tenant: refused.tenant.map(str::to_string),
            client: match refused.tenant {
                Some(_) => None,
                None => refused.client.map(|ip| ip.to_string()),
            },
            plugin: refused.plugin.to_string(),
            outcome: refused.outcome,
            status: refused.status,
        };
        if self.0.len() >= MAX_REFUSAL_KEYS && !self.0.contains_key(&key) {
            key.tenant = None;
            key.client = None;
        }
        self.0
            .entry(key)
            .or_insert_with(|| RefusalCount {
                at,
                route: refused.route.to_string(),
                request_id: refused.request_id.to_string(),
                count: 0,
            })
            .count += 1;
    }

    /// The summary rows, emptying the tally.
    fn take(&mut self) -> Vec<AuditRecord> {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|(key, c)| AuditRecord {
                at: c.at,
                tenant: key.tenant,
                plugin: key.plugin,
                route: c.route,
                request_id: c.request_id,
                guids: Vec::new(),
                outcome: key.outcome.to_string(),
                status: key.status,
                duration_ms: 0,
                count: c.count,
                client: key.client,
            })
            .collect()
    }
}

/// The audit log, shared by the request handlers.
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
    durable: bool,
    refusals: Arc<Mutex<RefusalTally>>,
}

/// The audit log's background tasks; [`AuditTasks::close`] writes what is left and stops them.
pub struct AuditTasks {
    writer: JoinHandle<()>,
    periodic: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl AuditLog {
    /// Starts the writer and the periodic task (refusal summaries, retention purge).
    pub fn start(store: Store, settings: AuditSettings) -> (Arc<AuditLog>, AuditTasks) {
        let (queue, records) = mpsc::channel::<Pending>(QUEUE);
        let refusals = Arc::new(Mutex::new(RefusalTally::default()));
        let writer = tokio::spawn(write_rows(store.clone(), records));
        let (stop, stopped) = oneshot::channel();
        let periodic = tokio::spawn(periodic(
            store,
            queue.clone(),
            refusals.clone(),
            settings.clone(),
            stopped,
        ));
        let log = Arc::new(AuditLog {
            queue,
            durable: settings.durable,
            refusals,
        });
        (
            log,
            AuditTasks {
                writer,
                periodic,
                stop,
            },
        )
    }

    /// Records one plugin call. In durable mode, returns once its row has committed (see the
    /// module doc); otherwise once it is queued.
    pub async fn record(&self, record: AuditRecord) {
        self.record_with(record, None).await
    }

    /// [`AuditLog::record`], writing the call's finished operation in the same transaction:
    /// a sync call's operation costs no commit of its own.
    pub async fn record_with(&self, record: AuditRecord, operation: Option<FinishedOperation>) {
        let (written, committed) = match self.durable {
            true => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            false => (None, None),
        };
        let request_id = record.request_id.clone();
        let pending = Pending {
            record,
            operation,
            written,
        };
        if self.queue.send(pending).await.is_err() {
            tracing::error!(error.type = "audit_write_failed", %request_id, "audit writer has stopped");
            return;
        }
        if let Some(committed) = committed
            && committed.await.is_err()
        {
            tracing::error!(error.type = "audit_write_failed", %request_id, "audit writer stopped before the row committed");
        }
    }

    /// Counts one refused request towards this interval's summary rows.
    pub fn refused(&self, refused: Refused<'_>) {
        self.refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .count(&refused, OffsetDateTime::now_utc());
    }
}

impl AuditTasks {
    /// Writes the pending refusal summaries, stops the periodic task, then waits until every
    /// queued row is written. The writer ends once every [`AuditLog`] handle is dropped: the
    /// caller drops its own first; requests still running hold theirs until they are audited.
    pub async fn close(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.periodic.await {
            tracing::error!(error.type = "audit_write_failed", "audit periodic task failed: {e}");
        }
        if let Err(e) = self.writer.await {
            tracing::error!(error.type = "audit_write_failed", "audit writer failed: {e}");
        }
    }
}

/// The writer: group commit of whatever has queued up, then wake the waiters.
async fn write_rows(store: Store, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut records = Vec::with_capacity(BATCH);
    let mut operations = Vec::new();
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let waiters: Vec<_> = batch
            .drain(..)
            .filter_map(|pending| {
                records.push(pending.record);
                operations.extend(pending.operation);
                pending.written
            })
            .collect();
        write_until_done(&store, &records, &operations).await;
        records.clear();
        operations.clear();
        for waiter in waiters {
            // The request may have been dropped (client gone is not a reason: the call runs in
            // its own task; a panic is): nothing to wake then.
            let _ = waiter.send(());
        }
    }
}

/// Writes `records` as one transaction, retrying with backoff until it commits.
async fn write_until_done(
    store: &Store,
    records: &[AuditRecord],
    operations: &[FinishedOperation],
) {
    let mut wait = FIRST_RETRY_WAIT;
    let mut attempt = 1u32;
    loop {
        match store.record_calls_and_operations(records, operations).await {
            Ok(_) => {
                if attempt > 1 {
                    tracing::warn!(
                        rows = records.len(),
                        attempts = attempt,
                        "audit rows written after retrying"
                    );
                }
                return;
            }
            Err(e) => {
                tracing::error!(
                    error.type = "audit_write_failed",
                    rows = records.len(),
                    first_request_id = %records[0].request_id,
                    attempt,
                    retry_in_ms = wait.as_millis() as u64,
                    "could not write audit rows, retrying: {e}"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY_WAIT);
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// Writes refusal summaries each interval and purges old rows, until told to stop (then it
/// writes the last summaries).
async fn periodic(
    store: Store,
    queue: mpsc::Sender<Pending>,
    refusals: Arc<Mutex<RefusalTally>>,
    settings: AuditSettings,
    mut stop: oneshot::Receiver<()>,
) {
    let mut summaries = tokio::time::interval(settings.refusal_interval);
    summaries.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut purges = tokio::time::interval(PURGE_EVERY);
    purges.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = summaries.tick() => queue_summaries(&refusals, &queue).await,
            _ = purges.tick(), if settings.retention.is_some() => {
                if let Some(retention) = settings.retention {
                    purge(&store, retention).await;
                }
            }
            _ = &mut stop => {
                queue_summaries(&refusals, &queue).await;
                return;
            }
        }
    }
}

async fn queue_summaries(refusals: &Mutex<RefusalTally>, queue: &mpsc::Sender<Pending>) {
    let rows = refusals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    for record in rows {
        if queue
            .send(Pending {
                record,
                operation: None,
                written: None,
            })
            .await
            .is_err()
        {
            tracing::error!(
                error.type = "audit_write_failed",
                "audit writer has stopped; refusal summaries lost"
            );
            return;
        }
    }
}

async fn purge(store: &Store, retention: Duration) {
    let cutoff = OffsetDateTime::now_utc() - retention;
    match store.purge_audit(cutoff).await {
        Ok(0) => {}
        Ok(rows) => tracing::info!(rows, %cutoff, "purged audit rows past the retention"),
        // The next purge tries again; rows are only kept longer meanwhile.
        Err(e) => {
            tracing::error!(error.type = "audit_purge_failed", "could not purge audit rows: {e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(tenant: Option<&'static str>, client: [u8; 4]) -> Refused<'static> {
        Refused {
            tenant,
            client: Some(IpAddr::from(client)),
            plugin: "qcloud",
            route: "/v1/qcloud/vpc/create",
            request_id: "r",
            outcome: "unauthorized",
            status: 401,
        }
    }

    #[test]
    fn refusals_are_counted_per_tenant_or_address_plugin_and_outcome() {
        let mut tally = RefusalTally::default();
        let now = OffsetDateTime::now_utc();
        for _ in 0..500 {
            tally.count(&refused(None, [10, 0, 0, 1]), now);
            tally.count(&refused(Some("acme"), [10, 0, 0, 2]), now);
        }
        tally.count(&refused(None, [10, 0, 0, 3]), now);
        let mut rows = tally.take();
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[0].count, 500);
        assert_eq!(rows[1].count, 500);
        let acme = rows
            .iter()
            .find(|r| r.tenant.as_deref() == Some("acme"))
            .unwrap();
        assert_eq!(acme.client, None, "a known tenant is not split by address");
        assert!(tally.take().is_empty(), "taking empties the tally");
    }

    #[test]
    fn retention_zero_keeps_rows_forever() {
        let limits = Limits::default();
        let settings = AuditSettings::from_limits(&limits);
        assert!(settings.durable);
        assert_eq!(settings.retention, Some(Duration::from_secs(90 * 86_400)));
        let forever = AuditSettings::from_limits(&Limits {
            audit_retention_days: 0,
            ..limits
        });
        assert_eq!(forever.retention, None);
    }

    #[test]
    fn a_flood_from_many_addresses_stays_within_the_key_cap() {
        let mut tally = RefusalTally::default();
        let now = OffsetDateTime::now_utc();
        for i in 0..5_000u32 {
            tally.count(&refused(None, i.to_be_bytes()), now);
        }
        let rows = tally.take();
        assert_eq!(rows.len(), MAX_REFUSAL_KEYS + 1);
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), 5_000);
        let overflow = rows.iter().find(|r| r.client.is_none()).unwrap();
        assert_eq!(overflow.count, 5_000 - MAX_REFUSAL_KEYS as u64);
    }

    async fn memory_store() -> Store {
        Store::open("sqlite::memory:", broker_store::SecretsKey::generate())
            .await
            .unwrap()
    }

    fn call(request_id: &str, at: OffsetDateTime) -> AuditRecord {
        AuditRecord {
            at,
            tenant: Some("acme".into()),
            plugin: "qcloud".into(),
            route: "/v1/qcloud/vpc/create".into(),
            request_id: request_id.into(),
            guids: vec![],
            outcome: "ok".into(),
            status: 200,
            duration_ms: 1,
            count: 1,
            client: None,
        }
    }

    fn settings(durable: bool, retention_days: u64) -> AuditSettings {
        AuditSettings {
            durable,
            refusal_interval: Duration::from_secs(3600),
            retention: (retention_days > 0).then(|| Duration::from_secs(retention_days * 86_400)),
        }
    }

    #[tokio::test]
    async fn a_durable_record_returns_after_its_row_is_committed() {
        let store = memory_store().await;
        let (log, _tasks) = AuditLog::start(store.clone(), settings(true, 0));
        let now = OffsetDateTime::now_utc();
        // Concurrent requests share commits; each finds its own row once `record` returns.
        let requests: Vec<_> = (0..50)
            .map(|i| {
                let (log, store) = (log.clone(), store.clone());
                tokio::spawn(async move {
                    let id = format!("r{i}");
                    log.record(call(&id, now)).await;
                    let rows = store
                        .audit(&broker_store::AuditQuery {
                            limit: Some(1000),
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                    assert!(rows.iter().any(|r| r.record.request_id == id), "{id}");
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_calls_operation_is_committed_with_its_row_before_record_returns() {
        let store = memory_store().await;
        let (log, _tasks) = AuditLog::start(store.clone(), settings(true, 0));
        let now = OffsetDateTime::now_utc();
        let operation = broker_store::NewOperation {
            id: uuid::Uuid::new_v4(),
            tenant: "acme".into(),
            plugin: "qcloud".into(),
            method: "POST".into(),
            path: "/v1/qcloud/vpc/create".into(),
            request_id: "op".into(),
            created_at: now,
            idempotency_key: None,
            request_hash: None,
        };
        let finished = FinishedOperation {
            operation: operation.clone(),
            status: broker_store::OperationStatus::Succeeded,
            finished_at: now,
            response: broker_store::StoredResponse {
                status: 200,
                content_type: Some("application/json".into()),
                body: b"{}".to_vec(),
            },
            error: None,
            upstream_calls: vec![],
        };
        log.record_with(call("op", now), Some(finished)).await;
        let stored = store.operation("acme", operation.id).await.unwrap();
        assert_eq!(
            stored.map(|op| op.status),
            Some(broker_store::OperationStatus::Succeeded)
        );
        assert_eq!(store.audit(&Default::default()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rows_past_the_retention_are_purged_at_start() {
        let store = memory_store().await;
        let now = OffsetDateTime::now_utc();
        store
            .record_calls(&[
                call("old", now - time::Duration::days(91)),
                call("recent", now - time::Duration::days(89)),
            ])
            .await
            .unwrap();
        let (log, tasks) = AuditLog::start(store.clone(), settings(true, 90));
        let mut left = Vec::new();
        for _ in 0..100 {
            left = store.audit(&Default::default()).await.unwrap();
            if left.len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].record.request_id, "recent");
        drop(log);
        tokio::time::timeout(Duration::from_secs(10), tasks.close())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn refusal_summaries_are_written_at_close() {
        let store = memory_store().await;
        let (log, tasks) = AuditLog::start(store.clone(), settings(true, 0));
        for _ in 0..300 {
            log.refused(refused(None, [192, 0, 2, 1]));
        }
        drop(log);
        tokio::time::timeout(Duration::from_secs(10), tasks.close())
            .await
            .unwrap();
        let rows = store.audit(&Default::default()).await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].record.count, 300);
        assert_eq!(rows[0].record.client.as_deref(), Some("192.0.2.1"));
        assert_eq!(rows[0].record.status, 401);
    }
}
