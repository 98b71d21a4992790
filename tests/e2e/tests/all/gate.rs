//! The door in front of the sandboxes: the tenant gate under policy writes, readiness, the
//! bounded queue for instance slots, each tenant's fair share, and the limit on failed
//! authentications.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use broker::config::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, Setup, TestBroker};

fn vpc_create() -> Value {
    json!({"inputs": [{"guid": "g-1", "provider_params": DEMO_PARAMS, "name": "a", "cidr_block": "10.0.0.0/16"}]})
}

/// Waits (boundedly) until `ready` holds.
async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..500 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn policy_writes_during_load_leave_every_request_answered_and_the_gate_working() {
    let t = Arc::new(TestBroker::start().await);
    let policy = |n: u32| json!({"max_concurrent": n});
    assert_eq!(
        t.admin(
            Method::PUT,
            "/admin/tenants/default/policy",
            Some(&policy(4))
        )
        .await
        .0,
        200
    );
    let until_time = Instant::now() + Duration::from_secs(3);
    let url = format!("{}/v1/qcloud/vpc/create", t.broker.url());
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (t, url) = (t.clone(), url.clone());
        clients.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            while Instant::now() < until_time {
                let answer = t
                    .client
                    .post(&url)
                    .bearer_auth(&t.tenant_key)
                    .json(&vpc_create())
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await;
                // An empty reply (the handler panicked) is an error here, not a status.
                let status = match answer {
                    Ok(response) => response.status().as_u16(),
                    Err(e) => panic!("no answer: {e}"),
                };
                statuses.push(status);
            }
            statuses
        }));
    }
    let mut writers = Vec::new();
    for w in 0..2u32 {
        let t = t.clone();
        writers.push(tokio::spawn(async move {
            let mut writes = 0;
            while Instant::now() < until_time {
                let limit = 3 + (writes + w) % 2;
                let (status, answer) = t
                    .admin(
                        Method::PUT,
                        "/admin/tenants/default/policy",
                        Some(&policy(limit)),
                    )
                    .await;
                assert_eq!(status, 200, "{answer}");
                writes += 1;
            }
            writes
        }));
    }
    let mut statuses = Vec::new();
    for client in clients {
        statuses.extend(client.await.expect("a client task failed"));
    }
    let mut writes = 0;
    for writer in writers {
        writes += writer.await.expect("a policy writer failed");
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "race hammer: {} requests ({ok} × 200, {limited} × 429), {writes} policy writes in 3 s",
        statuses.len()
    );
    assert_eq!(
        ok + limited,
        statuses.len(),
        "only 200 or 429: {statuses:?}"
    );
    assert!(ok > 0 && writes > 0);
    // The broker still serves, and says so.
    let (status, answer) = t.post("/v1/qcloud/vpc/create", &vpc_create()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);
    let (status, _, health) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(health["plugins"], 2);
}

#[tokio::test]
async fn healthz_fails_with_the_check_that_failed_when_the_store_is_gone() {
    let t = TestBroker::start().await;
    let (status, _, health) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(health, json!({"status": "ok", "plugins": 2}));
    t.broker.store().close().await;
    let (status, _, health) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["failed"], json!(["store"]), "{health}");
    assert!(
        !health.to_string().contains("pool"),
        "no internal detail: {health}"
    );
}

