//! Operations: every routed plugin call is one, with an id a client can poll, cancel, and
//! retry with an `Idempotency-Key` (README, "Long operations").
//!
//! The rows live in the store (`broker_store::Operation`). This module keeps what only the
//! broker running a call knows: the calls running here (the per-tenant cap on open
//! operations, cancelling, handing the answer to requests attached by key) and the task that
//! releases old idempotency keys and purges old operations.
//!
//! What survives a restart today: finished operations, with their answers. A call cannot
//! outlive the process that runs it yet (journal replay will change that), so at start a broker
//! on SQLite marks the operations still `running` as failed ([`fail_unfinished_at_start`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use broker_store::{NewOperation, OperationStatus, Store, StoredResponse};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::capabilities::CallControl;
use crate::config::Limits;

/// How often old keys are released and old operations purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often a request attached to an operation another broker runs looks at the store.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Shortest time an idempotency key is kept, whatever the setting says (the IETF draft's
/// clients retry within a day).
const MIN_KEY_HOURS: u32 = 24;
/// The error of an operation found running at start.
pub const RESTART_ERROR: &str = "the broker restarted before the call finished; upstream work \
     the call started (e.g. a resource being created) may exist: check before retrying";

/// How operations behave (from [`Limits`]).
#[derive(Debug, Clone)]
pub struct OperationSettings {
    /// Operations of one tenant that may run at once on this broker.
    pub open_per_tenant: u32,
    /// How long an idempotency key attaches retries to its operation.
    pub key_retention: Duration,
    /// How long finished operations are kept; `None` keeps them forever.
    pub retention: Option<Duration>,
}

impl OperationSettings {
    /// The settings in the operator's limits.
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            open_per_tenant: limits.operations_open_per_tenant.max(1),
            key_retention: Duration::from_secs(
                u64::from(limits.idempotency_key_hours.max(MIN_KEY_HOURS)) * 3600,
            ),
            retention: (limits.operations_retention_days > 0)
                .then(|| Duration::from_secs(u64::from(limits.operations_retention_days) * 86_400)),
        }
    }
}

/// How a request asks to be run: `Prefer: respond-async` and its `Idempotency-Key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mode {
    /// Answer `202 Accepted` at once and let the client poll.
    pub respond_async: bool,
    /// The client's idempotency key.
    pub key: Option<String>,
}

impl Mode {
    /// Reads the `Prefer` (RFC 7240) and `Idempotency-Key` headers; `Err` says what is wrong
    /// with the key.
    pub fn from_headers(headers: &HeaderMap) -> Result<Mode, String> {
        let respond_async = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|preference| {
                let token = preference.split(';').next().unwrap_or_default().trim();
                token.eq_ignore_ascii_case("respond-async")
            });
        let key = match headers.get("idempotency-key") {
            None => None,
            Some(value) => Some(parse_key(value.to_str().unwrap_or("\u{0}"))?),
        };
        Ok(Mode { respond_async, key })
    }
}

/// The key of an `Idempotency-Key` header: a structured-field string (`"..."`, as the draft
/// writes it) or, leniently, a bare token.
fn parse_key(value: &str) -> Result<String, String> {
    let value = value.trim();
    let key = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let max = broker_store::MAX_IDEMPOTENCY_KEY_BYTES;
    if key.is_empty() || key.len() > max || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(format!(
            "the Idempotency-Key header must be 1 to {max} printable ASCII characters, \
             e.g. a UUID"
        ));
    }
    Ok(key.to_string())
}

/// What tells a retry from a different request under one key: a fingerprint of method, path,
/// query and body keyed with the store's secrets key. Bodies may carry inline cloud secrets;
/// a plain hash in the operations table would let anyone who reads it test guesses of them.
pub fn request_hash(store: &Store, method: &str, path: &str, query: &str, body: &[u8]) -> String {
    store.fingerprint(
        "idempotency-request",
        &[method.as_bytes(), path.as_bytes(), query.as_bytes(), body],
    )
}

/// A finished call's outcome, as attached requests get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: OperationStatus,
    /// What the call answered.
    pub response: StoredResponse,
}

/// A call running on this broker.
#[derive(Debug)]
pub struct Running {
    /// The operation.
    pub operation: NewOperation,
    /// Cancels the call; knows its upstream calls.
    pub control: Arc<CallControl>,
    outcome: watch::Sender<Option<Arc<Outcome>>>,
}

/// The calls running on this broker, and the retention settings.
pub struct Operations {
    store: Store,
    settings: OperationSettings,
    running: Mutex<HashMap<uuid::Uuid, Arc<Running>>>,
}

