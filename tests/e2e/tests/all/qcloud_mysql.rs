//! The qcloud plugin's mysql-vm routes (CDB), through the real host and component to the
//! simulator, in simulated time.

use std::time::Duration;

use broker::capabilities::clock::HostClock;
use serde_json::{Value, json};

use crate::harness::TestBroker;
use crate::qcloud::{output, output_keys, post_err, post_ok};
use crate::qcloud_storage::{REGION, network, start_with};

/// `provider_params` of the spec's MySQL examples.
const SPEC_PARAMS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby";

const KEYS: [&str; 5] = ["error_code", "error_message", "guid", "id", "request_id"];

/// The spec's `mysql-vm/create` example body, on this test's network.
fn spec_create_body(vpc: &str, subnet: &str) -> String {
    r#"{
		"Inputs":[
		{
			"guid":"0010_000000010",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby",
			"name":"mysql-test1",
			"vpc_id": "vpc-nn3hi480 ",
			"subnet_id": "subnet-1b4zl3gd",
			"engine_version":"5.7",
			"memory":1000,
			"volume":100,
			"count":1,
			"charge_type":"BYHOUR",
			"charge_period":1
		}
	]
}"#
    .replace("vpc-nn3hi480", vpc)
    .replace("subnet-1b4zl3gd", subnet)
}

/// The spec's create example as one input.
fn spec_create_input(vpc: &str, subnet: &str) -> Value {
    let body: Value = serde_json::from_str(&spec_create_body(vpc, subnet)).unwrap();
    body["Inputs"][0].clone()
}

/// The spec's terminate and restart example body (they are identical), for instance `id`.
fn spec_id_body(id: &str) -> String {
    r#"{
		"Inputs":[
		{
			"guid":"0010_000000010",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby",
			"id":"cdb-pn6gd5jp"			
		}
	]
}"#
    .replace("cdb-pn6gd5jp", id)
}

/// A network and a running MySQL instance made with the spec's example: (vpc, subnet, id).
async fn create_mysql(t: &TestBroker) -> (String, String, String) {
    let (vpc, subnet) = network(t, SPEC_PARAMS, 20).await;
    let id = post_ok(t, "mysql-vm/create", spec_create_input(&vpc, &subnet)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, subnet, id)
}

#[tokio::test]
async fn spec_mysql_create_example_waits_until_the_instance_runs() {
    let (t, clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 20).await;
    let before = clock.now_ms();
    let (status, answer) = t
        .post_raw(
            "/v1/qcloud/mysql-vm/create",
            spec_create_body(&vpc, &subnet),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(output_keys(out), KEYS);
    assert_eq!(out["guid"], "0010_000000010");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("cdb-") && id.len() == 12, "{id}");
    assert_eq!(t.tencent().mysql_ids(REGION), [id]);
    assert_eq!(t.tencent().mysql_status(REGION, id), Some(1));
    // The 60 s creation happened in simulated time.
    assert!(clock.now_ms() - before >= 60_000);
}

#[tokio::test]
async fn mysql_create_with_an_existing_id_creates_nothing() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet, id) = create_mysql(&t).await;
    let mut again = spec_create_input(&vpc, &subnet);
    again["id"] = json!(id);
    let out = post_ok(&t, "mysql-vm/create", again).await;
    assert_eq!(out["id"], id.as_str());
    assert_eq!(t.tencent().mysql_ids(REGION), [id]);
}

