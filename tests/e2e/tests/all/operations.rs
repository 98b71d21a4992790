//! Operations: every routed call has an id; async mode, polling, idempotency keys, cancel,
//! tenant scoping, and what a restart does to a call cut off mid-way.

use std::time::{Duration, Instant};

use broker::Broker;
use broker::config::{Config, Limits};
use broker_store::NewOperation;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, HOSTILE, Setup, TestBroker, shared_cache};

/// Longest a test polls an operation before failing.
const POLL_LIMIT: Duration = Duration::from_secs(15);

fn vpc_create(name: &str) -> Value {
    json!({"inputs": [{"guid": "g1", "provider_params": DEMO_PARAMS, "name": name,
        "cidr_block": "10.0.0.0/16"}]})
}

/// Sends `body` to `path` with the tenant key and extra `headers`; status, headers, raw body.
async fn send(
    t: &TestBroker,
    method: Method,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = t
        .client
        .request(method, format!("{}{path}", t.broker.url()))
        .bearer_auth(key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("broker answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

fn operation_id(headers: &HeaderMap) -> String {
    headers
        .get("x-operation-id")
        .expect("x-operation-id on a routed answer")
        .to_str()
        .unwrap()
        .to_string()
}

/// Polls the operation until its call has ended (a cancelled one shows `cancelled` at once,
/// and its answer once the call has stopped); returns it.
async fn finished(t: &TestBroker, key: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (status, _, body) = send(
            t,
            Method::GET,
            &format!("/v1/operations/{id}"),
            key,
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let op = json_of(&body);
        if op["status"] != "running" && !op["response"].is_null() {
            return op;
        }
        assert!(
            start.elapsed() < POLL_LIMIT,
            "operation {id} still running: {op}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_async_create_answers_202_and_polls_to_the_body_a_sync_call_answers() {
    let t = TestBroker::start().await;
    let key = t.tenant_key.clone();
    let (status, headers, body) = send(
        &t,
        Method::POST,
        "/v1/qcloud/vpc/create",
        &key,
        &[("prefer", "respond-async")],
        Some(&vpc_create("async")),
    )
    .await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let id = operation_id(&headers);
    assert_eq!(headers["location"], format!("/v1/operations/{id}").as_str());
    assert!(headers.contains_key("retry-after"));
    assert_eq!(headers["preference-applied"], "respond-async");
    let accepted = json_of(&body);
    assert_eq!(accepted["id"], id.as_str());
    assert_eq!(accepted["status"], "running");

    let op = finished(&t, &key, &id).await;
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(op["plugin"], "qcloud");
    assert_eq!(
        (op["method"].as_str(), op["path"].as_str()),
        (Some("POST"), Some("/v1/qcloud/vpc/create"))
    );
    assert!(op["finished_at"].is_string(), "{op}");
    let response = &op["response"];
    assert_eq!(response["status"], 200, "{op}");
    assert_eq!(response["content_type"], "application/json");
    assert_eq!(response["body_encoding"], "json");
    let async_body = &response["body"];
    assert_eq!(async_body["result_code"], "0", "{op}");
    let vpc = async_body["results"]["outputs"][0]["id"].as_str().unwrap();
    assert!(vpc.starts_with("vpc-"), "{op}");
    assert!(
        op["upstream_calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["host"] == "vpc.tencentcloudapi.com" && c["action"] == "CreateVpc"),
        "the calls made are recorded: {op}"
    );

    // A sync call answers the same shape, with its own operation id, readable afterwards.
    let (status, headers, body) = send(
        &t,
        Method::POST,
        "/v1/qcloud/vpc/create",
        &key,
        &[],
        Some(&vpc_create("sync")),
    )
    .await;
    assert_eq!(status, 200);
    let sync_id = operation_id(&headers);
    assert_ne!(sync_id, id);
    let sync_body = json_of(&body);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&sync_body), keys(async_body));
    assert_eq!(t.tencent().vpc_count(), 2);
    let op = finished(&t, &key, &sync_id).await;
    assert_eq!(op["status"], "succeeded");
    assert_eq!(
        op["response"]["body"], sync_body,
        "byte for byte what the client got"
    );

    // Errors carry the id too, and are kept as the client got them.
    let (status, headers, body) = send(
        &t,
        Method::POST,
        "/v1/hostile/trap",
        &key,
        &[],
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 500);
    let trap = finished(&t, &key, &operation_id(&headers)).await;
    assert_eq!(trap["status"], "failed", "{trap}");
    assert!(
        trap["error"].as_str().unwrap().contains("crashed"),
        "{trap}"
    );
    assert_eq!(trap["response"]["body"], json_of(&body));

    // The list: newest first, filtered, paged.
    let (status, _, body) = send(
        &t,
        Method::GET,
        "/v1/operations?plugin=qcloud&limit=1",
        &key,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let page = json_of(&body);
    assert_eq!(page["operations"][0]["id"], sync_id.as_str(), "{page}");
    let next = page["next_after"].as_str().unwrap();
    let (_, _, body) = send(
        &t,
        Method::GET,
        &format!("/v1/operations?plugin=qcloud&limit=1&after={next}"),
        &key,
        &[],
        None,
    )
    .await;
    assert_eq!(json_of(&body)["operations"][0]["id"], id.as_str());
    let (_, _, body) = send(
        &t,
        Method::GET,
        "/v1/operations?status=failed",
        &key,
        &[],
        None,
    )
    .await;
    let failed = json_of(&body);
    assert_eq!(
        failed["operations"].as_array().unwrap().len(),
        1,
        "{failed}"
    );
    let (status, _, _) = send(
        &t,
        Method::GET,
        "/v1/operations?status=done",
        &key,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn one_idempotency_key_creates_once_concurrently_and_after_completion() {
    let t = TestBroker::start().await;
    let key = t.tenant_key.clone();
    let body = vpc_create("idem");
    let call = |body: Value| {
        let t = &t;
        let key = key.clone();
        async move {
            send(
                t,
                Method::POST,
                "/v1/qcloud/vpc/create",
                &key,
                &[("idempotency-key", "\"create-vpc-1\"")],
                Some(&body),
            )
            .await
        }
    };
    let answers = futures_join_all((0..5).map(|_| call(body.clone()))).await;
    let first = &answers[0];
    for (status, headers, answer) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(answer));
        assert_eq!(
            operation_id(headers),
            operation_id(&first.1),
            "one operation"
        );
        assert_eq!(answer, &first.2, "the same answer, byte for byte");
    }
    assert_eq!(t.tencent().vpc_count(), 1, "one upstream create");

    // After completion: the stored answer again, no new run.
    let (status, headers, again) = call(body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(operation_id(&headers), operation_id(&first.1));
    assert_eq!(again, first.2);
    assert_eq!(t.tencent().vpc_count(), 1);

    // The same key with another body is refused, and runs nothing.
    let (status, _, refused) = call(vpc_create("another")).await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&refused));
    assert!(
        String::from_utf8_lossy(&refused).contains("different request"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert_eq!(t.tencent().vpc_count(), 1);

    // Retries that arrive while the call runs wait for it and get its answer: one run.
    let slow = |_| {
        let t = &t;
        let key = key.clone();
        async move {
            send(
                t,
                Method::POST,
                "/v1/hostile/slow",
                &key,
                &[("idempotency-key", "slow-1")],
                Some(&json!({"ms": 500})),
            )
            .await
        }
    };
    let answers = futures_join_all((0..4).map(slow)).await;
    for (status, headers, answer) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(answer));
        assert_eq!(operation_id(headers), operation_id(&answers[0].1));
    }
    let (_, _, listed) = send(
        &t,
        Method::GET,
        "/v1/operations?plugin=hostile",
        &key,
        &[],
        None,
    )
    .await;
    let runs = json_of(&listed);
    assert_eq!(runs["operations"].as_array().unwrap().len(), 1, "{runs}");

    // Async with the key: 202 for the same operation.
    let (status, headers, _) = send(
        &t,
        Method::POST,
        "/v1/qcloud/vpc/create",
        &key,
        &[
            ("idempotency-key", "create-vpc-1"),
            ("prefer", "respond-async"),
        ],
        Some(&body),
    )
    .await;
    assert_eq!(
        status, 200,
        "a finished operation answers its stored answer"
    );
    assert_eq!(operation_id(&headers), operation_id(&first.1));
}

/// `join_all` without a futures dependency: spawn-free, polls all futures together.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_cancelled_call_stops_at_its_next_host_call_and_other_tenants_see_nothing() {
    let t = TestBroker::start().await;
    let key = t.tenant_key.clone();
    let other = t.new_tenant("globex").await;
    // Sleeps 10 ms in a loop until the wall-clock limit (20 s) stops it.
    let (status, headers, _) = send(
        &t,
        Method::POST,
        "/v1/hostile/sleep-loop",
        &key,
        &[("prefer", "respond-async")],
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 202);
    let id = operation_id(&headers);
    let path = format!("/v1/operations/{id}");

    // Another tenant can neither read, list nor cancel it: 404, as if it did not exist.
    for method in [Method::GET, Method::DELETE] {
        let (status, _, body) = send(&t, method, &path, &other, &[], None).await;
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
        let error = json_of(&body);
        assert_eq!(error["error"]["code"], "not_found");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("request id")
        );
    }
    let (_, _, body) = send(&t, Method::GET, "/v1/operations", &other, &[], None).await;
    assert_eq!(json_of(&body)["operations"], json!([]));

    // An admin acts for the owner with X-Broker-Tenant.
    let admin = t.admin_key.clone();
    let (status, _, body) = send(
        &t,
        Method::GET,
        &path,
        &admin,
        &[("x-broker-tenant", "default")],
        None,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json_of(&body)["status"], "running");

    let (status, _, body) = send(&t, Method::DELETE, &path, &key, &[], None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let cancelled = json_of(&body);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["upstream_calls"],
        json!([]),
        "the loop sends nothing upstream"
    );

    // It stops well before its wall-clock limit, and stays cancelled.
    let op = finished(&t, &key, &id).await;
    assert_eq!(op["status"], "cancelled", "{op}");
    assert!(
        op["error"]
            .as_str()
            .unwrap()
            .contains("cancelled by the client"),
        "{op}"
    );
    assert_eq!(op["response"]["status"], 409, "{op}");
    let (status, _, _) = send(&t, Method::DELETE, &path, &key, &[], None).await;
    assert_eq!(status, 200, "cancelling again is harmless");

    // A finished operation cannot be cancelled; an unknown id is 404.
    let (_, headers, _) = send(
        &t,
        Method::POST,
        "/v1/hostile/noop",
        &key,
        &[],
        Some(&json!({})),
    )
    .await;
    let noop = operation_id(&headers);
    finished(&t, &key, &noop).await;
    let (status, _, _) = send(
        &t,
        Method::DELETE,
        &format!("/v1/operations/{noop}"),
        &key,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, _, _) = send(&t, Method::GET, "/v1/operations/not-an-id", &key, &[], None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_sync_caller_is_answered_409_when_its_call_is_cancelled() {
    let t = TestBroker::start().await;
    let key = t.tenant_key.clone();
    let waiting = {
        let (client, url, key) = (t.client.clone(), t.broker.url(), key.clone());
        tokio::spawn(async move {
            client
                .post(format!("{url}/v1/hostile/sleep-loop"))
                .bearer_auth(key)
                .header("idempotency-key", "loop-1")
                .body("{}")
                .send()
                .await
                .unwrap()
        })
    };
    // The key makes the running call findable by listing.
    let start = Instant::now();
    let id = loop {
        let (_, _, body) = send(
            &t,
            Method::GET,
            "/v1/operations?status=running",
            &key,
            &[],
            None,
        )
        .await;
        if let Some(id) = json_of(&body)["operations"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(start.elapsed() < POLL_LIMIT, "the call never showed up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (status, _, _) = send(
        &t,
        Method::DELETE,
        &format!("/v1/operations/{id}"),
        &key,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let answer = tokio::time::timeout(POLL_LIMIT, waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.headers()["x-operation-id"], id.as_str());
}

#[tokio::test]
async fn the_open_operations_of_a_tenant_are_capped() {
    let t = TestBroker::with(Setup {
        limits: Limits {
            wall_secs: 20,
            operations_open_per_tenant: 1,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let key = t.tenant_key.clone();
    let (status, headers, _) = send(
        &t,
        Method::POST,
        "/v1/hostile/sleep-loop",
        &key,
        &[("prefer", "respond-async")],
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 202);
    let (status, refused, _) = send(
        &t,
        Method::POST,
        "/v1/hostile/noop",
        &key,
        &[],
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 429);
    assert!(refused.contains_key("retry-after"));
    let id = operation_id(&headers);
    send(
        &t,
        Method::DELETE,
        &format!("/v1/operations/{id}"),
        &key,
        &[],
        None,
    )
    .await;
    finished(&t, &key, &id).await;
    // The cancelled call's place is free again once it has ended.
    let start = Instant::now();
    loop {
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/v1/hostile/noop",
            &key,
            &[],
            Some(&json!({})),
        )
        .await;
        if status == 200 {
            break;
        }
        assert!(start.elapsed() < POLL_LIMIT, "still refused: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_restart_on_sqlite_marks_a_call_cut_off_as_failed() {
    let t = TestBroker::start().await;
    // A call the process was running when it died: written `running`, never finished.
    let id = uuid::Uuid::new_v4();
    t.broker
        .store()
        .begin_operation(&NewOperation {
            id,
            tenant: "default".into(),
            plugin: "hostile".into(),
            method: "POST".into(),
            path: "/v1/hostile/slow".into(),
            request_id: "cut-off".into(),
            created_at: time::OffsetDateTime::now_utc(),
            idempotency_key: Some("cut-off-key".into()),
            request_hash: Some("h".into()),
        })
        .await
        .unwrap();
    let key = t.tenant_key.clone();
    let data = t.shutdown().await;

    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(HOSTILE, plugins.path().join("hostile.wasm")).unwrap();
    let broker = Broker::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        plugin_dir: plugins.path().to_path_buf(),
        data_dir: data.path().to_path_buf(),
        cache_dir: Some(shared_cache()),
        ..Config::default()
    })
    .await
    .unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/v1/operations/{id}", broker.url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let op: Value = answer.json().await.unwrap();
    assert_eq!(op["status"], "failed", "{op}");
    let error = op["error"].as_str().unwrap();
    assert!(
        error.contains("restarted") && error.contains("may exist"),
        "{error}"
    );
    broker.shutdown().await.unwrap();
}
