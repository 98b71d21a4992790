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

#[tokio::test]
async fn a_huge_response_is_refused_with_a_clear_error() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            response_bytes: 1 << 20,
            wall_secs: 20,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t.post("/v1/hostile/big", &json!({"bytes": 2 << 20})).await;
    assert_eq!(status, 500, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("(2097163 bytes) exceeds the limit of 1048576 bytes"),
        "{error}"
    );
    let (status, _) = t.post("/v1/hostile/big", &json!({"bytes": 1000})).await;
    assert_eq!(status, 200);
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn a_log_flood_is_capped_per_request() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            log_lines: 50,
            wall_secs: 20,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t
        .post("/v1/hostile/log-flood", &json!({"lines": 5_000}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let logs = crate::harness::logs();
    // Only this test floods: one pass over the captured log counts its lines.
    let written = logs.lines().filter(|l| l.contains("flood line ")).count();
    assert_eq!(
        written, 50,
        "the first 50 lines are logged, the rest dropped"
    );
    assert!(logs.contains("log_budget_exceeded"));
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn a_host_call_flood_stops_at_the_budget() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            host_calls: 25,
            wall_secs: 20,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t.post("/v1/hostile/call-flood", &json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"sent": 25, "error": "HttpError::BudgetExhausted"})
    );
    assert_still_serving(&t).await;
}

#[tokio::test]
async fn a_declared_name_resolving_to_loopback_is_refused_after_dns() {
    let t = TestBroker::start().await;
    let (status, answer) = t
        .post("/v1/hostile/egress", &json!({"url": "http://localhost:9/"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("Denied") && error.contains("loopback"),
        "{error}"
    );
}

#[tokio::test]
async fn a_redirect_towards_the_metadata_address_is_not_followed() {
    // An upstream the operator trusts answers with a redirect to the cloud metadata service.
    let redirector = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::FOUND,
            [("location", "http://169.254.169.254/latest/meta-data/")],
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, redirector).await });
    let t = TestBroker::with(Setup {
        upstreams: std::collections::BTreeMap::from([(
            "redirect.hostile.test".to_string(),
            format!("http://{addr}"),
        )]),
        ..Setup::default()
    })
    .await;
    let (status, answer) = t
        .post(
            "/v1/hostile/egress",
            &json!({"url": "https://redirect.hostile.test/x"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // The plugin gets the redirect itself; the host never went where it points.
    assert_eq!(answer, json!({"ok": true, "status": 302}));
}

#[tokio::test]
async fn two_tenants_hammering_one_plugin_never_see_each_other() {
    let t = std::sync::Arc::new(TestBroker::start().await);
    let other = t.new_tenant("other").await;
    let mut tasks = Vec::new();
    for (tenant, key) in [("default", t.tenant_key.clone()), ("other", other)] {
        for n in 0..25 {
            let (t, key) = (t.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let marker = format!("{tenant}-{n}");
                let (_, _, answer) = t
                    .call(
                        reqwest::Method::POST,
                        "/v1/hostile/echo",
                        Some(&key),
                        Some(&json!({ "marker": marker })),
                    )
                    .await;
                assert_eq!(answer["tenant"], tenant, "{answer}");
                let body: serde_json::Value =
                    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
                assert_eq!(body["marker"], marker);
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn the_operator_sets_limits_and_narrows_egress_per_plugin() {
    let hostile = broker::config::PluginLimits {
        cpu_ms: Some(200),
        memory_mib: Some(16),
        host_calls: Some(3),
        egress_hosts: Some(vec!["vpc.tencentcloudapi.com".into()]),
        ..Default::default()
    };
    let t = TestBroker::with(Setup {
        plugin_limits: std::collections::BTreeMap::from([("hostile".to_string(), hostile)]),
        ..Setup::default()
    })
    .await;
    let (_, answer) = t.post("/v1/hostile/call-flood", &json!({})).await;
    assert_eq!(
        answer,
        json!({"sent": 3, "error": "HttpError::BudgetExhausted"})
    );
    let (_, answer) = t.post("/v1/hostile/spin", &json!({})).await;
    assert!(
        answer["error"].as_str().unwrap().contains("200ms"),
        "{answer}"
    );
    let (_, answer) = t.post("/v1/hostile/alloc", &json!({})).await;
    assert!(
        answer["error"].as_str().unwrap().contains("16 MiB"),
        "{answer}"
    );
    // `localhost` is declared by the plugin but not allowed by the operator.
    let (_, answer) = t
        .post("/v1/hostile/egress", &json!({"url": "http://localhost:9/"}))
        .await;
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("Denied") && error.contains("not declared"),
        "{error}"
    );
    // Other plugins keep the broker-wide limits.
    let (_, answer) = t
        .post(
            "/v1/qcloud/vpc/create",
            &json!({"inputs": [
                {"guid": "a", "provider_params": crate::harness::DEMO_PARAMS, "name": "a", "cidr_block": "10.0.0.0/16"},
                {"guid": "b", "provider_params": crate::harness::DEMO_PARAMS, "name": "b", "cidr_block": "10.1.0.0/16"}
            ]}),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn an_egress_host_the_plugin_does_not_declare_keeps_it_from_loading() {
    let hostile = broker::config::PluginLimits {
        egress_hosts: Some(vec!["evil.example".into()]),
        ..Default::default()
    };
    let t = TestBroker::with(Setup {
        plugin_limits: std::collections::BTreeMap::from([("hostile".to_string(), hostile)]),
        ..Setup::default()
    })
    .await;
    let refused = t.broker.refused().join("\n");
    assert!(
        refused.contains("allows `evil.example`, which the plugin does not declare"),
        "{refused}"
    );
}
