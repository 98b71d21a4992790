//! The cds plugin through the real host and component to the Capital Online simulator:
//! credentials (inline, stored, wrong), task `ERROR` and timeout, bad input; and the helpers the
//! other `cds_*` modules share. Plugins and simulator share a virtual clock, so task waits take
//! no real time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::{HostClock, VirtualClock};
use broker::config::SettingValue;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker, logs, provider};

/// Inline `provider_params` with the spec examples' placeholder keys (`AK`, `AccessKeySecret`),
/// which the simulator accepts.
pub(crate) const PARAMS: &str =
    "Region=CN_Beijing_A;AccessKeyId=AK;AccessKeySecret=AccessKeySecret";
/// The region of [`PARAMS`].
pub(crate) const REGION: &str = "CN_Beijing_A";

/// A broker with the cds plugin whose plugins and simulators share a virtual clock, with the
/// operator's cds settings `settings`.
pub(crate) async fn start_with(settings: &[(&str, i64)]) -> (TestBroker, Arc<VirtualClock>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
    let cds: BTreeMap<String, SettingValue> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SettingValue::Integer(*v)))
        .collect();
    let t = TestBroker::with(Setup {
        plugins: vec![provider("cds")],
        clock: Some(clock.clone()),
        plugin_settings: BTreeMap::from([("cds".to_owned(), cds)]),
        ..Setup::default()
    })
    .await;
    (t, clock)
}

/// [`start_with`] the default settings.
pub(crate) async fn start() -> (TestBroker, Arc<VirtualClock>) {
    start_with(&[]).await
}

/// The Capital Online simulator behind `t`.
pub(crate) fn sim(t: &TestBroker) -> &broker_sim::CdsSim {
    &t.broker.simulators().expect("simulators are on").cds
}

/// Runs the generic route for `name`; (HTTP status, answer).
pub(crate) async fn action(t: &TestBroker, name: &str, params: Value, wait: bool) -> (u16, Value) {
    action_as(t, PARAMS, name, params, wait).await
}

/// [`action`] with other `provider_params`.
pub(crate) async fn action_as(
    t: &TestBroker,
    provider_params: &str,
    name: &str,
    params: Value,
    wait: bool,
) -> (u16, Value) {
    t.post(
        &format!("/v1/cds/actions/{name}"),
        &json!({"provider_params": provider_params, "params": params, "wait": wait}),
    )
    .await
}

/// Runs the generic route for `name`, asserts success, returns the answer.
pub(crate) async fn action_ok(t: &TestBroker, name: &str, params: Value, wait: bool) -> Value {
    let (status, answer) = action(t, name, params, wait).await;
    assert_eq!(status, 200, "{name}: {answer}");
    assert_eq!(answer["result_code"], "0", "{name}: {answer}");
    assert_eq!(answer["action"], name);
    if wait && !answer["task"].is_null() {
        assert_eq!(answer["task"]["Status"], "FINISH", "{name}: {answer}");
    }
    answer
}

/// The first resource id of a waited-for task.
pub(crate) fn task_resource(answer: &Value) -> String {
    answer["task"]["ResourceIds"][0]
        .as_str()
        .unwrap_or_else(|| panic!("a task resource id in {answer}"))
        .to_owned()
}

/// Posts one input to resource route `route`; asserts it succeeded; returns its output.
pub(crate) async fn post_ok(t: &TestBroker, route: &str, input: Value) -> Value {
    let (status, answer) = t
        .post(&format!("/v1/cds/{route}"), &json!({ "inputs": [input] }))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{route}: {answer}");
    let out = answer["results"]["outputs"][0].clone();
    assert_eq!(out["error_code"], "0", "{out}");
    out
}

/// Posts one input to `route`; asserts it failed; returns its error message.
pub(crate) async fn post_err(t: &TestBroker, route: &str, input: Value) -> String {
    let (status, answer) = t
        .post(&format!("/v1/cds/{route}"), &json!({ "inputs": [input] }))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "1", "{route}: {answer}");
    let out = &answer["results"]["outputs"][0];
    assert_eq!(out["error_code"], "1", "{out}");
    out["error_message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn inline_credentials_sign_a_get_action_the_simulator_verifies() {
    let (t, _) = start().await;
    let answer = action_ok(&t, "DescribeVdc", json!({"RegionId": REGION}), false).await;
    assert_eq!(answer["response"]["Code"], "Success");
    assert_eq!(answer["response"]["Data"], json!([]));
    assert_eq!(answer["error_source"], "");
    assert!(sim(&t).requests_seen() >= 1);
}

