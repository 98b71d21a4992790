//! The audit log loses nothing: calls whose client gave up, writes that fail for a while, refused
//! requests; and a row stays small whatever the client sends.

use std::time::Duration;

use broker::config::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker, logs};

/// Every audit row (newest first), paging through the admin API.
async fn audit_rows(t: &TestBroker, filter: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = t
            .admin(
                Method::GET,
                &format!("/admin/audit?limit=1000{filter}{before}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let page_rows = page["rows"].as_array().unwrap().clone();
        if page_rows.is_empty() {
            return rows;
        }
        rows.extend(page_rows);
        before = format!("&before={}", page["next_before"]);
    }
}

/// Polls (boundedly) until `found` accepts the audit rows; returns them.
async fn wait_for_rows(
    t: &TestBroker,
    filter: &str,
    found: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut rows = Vec::new();
    for _ in 0..200 {
        rows = audit_rows(t, filter).await;
        if found(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("audit rows never matched: {rows:?}");
}

/// Calls the hostile plugin's `slow` route (`ms` long) and gives up after 300 ms, as a client
/// behind a short timeout does; the call goes on in the broker.
async fn call_slow_and_give_up(t: &TestBroker, request_id: &str, ms: u64) {
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/v1/hostile/slow", t.broker.url()))
        .bearer_auth(&t.tenant_key)
        .header("x-request-id", request_id)
        .body(json!({ "ms": ms }).to_string())
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()), "the client gave up");
}

fn row_of<'a>(rows: &'a [Value], request_id: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["request_id"] == request_id)
}

#[tokio::test]
async fn a_call_whose_client_gave_up_still_finishes_and_is_logged_and_audited() {
    let t = TestBroker::start().await;
    let request_id = format!("gave-up-{}", uuid::Uuid::new_v4().simple());
    call_slow_and_give_up(&t, &request_id, 1500).await;

    let rows = wait_for_rows(&t, "&plugin=hostile", |rows| {
        row_of(rows, &request_id).is_some()
    })
    .await;
    let row = row_of(&rows, &request_id).unwrap();
    assert_eq!(row["status"], 200, "{row}");
    assert_eq!(row["outcome"], "ok", "{row}");
    assert!(row["duration_ms"].as_u64().unwrap() >= 1500, "{row}");
    let logged = logs();
    assert!(
        logged
            .lines()
            .any(|l| l.contains(&request_id) && l.contains("status=200") && l.contains("request")),
        "no request log line for {request_id}"
    );
}

