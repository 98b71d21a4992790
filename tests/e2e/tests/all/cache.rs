//! The `cache` capability: what a plugin keeps between requests, scoped to the plugin and the
//! calling tenant, expiring by the host clock, bounded by the operator.

use std::sync::Arc;

use broker::capabilities::clock::VirtualClock;
use broker::config::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker};

async fn cache(t: &TestBroker, key: &str, body: Value) -> Value {
    let (status, _, answer) = t
        .call(Method::POST, "/v1/hostile/cache", Some(key), Some(&body))
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn a_value_outlives_the_request_for_the_same_tenant_only() {
    let clock = Arc::new(VirtualClock::starting_at(1_000_000));
    let t = TestBroker::with(Setup {
        clock: Some(clock.clone()),
        ..Setup::default()
    })
    .await;
    let other = t.new_tenant("other").await;
    let me = t.tenant_key.clone();

    let stored = cache(
        &t,
        &me,
        json!({"op": "set", "key": "token", "value": "jwt-1", "ttl_ms": 60_000}),
    )
    .await;
    assert_eq!(stored, json!({"stored": true}));
    // A fresh instance (nothing in memory survives: see `count`) still finds it.
    let (_, count) = t.post("/v1/hostile/count", &json!({})).await;
    assert_eq!(count["calls"], 1);
    assert_eq!(
        cache(&t, &me, json!({"op": "get", "key": "token"})).await,
        json!({"value": "jwt-1"})
    );
    // Another tenant calling the same plugin sees nothing and keeps its own value.
    assert_eq!(
        cache(&t, &other, json!({"op": "get", "key": "token"})).await,
        json!({"value": null})
    );
    cache(
        &t,
        &other,
        json!({"op": "set", "key": "token", "value": "jwt-other"}),
    )
    .await;
    assert_eq!(
        cache(&t, &me, json!({"op": "get", "key": "token"})).await,
        json!({"value": "jwt-1"})
    );

    // It expires by the host clock (virtual here).
    clock.advance_ms(60_000);
    assert_eq!(
        cache(&t, &me, json!({"op": "get", "key": "token"})).await,
        json!({"value": null})
    );

    cache(
        &t,
        &me,
        json!({"op": "set", "key": "token", "value": "jwt-2"}),
    )
    .await;
    cache(&t, &me, json!({"op": "delete", "key": "token"})).await;
    assert_eq!(
        cache(&t, &me, json!({"op": "get", "key": "token"})).await,
        json!({"value": null})
    );
}

#[tokio::test]
async fn the_operator_bounds_entries_and_value_size() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            cache_entries: 5,
            cache_value_bytes: 16,
            wall_secs: 20,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let me = t.tenant_key.clone();
    let big = cache(
        &t,
        &me,
        json!({"op": "set", "key": "k", "value": "x".repeat(17)}),
    )
    .await;
    assert_eq!(big, json!({"error": "CacheError::TooLarge(16)"}));

    let (status, flood) = t.post("/v1/hostile/cache-flood", &json!({})).await;
    assert_eq!(status, 200, "{flood}");
    assert_eq!(flood, json!({"stored": 5, "error": "CacheError::Full(5)"}));
    // The flood filled only this tenant's room: another tenant stores as usual.
    let other = t.new_tenant("other").await;
    let stored = cache(&t, &other, json!({"op": "set", "key": "k", "value": "v"})).await;
    assert_eq!(stored, json!({"stored": true}));
}
