//! Internal failures reach clients as a generic message with the request id; the detail goes to
//! the log only. No database text, no backtraces in answers.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::TestBroker;

/// Words of internal detail that must never reach a client.
const INTERNAL: &[&str] = &["database", "pool", "sqlx", "backtrace", "Caused by", ".rs:"];

fn assert_generic(message: &str, request_id: &str) {
    for word in INTERNAL {
        assert!(!message.contains(word), "`{word}` leaked: {message}");
    }
    assert!(
        message.contains(&format!("request id {request_id}")),
        "names the request id {request_id}: {message}"
    );
}

#[tokio::test]
async fn store_failures_answer_a_generic_message_with_the_request_id() {
    let t = TestBroker::start().await;
    // Cache both keys and the tenant's policy, then mark the policy stale so the gate reads it.
    assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);
    assert_eq!(t.admin(Method::GET, "/admin/tenants", None).await.0, 200);
    let policy = json!({"max_concurrent": 10});
    assert_eq!(
        t.admin(Method::PUT, "/admin/tenants/default/policy", Some(&policy))
            .await
            .0,
        200
    );
    t.broker.store().close().await;

    // The admin API (From<StoreError>).
    let (status, headers, answer) = t
        .call(Method::GET, "/admin/tenants", Some(&t.admin_key), None)
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "store_unavailable");
    let id = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_generic(answer["error"]["message"].as_str().unwrap(), &id);
    assert!(headers.contains_key("retry-after"));

    // A tenant's plugin call whose policy cannot be read (Refusal::Store).
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&t.tenant_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["ok"], false, "the plugin's envelope: {answer}");
    assert_eq!(headers["retry-after"], "2");
    let policy_id = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_generic(answer["error"].as_str().unwrap(), &policy_id);

    // A key that is not cached (AuthError::Store).
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some("cbk_unknown"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    let auth_id = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_generic(answer["error"].as_str().unwrap(), &auth_id);

    // The detail is in the log, with the request id.
    let logs = crate::harness::logs();
    for id in [&id, &policy_id, &auth_id] {
        assert!(
            logs.lines()
                .any(|l| l.contains(id.as_str()) && l.contains("closed pool")),
            "the detail of {id} is logged"
        );
    }
}

/// Set in the child process that runs the upload with backtraces on.
const CHILD: &str = "BROKER_E2E_BACKTRACE_CHILD";

#[tokio::test]
async fn upload_errors_carry_no_backtrace_even_with_rust_backtrace_set() {
    if std::env::var_os(CHILD).is_none() {
        // Backtraces are captured or not for the whole process, from its environment at start:
        // run this test again in a child process that has them on.
        let status = tokio::time::timeout(
            Duration::from_secs(300),
            tokio::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "internal_errors::upload_errors_carry_no_backtrace_even_with_rust_backtrace_set",
                    "--exact",
                    "--nocapture",
                ])
                .env(CHILD, "1")
                .env("RUST_BACKTRACE", "1")
                .env("RUST_LIB_BACKTRACE", "1")
                .status(),
        )
        .await
        .expect("the child test finishes")
        .unwrap();
        assert!(status.success(), "the child test failed: {status}");
        return;
    }
    let t = TestBroker::start().await;
    // An empty component: valid, but it exports no handler.
    let empty_component = b"\0asm\x0d\x00\x01\x00".to_vec();
    let response = t
        .client
        .put(format!("{}/admin/plugins/hostile", t.broker.url()))
        .bearer_auth(&t.admin_key)
        .body(empty_component)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("does not implement the world"),
        "{message}"
    );
    for word in ["backtrace", "Caused by", ".rs:"] {
        assert!(!message.contains(word), "`{word}` leaked: {message}");
    }
}
