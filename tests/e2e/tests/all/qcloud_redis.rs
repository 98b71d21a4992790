//! The qcloud plugin's redis route, through the real host and component to the simulator, in
//! simulated time.

use broker::capabilities::clock::HostClock;
use serde_json::{Value, json};

use crate::harness::logs;
use crate::qcloud::{output, output_keys, post_err, post_ok};
use crate::qcloud_storage::{REGION, network, start_with};

/// `provider_params` of the spec's Redis example.
const SPEC_PARAMS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby";

/// The spec's `redis/create` example input, on this test's network.
fn spec_create_input(vpc: &str, subnet: &str) -> Value {
    let example = r#"{
		"guid": "0012_000000012",
		"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby",
		"vpc_id":"vpc-nn3hi480",
		"subnet_id":"subnet-1b4zl3gd",
		"type_id":2,
		"mem_size":256,
		"goods_num":2,
		"period":1,
		"password":"sample@2018!",
		"billing_mode":1
		}"#
    .replace("vpc-nn3hi480", vpc)
    .replace("subnet-1b4zl3gd", subnet);
    serde_json::from_str(&example).unwrap()
}

#[tokio::test]
async fn spec_redis_create_example_waits_until_both_instances_run() {
    let (t, clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 30).await;
    let before = clock.now_ms();
    let (status, answer) = t
        .post(
            "/v1/qcloud/redis/create",
            &json!({"inputs": [spec_create_input(&vpc, &subnet)]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(
        output_keys(out),
        [
            "deal_id",
            "error_code",
            "error_message",
            "guid",
            "id",
            "request_id"
        ]
    );
    assert_eq!(out["guid"], "0012_000000012");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert!(!out["deal_id"].as_str().unwrap().is_empty(), "{out}");
    let ids: Vec<&str> = out["id"].as_str().unwrap().split(',').collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert!(
        ids.iter()
            .all(|id| id.starts_with("crs-") && id.len() == 12)
    );
    assert_eq!(t.tencent().redis_ids(REGION), ids);
    for id in &ids {
        assert_eq!(t.tencent().redis_status(REGION, id), Some((2, false)));
    }
    // The 30 s creation happened in simulated time; the password was never logged.
    assert!(clock.now_ms() - before >= 30_000);
    assert!(
        !logs().contains("sample@2018!"),
        "the password reached the logs"
    );
}

#[tokio::test]
async fn redis_create_with_existing_ids_creates_nothing_and_without_a_password_is_password_free() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 30).await;
    let mut input = spec_create_input(&vpc, &subnet);
    input.as_object_mut().unwrap().remove("password");
    input["goods_num"] = json!(1);
    let id = post_ok(&t, "redis/create", input.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.tencent().redis_status(REGION, &id), Some((2, true)));

    input["id"] = json!(id);
    let again = post_ok(&t, "redis/create", input).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["deal_id"], "");
    assert_eq!(t.tencent().redis_ids(REGION), [id]);
}

#[tokio::test]
async fn redis_errors_are_clear_per_output_messages() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 30).await;

    // Upstream validation errors name Tencent's code and request id.
    let mut weak = spec_create_input(&vpc, &subnet);
    weak["password"] = json!("password");
    let message = post_err(&t, "redis/create", weak).await;
    assert!(message.contains("PasswordRuleError"), "{message}");
    assert!(message.contains("RequestId="), "{message}");
    let mut unknown_subnet = spec_create_input(&vpc, &subnet);
    unknown_subnet["subnet_id"] = json!("subnet-1b4zl3gd");
    let message = post_err(&t, "redis/create", unknown_subnet).await;
    assert!(message.contains("SubnetNotExist"), "{message}");
    assert!(t.tencent().redis_ids(REGION).is_empty());

    // Invalid provider_params and fields.
    let mut no_zone = spec_create_input(&vpc, &subnet);
    no_zone["provider_params"] = json!(
        "Region=ap-shanghai;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby"
    );
    assert_eq!(
        post_err(&t, "redis/create", no_zone).await,
        "provider_params is missing `AvailableZone`"
    );
    let mut bad_mode = spec_create_input(&vpc, &subnet);
    bad_mode["billing_mode"] = json!(3);
    assert!(
        post_err(&t, "redis/create", bad_mode)
            .await
            .contains("billing_mode")
    );
    let mut bad_type = spec_create_input(&vpc, &subnet);
    bad_type["type_id"] = json!([2]);
    assert!(
        post_err(&t, "redis/create", bad_type)
            .await
            .contains("type_id")
    );
}

#[tokio::test]
async fn redis_waits_are_bounded_by_the_operator_timeout() {
    // Instances run 30 s after the purchase; the operator allows 10 s.
    let (t, clock) = start_with(&[("redis-timeout-secs", 10), ("redis-interval-secs", 2)]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 30).await;
    let before = clock.now_ms();
    let message = post_err(&t, "redis/create", spec_create_input(&vpc, &subnet)).await;
    assert!(
        message.contains("were bought (deal ") && message.contains("timed out after 10 s"),
        "{message}"
    );
    let waited = clock.now_ms() - before;
    assert!((10_000..30_000).contains(&waited), "waited {waited} ms");
}