/// Why a new operation is refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "tenant `{tenant}` already has {limit} operations running; wait for one to finish (GET \
     /v1/operations?status=running lists them)"
)]
pub struct TooManyOpen {
    /// The tenant.
    pub tenant: String,
    /// Its cap.
    pub limit: u32,
}

/// A call counted as running until this is dropped (its task holds it to the end).
pub struct Registration {
    operations: Arc<Operations>,
    running: Arc<Running>,
}

impl Registration {
    /// The operation.
    pub fn operation(&self) -> &NewOperation {
        &self.running.operation
    }

    /// The call's control (cancel flag, upstream calls).
    pub fn control(&self) -> Arc<CallControl> {
        self.running.control.clone()
    }

    /// Hands the call's outcome to the requests waiting on it; call once it is durable.
    pub fn finish(&self, outcome: Outcome) {
        self.running.outcome.send_replace(Some(Arc::new(outcome)));
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.operations.running().remove(&self.running.operation.id);
    }
}

impl Operations {
    /// The registry, and the task releasing old keys and purging old operations (at start,
    /// then every [`PURGE_EVERY`]).
    pub fn start(store: Store, settings: OperationSettings) -> (Arc<Operations>, JoinHandle<()>) {
        let task = tokio::spawn(retention(store.clone(), settings.clone()));
        let operations = Arc::new(Operations {
            store,
            settings,
            running: Mutex::new(HashMap::new()),
        });
        (operations, task)
    }

    fn running(&self) -> MutexGuard<'_, HashMap<uuid::Uuid, Arc<Running>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `operation` as running, unless its tenant is at its cap.
    pub fn open(self: &Arc<Self>, operation: NewOperation) -> Result<Registration, TooManyOpen> {
        let mut running = self.running();
        let limit = self.settings.open_per_tenant;
        let open = running
            .values()
            .filter(|r| r.operation.tenant == operation.tenant)
            .count();
        if open >= limit as usize {
            return Err(TooManyOpen {
                tenant: operation.tenant,
                limit,
            });
        }
        let entry = Arc::new(Running {
            operation,
            control: Arc::default(),
            outcome: watch::Sender::new(None),
        });
        running.insert(entry.operation.id, entry.clone());
        Ok(Registration {
            operations: self.clone(),
            running: entry,
        })
    }

    /// The tenant's operation `id`, if it runs on this broker.
    pub fn get(&self, tenant: &str, id: uuid::Uuid) -> Option<Arc<Running>> {
        self.running()
            .get(&id)
            .filter(|r| r.operation.tenant == tenant)
            .cloned()
    }