#[tokio::test]
async fn spec_mysql_terminate_example_isolates_and_takes_offline_and_succeeds_twice() {
    let (t, _clock) = start_with(&[]).await;
    let (_, _, id) = create_mysql(&t).await;
    for _ in 0..2 {
        let (status, answer) = t
            .post_raw("/v1/qcloud/mysql-vm/terminate", spec_id_body(&id))
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result_code"], "0", "{answer}");
        let out = output(&answer, 0);
        assert_eq!(output_keys(out), KEYS);
        assert_eq!(out["id"], id.as_str());
        assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
        assert!(t.tencent().mysql_ids(REGION).is_empty());
    }
    // The example verbatim: that instance does not exist, which counts as terminated.
    let (_, answer) = t
        .post_raw(
            "/v1/qcloud/mysql-vm/terminate",
            spec_id_body("cdb-pn6gd5jp"),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn spec_mysql_restart_example_waits_for_the_async_request() {
    let (t, clock) = start_with(&[]).await;
    let (_, _, id) = create_mysql(&t).await;
    let before = clock.now_ms();
    let (status, answer) = t
        .post_raw("/v1/qcloud/mysql-vm/restart", spec_id_body(&id))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(output_keys(out), KEYS);
    assert_eq!(out["guid"], "0010_000000010");
    assert_eq!(out["id"], id.as_str());
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert_eq!(t.tencent().mysql_async_requests(), 1);
    // The 20 s restart happened in simulated time.
    assert!(clock.now_ms() - before >= 20_000);
}

#[tokio::test]
async fn mysql_errors_are_clear_per_output_messages() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 20).await;

    // Restarting an unknown instance is Tencent's error.
    let (_, answer) = t
        .post_raw("/v1/qcloud/mysql-vm/restart", spec_id_body("cdb-pn6gd5jp"))
        .await;
    assert_eq!(answer["result_code"], "1", "{answer}");
    let message = output(&answer, 0)["error_message"].as_str().unwrap();
    assert!(
        message.contains("InvalidParameter.InstanceNotFound"),
        "{message}"
    );
    assert!(message.contains("RequestId="), "{message}");

    // Upstream validation errors name Tencent's code.
    let mut bad_memory = spec_create_input(&vpc, &subnet);
    bad_memory["memory"] = json!(1234);
    let message = post_err(&t, "mysql-vm/create", bad_memory).await;
    assert!(message.contains("InvalidParameterValue.Range"), "{message}");
    let mut unknown_vpc = spec_create_input(&vpc, &subnet);
    unknown_vpc["vpc_id"] = json!("vpc-nn3hi480");
    let message = post_err(&t, "mysql-vm/create", unknown_vpc).await;
    assert!(message.contains("VpcIdNotExist"), "{message}");
    assert!(t.tencent().mysql_ids(REGION).is_empty());

    // Invalid provider_params and fields.
    let mut bad_params = spec_create_input(&vpc, &subnet);
    bad_params["provider_params"] = json!("Region=ap-shanghai;AvailableZone=ap-shanghai-3");
    let message = post_err(&t, "mysql-vm/create", bad_params).await;
    assert!(message.contains("provider_params"), "{message}");
    let mut bad_charge = spec_create_input(&vpc, &subnet);
    bad_charge["charge_type"] = json!("MONTHLY");
    let message = post_err(&t, "mysql-vm/create", bad_charge).await;
    assert!(message.contains("PREPAID or BYHOUR"), "{message}");
    let mut prepaid = spec_create_input(&vpc, &subnet);
    prepaid["charge_type"] = json!("PREPAID");
    prepaid["charge_period"] = json!(null);
    let message = post_err(&t, "mysql-vm/create", prepaid).await;
    assert!(message.contains("charge_period"), "{message}");
}

#[tokio::test]
async fn mysql_waits_are_bounded_by_the_operator_timeouts() {
    // Creation takes 60 s, a restart 20 s; the operator allows 30 s and 5 s.
    let (t, clock) = start_with(&[
        ("mysql-timeout-secs", 30),
        ("mysql-restart-timeout-secs", 5),
        ("mysql-restart-interval-secs", 1),
    ])
    .await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 20).await;
    let before = clock.now_ms();
    let message = post_err(&t, "mysql-vm/create", spec_create_input(&vpc, &subnet)).await;
    assert!(message.contains("timed out after 30 s"), "{message}");
    let waited = clock.now_ms() - before;
    assert!((30_000..60_000).contains(&waited), "waited {waited} ms");

    // The instance runs 60 s after its creation; a restart then times out after 5 s.
    clock.sleep(Duration::from_secs(40)).await;
    let id = t.tencent().mysql_ids(REGION)[0].clone();
    assert_eq!(t.tencent().mysql_status(REGION, &id), Some(1));
    let input = json!({"guid": "g", "provider_params": SPEC_PARAMS, "id": id});
    let message = post_err(&t, "mysql-vm/restart", input).await;
    assert!(
        message.contains("timed out after 5 s waiting for the restart"),
        "{message}"
    );
}
