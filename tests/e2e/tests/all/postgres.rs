//! Several brokers sharing one PostgreSQL store. Needs `BROKER_TEST_POSTGRES_URL` (a role that
//! may create databases); `.ci/run` provides it. Without it the test is skipped locally and
//! fails under CI.

use broker::config::Limits;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Setup, TestBroker};

const PG_ENV: &str = "BROKER_TEST_POSTGRES_URL";

/// A new, empty database on the test server; its URL.
async fn fresh_database() -> Option<String> {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{PG_ENV} is not set but CI is: .ci/run must provide PostgreSQL"
        );
        eprintln!("\n*** postgres e2e test skipped: set {PG_ENV} ***\n");
        return None;
    };
    let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let mut url = url::Url::parse(&admin_url).expect("a postgres:// URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

#[tokio::test]
async fn two_brokers_on_one_postgres_share_tenants_accounts_and_keys() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let shared = tempfile::tempdir().unwrap();
    let setup = || Setup {
        database: Some(database.clone()),
        secrets_key_file: Some(shared.path().join("secrets.key")),
        limits: Limits {
            auth_cache_secs: 0,
            ..Setup::default().limits
        },
        ..Setup::default()
    };
    let a = TestBroker::with(setup()).await;
    let b = TestBroker::with(setup()).await;
    assert!(
        b.broker.bootstrapped().is_none(),
        "the second broker found the first one's keys"
    );

    // Tenant and account created through broker A...
    let (status, created) = a
        .admin(
            Method::POST,
            "/admin/tenants",
            Some(&json!({"name": "shared"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"]["key"].as_str().unwrap().to_string();
    let account = json!({"secret_id": "AKIDsimulatorDEMO0000000000000000000", "secret_key": "simulatorDEMOsecretKey0000000000"});
    let (status, _) = a
        .admin(
            Method::PUT,
            "/admin/tenants/shared/accounts/tencent/c1",
            Some(&account),
        )
        .await;
    assert_eq!(status, 200);

    // ...are seen by broker B, with A's admin key, and B can sign with the account.
    let (_, _, tenants) = b
        .call(Method::GET, "/admin/tenants", Some(&a.admin_key), None)
        .await;
    assert!(tenants.to_string().contains("\"shared\""), "{tenants}");
    let lookup = json!({"provider": "tencent", "name": "c1", "region": "ap-guangzhou"});
    let (status, _, answer) = b
        .call(
            Method::POST,
            "/v1/hostile/lookup",
            Some(&key),
            Some(&lookup),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["upstream"]["ok"], true, "{answer}");

    // A key revoked on A is refused on B.
    let (_, keys) = a
        .admin(Method::GET, "/admin/tenants/shared/keys", None)
        .await;
    let id = keys["keys"][0]["id"].as_str().unwrap();
    assert_eq!(
        a.admin(Method::DELETE, &format!("/admin/keys/{id}"), None)
            .await
            .0,
        204
    );
    let (status, _, _) = b.call(Method::GET, "/v1/plugins", Some(&key), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_broker_with_another_secrets_key_does_not_join_the_store() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let (first_key, other_key) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestBroker::with(Setup {
        database: Some(database.clone()),
        secrets_key_file: Some(first_key.path().join("secrets.key")),
        ..Setup::default()
    })
    .await;
    let account = json!({"secret_id": "AKIDsimulatorDEMO0000000000000000000", "secret_key": "simulatorDEMOsecretKey0000000000"});
    let (status, _) = a
        .admin(
            Method::PUT,
            "/admin/tenants/default/accounts/tencent/c1",
            Some(&account),
        )
        .await;
    assert_eq!(status, 200);

    let plugins = tempfile::tempdir().unwrap();
    let config = broker::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        plugin_dir: plugins.path().to_path_buf(),
        data_dir: other_key.path().to_path_buf(),
        database: Some(database),
        simulators: false,
        ..broker::config::Config::default()
    };
    let refused = broker::Broker::start(config)
        .await
        .err()
        .expect("a broker whose key cannot open the shared store's secrets does not start");
    let message = format!("{refused:#}");
    assert!(message.contains("refusing to start"), "{message}");
    assert!(message.contains("default/tencent/c1"), "{message}");
    assert!(message.contains("same key"), "{message}");
}

#[tokio::test]
async fn one_idempotency_key_is_one_create_across_two_brokers() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let shared = tempfile::tempdir().unwrap();
    let setup = || Setup {
        database: Some(database.clone()),
        secrets_key_file: Some(shared.path().join("secrets.key")),
        ..Setup::default()
    };
    let a = TestBroker::with(setup()).await;
    let b = TestBroker::with(setup()).await;
    let key = a.tenant_key.clone();
    let body = json!({"inputs": [{"guid": "g1", "provider_params": crate::harness::DEMO_PARAMS,
        "name": "shared", "cidr_block": "10.0.0.0/16"}]});
    let call = |t: &TestBroker| {
        t.client
            .post(format!("{}/v1/qcloud/vpc/create", t.broker.url()))
            .bearer_auth(&key)
            .header("idempotency-key", "two-brokers-1")
            .body(body.to_string())
            .send()
    };
    // Each broker has its own simulator: together they must hold exactly one VPC.
    let (first, second) = tokio::join!(call(&a), call(&b));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        first.headers()["x-operation-id"],
        second.headers()["x-operation-id"]
    );
    let (first, second) = (first.bytes().await.unwrap(), second.bytes().await.unwrap());
    assert_eq!(first, second, "one answer, byte for byte");
    assert_eq!(a.tencent().vpc_count() + b.tencent().vpc_count(), 1);
}
