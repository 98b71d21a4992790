//! Containment: a plugin that traps, spins, sleeps forever, eats memory or calls out where it
//! may not gets a clear error in its own envelope, and the broker keeps serving.

use std::time::{Duration, Instant};

use broker::config::Limits;
use serde_json::json;

use crate::harness::{Setup, TestBroker};

/// After a hostile call, the same broker still serves the same plugin and another one.
async fn assert_still_serving(t: &TestBroker) {
    let (status, answer) = t.post("/v1/hostile/noop", &json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = t
        .post("/v1/qcloud/vpc/create", &json!({"inputs": []}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0");
}

#[tokio::test]
async fn a_trapping_plugin_gets_its_error_envelope_and_the_broker_keeps_serving() {
    let t = TestBroker::start().await;
    for _ in 0..3 {
        let (status, answer) = t.post("/v1/hostile/trap", &json!({})).await;
        assert_eq!(status, 500);
        assert_eq!(answer["ok"], false, "the plugin's own envelope: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains("crashed") && error.contains("hostile"),
            "{error}"
        );
    }
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_the_cpu_deadline() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            cpu_ms: 300,
            wall_secs: 30,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let started = Instant::now();
    let (status, answer) = t.post("/v1/hostile/spin", &json!({})).await;
    assert_eq!(status, 500);
    assert!(
        answer["error"].as_str().unwrap().contains("CPU time limit"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn a_plugin_that_sleeps_forever_is_stopped_at_the_wall_clock_limit() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            cpu_ms: 300,
            wall_secs: 1,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t.post("/v1/hostile/sleep-loop", &json!({})).await;
    assert_eq!(status, 504, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("wall-clock"),
        "{answer}"
    );
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_at_the_memory_cap() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            memory_mib: 32,
            wall_secs: 30,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t.post("/v1/hostile/alloc", &json!({})).await;
    assert_eq!(status, 500, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("memory limit"), "{error}");
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn sending_to_an_undeclared_host_is_denied() {
    let t = TestBroker::start().await;
    for url in [
        "https://example.com/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:22/",
    ] {
        let (status, answer) = t.post("/v1/hostile/egress", &json!({"url": url})).await;
        assert_eq!(status, 200, "{answer}");
        let text = answer.to_string();
        assert!(
            text.contains("Denied") && text.contains("not declared"),
            "{url}: {text}"
        );
    }
}

#[tokio::test]
async fn nothing_survives_from_one_request_to_the_next() {
    // The echo route reports the request it saw; two calls in a row must each see only their own.
    let t = TestBroker::start().await;
    let (_, first) = t.post("/v1/hostile/echo", &json!({"n": 1})).await;
    let (_, second) = t.post("/v1/hostile/echo", &json!({"n": 2})).await;
    assert!(first.to_string().contains(r#"\"n\":1"#), "{first}");
    assert!(second.to_string().contains(r#"\"n\":2"#), "{second}");
    assert!(!second.to_string().contains(r#"\"n\":1"#), "{second}");
    assert_ne!(first["request_id"], second["request_id"]);
}

#[tokio::test]
async fn every_request_gets_a_fresh_instance_with_reset_memory() {
    // Pool slots are reused and reset in place; a static written by one request must read as
    // new in the next, across many reuses of the same slots.
    let t = TestBroker::start().await;
    for _ in 0..50 {
        let (status, answer) = t.post("/v1/hostile/count", &json!({})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["calls"], 1, "state survived a request: {answer}");
    }
}

#[tokio::test]
async fn deep_recursion_is_stopped_at_the_stack_limit() {
    let t = TestBroker::start().await;
    let (status, answer) = t.post("/v1/hostile/recurse", &json!({})).await;
    assert_eq!(status, 500, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with("the plugin overflowed its stack (plugin `hostile`"),
        "{error}"
    );
    assert_still_serving(&t).await;
}
