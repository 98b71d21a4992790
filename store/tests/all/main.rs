//! Integration tests of `broker-store`. Each suite function takes a fresh [`common::TestDb`] and is
//! run twice by [`backend_tests!`]: on SQLite in a temp dir, and on PostgreSQL when
//! `BROKER_TEST_POSTGRES_URL` is set (a fresh database per test, so tests run in parallel).

/// For each suite function `f(&TestDb)`, generates `f::on_sqlite` and `f::on_postgres` tests.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                let db = crate::common::TestDb::sqlite().await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn on_postgres() {
                if let Some(db) = crate::common::TestDb::postgres().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        }
    )*};
}

mod accounts;
mod atomicity;
mod audit;
mod common;
mod keys;
mod operations;
mod policy;
mod secrets_key;
mod tenants;