#[tokio::test]
async fn a_stored_account_signs_without_its_secret_entering_the_request() {
    let (t, _) = start().await;
    let (status, stored) = t
        .admin(
            Method::PUT,
            "/admin/tenants/default/accounts/cds/prod",
            Some(&json!({"access_key_id": "AK", "access_key_secret": "AccessKeySecret", "default_region": REGION})),
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    // By name alone: the account's default region is the `RegionId` of vdc/create.
    let out = post_ok(
        &t,
        "vdc/create",
        json!({"guid": "g-1", "provider_params": "prod", "name": "stored"}),
    )
    .await;
    assert_eq!(out["region_id"], REGION);
    assert_eq!(out["guid"], "g-1");
    // `Account=` with a region override, through the generic route.
    let (status, answer) = action_as(
        &t,
        "Account=prod;Region=CN_Beijing_B",
        "DescribeVdc",
        json!({"VdcId": out["id"]}),
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["response"]["Data"][0]["VdcName"], "stored",
        "{answer}"
    );
    // Another tenant's view: a name that is not stored is a clear broker error.
    let (status, answer) = action_as(&t, "nobody", "DescribeVdc", json!({}), false).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error_source"], "broker");
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .contains("no Capital Online account named `nobody`"),
        "{answer}"
    );
    assert!(
        !logs().contains("AccessKeySecret="),
        "the secret never reaches a log line"
    );
}

#[tokio::test]
async fn a_wrong_secret_gets_capital_onlines_signature_error_as_an_upstream_error() {
    let (t, _) = start().await;
    let (status, answer) = action_as(
        &t,
        "Region=CN_Beijing_A;AccessKeyId=AK;AccessKeySecret=wrong-secret",
        "DescribeVdc",
        json!({}),
        false,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "1");
    assert_eq!(answer["error_source"], "upstream");
    assert_eq!(
        answer["response"]["Code"], "SignatureDoesNotMatch",
        "{answer}"
    );
    let message = answer["result_message"].as_str().unwrap();
    assert!(
        message.starts_with("[CdsError] Code=SignatureDoesNotMatch, Message="),
        "{message}"
    );
    assert!(message.contains("RequestId="), "{message}");
    // The same through a resource route: a per-output error.
    let error = post_err(
        &t,
        "vdc/create",
        json!({"guid": "g", "provider_params": "Region=CN_Beijing_A;AccessKeyId=nope;AccessKeySecret=x"}),
    )
    .await;
    assert!(
        error.contains("Code=InvalidAccessKeyId.NotFound"),
        "{error}"
    );
}

#[tokio::test]
async fn a_task_that_ends_in_error_is_a_clear_error_on_both_kinds_of_route() {
    let (t, _) = start().await;
    sim(&t).fail_next_tasks(1);
    let (status, answer) = action(&t, "CreateVdc", json!({"RegionId": REGION}), true).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "1");
    assert_eq!(answer["error_source"], "task");
    assert_eq!(answer["task"]["Status"], "ERROR");
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .ends_with("(createVdc) ended in ERROR"),
        "{answer}"
    );
    assert_eq!(
        sim(&t).inspect(|s| s.vdcs.len()),
        0,
        "a failed task changes nothing"
    );
    sim(&t).fail_next_tasks(1);
    let error = post_err(
        &t,
        "vdc/create",
        json!({"guid": "g", "provider_params": PARAMS}),
    )
    .await;
    assert!(error.contains("ended in ERROR"), "{error}");
    // The next one succeeds.
    post_ok(
        &t,
        "vdc/create",
        json!({"guid": "g", "provider_params": PARAMS}),
    )
    .await;
}

