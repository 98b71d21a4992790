//! `GET /metrics`: per-plugin sandbox counters in the Prometheus text format, behind the admin
//! key. Each hostile behaviour must show up under its own kind.

use broker::config::Limits;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Setup, TestBroker};

/// The value of the sample `series` (name and labels, exactly as rendered).
fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample `{series}` in:\n{text}"))
}

/// The `/metrics` text (admin key), checked to be Prometheus text 0.0.4.
pub(crate) async fn scrape(t: &TestBroker) -> String {
    let response = t
        .client
        .get(format!("{}/metrics", t.broker.url()))
        .bearer_auth(&t.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_trap_limit_and_denial_is_counted_per_plugin() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            cpu_ms: 300,
            memory_mib: 32,
            wall_secs: 2,
            host_calls: 1,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let before = scrape(&t).await;
    let loaded = sample(
        &before,
        "broker_plugin_instantiations_total{plugin=\"hostile\"}",
    );

    for (route, body, status) in [
        ("trap", json!({}), 500),
        ("spin", json!({}), 500),
        ("alloc", json!({}), 500),
        ("recurse", json!({}), 500),
        ("sleep-loop", json!({}), 504),
        ("egress", json!({"url": "https://example.com/"}), 200),
        ("noop", json!({}), 200),
    ] {
        let (got, answer) = t.post(&format!("/v1/hostile/{route}"), &body).await;
        assert_eq!(got, status, "{route}: {answer}");
    }
    // The second upstream call of a request is over the budget of one.
    let (_, answer) = t
        .post("/v1/qcloud/vpc/create", &json!({"inputs": [
            {"guid": "a", "provider_params": crate::harness::DEMO_PARAMS, "name": "a", "cidr_block": "10.0.0.0/16"},
            {"guid": "b", "provider_params": crate::harness::DEMO_PARAMS, "name": "b", "cidr_block": "10.1.0.0/16"}
        ]}))
        .await;
    assert!(answer.to_string().contains("budget"), "{answer}");

    let text = scrape(&t).await;
    let hostile = |family: &str, label: &str| {
        sample(&text, &format!("{family}{{plugin=\"hostile\"{label}}}"))
    };
    assert_eq!(
        hostile("broker_plugin_instantiations_total", ""),
        loaded + 7
    );
    assert_eq!(hostile("broker_plugin_traps_total", ",kind=\"other\""), 1);
    assert_eq!(
        hostile("broker_plugin_traps_total", ",kind=\"deadline\""),
        1
    );
    assert_eq!(hostile("broker_plugin_traps_total", ",kind=\"memory\""), 1);
    assert_eq!(hostile("broker_plugin_traps_total", ",kind=\"stack\""), 1);
    assert_eq!(
        hostile("broker_plugin_limit_hits_total", ",limit=\"wall_time\""),
        1
    );
    assert_eq!(hostile("broker_plugin_egress_denials_total", ""), 1);
    assert_eq!(
        sample(
            &text,
            "broker_plugin_limit_hits_total{plugin=\"qcloud\",limit=\"host_calls\"}"
        ),
        1
    );
    assert_eq!(
        sample(
            &text,
            "broker_plugin_traps_total{plugin=\"qcloud\",kind=\"other\"}"
        ),
        0
    );
}

#[tokio::test]
async fn metrics_need_an_admin_key() {
    let t = TestBroker::start().await;
    let (status, _, _) = t.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, 401);
    let (status, _, _) = t
        .call(Method::GET, "/metrics", Some(&t.tenant_key), None)
        .await;
    assert_eq!(status, 403);
}