#[tokio::test]
async fn rows_are_kept_while_the_database_is_locked_past_the_busy_timeout() {
    let t = TestBroker::start().await;
    let db = t.data_dir().join("broker.db");
    let mut holder = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        db.display()
    ))
    .await
    .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    // Requests run while another process holds the write lock for longer than the store's
    // 10 s busy timeout: the writer's first attempt fails with "database is locked".
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let (client, url, key) = (
                t.client.clone(),
                format!("{}/v1/hostile/noop", t.broker.url()),
                t.tenant_key.clone(),
            );
            tokio::spawn(async move {
                let id = format!("locked-{i}-{}", uuid::Uuid::new_v4().simple());
                let response = client
                    .post(url)
                    .bearer_auth(key)
                    .header("x-request-id", &id)
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                (id, response.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(11)).await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut answered = Vec::new();
    for request in requests {
        let (id, status) = tokio::time::timeout(Duration::from_secs(30), request)
            .await
            .expect("answered once the lock is gone")
            .unwrap();
        assert_eq!(status, 200);
        answered.push(id);
    }
    // Answered means written: no polling.
    let rows = audit_rows(&t, "&plugin=hostile").await;
    for id in &answered {
        assert!(row_of(&rows, id).is_some(), "no audit row for {id}");
    }
    assert!(logs().contains("audit rows written after retrying"));
}

#[tokio::test]
async fn an_answered_call_already_has_its_row() {
    let t = TestBroker::start().await;
    for i in 0..20 {
        let id = format!("durable-{i}-{}", uuid::Uuid::new_v4().simple());
        let response = t
            .client
            .post(format!("{}/v1/hostile/noop", t.broker.url()))
            .bearer_auth(&t.tenant_key)
            .header("x-request-id", &id)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let rows = audit_rows(&t, "&plugin=hostile").await;
        assert!(
            row_of(&rows, &id).is_some(),
            "answered before {id} was written"
        );
    }
}

#[tokio::test]
async fn refused_requests_are_audited_as_counted_summaries() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            audit_refusal_secs: 1,
            ..Setup::default().limits
        },
        ..Setup::default()
    })
    .await;
    let policy = json!({"allowed_plugins": ["qcloud"]});
    let (status, _) = t
        .admin(Method::PUT, "/admin/tenants/default/policy", Some(&policy))
        .await;
    assert_eq!(status, 200);
    // Fewer than `limits.auth_failures_per_minute` (60), so the address is not throttled yet.
    for _ in 0..40 {
        let (status, _, _) = t
            .call(
                Method::POST,
                "/v1/hostile/noop",
                Some("cbk_not_a_key"),
                Some(&json!({})),
            )
            .await;
        assert_eq!(status, 401);
    }
    for _ in 0..7 {
        assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 403);
    }
    let sum = |rows: &[Value], status: u16| -> u64 {
        rows.iter()
            .filter(|r| r["status"] == status)
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let rows = wait_for_rows(&t, "&plugin=hostile", |rows| {
        sum(rows, 401) == 40 && sum(rows, 403) == 7
    })
    .await;
    // One row per interval at most, not one per refusal.
    assert!(rows.len() <= 4, "{rows:?}");
    let unauthorized = rows.iter().find(|r| r["status"] == 401).unwrap();
    assert_eq!(unauthorized["outcome"], "unauthorized");
    assert_eq!(unauthorized["tenant"], Value::Null);
    assert_eq!(unauthorized["client"], "127.0.0.1");
    assert_eq!(unauthorized["route"], "/v1/hostile/noop");
    let forbidden = rows.iter().find(|r| r["status"] == 403).unwrap();
    assert_eq!(forbidden["tenant"], "default");
    assert_eq!(forbidden["outcome"], "forbidden");
    assert_eq!(forbidden["client"], Value::Null);
}

#[tokio::test]
async fn a_huge_guid_is_capped_in_the_audit() {
    let t = TestBroker::start().await;
    let huge = "g".repeat(3 << 20);
    let body = json!({"inputs": [{"guid": huge}, {"guid": "small"}]});
    let request_id = format!("huge-{}", uuid::Uuid::new_v4().simple());
    let response = t
        .client
        .post(format!("{}/v1/hostile/noop", t.broker.url()))
        .bearer_auth(&t.tenant_key)
        .header("x-request-id", &request_id)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rows = audit_rows(&t, "&plugin=hostile").await;
    let row = row_of(&rows, &request_id).unwrap();
    let guids = row["guids"].as_array().unwrap();
    let first = guids[0].as_str().unwrap();
    // The store keeps at most 256 bytes of a guid (`broker_store::MAX_GUID_BYTES`).
    assert!(
        first.len() <= 256 && first.ends_with('…'),
        "{}",
        first.len()
    );
    assert_eq!(guids[1], "small");
    let (_, page) = t
        .admin(Method::GET, "/admin/audit?limit=100000", None)
        .await;
    assert!(page["rows"].as_array().unwrap().len() <= 1000);
}

#[tokio::test]
async fn a_call_still_running_at_the_drain_deadline_is_stopped_and_audited_as_interrupted() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            drain_secs: 1,
            ..Setup::default().limits
        },
        ..Setup::default()
    })
    .await;
    let request_id = format!("drained-{}", uuid::Uuid::new_v4().simple());
    call_slow_and_give_up(&t, &request_id, 15_000).await;

    // The call would run 15 s more; shutdown waits for it only until the drain deadline.
    let started = std::time::Instant::now();
    let data_dir = t.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "shutdown waited {took:?}");

    let db = data_dir.path().join("broker.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        db.display()
    ))
    .await
    .unwrap();
    let (outcome, status): (String, i64) =
        sqlx::query_as("SELECT outcome, status FROM audit WHERE request_id = ?")
            .bind(&request_id)
            .fetch_one(&mut conn)
            .await
            .expect("the interrupted call has its audit row");
    assert_eq!((outcome.as_str(), status), ("interrupted", 503));
}
