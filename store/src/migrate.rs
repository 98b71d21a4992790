//! Embedded migrations, one set per backend, applied by `Store::open`.
//!
//! Built through sqlx's public `MigrationSource` trait instead of the `migrate!` macro, which would
//! pull in sqlx's proc-macro crates for two files.

use std::borrow::Cow;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// One migration: version, description, SQL.
type Embedded = (i64, &'static str, &'static str);

const SQLITE_SET: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "audit summaries",
        include_str!("../migrations/sqlite/0002_audit_summaries.sql"),
    ),
    (
        3,
        "operations",
        include_str!("../migrations/sqlite/0003_operations.sql"),
    ),
];
const POSTGRES_SET: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "audit summaries",
        include_str!("../migrations/postgres/0002_audit_summaries.sql"),
    ),
    (
        3,
        "operations",
        include_str!("../migrations/postgres/0003_operations.sql"),
    ),
];

/// The migration sets, resolved lazily (the trait is async, resolution is trivial).
pub(crate) static SQLITE: EmbeddedMigrator = EmbeddedMigrator(SQLITE_SET);
pub(crate) static POSTGRES: EmbeddedMigrator = EmbeddedMigrator(POSTGRES_SET);

#[derive(Debug, Clone, Copy)]
pub(crate) struct EmbeddedMigrator(&'static [Embedded]);

impl EmbeddedMigrator {
    /// Applies pending migrations; sqlx takes a database lock so concurrent opens are safe.
    pub(crate) async fn run<'a, A>(self, conn: A) -> Result<(), sqlx::migrate::MigrateError>
    where
        A: sqlx::Acquire<'a>,
        <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
    {
        Migrator::new(self).await?.run(conn).await
    }
}

impl<'s> MigrationSource<'s> for EmbeddedMigrator {
    fn resolve(self) -> futures_core_boxfuture::BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The future type `MigrationSource` returns (`futures_core::BoxFuture`), spelt out so we need no
/// extra dependency.
mod futures_core_boxfuture {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;
}