    /// Waits (at most `limit`) for the tenant's operation `id` to finish: from this broker when
    /// it runs it, else by polling the store (another broker runs it). `Ok(None)`: still
    /// running at the limit, or gone.
    pub async fn wait(
        &self,
        tenant: &str,
        id: uuid::Uuid,
        limit: Duration,
    ) -> broker_store::Result<Option<Arc<Outcome>>> {
        let deadline = tokio::time::Instant::now() + limit;
        if let Some(running) = self.get(tenant, id) {
            let mut outcome = running.outcome.subscribe();
            let finished =
                tokio::time::timeout_at(deadline, outcome.wait_for(Option::is_some)).await;
            if let Ok(Ok(done)) = finished {
                return Ok(done.clone());
            }
            return Ok(None);
        }
        loop {
            let Some(op) = self.store.operation(tenant, id).await? else {
                return Ok(None);
            };
            if op.status.is_finished() {
                let response = op.response.unwrap_or_else(|| StoredResponse {
                    status: 500,
                    content_type: None,
                    body: Vec::new(),
                });
                return Ok(Some(Arc::new(Outcome {
                    status: op.status,
                    response,
                })));
            }
            if tokio::time::Instant::now() + POLL_EVERY > deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

/// At start, on a store this broker is the only user of (SQLite): the operations still
/// `running` were cut off by the last stop or crash; they are marked failed so their clients
/// learn it. On PostgreSQL other brokers may be running them right now: they are left alone
/// (until leases let a broker tell a dead owner from a live one).
pub async fn fail_unfinished_at_start(store: &Store) -> broker_store::Result<u64> {
    if store.backend_name() != "sqlite" {
        return Ok(0);
    }
    let failed = store.fail_unfinished_operations(RESTART_ERROR).await?;
    if failed > 0 {
        tracing::warn!(
            operations = failed,
            "operations still running at the last stop were marked failed: {RESTART_ERROR}"
        );
    }
    Ok(failed)
}

async fn retention(store: Store, settings: OperationSettings) {
    let mut ticks = tokio::time::interval(PURGE_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = OffsetDateTime::now_utc();
        let key_cutoff = now - settings.key_retention;
        if let Err(e) = store.expire_idempotency_keys(key_cutoff).await {
            tracing::error!(error.type = "operations_purge_failed", "could not release old idempotency keys: {e}");
        }
        if let Some(retention) = settings.retention {
            match store.purge_operations(now - retention).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "purged operations past the retention"),
                // The next tick tries again; rows are only kept longer meanwhile.
                Err(e) => {
                    tracing::error!(error.type = "operations_purge_failed", "could not purge operations: {e}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn respond_async_is_one_preference_among_others() {
        assert!(!Mode::from_headers(&headers(&[])).unwrap().respond_async);
        for prefer in [
            "respond-async",
            "wait=10, Respond-Async",
            "respond-async; x=1",
        ] {
            let mode = Mode::from_headers(&headers(&[("prefer", prefer)])).unwrap();
            assert!(mode.respond_async, "{prefer}");
        }
        let other = Mode::from_headers(&headers(&[("prefer", "return=minimal")])).unwrap();
        assert!(!other.respond_async);
    }

    #[test]
    fn an_idempotency_key_is_a_quoted_or_bare_printable_string() {
        let key = |v: &str| Mode::from_headers(&headers(&[("idempotency-key", v)])).map(|m| m.key);
        assert_eq!(key("\"abc-1\"").unwrap().as_deref(), Some("abc-1"));
        assert_eq!(key("abc-1").unwrap().as_deref(), Some("abc-1"));
        assert!(key("\"\"").is_err());
        assert!(key(&"k".repeat(256)).is_err());
    }

    #[tokio::test]
    async fn the_request_hash_is_keyed_and_changes_with_every_part() {
        let open = || Store::open("sqlite::memory:", broker_store::SecretsKey::generate());
        let (store, other_key) = (open().await.unwrap(), open().await.unwrap());
        let hash = |m, p, q, b: &[u8]| request_hash(&store, m, p, q, b);
        let base = hash("POST", "/v1/a", "x=1", b"{}");
        assert_eq!(base, hash("POST", "/v1/a", "x=1", b"{}"));
        for other in [
            hash("PUT", "/v1/a", "x=1", b"{}"),
            hash("POST", "/v1/b", "x=1", b"{}"),
            hash("POST", "/v1/a", "x=2", b"{}"),
            hash("POST", "/v1/a", "x=1", b"{ }"),
            // Moving bytes between parts changes the hash too.
            hash("POST", "/v1/a", "", b"x=1{}"),
            // Without the secrets key nobody can recompute it (to test a guessed secret).
            request_hash(&other_key, "POST", "/v1/a", "x=1", b"{}"),
        ] {
            assert_ne!(base, other);
        }
    }

    fn op(tenant: &str) -> NewOperation {
        NewOperation {
            id: uuid::Uuid::new_v4(),
            tenant: tenant.into(),
            plugin: "qcloud".into(),
            method: "POST".into(),
            path: "/v1/qcloud/vpc/create".into(),
            request_id: "r".into(),
            created_at: OffsetDateTime::now_utc(),
            idempotency_key: None,
            request_hash: None,
        }
    }

    #[tokio::test]
    async fn a_tenant_has_at_most_its_cap_of_open_operations_and_waiters_get_the_outcome() {
        let store = Store::open("sqlite::memory:", broker_store::SecretsKey::generate())
            .await
            .unwrap();
        let settings = OperationSettings {
            open_per_tenant: 2,
            key_retention: Duration::from_secs(86_400),
            retention: None,
        };
        let (ops, task) = Operations::start(store, settings);
        let first = ops.open(op("acme")).unwrap();
        let _second = ops.open(op("acme")).unwrap();
        assert!(ops.open(op("acme")).is_err(), "a third is over the cap");
        let _other = ops
            .open(op("globex"))
            .expect("another tenant has its own cap");

        let id = first.operation().id;
        assert!(ops.get("globex", id).is_none(), "tenant-scoped");
        let waiter = {
            let ops = ops.clone();
            tokio::spawn(async move { ops.wait("acme", id, Duration::from_secs(10)).await })
        };
        tokio::task::yield_now().await;
        let outcome = Outcome {
            status: OperationStatus::Succeeded,
            response: StoredResponse {
                status: 200,
                content_type: None,
                body: b"done".to_vec(),
            },
        };
        first.finish(outcome.clone());
        let got = waiter.await.unwrap().unwrap().unwrap();
        assert_eq!(*got, outcome);
        drop(first);
        assert!(ops.get("acme", id).is_none());
        ops.open(op("acme"))
            .expect("a finished call frees its place");
        task.abort();
    }
}
