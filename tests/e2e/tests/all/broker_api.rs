//! The broker's own API and plugin loading: routing, listings, refusals, the compile cache.

use serde_json::json;

use crate::harness::{HOSTILE, Setup, TestBroker, provider};

#[tokio::test]
async fn an_unknown_path_gets_a_404_json_error() {
    let t = TestBroker::start().await;
    let (status, answer) = t.post("/v1/nothing/here", &json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "not_found");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing/here")
    );
}

#[tokio::test]
async fn an_unknown_route_under_a_plugin_prefix_gets_the_plugins_404() {
    let t = TestBroker::start().await;
    let (status, answer) = t
        .post("/v1/qcloud/nothing/here", &json!({"inputs": []}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(answer["result_code"], "1", "{answer}");
}

#[tokio::test]
async fn plugins_and_health_are_listed() {
    let t = TestBroker::start().await;
    let (status, health) = t.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["plugins"], 2);
    let (_, listing) = t.get("/v1/plugins").await;
    let qcloud = listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "qcloud")
        .expect("qcloud listed");
    assert!(!qcloud["version"].as_str().unwrap().is_empty());
    let paths: Vec<&str> = qcloud["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/v1/qcloud/vpc/create"), "{paths:?}");
    assert_eq!(qcloud["operations"][0]["method"], "POST");
    assert!(paths.contains(&"/v1/qcloud/vpc/terminate"), "{paths:?}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_in_the_plugins_envelope() {
    let t = TestBroker::with(Setup {
        limits: broker::config::Limits {
            body_bytes: 1024,
            ..Default::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, answer) = t.post_raw("/v1/qcloud/vpc/create", "x".repeat(4096)).await;
    assert_eq!(status, 413);
    assert_eq!(answer["result_code"], "1");
}

#[tokio::test]
async fn a_plugin_whose_prefix_collides_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("qcloud-fork.wasm");
    std::fs::copy(provider("qcloud"), &copy).unwrap();
    let t = TestBroker::with(Setup {
        plugins: vec![provider("qcloud"), copy, HOSTILE.into()],
        ..Setup::default()
    })
    .await;
    let refused = t.broker.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let message = &refused[0];
    assert!(
        message.contains("/v1/qcloud/") && message.contains("collides"),
        "{message}"
    );
    assert!(
        message.contains("qcloud-fork.wasm") && message.contains("qcloud.wasm"),
        "{message}"
    );
    // The first one still serves.
    let (status, _) = t
        .post("/v1/qcloud/vpc/create", &json!({"inputs": []}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_file_that_is_not_a_provider_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm this is not a component").unwrap();
    let t = TestBroker::with(Setup {
        plugins: vec![provider("qcloud"), junk],
        ..Setup::default()
    })
    .await;
    let refused = t.broker.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("junk.wasm")
            && refused[0].contains("not a valid WebAssembly component"),
        "{}",
        refused[0]
    );
}

#[tokio::test]
async fn a_second_start_loads_components_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let setup = || Setup {
        plugins: vec![provider("qcloud")],
        cache_dir: cache.path().to_path_buf(),
        ..Setup::default()
    };
    let first = TestBroker::with(setup()).await;
    let origin = |t: &TestBroker| t.broker.runtime().registry().plugins()[0].origin;
    assert_eq!(origin(&first), broker::runtime::Origin::Compiled);
    drop(first);
    let second = TestBroker::with(setup()).await;
    assert_eq!(origin(&second), broker::runtime::Origin::Cache);
    assert!(crate::harness::logs().contains("hit: loaded from cache"));
}