#[tokio::test]
async fn a_task_that_outlasts_the_operators_timeout_times_out_in_simulated_time() {
    // Tasks take 20 s in the simulator; the operator allows 8 s, polled every 2 s.
    let (t, clock) = start_with(&[("task-timeout-secs", 8), ("task-interval-secs", 2)]).await;
    let before = clock.now_ms();
    let (status, answer) = action(&t, "CreateVdc", json!({"RegionId": REGION}), true).await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_source"], "task", "{answer}");
    let message = answer["result_message"].as_str().unwrap();
    assert!(
        message.contains("did not finish within 8 s (last status DOING)"),
        "{message}"
    );
    let waited = clock.now_ms() - before;
    assert!(
        (8_000..10_000).contains(&waited),
        "waited {waited} ms of simulated time"
    );
    let error = post_err(
        &t,
        "vdc/create",
        json!({"guid": "g", "provider_params": PARAMS}),
    )
    .await;
    assert!(error.contains("did not finish within 8 s"), "{error}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_in_the_right_envelope_and_the_service_keeps_running() {
    let (t, _) = start().await;
    let (status, answer) = t.post_raw("/v1/cds/actions/DescribeVdc", "{not json").await;
    assert_eq!(
        (status, answer["error_source"].as_str()),
        (400, Some("broker"))
    );
    let (status, answer) = action(&t, "NoSuchAction", json!({}), false).await;
    assert_eq!(status, 404);
    assert_eq!(
        answer["result_message"],
        "unknown Capital Online action `NoSuchAction`"
    );
    let (status, answer) = action_as(
        &t,
        "Region=r;AccessKeyId=AK",
        "DescribeVdc",
        json!({}),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["result_message"],
        "provider_params is missing `AccessKeySecret`"
    );
    // Upstream validation: a missing required parameter is Capital Online's MissingParameter.
    let (_, answer) = action(&t, "DeleteVdc", json!({}), false).await;
    assert_eq!(answer["response"]["Code"], "MissingParameter", "{answer}");
    let (status, answer) = t.post_raw("/v1/cds/vdc/create", "[1]").await;
    assert_eq!(status, 400, "{answer}");
    let error = post_err(
        &t,
        "vm/terminate",
        json!({"guid": "g", "provider_params": PARAMS}),
    )
    .await;
    assert_eq!(error, "missing required field \"id\"");
    let error = post_err(&t, "disk/resize", json!({"guid": "g", "provider_params": PARAMS, "instance_id": "i", "id": "d", "size": "big"})).await;
    assert_eq!(error, "field \"size\" must be a whole number, got \"big\"");
    let (status, _) = t.post("/v1/cds/nothing/here", &json!({"inputs": []})).await;
    assert_eq!(status, 404);
    // Still serving.
    action_ok(&t, "DescribeVdc", json!({}), false).await;
}

#[tokio::test]
async fn an_upstream_gateway_failure_is_a_502_upstream_error_and_the_next_call_works() {
    let (t, _) = start().await;
    sim(&t)
        .faults()
        .fail_next(1, broker_sim::FaultKind::Http500);
    let (status, answer) = action(&t, "DescribeVdc", json!({}), false).await;
    assert_eq!(
        (status, answer["error_source"].as_str()),
        (502, Some("upstream")),
        "{answer}"
    );
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{answer}"
    );
    action_ok(&t, "DescribeVdc", json!({}), false).await;
}

#[tokio::test]
async fn failing_task_polls_are_ridden_out_up_to_a_bound() {
    let (t, _) = start().await;
    sim(&t).fail_next_task_polls(3);
    let answer = action_ok(&t, "CreateVdc", json!({"RegionId": REGION}), true).await;
    assert_eq!(answer["task"]["Status"], "FINISH");
    // More than the 10 tolerated: the wait gives up with the upstream error.
    sim(&t).fail_next_task_polls(11);
    let error = post_err(
        &t,
        "vdc/create",
        json!({"guid": "g", "provider_params": PARAMS}),
    )
    .await;
    assert!(
        error.starts_with("DescribeTask failed: [CdsError] Code=InternalError"),
        "{error}"
    );
}

#[tokio::test]
async fn unknown_ids_get_clear_errors() {
    let (t, _) = start().await;
    let input = |fields: Value| {
        let mut input = json!({"guid": "g", "provider_params": PARAMS});
        for (k, v) in fields.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let error = post_err(&t, "vm/start", input(json!({"id": "no-such-vm"}))).await;
    assert_eq!(error, "instance no-such-vm is not found");
    let error = post_err(&t, "vm/reboot", input(json!({"id": "no-such-vm"}))).await;
    assert!(
        error.starts_with("[CdsError] Code=InstanceNotFound"),
        "{error}"
    );
    let error = post_err(
        &t,
        "public-network/modify-bandwidth",
        input(json!({"id": "nope", "qos": 5})),
    )
    .await;
    assert!(
        error.starts_with("[CdsError] Code=PublicNetworkNotFound"),
        "{error}"
    );
    let (_, answer) = action(&t, "DescribeTask", json!({"TaskId": "404"}), false).await;
    assert_eq!(
        answer["response"]["Code"], "InvalidTaskID.Malformed",
        "{answer}"
    );
}

#[tokio::test]
async fn endpoint_picks_a_regional_api_host_and_anything_else_is_refused() {
    let (t, _) = start().await;
    let params = format!("{PARAMS};Endpoint=cdsapi-us.capitalonline.net");
    let (status, answer) = action_as(&t, &params, "DescribeVdc", json!({}), false).await;
    assert_eq!(
        (status, answer["result_code"].as_str()),
        (200, Some("0")),
        "{answer}"
    );
    let out = post_ok(&t, "vdc/create", json!({"guid": "g", "provider_params": format!("{PARAMS};Endpoint=https://cdsapi-asia.capitalonline.net")})).await;
    assert_eq!(out["region_id"], REGION);
    let (status, answer) = action_as(
        &t,
        &format!("{PARAMS};Endpoint=evil.example"),
        "DescribeVdc",
        json!({}),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["result_message"]
            .as_str()
            .unwrap()
            .starts_with("`evil.example` is not a Capital Online API host"),
        "{answer}"
    );
}
