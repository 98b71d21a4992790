//! Tenants, API keys, stored accounts, per-tenant policy and the audit log, through the real
//! broker (admin API + plugin routes) on the embedded SQLite store.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, Setup, TestBroker};

/// The simulator's second demo key pair: registered as a stored account in these tests.
const SIM_KEY_ID: &str = "AKIDsimulatorDEMO0000000000000000000";
const SIM_SECRET: &str = "simulatorDEMOsecretKey0000000000";

fn vpc_create() -> Value {
    json!({"inputs": [{"guid": "g-1", "provider_params": DEMO_PARAMS, "name": "a", "cidr_block": "10.0.0.0/16"}]})
}

async fn new_tenant(t: &TestBroker, name: &str) -> String {
    t.new_tenant(name).await
}

#[tokio::test]
async fn requests_without_a_valid_key_get_401() {
    let t = TestBroker::start().await;
    // Plugin route: 401 in the plugin's envelope.
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/qcloud/vpc/create",
            None,
            Some(&vpc_create()),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(answer["result_code"], "1", "{answer}");
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (status, _, answer) = t
        .call(
            Method::POST,
            "/v1/qcloud/vpc/create",
            Some("cbk_not-a-key"),
            Some(&vpc_create()),
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .contains("invalid API key")
    );
    // Broker routes: 401 in the broker's envelope; /healthz stays open.
    let (status, _, answer) = t.call(Method::GET, "/v1/plugins", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "unauthorized");
    let (status, _, _) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    // And with the first-start key everything works.
    let (status, answer) = t.post("/v1/qcloud/vpc/create", &vpc_create()).await;
    assert_eq!(
        (status, answer["result_code"].as_str()),
        (200, Some("0")),
        "{answer}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_an_admin_key() {
    let t = TestBroker::start().await;
    let (status, _, answer) = t
        .call(Method::GET, "/admin/tenants", Some(&t.tenant_key), None)
        .await;
    assert_eq!(status, 403, "{answer}");
    let (status, _, _) = t.call(Method::GET, "/admin/tenants", None, None).await;
    assert_eq!(status, 401);
    let (status, answer) = t.admin(Method::GET, "/admin/tenants", None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["tenants"][0]["name"], "default");
}

#[tokio::test]
async fn tenants_are_created_listed_and_deleted_with_clear_errors() {
    let t = TestBroker::start().await;
    let key = new_tenant(&t, "acme").await;
    assert!(key.starts_with("cbk_"));
    let (status, answer) = t
        .admin(
            Method::POST,
            "/admin/tenants",
            Some(&json!({"name": "acme"})),
        )
        .await;
    assert_eq!(status, 409, "duplicate tenant: {answer}");
    let (status, answer) = t
        .admin(
            Method::POST,
            "/admin/tenants",
            Some(&json!({"name": "Not Valid!"})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _, answer) = t
        .call(Method::POST, "/admin/tenants", Some(&t.admin_key), None)
        .await;
    assert_eq!(status, 400, "missing body: {answer}");
    let (status, answer) = t.admin(Method::GET, "/admin/tenants/nobody", None).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, answer) = t.admin(Method::GET, "/admin/tenants/acme", None).await;
    assert_eq!((status, answer["name"].as_str()), (200, Some("acme")));

    let (status, _) = t.admin(Method::DELETE, "/admin/tenants/acme", None).await;
    assert_eq!(status, 204);
    let (status, _, _) = t
        .call(
            Method::POST,
            "/v1/qcloud/vpc/create",
            Some(&key),
            Some(&vpc_create()),
        )
        .await;
    assert_eq!(status, 401, "a deleted tenant's key stops working at once");
    let (status, _) = t.admin(Method::DELETE, "/admin/tenants/acme", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn keys_are_issued_listed_rotated_and_revoked() {
    let t = TestBroker::start().await;
    let (status, issued) = t
        .admin(
            Method::POST,
            "/admin/tenants/default/keys",
            Some(&json!({"label": "ci"})),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();

    let (_, listing) = t
        .admin(Method::GET, "/admin/tenants/default/keys", None)
        .await;
    let text = listing.to_string();
    assert!(
        text.contains("\"ci\"") && !text.contains(&key),
        "listing shows the key: {text}"
    );

    let (status, rotated) = t
        .admin(Method::POST, &format!("/admin/keys/{id}/rotate"), None)
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_string();
    let ping = |key: String| {
        let t = &t;
        async move { t.call(Method::GET, "/v1/plugins", Some(&key), None).await.0 }
    };
    assert_eq!(
        ping(key.clone()).await,
        401,
        "the rotated-away key is refused"
    );
    assert_eq!(ping(new_key.clone()).await, 200);

    let new_id = rotated["id"].as_str().unwrap();
    let (status, _) = t
        .admin(Method::DELETE, &format!("/admin/keys/{new_id}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(ping(new_key).await, 401, "a revoked key is refused");
    let (status, _) = t
        .admin(Method::DELETE, "/admin/keys/no-such-key", None)
        .await;
    assert_eq!(status, 404);

    let (status, admin) = t.admin(Method::POST, "/admin/keys", None).await;
    assert_eq!(status, 201, "{admin}");
    let (status, _, _) = t
        .call(
            Method::GET,
            "/admin/tenants",
            Some(admin["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200, "a new admin key works");
    let (status, admins) = t.admin(Method::GET, "/admin/keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(admins["keys"].as_array().unwrap().len(), 2, "{admins}");
    assert!(!admins.to_string().contains(admin["key"].as_str().unwrap()));
}

#[tokio::test]
async fn accounts_are_stored_without_ever_showing_their_secret() {
    let t = TestBroker::start().await;
    let path = "/admin/tenants/default/accounts/tencent/cluster-1";
    let account = json!({"secret_id": SIM_KEY_ID, "secret_key": SIM_SECRET, "default_region": "ap-guangzhou"});
    let (status, stored) = t.admin(Method::PUT, path, Some(&account)).await;
    assert_eq!(status, 200, "{stored}");
    for (status, answer) in [
        t.admin(Method::GET, path, None).await,
        t.admin(Method::GET, "/admin/tenants/default/accounts", None)
            .await,
    ] {
        assert_eq!(status, 200);
        let text = answer.to_string();
        assert!(
            text.contains(SIM_KEY_ID) && !text.contains(SIM_SECRET),
            "{text}"
        );
    }
    // Update.
    let (status, updated) = t
        .admin(Method::PUT, path, Some(&json!({"secret_id": SIM_KEY_ID, "secret_key": SIM_SECRET, "default_region": "ap-beijing"})))
        .await;
    assert_eq!(
        (status, updated["default_region"].as_str()),
        (200, Some("ap-beijing"))
    );
    // Malformed credentials.
    let (status, answer) = t
        .admin(
            Method::PUT,
            path,
            Some(&json!({"secret_key": "only-a-secret"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("secret_id"),
        "{answer}"
    );
    let (status, answer) = t
        .admin(
            Method::PUT,
            "/admin/tenants/default/accounts/bridgx/b1",
            Some(&json!({"username": "u", "password": "p", "endpoint": "not a url"})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = t
        .admin(
            Method::PUT,
            path,
            Some(&json!({"secret_id": "x", "secret_key": 7})),
        )
        .await;
    assert_eq!(status, 400, "wrong type");
    let (status, _) = t
        .admin(
            Method::PUT,
            "/admin/tenants/nobody/accounts/tencent/c",
            Some(&account),
        )
        .await;
    assert_eq!(status, 404, "unknown tenant");
    // Delete.
    assert_eq!(t.admin(Method::DELETE, path, None).await.0, 204);
    assert_eq!(t.admin(Method::GET, path, None).await.0, 404);
    // The database file never holds the secret in clear.
    let db = std::fs::read(t.data_dir().join("broker.db")).unwrap();
    assert!(
        !db.windows(SIM_SECRET.len())
            .any(|w| w == SIM_SECRET.as_bytes())
    );
}

#[tokio::test]
async fn a_plugin_signs_with_its_tenants_stored_account_and_never_sees_the_secret() {
    let t = TestBroker::start().await;
    let other_key = new_tenant(&t, "other").await;
    let account = json!({"secret_id": SIM_KEY_ID, "secret_key": SIM_SECRET});
    let (status, _) = t
        .admin(
            Method::PUT,
            "/admin/tenants/default/accounts/tencent/cluster-1",
            Some(&account),
        )
        .await;
    assert_eq!(status, 200);
    let lookup = json!({"provider": "tencent", "name": "cluster-1", "region": "ap-guangzhou"});

    // The owner: the host signs with the stored secret and the simulator accepts it.
    let (status, answer) = t.post("/v1/hostile/lookup", &lookup).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(
        answer["upstream"]["ok"], true,
        "signed call refused: {answer}"
    );
    assert_eq!(answer["key_id"], SIM_KEY_ID);
    assert!(
        !answer.to_string().contains(SIM_SECRET),
        "the guest saw the secret: {answer}"
    );
    // Nor can the plugin send it in clear text as a bearer token to a host it declared.
    let leak = answer["leak"].as_str().unwrap();
    assert!(
        leak.contains("Denied") && leak.contains("never sent in clear text"),
        "{leak}"
    );

    // Another tenant cannot use it: it is simply not found.
    let (_, _, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/lookup",
            Some(&other_key),
            Some(&lookup),
        )
        .await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("NotFound"),
        "{answer}"
    );
    assert!(!crate::harness::logs().contains(SIM_SECRET));
}

#[tokio::test]
async fn the_policy_limits_plugins_and_rate() {
    let t = TestBroker::start().await;
    let policy =
        json!({"allowed_plugins": ["hostile"], "max_concurrent": null, "rate_per_minute": 3});
    let (status, answer) = t
        .admin(Method::PUT, "/admin/tenants/default/policy", Some(&policy))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = t.post("/v1/qcloud/vpc/create", &vpc_create()).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["result_code"], "1");
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .contains("may not call plugin `qcloud`")
    );

    // The refused qcloud call spent no token: three calls pass, the fourth is limited.
    for _ in 0..3 {
        assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);
    }
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&t.tenant_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 429, "{answer}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(answer["ok"], false, "the plugin's envelope");

    let (status, answer) = t
        .admin(Method::GET, "/admin/tenants/default/policy", None)
        .await;
    assert_eq!((status, answer["rate_per_minute"].as_u64()), (200, Some(3)));
}

#[tokio::test]
async fn the_policy_limits_concurrent_requests() {
    let t = TestBroker::with(Setup {
        limits: broker::config::Limits {
            wall_secs: 2,
            ..Default::default()
        },
        ..Setup::default()
    })
    .await;
    let policy = json!({"max_concurrent": 1});
    assert_eq!(
        t.admin(Method::PUT, "/admin/tenants/default/policy", Some(&policy))
            .await
            .0,
        200
    );
    let empty = json!({});
    let slow = t.post("/v1/hostile/sleep-loop", &empty);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&t.tenant_key),
            Some(&json!({})),
        )
        .await
    };
    let ((slow_status, _), (status, headers, _)) = tokio::join!(slow, second);
    assert_eq!(slow_status, 504);
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(
        t.post("/v1/hostile/noop", &json!({})).await.0,
        200,
        "the slot is free again"
    );
}

#[tokio::test]
async fn every_plugin_call_is_audited_with_filters_and_paging() {
    let t = TestBroker::start().await;
    let (status, _) = t.post("/v1/qcloud/vpc/create", &vpc_create()).await;
    assert_eq!(status, 200);
    assert_eq!(t.post("/v1/hostile/trap", &json!({})).await.0, 500);
    assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);

    // The writer is asynchronous: wait (boundedly) for the three rows.
    let mut rows = Vec::new();
    for _ in 0..50 {
        let (_, answer) = t
            .admin(Method::GET, "/admin/audit?tenant=default", None)
            .await;
        rows = answer["rows"].as_array().unwrap().clone();
        if rows.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 3, "{rows:?}");
    let qcloud = rows.iter().find(|r| r["plugin"] == "qcloud").unwrap();
    assert_eq!(qcloud["guids"], json!(["g-1"]));
    assert_eq!(qcloud["outcome"], "ok");
    assert_eq!(qcloud["route"], "/v1/qcloud/vpc/create");
    assert!(!qcloud["request_id"].as_str().unwrap().is_empty());
    let trap = rows
        .iter()
        .find(|r| r["route"] == "/v1/hostile/trap")
        .unwrap();
    assert_eq!(trap["outcome"], "trap");
    assert_eq!(trap["status"], 500);
    assert!(
        !rows
            .iter()
            .any(|r| r.to_string().contains("your_SecretKey")),
        "a secret in the audit"
    );

    let (_, page) = t
        .admin(Method::GET, "/admin/audit?plugin=hostile&limit=1", None)
        .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    let before = page["next_before"].as_i64().unwrap();
    let (_, next) = t
        .admin(
            Method::GET,
            &format!("/admin/audit?plugin=hostile&limit=1&before={before}"),
            None,
        )
        .await;
    assert_eq!(next["rows"].as_array().unwrap().len(), 1);
    assert_ne!(next["rows"][0]["id"], page["rows"][0]["id"]);
    let (_, none) = t
        .admin(Method::GET, "/admin/audit?since=2999-01-01T00:00:00Z", None)
        .await;
    assert!(none["rows"].as_array().unwrap().is_empty());
    let (status, _) = t
        .admin(Method::GET, "/admin/audit?since=yesterday", None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_admin_key_calls_plugins_only_for_a_named_tenant() {
    let t = TestBroker::start().await;
    let (status, _, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/echo",
            Some(&t.admin_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains(broker::server::ACT_AS_TENANT)
    );

    let act_as = |tenant: &'static str| {
        t.client
            .post(format!("{}/v1/hostile/echo", t.broker.url()))
            .bearer_auth(&t.admin_key)
            .header(broker::server::ACT_AS_TENANT, tenant)
            .json(&json!({}))
            .send()
    };
    let response = act_as("default").await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["tenant"], "default");
    assert!(
        !answer.to_string().contains(&t.admin_key),
        "the broker's key was forwarded to the plugin"
    );
    let response = act_as("nobody").await.unwrap();
    assert_eq!(response.status(), 403, "an unknown tenant");
}

#[tokio::test]
async fn the_admin_api_reads_json_whatever_the_content_type_says() {
    // `curl -d` sends `application/x-www-form-urlencoded`; the README's examples use it.
    let t = TestBroker::start().await;
    for (content_type, name) in [
        ("application/x-www-form-urlencoded", "curl"),
        ("text/plain", "plain"),
    ] {
        let response = t
            .client
            .post(format!("{}/admin/tenants", t.broker.url()))
            .bearer_auth(&t.admin_key)
            .header("content-type", content_type)
            .body(json!({ "name": name }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{content_type}");
    }
    let response = t
        .client
        .post(format!("{}/admin/tenants", t.broker.url()))
        .bearer_auth(&t.admin_key)
        .body("name=acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not the expected JSON"),
        "{answer}"
    );
}
