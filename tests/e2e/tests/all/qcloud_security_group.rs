//! The qcloud plugin's security-group routes, through the real host and component to the
//! simulator.

use serde_json::json;

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{output, post_err, post_ok};

const REGION: &str = "ap-shanghai";

const CREATE_EXAMPLE: &str = r#"{
  "inputs": [
  	    {
			"guid":"0007_0000000077",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"name": "group-test-1",
			"description": "PluginAccess"
		}]
}"#;

const TERMINATE_EXAMPLE: &str = r#"{
  "inputs": [
  	    {
			"guid":"0007_0000000077",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "sg-gco3jxye"
		}]
}"#;

#[tokio::test]
async fn spec_security_group_create_example_without_rule_fields_creates_a_group() {
    let t = TestBroker::start().await;
    let (status, answer) = t
        .post_raw("/v1/qcloud/security-group/create", CREATE_EXAMPLE)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0007_0000000077");
    assert_eq!(out["error_code"], "0");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("sg-") && id.len() == 11, "{id}");
    assert_eq!(t.tencent().security_group_ids(REGION), [id]);
}

#[tokio::test]
async fn spec_security_group_terminate_example_deletes_the_group_and_succeeds_when_absent() {
    let t = TestBroker::start().await;
    let (_, answer) = t
        .post_raw("/v1/qcloud/security-group/create", CREATE_EXAMPLE)
        .await;
    let id = output(&answer, 0)["id"].as_str().unwrap().to_owned();
    let (status, answer) = t
        .post_raw(
            "/v1/qcloud/security-group/terminate",
            TERMINATE_EXAMPLE.replace("sg-gco3jxye", &id),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0007_0000000077");
    assert_eq!(out["id"], id.as_str());
    assert!(t.tencent().security_group_ids(REGION).is_empty());

    let (_, answer) = t
        .post_raw("/v1/qcloud/security-group/terminate", TERMINATE_EXAMPLE)
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], "sg-gco3jxye");
}

#[tokio::test]
async fn every_input_gets_its_own_output_even_with_the_same_name() {
    let t = TestBroker::start().await;
    let input = |guid: &str| json!({"guid": guid, "provider_params": DEMO_PARAMS, "name": "same", "description": "d"});
    let (_, answer) = t
        .post(
            "/v1/qcloud/security-group/create",
            &json!({"inputs": [input("a"), input("b")]}),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    let outputs = answer["results"]["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2, "{answer}");
    assert_eq!(outputs[0]["guid"], "a");
    assert_eq!(outputs[1]["guid"], "b");
    assert_ne!(outputs[0]["id"], outputs[1]["id"]);
    assert_eq!(t.tencent().security_group_ids(REGION).len(), 2);
}

#[tokio::test]
async fn security_group_create_with_an_existing_id_returns_it_and_terminate_twice_succeeds() {
    let t = TestBroker::start().await;
    let first =
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "name": "n", "description": "d"});
    let id = post_ok(&t, "security-group/create", first).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": id, "name": "n", "description": "d"});
    assert_eq!(
        post_ok(&t, "security-group/create", again).await["id"],
        id.as_str()
    );
    assert_eq!(t.tencent().security_group_ids(REGION).len(), 1);

    let terminate = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": id});
    post_ok(&t, "security-group/terminate", terminate.clone()).await;
    post_ok(&t, "security-group/terminate", terminate).await;
    assert!(t.tencent().security_group_ids(REGION).is_empty());
}

#[tokio::test]
async fn security_group_errors_are_per_output() {
    let t = TestBroker::start().await;
    let e = post_err(
        &t,
        "security-group/create",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": "bogus", "name": "n", "description": "d"}),
    )
    .await;
    assert!(e.contains("Code=InvalidParameterValue.Malformed"), "{e}");
    let e = post_err(
        &t,
        "security-group/create",
        json!({"guid": "g", "provider_params": "SecretID=a;SecretKey=b", "name": "n", "description": "d"}),
    )
    .await;
    assert_eq!(e, "provider_params is missing `Region`");
    let e = post_err(
        &t,
        "security-group/create",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "name": "n"}),
    )
    .await;
    assert_eq!(e, "missing required field \"description\"");
    assert!(t.tencent().security_group_ids(REGION).is_empty());
}
