//! `kill -9` under load: every request answered 200 has its audit row (the durable-audit
//! guarantee of `broker::audit`). Runs the real `broker` binary in simulator mode, with its own
//! data directory, on loopback.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use broker_store::{AuditQuery, SecretsKey, Store};
use common::Running;

mod common;

/// Clients loading the broker at once.
const CLIENTS: usize = 8;
/// How long they load it before the kill.
const LOAD: Duration = Duration::from_secs(2);

#[test]
fn every_request_answered_before_kill_9_has_its_audit_row() {
    let mut broker = Running::start(&["qcloud"], "");
    let (url, key) = (broker.url(), broker.key(broker::bootstrap::TENANT_KEY_FILE));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let answered = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..CLIENTS)
            .map(|worker| {
                let (client, url, key, stop) =
                    (client.clone(), url.clone(), key.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut answered = Vec::new();
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!("crash-{worker}-{n}");
                        let body = serde_json::json!({"inputs": [{
                            "guid": id,
                            "provider_params": "Region=ap-shanghai;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
                            "name": "crash",
                            "cidr_block": "10.0.0.0/16"
                        }]});
                        let sent = client
                            .post(format!("{url}/v1/qcloud/vpc/create"))
                            .bearer_auth(&key)
                            .header("x-request-id", &id)
                            .body(body.to_string())
                            .send()
                            .await;
                        match sent {
                            Ok(response) if response.status() == 200 => answered.push(id),
                            Ok(_) => {}
                            // The broker is gone: the kill happened.
                            Err(_) => break,
                        }
                    }
                    answered
                })
            })
            .collect();
        tokio::time::sleep(LOAD).await;
        // SIGKILL while the clients are still sending.
        broker.child.kill().expect("kill -9 the broker");
        stop.store(true, Ordering::Relaxed);
        let mut answered = Vec::new();
        for worker in workers {
            answered.extend(worker.await.unwrap());
        }
        answered
    });
    let _ = broker.child.wait();
    assert!(answered.len() > 10, "too little load: {}", answered.len());

    let recorded: HashSet<String> = runtime.block_on(async {
        let secrets = SecretsKey::load_or_create(&broker.data.path().join("secrets.key")).unwrap();
        let store = Store::open_in_data_dir(broker.data.path(), secrets)
            .await
            .unwrap();
        let mut ids = HashSet::new();
        let mut before = None;
        loop {
            let page = store
                .audit(&AuditQuery {
                    limit: Some(1000),
                    before_id: before,
                    ..Default::default()
                })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            ids.extend(page.into_iter().map(|r| r.record.request_id));
        }
        store.close().await;
        ids
    });
    let missing: Vec<_> = answered
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    eprintln!(
        "kill -9 under load: {} answered 200, {} audit rows, {} answered without a row",
        answered.len(),
        recorded.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "answered without an audit row: {missing:?}"
    );
}
