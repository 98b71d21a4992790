//! The per-test database: a [`Store`] plus raw access for checks the API must not allow.

use std::io::Write as _;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Once;

use broker_store::{SecretsKey, Store};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;

/// Admin URL of a PostgreSQL server the tests may create databases on.
pub const PG_ENV: &str = "BROKER_TEST_POSTGRES_URL";

/// A fresh, migrated database with its store.
pub struct TestDb {
    /// The store under test, opened on `url` with `key`.
    pub store: Store,
    /// The database URL, to open more handles on the same data.
    pub url: String,
    /// The secrets key `store` uses.
    pub key: SecretsKey,
    raw: Raw,
    cleanup: Cleanup,
}

enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Deref for TestDb {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A unique temp directory (removed by [`TestDb::finish`] or the caller).
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("broker-store-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestDb {
    /// SQLite file in a fresh temp dir, opened through a `sqlite://` URL.
    pub async fn sqlite() -> TestDb {
        let dir = temp_dir();
        let url = format!("sqlite://{}?mode=rwc", dir.join("broker.db").display());
        let key = SecretsKey::generate();
        let store = Store::open(&url, key.clone())
            .await
            .expect("open sqlite store");
        let raw = Raw::Sqlite(SqlitePool::connect(&url).await.unwrap());
        TestDb {
            store,
            url,
            key,
            raw,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A new database on the server named by `BROKER_TEST_POSTGRES_URL`; `None` (skip) if it is
    /// unset, except under CI where PostgreSQL is required.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(PG_ENV) else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "{PG_ENV} is not set but CI is: .ci/run must provide PostgreSQL (see store/README.md)"
                );
            }
            static LOUD: Once = Once::new();
            // Written to stderr directly: libtest would swallow eprintln! of a passing test.
            LOUD.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** postgres suite skipped: set {PG_ENV} (see store/README.md) ***\n"
                );
            });
            return None;
        };
        let name = format!("broker_test_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url)
            .await
            .expect("connect to admin URL");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = with_database(&admin_url, &name);
        let key = SecretsKey::generate();
        let store = Store::open(&url, key.clone())
            .await
            .expect("open postgres store");
        let raw = Raw::Postgres(PgPool::connect(&url).await.unwrap());
        Some(TestDb {
            store,
            url,
            key,
            raw,
            cleanup: Cleanup::PgDatabase { admin_url, name },
        })
    }

    /// True on PostgreSQL (for the few dialect-specific raw statements).
    pub fn is_postgres(&self) -> bool {
        matches!(self.raw, Raw::Postgres(_))
    }

    /// Another store handle on the same database.
    pub async fn open_again(&self, key: SecretsKey) -> Store {
        Store::open(&self.url, key)
            .await
            .expect("open a second handle")
    }

    /// Runs raw SQL (one or more statements) behind the store's back.
    pub async fn exec(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
            Raw::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("raw SQL failed: {e}\n{sql}"));
    }

    /// The single text column of `sql`'s rows.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        let rows: Vec<(String,)> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            Raw::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .unwrap();
        rows.into_iter().map(|(s,)| s).collect()
    }

    /// The single blob column of `sql`'s rows.
    pub async fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        let rows: Vec<(Vec<u8>,)> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            Raw::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .unwrap();
        rows.into_iter().map(|(b,)| b).collect()
    }

    /// Row count of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (n,): (i64,) = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_as(&sql).fetch_one(p).await,
            Raw::Postgres(p) => sqlx::query_as(&sql).fetch_one(p).await,
        }
        .unwrap();
        n
    }

    /// Installs a trigger making every `op` (INSERT/UPDATE/DELETE) on `table` fail: a real
    /// database error in the middle of a multi-statement write, without touching the store.
    pub async fn fail_every(&self, op: &str, table: &str) {
        if self.is_postgres() {
            self.exec(&format!(
                "CREATE OR REPLACE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'forced test failure'; END $$; \
                 CREATE TRIGGER test_fail_{table} BEFORE {op} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION test_fail();"
            ))
            .await;
        } else {
            self.exec(&format!(
                "CREATE TRIGGER test_fail_{table} BEFORE {op} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'forced test failure'); END;"
            ))
            .await;
        }
    }

    /// Removes the trigger of [`TestDb::fail_every`].
    pub async fn stop_failing(&self, table: &str) {
        let on = if self.is_postgres() {
            format!(" ON {table}")
        } else {
            String::new()
        };
        self.exec(&format!("DROP TRIGGER test_fail_{table}{on}"))
            .await;
    }

    /// The SQLite files (database and WAL) as bytes; empty on PostgreSQL.
    pub fn sqlite_file_bytes(&self) -> Vec<u8> {
        let Cleanup::Dir(dir) = &self.cleanup else {
            return Vec::new();
        };
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
        }
        all
    }

    /// Closes everything and drops the database (left behind if the test panicked, for a look).
    pub async fn finish(self) {
        self.store.close().await;
        match &self.raw {
            Raw::Sqlite(p) => p.close().await,
            Raw::Postgres(p) => p.close().await,
        }
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let admin = PgPool::connect(&admin_url).await.unwrap();
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

/// `admin_url` with its database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// True if `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
