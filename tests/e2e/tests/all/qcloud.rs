//! The qcloud plugin's vpc routes, through the real host and component to the simulator, and
//! the helpers the other `qcloud_*` test modules share.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::VirtualClock;
use broker::config::SettingValue;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, Setup, TestBroker, logs};

/// A broker whose plugins and simulator share a virtual clock starting now, with the operator's
/// qcloud `settings` (name, value).
pub(crate) async fn start_simulated(
    settings: &[(&str, SettingValue)],
) -> (TestBroker, Arc<VirtualClock>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
    let qcloud = settings
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect();
    let t = TestBroker::with(Setup {
        clock: Some(clock.clone()),
        plugin_settings: BTreeMap::from([("qcloud".to_string(), qcloud)]),
        ..Setup::default()
    })
    .await;
    (t, clock)
}

/// The field names of one output, sorted: to check an output has exactly the spec's fields.
pub(crate) fn output_keys(out: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = out
        .as_object()
        .expect("an output is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Output `i` of a WeCube answer.
pub(crate) fn output(answer: &Value, i: usize) -> &Value {
    &answer["results"]["outputs"][i]
}

/// Posts one input to `route`, asserts it succeeded, and returns its output.
pub(crate) async fn post_ok(t: &TestBroker, route: &str, input: Value) -> Value {
    let (status, answer) = t
        .post(
            &format!("/v1/qcloud/{route}"),
            &json!({ "inputs": [input] }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{route}: {answer}");
    output(&answer, 0).clone()
}

/// Posts one input to `route`, asserts it failed, and returns its error message.
pub(crate) async fn post_err(t: &TestBroker, route: &str, input: Value) -> String {
    let (status, answer) = t
        .post(
            &format!("/v1/qcloud/{route}"),
            &json!({ "inputs": [input] }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "1", "{route}: {answer}");
    let out = output(&answer, 0);
    assert_eq!(out["error_code"], "1", "{out}");
    out["error_message"].as_str().unwrap().to_owned()
}

/// Runs a qcloud create route for one input that must succeed; returns the new id.
async fn create(t: &TestBroker, route: &str, input: Value) -> String {
    let out = post_ok(t, route, input).await;
    out["id"]
        .as_str()
        .expect("a create answers an id")
        .to_owned()
}

/// Creates a VPC with block `cidr` through `vpc/create`; returns its id.
pub(crate) async fn create_vpc(t: &TestBroker, cidr: &str) -> String {
    let input =
        json!({"guid": "vpc", "provider_params": DEMO_PARAMS, "name": "v", "cidr_block": cidr});
    create(t, "vpc/create", input).await
}

/// Creates a subnet of `vpc_id` through `subnet/create`; returns its id.
pub(crate) async fn create_subnet(t: &TestBroker, vpc_id: &str, cidr: &str) -> String {
    let input = json!({"guid": "sn", "provider_params": DEMO_PARAMS, "name": "s", "vpc_id": vpc_id, "cidr_block": cidr});
    create(t, "subnet/create", input).await
}

/// Creates a route table of `vpc_id` through `route-table/create`; returns its id.
pub(crate) async fn create_route_table(t: &TestBroker, vpc_id: &str) -> String {
    let input =
        json!({"guid": "rt", "provider_params": DEMO_PARAMS, "name": "r", "vpc_id": vpc_id});
    create(t, "route-table/create", input).await
}

#[tokio::test]
async fn spec_vpc_create_example_creates_a_vpc() {
    let t = TestBroker::start().await;
    // The spec's example, verbatim.
    let body = r#"{
        "inputs":[
            {
            "guid": "0001_0000000011",
            "provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
            "name": "api_test_vpc",
            "cidr_block": "10.5.0.0/16"
            }
        ]
    }"#;
    let (status, answer) = t.post_raw("/v1/qcloud/vpc/create", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0001_0000000011");
    assert_eq!(out["error_code"], "0");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("vpc-") && id.len() == 12, "{id}");
    assert_eq!(
        out["request_id"].as_str().unwrap().len(),
        36,
        "a real request id: {out}"
    );
    assert_eq!(t.tencent().vpc_count(), 1);
}

#[tokio::test]
async fn spec_vpc_terminate_example_succeeds_when_the_vpc_is_absent() {
    let t = TestBroker::start().await;
    let body = r#"{
        "inputs":[
            {
            "guid": "0001_0000000011",
            "provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
            "id": "vpc-k6051or0"
            }
        ]
    }"#;
    let (status, answer) = t.post_raw("/v1/qcloud/vpc/terminate", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0001_0000000011");
    assert_eq!(out["id"], "vpc-k6051or0");
    assert_eq!(out["error_code"], "0");
}

#[tokio::test]
async fn create_then_terminate_removes_the_vpc_and_create_with_an_existing_id_does_not_create() {
    let t = TestBroker::start().await;
    let create = json!({"inputs": [{"guid": "g1", "provider_params": DEMO_PARAMS, "name": "a", "cidr_block": "10.0.0.0/16"}]});
    let (_, answer) = t.post("/v1/qcloud/vpc/create", &create).await;
    let id = output(&answer, 0)["id"].as_str().unwrap().to_string();

    // `Inputs` with a capital I, as some spec examples write it.
    let again = json!({"Inputs": [{"guid": "g1", "provider_params": DEMO_PARAMS, "id": id, "name": "a", "cidr_block": "10.0.0.0/16"}]});
    let (_, answer) = t.post("/v1/qcloud/vpc/create", &again).await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], id.as_str());
    assert_eq!(
        t.tencent().vpc_count(),
        1,
        "an existing id must not create another VPC"
    );

    let terminate = json!({"inputs": [{"guid": "g1", "provider_params": DEMO_PARAMS, "id": id}]});
    let (_, answer) = t.post("/v1/qcloud/vpc/terminate", &terminate).await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(t.tencent().vpc_count(), 0);

    // Terminating again is still a success (already gone).
    let (_, answer) = t.post("/v1/qcloud/vpc/terminate", &terminate).await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn a_missing_field_fails_its_own_input_and_the_batch_goes_on() {
    let t = TestBroker::start().await;
    let body = json!({"inputs": [
        {"guid": "bad", "provider_params": DEMO_PARAMS, "name": "a"},
        {"guid": "good", "provider_params": DEMO_PARAMS, "name": "b", "cidr_block": "10.1.0.0/16"}
    ]});
    let (status, answer) = t.post("/v1/qcloud/vpc/create", &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["result_code"], "1", "{answer}");
    let bad = output(&answer, 0);
    assert_eq!(bad["guid"], "bad");
    assert_eq!(bad["error_code"], "1");
    assert!(
        bad["error_message"]
            .as_str()
            .unwrap()
            .contains("cidr_block"),
        "{bad}"
    );
    let good = output(&answer, 1);
    assert_eq!(good["guid"], "good");
    assert_eq!(good["error_code"], "0", "{good}");
    assert!(good["id"].as_str().unwrap().starts_with("vpc-"));
    assert_eq!(t.tencent().vpc_count(), 1);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_clear_per_output_error() {
    let t = TestBroker::start().await;
    let body = json!({"inputs": [{"guid": "g", "provider_params": DEMO_PARAMS, "name": 123, "cidr_block": "10.0.0.0/16"}]});
    let (_, answer) = t.post("/v1/qcloud/vpc/create", &body).await;
    assert_eq!(answer["result_code"], "1");
    let message = output(&answer, 0)["error_message"].as_str().unwrap();
    assert!(
        message.contains("name") && message.contains("string"),
        "{message}"
    );
    assert_eq!(t.tencent().vpc_count(), 0);
}

#[tokio::test]
async fn malformed_json_gets_the_wecube_envelope() {
    let t = TestBroker::start().await;
    let (status, answer) = t.post_raw("/v1/qcloud/vpc/create", "{\"inputs\": [").await;
    assert_eq!(status, 400);
    assert_eq!(answer["result_code"], "1");
    assert!(
        answer["result_message"].as_str().unwrap().contains("JSON"),
        "{answer}"
    );
}

#[tokio::test]
async fn wrong_credentials_surface_tencents_error_in_the_output() {
    let t = TestBroker::start().await;
    let wrong_secret = "Region=ap-shanghai;SecretID={$your_SecretID};SecretKey=not-the-right-key";
    let unknown_id = "Region=ap-shanghai;SecretID=AKIDunknown;SecretKey=whatever-key";
    let body = json!({"inputs": [
        {"guid": "g1", "provider_params": wrong_secret, "name": "a", "cidr_block": "10.0.0.0/16"},
        {"guid": "g2", "provider_params": unknown_id, "name": "a", "cidr_block": "10.0.0.0/16"}
    ]});
    let (_, answer) = t.post("/v1/qcloud/vpc/create", &body).await;
    assert_eq!(answer["result_code"], "1");
    let first = output(&answer, 0)["error_message"].as_str().unwrap();
    assert!(
        first.contains("AuthFailure.SignatureFailure") && first.contains("RequestId="),
        "{first}"
    );
    let second = output(&answer, 1)["error_message"].as_str().unwrap();
    assert!(second.contains("AuthFailure.SecretIdNotFound"), "{second}");
    assert!(
        !answer.to_string().contains("not-the-right-key"),
        "the secret is echoed: {answer}"
    );
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let t = TestBroker::start().await;
    let marker = "SECRETMARKER7f3a9c";
    let params = format!("Region=ap-shanghai;SecretID={{$your_SecretID}};SecretKey={marker}");
    // Through qcloud: the signature fails upstream, the error is logged and answered.
    let body = json!({"inputs": [{"guid": "g", "provider_params": params, "seed": marker, "name": "a", "cidr_block": "10.0.0.0/16"}]});
    let (_, answer) = t.post("/v1/qcloud/vpc/create", &body).await;
    assert_eq!(answer["result_code"], "1");
    // Through a plugin that tries to log the secret in its message and in a field.
    let (status, _) = t
        .post(
            "/v1/hostile/log-secret",
            &json!({"provider_params": params}),
        )
        .await;
    assert_eq!(status, 200);
    let logs = logs();
    assert!(
        logs.contains("***"),
        "the hostile plugin's line was logged, masked"
    );
    assert!(!logs.contains(marker), "a secret reached the logs");
}
