//! `kill -9` under load: every request answered 200 has its audit row (the durable-audit
//! guarantee of `broker::audit`). Runs the real `broker` binary in simulator mode, with its own
//! data directory, on loopback.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use broker_store::{AuditQuery, SecretsKey, Store};

/// Clients loading the broker at once.
const CLIENTS: usize = 8;
/// How long they load it before the kill.
const LOAD: Duration = Duration::from_secs(2);
/// Longest the broker may take to start (the first run compiles the qcloud component).
const START: Duration = Duration::from_secs(300);

/// Kills the broker if the test fails before it does.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the broker binary; returns it and its base URL once it listens.
fn start(data: &Path, plugins: &Path) -> (Broker, String) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-crash-cache");
    let mut child = Command::new(env!("CARGO_BIN_EXE_broker"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--plugin-dir")
        .arg(plugins)
        .arg("--cache-dir")
        .arg(&cache)
        .env("RUST_LOG", "info")
        .env("BROKER_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .env_remove("BROKER_SECRETS_KEY")
        .env_remove("BROKER_CONFIG")
        .env_remove("BROKER_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the broker binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let broker = Broker(child);
    let (found, url) = std::sync::mpsc::channel();
    // Reads the log to the end so the broker never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once("broker listening on ") {
                let url = rest.split_whitespace().next().unwrap_or_default();
                let _ = found.send(url.to_string());
            }
        }
    });
    let url = url.recv_timeout(START).expect("the broker listens");
    (broker, url)
}

#[test]
fn every_request_answered_before_kill_9_has_its_audit_row() {
    let data = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(broker::config::BUILTIN_PLUGIN_DIR).join("qcloud.wasm"),
        plugins.path().join("qcloud.wasm"),
    )
    .unwrap();
    let (mut broker, url) = start(data.path(), plugins.path());
    let key = std::fs::read_to_string(data.path().join(broker::bootstrap::TENANT_KEY_FILE))
        .unwrap()
        .trim()
        .to_string();

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
        broker.0.kill().expect("kill -9 the broker");
        stop.store(true, Ordering::Relaxed);
        let mut answered = Vec::new();
        for worker in workers {
            answered.extend(worker.await.unwrap());
        }
        answered
    });
    let _ = broker.0.wait();
    assert!(answered.len() > 10, "too little load: {}", answered.len());

    let recorded: HashSet<String> = runtime.block_on(async {
        let secrets = SecretsKey::load_or_create(&data.path().join("secrets.key")).unwrap();
        let store = Store::open_in_data_dir(data.path(), secrets).await.unwrap();
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