#[tokio::test]
async fn a_full_queue_is_refused_at_once_with_retry_after_in_the_plugins_envelope() {
    let t = Arc::new(
        TestBroker::with(Setup {
            limits: Limits {
                max_instances: 1,
                queue_requests: 1,
                tenant_concurrency: Some(100),
                queue_wait_ms: 20_000,
                wall_secs: 20,
                ..Limits::default()
            },
            ..Setup::default()
        })
        .await,
    );
    let runtime = t.broker.runtime().clone();
    let running = {
        let t = t.clone();
        tokio::spawn(async move { t.post("/v1/hostile/slow", &json!({"ms": 2000})).await })
    };
    until("the slow request runs", || runtime.occupancy().1 == 1).await;
    let queued = {
        let t = t.clone();
        tokio::spawn(async move { t.post("/v1/hostile/noop", &json!({})).await })
    };
    until("a request waits", || runtime.occupancy().0.requests == 1).await;

    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&t.tenant_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(answer["ok"], false, "the plugin's envelope: {answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("queue is full"),
        "{answer}"
    );
    assert!(
        !running.is_finished(),
        "refused while the slot is still busy"
    );
    let metrics = crate::metrics::scrape(&t).await;
    assert!(
        metrics
            .lines()
            .any(|l| l
                == "broker_plugin_limit_hits_total{plugin=\"hostile\",limit=\"queue_full\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l == "broker_queue_requests 1"),
        "{metrics}"
    );
    assert_eq!(running.await.unwrap().0, 200);
    assert_eq!(queued.await.unwrap().0, 200, "the queued request is served");
    assert_eq!(runtime.occupancy().0.requests, 0);
}

#[tokio::test]
async fn the_wait_for_a_slot_has_its_own_bound_and_counts_as_capacity() {
    let t = Arc::new(
        TestBroker::with(Setup {
            limits: Limits {
                max_instances: 1,
                tenant_concurrency: Some(100),
                queue_wait_ms: 300,
                wall_secs: 20,
                ..Limits::default()
            },
            ..Setup::default()
        })
        .await,
    );
    let runtime = t.broker.runtime().clone();
    let running = {
        let t = t.clone();
        tokio::spawn(async move { t.post("/v1/hostile/slow", &json!({"ms": 2000})).await })
    };
    until("the slow request runs", || runtime.occupancy().1 == 1).await;
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&t.tenant_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(headers["retry-after"], "1");
    assert!(
        answer["error"].as_str().unwrap().contains("at capacity"),
        "{answer}"
    );
    assert!(!running.is_finished());
    let metrics = crate::metrics::scrape(&t).await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "broker_plugin_limit_hits_total{plugin=\"hostile\",limit=\"capacity\"} 1"),
        "{metrics}"
    );
    assert_eq!(running.await.unwrap().0, 200);
}

#[tokio::test]
async fn another_tenants_quick_call_is_served_while_one_tenant_saturates() {
    // Two slots: by default a tenant without a policy limit may use one of them.
    let t = Arc::new(
        TestBroker::with(Setup {
            limits: Limits {
                max_instances: 2,
                wall_secs: 20,
                ..Limits::default()
            },
            ..Setup::default()
        })
        .await,
    );
    let other = t.new_tenant("other").await;
    let slow_done = Arc::new(AtomicBool::new(false));
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let (t, slow_done) = (t.clone(), slow_done.clone());
        hogs.push(tokio::spawn(async move {
            let (status, _) = t.post("/v1/hostile/slow", &json!({"ms": 3000})).await;
            if status == 200 {
                slow_done.store(true, Ordering::SeqCst);
            }
            status
        }));
    }
    let runtime = t.broker.runtime().clone();
    until("the first tenant runs", || runtime.occupancy().1 >= 1).await;
    let (status, _, answer) = t
        .call(
            Method::POST,
            "/v1/hostile/noop",
            Some(&other),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        !slow_done.load(Ordering::SeqCst),
        "the other tenant was served while the first tenant's requests still ran"
    );
    let mut statuses = Vec::new();
    for hog in hogs {
        statuses.push(hog.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 429, 429, 429],
        "one slot for the first tenant"
    );
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            auth_failures_per_minute: 3,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    // A verified key is cached and keeps working for this address.
    assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);
    for n in 0..3 {
        let (status, _, _) = t
            .call(
                Method::POST,
                "/v1/qcloud/vpc/create",
                Some(&format!("cbk_made-up-{n}")),
                Some(&vpc_create()),
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, headers, answer) = t
        .call(
            Method::POST,
            "/v1/qcloud/vpc/create",
            Some("cbk_made-up-9"),
            Some(&vpc_create()),
        )
        .await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(
        answer["result_code"], "1",
        "the plugin's envelope: {answer}"
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, headers, answer) = t
        .call(Method::GET, "/v1/plugins", Some("cbk_made-up-9"), None)
        .await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "too_many_requests");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(t.post("/v1/hostile/noop", &json!({})).await.0, 200);
}
