//! The broker's state store: tenants, API keys, cloud accounts (secrets encrypted at rest),
//! per-tenant policies, the audit log and operations, on SQLite (embedded default) or PostgreSQL.
//!
//! ```no_run
//! # async fn demo() -> broker_store::Result<()> {
//! use broker_store::{SecretsKey, Store};
//! let dir = std::path::Path::new("data");
//! let store = Store::open_in_data_dir(dir, SecretsKey::load_or_create(&dir.join("secrets.key"))?).await?;
//! store.create_tenant("acme").await?;
//! let issued = store.issue_key(Some("acme"), "ci").await?; // issued.key is shown once
//! let principal = store.authenticate(&issued.key).await?;
//! # let _ = principal; Ok(()) }
//! ```
//!
//! Layout: one module per entity, each holding that entity's SQL (the same text runs on both
//! backends: `$n` binds, `ON CONFLICT`, `RETURNING`); the schemas differ only in column types and
//! live in `migrations/{sqlite,postgres}/`, embedded and applied by [`Store::open`].

mod accounts;
mod audit;
mod crypto;
mod error;
pub mod files;
mod keys;
mod migrate;
mod operations;
mod policy;
mod tenants;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

pub use accounts::{Account, NewAccount};
pub use audit::{AuditQuery, AuditRecord, AuditRow};
pub use audit::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
pub use audit::{MAX_GUID_BYTES, MAX_GUIDS, MAX_GUIDS_BYTES, MAX_NAME_BYTES, MAX_ROUTE_BYTES};
pub use crypto::{Secret, SecretsKey};
pub use error::{Result, StoreError};
pub use keys::{IssuedKey, KEY_PREFIX, KeyInfo, Principal};
pub use operations::{
    Begun, DEFAULT_OPERATION_LIMIT, FinishedOperation, MAX_IDEMPOTENCY_KEY_BYTES,
    MAX_OPERATION_LIMIT, MAX_UPSTREAM_CALLS, NewOperation, Operation, OperationQuery,
    OperationStatus, StoredResponse, UpstreamCall,
};
pub use policy::Policy;
pub use tenants::Tenant;

/// File name of the SQLite database inside the data directory ([`Store::open_in_data_dir`]).
pub const DEFAULT_DB_FILE: &str = "broker.db";

/// A handle on the state store. Cheap to clone (a connection pool and the secrets key); any number
/// of handles, in one process or several, may share one database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    secrets: SecretsKey,
}

/// The two supported databases. An enum rather than `sqlx::Any` so each backend keeps its native
/// types; [`with_pool!`] and [`with_tx!`] run one piece of code on whichever is active.
#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the active pool (`&SqlitePool` or `&PgPool`).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside one transaction bound to `$tx` and commits it; an early return (`?`) drops
/// the transaction, which rolls it back. SQLite transactions start `IMMEDIATE` (take the write
/// lock up front) so concurrent writers wait on the busy timeout instead of failing mid-way.
macro_rules! with_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use {with_pool, with_tx};

/// Rows one retention statement deletes, so a large purge never holds the write lock (SQLite)
/// or a huge transaction (PostgreSQL) for long.
const PURGE_CHUNK: i64 = 5_000;

impl Store {
    /// Runs a retention `statement` (`$1` the cutoff in ms, `$2` the chunk size) until it deletes
    /// less than a chunk; returns the rows deleted. Each chunk is its own statement, so writers
    /// are never held up for long.
    pub(crate) async fn purge_chunked(
        &self,
        statement: &'static str,
        cutoff: OffsetDateTime,
    ) -> Result<u64> {
        let mut purged = 0;
        loop {
            let deleted = with_pool!(self, pool => sqlx::query(statement)
                .bind(to_millis(cutoff))
                .bind(PURGE_CHUNK)
                .execute(pool).await.map(|done| done.rows_affected()))?;
            purged += deleted;
            if deleted < PURGE_CHUNK as u64 {
                return Ok(purged);
            }
        }
    }

    /// Connects to `url` and brings the schema up to date.
    ///
    /// `url` is `sqlite://path?mode=rwc` (file created if missing) or `postgres://user:pw@host/db`.
    /// `secrets` encrypts account secrets; opening with a different key than the one used to
    /// write them succeeds, but reading those secrets then fails with [`StoreError::Crypto`].
    pub async fn open(url: &str, secrets: SecretsKey) -> Result<Store> {
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?;
            if !is_memory(url) {
                files::secure_sqlite_files(options.get_filename(), url.contains("mode=rwc"))
                    .map_err(|e| file_error(options.get_filename(), e))?;
            }
            Backend::Sqlite(Self::sqlite_pool(options, is_memory(url)).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Invalid(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        };
        let store = Store { backend, secrets };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if needed) the embedded default: SQLite file `dir/broker.db`.
    /// The directory is created with mode 0700 and the database files with mode 0600 (existing
    /// database files are tightened to 0600; see [`files`]).
    pub async fn open_in_data_dir(dir: &Path, secrets: SecretsKey) -> Result<Store> {
        files::create_private_dir(dir).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let db = dir.join(DEFAULT_DB_FILE);
        files::secure_sqlite_files(&db, true).map_err(|e| file_error(&db, e))?;
        let options = SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(true);
        let store = Store {
            backend: Backend::Sqlite(Self::sqlite_pool(options, false).await?),
            secrets,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// A keyed fingerprint of `parts` under the store's secrets key (see
    /// [`SecretsKey::fingerprint`]): the same on every broker sharing the store and its key.
    pub fn fingerprint(&self, domain: &str, parts: &[&[u8]]) -> String {
        self.secrets.fingerprint(domain, parts)
    }

    /// Which backend this store runs on: `"sqlite"` or `"postgres"` (for logs and health output).
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// One round trip to the database (`SELECT 1`), for readiness checks: fails when no
    /// connection can be had or the database does not answer.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool and waits for connections to finish, for a clean shutdown.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    async fn sqlite_pool(options: SqliteConnectOptions, memory: bool) -> Result<SqlitePool> {
        // WAL lets readers run beside the writer; NORMAL sync is durable in WAL mode except for
        // the last transactions on power loss. Foreign keys are on by default in sqlx.
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        // An in-memory database exists per connection: keep exactly one so all calls share it.
        let max = if memory { 1 } else { 8 };
        Ok(SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(if memory { 1 } else { 0 })
            .idle_timeout(if memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options)
            .await?)
    }

    async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(pool) => migrate::SQLITE.run(pool).await?,
            Backend::Postgres(pool) => migrate::POSTGRES.run(pool).await?,
        }
        Ok(())
    }
}

fn file_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!(
        "cannot create or restrict database file {}: {e}",
        path.display()
    ))
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Now, truncated to what the database stores (milliseconds).
pub(crate) fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

/// Timestamps are stored as Unix milliseconds (UTC) in a 64-bit integer on both backends.
pub(crate) fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    // Every i64 of milliseconds outside time's range (±9999 years) was not written by us; clamp.
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
