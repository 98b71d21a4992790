//! Plugin lifecycle through the admin API: upload, replace under load with no failed request,
//! requests in flight finishing on the version they started with, removal, refusals.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use broker::config::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{HOSTILE, HOSTILE_V2, Setup, TestBroker, provider};

async fn upload(t: &TestBroker, name: &str, bytes: Vec<u8>, key: &str) -> (u16, Value) {
    let response = t
        .client
        .put(format!("{}/admin/plugins/{name}", t.broker.url()))
        .bearer_auth(key)
        .header("content-type", "application/wasm")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn version(t: &TestBroker) -> (u16, Value) {
    t.post("/v1/hostile/version", &json!({})).await
}

#[tokio::test]
async fn a_plugin_is_replaced_under_load_with_no_failed_request() {
    let t = Arc::new(TestBroker::start().await);
    assert_eq!(version(&t).await.1, json!({"version": "0.1.0"}));

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (t, stop, ok, failed) = (t.clone(), stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let (status, answer) = version(&t).await;
                if status == 200 {
                    ok.fetch_add(1, Ordering::SeqCst);
                    if seen.last() != Some(&answer["version"]) {
                        seen.push(answer["version"].clone());
                    }
                } else {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, answer) = upload(
        &t,
        "hostile",
        std::fs::read(HOSTILE_V2).unwrap(),
        &t.admin_key,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["plugin"]["version"], "2.0.0");
    assert_eq!(answer["replaced"]["version"], "0.1.0");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        // Each client saw 0.1.0 and then only 2.0.0: the switch is atomic.
        assert_eq!(task.await.unwrap(), [json!("0.1.0"), json!("2.0.0")]);
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "failed requests during the replacement"
    );
    assert!(ok.load(Ordering::SeqCst) > 20);

    // Both versions are listed with their hashes; only the new one is active.
    let (status, listing) = t.admin(Method::GET, "/admin/plugins/hostile", None).await;
    assert_eq!(status, 200, "{listing}");
    let versions = listing["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{listing}");
    assert_eq!(
        (
            versions[0]["version"].as_str(),
            versions[0]["active"].as_bool()
        ),
        (Some("0.1.0"), Some(false))
    );
    assert_eq!(
        (
            versions[1]["version"].as_str(),
            versions[1]["active"].as_bool()
        ),
        (Some("2.0.0"), Some(true))
    );
    assert_ne!(versions[0]["sha256"], versions[1]["sha256"]);
    assert_eq!(versions[1]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(listing["active"]["sha256"], versions[1]["sha256"]);
    let (_, all) = t.admin(Method::GET, "/admin/plugins", None).await;
    assert!(
        all["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "qcloud"),
        "{all}"
    );

    // Written to the plugin directory: a broker started on it serves the new version.
    let files: Vec<_> = std::fs::read_dir(t.plugin_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "wasm"))
            .count(),
        2,
        "{files:?}"
    );
    let restarted = TestBroker::with(Setup {
        plugins: files,
        ..Setup::default()
    })
    .await;
    assert!(
        restarted.broker.refused().is_empty(),
        "{:?}",
        restarted.broker.refused()
    );
    assert_eq!(version(&restarted).await.1, json!({"version": "2.0.0"}));
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_version_it_started_with() {
    let t = Arc::new(TestBroker::start().await);
    let slow = {
        let t = t.clone();
        tokio::spawn(async move { t.post("/v1/hostile/slow", &json!({"ms": 1500})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = upload(
        &t,
        "hostile",
        std::fs::read(HOSTILE_V2).unwrap(),
        &t.admin_key,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(version(&t).await.1, json!({"version": "2.0.0"}));
    assert_eq!(slow.await.unwrap(), (200, json!({"version": "0.1.0"})));

    // Removal: in-flight requests finish too; new ones find no plugin.
    let slow = {
        let t = t.clone();
        tokio::spawn(async move { t.post("/v1/hostile/slow", &json!({"ms": 1000})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, removed) = t
        .admin(Method::DELETE, "/admin/plugins/hostile", None)
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["removed"]["version"], "2.0.0");
    assert_eq!(slow.await.unwrap(), (200, json!({"version": "2.0.0"})));
    let (status, _) = version(&t).await;
    assert_eq!(status, 404);
    assert!(!t.plugin_dir().join("hostile.wasm").exists());
    let (status, _) = t
        .admin(Method::DELETE, "/admin/plugins/hostile", None)
        .await;
    assert_eq!(status, 404);
    // Uploading it again adds it back (201: nothing replaced).
    let (status, answer) =
        upload(&t, "hostile", std::fs::read(HOSTILE).unwrap(), &t.admin_key).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["replaced"], Value::Null);
    assert_eq!(version(&t).await.1, json!({"version": "0.1.0"}));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_the_old_version_keeps_serving() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            plugin_upload_bytes: 8 << 20,
            wall_secs: 20,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let key = t.admin_key.clone();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("hostile", vec![], 400, "it is empty"),
        (
            "hostile",
            b"\0asm garbage".to_vec(),
            400,
            "not a valid WebAssembly component",
        ),
        (
            "hostile",
            std::fs::read(provider("qcloud")).unwrap(),
            400,
            "names the plugin `qcloud`, not `hostile`",
        ),
        (
            "hostile",
            vec![0; (8 << 20) + 1],
            413,
            "limits.plugin_upload_bytes",
        ),
    ];
    for (name, bytes, status, message) in cases {
        let (got, answer) = upload(&t, name, bytes, &key).await;
        assert_eq!(got, status, "{answer}");
        let text = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{text} should say {message}");
    }
    // A tenant key may not upload.
    let (status, _) = upload(
        &t,
        "hostile",
        std::fs::read(HOSTILE_V2).unwrap(),
        &t.tenant_key,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(version(&t).await.1, json!({"version": "0.1.0"}));
}
