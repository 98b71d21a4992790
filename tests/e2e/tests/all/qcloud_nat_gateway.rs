//! The qcloud plugin's nat-gateway routes, through the real host and component to the
//! simulator, in simulated time (a 60 s gateway set-up and a 30 s deletion take no real time).

use std::time::{Duration, Instant};

use broker::capabilities::clock::HostClock;
use broker::config::SettingValue;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{create_vpc, output, output_keys, post_err, post_ok, start_simulated};

const REGION: &str = "ap-shanghai";

/// The spec's `nat-gateway/create` example input, in VPC `vpc`.
fn spec_create_input(vpc: &str) -> Value {
    let example = r#"{
		"guid":"0005_0000000055",
		"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
		"name": "NAT-GATEWAY-1",
		"vpc_id": "vpc-nn3hi480",
		"max_concurrent": 1000000,
		"bandwidth": 100,
		"assigned_eip_set": "",
		"auto_alloc_eip_num": 1
	}"#
    .replace("vpc-nn3hi480", vpc);
    serde_json::from_str(&example).unwrap()
}

/// The spec's `nat-gateway/terminate` example body for gateway `id` in VPC `vpc`.
fn spec_terminate_body(id: &str, vpc: &str) -> String {
    r#"{
	"inputs":[{
		"guid":"0005_0000000055",
		"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
		"id": "nat-kr5dnmzb",
		"vpc_id": "vpc-nn3hi480"
	}]
}"#
    .replace("nat-kr5dnmzb", id)
    .replace("vpc-nn3hi480", vpc)
}

/// The EIPs of the region as `(id, status, bound to)`.
fn addresses(t: &TestBroker) -> Vec<(String, String, Option<String>)> {
    t.tencent().addresses(REGION)
}

#[tokio::test]
async fn spec_nat_gateway_create_example_waits_until_available_in_simulated_time() {
    let (t, clock) = start_simulated(&[]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let body = json!({ "inputs": [spec_create_input(&vpc)] });
    let (started_virtual, started) = (clock.now_ms(), Instant::now());
    let (status, answer) = t.post("/v1/qcloud/nat-gateway/create", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(
        output_keys(out),
        [
            "eip",
            "eip_id",
            "error_code",
            "error_message",
            "guid",
            "id",
            "request_id"
        ]
    );
    assert_eq!(out["guid"], "0005_0000000055");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("nat-") && id.len() == 12, "{id}");
    assert_eq!(t.tencent().nat_gateway_ids(REGION), [id]);
    assert_eq!(
        t.tencent().nat_gateway_state(REGION, id).as_deref(),
        Some("AVAILABLE")
    );
    // The one EIP allocated for it, bound to it, is the one answered.
    let eips = addresses(&t);
    assert_eq!(eips.len(), 1, "{eips:?}");
    assert_eq!(out["eip_id"], eips[0].0.as_str());
    assert_eq!(eips[0].1, "BIND");
    assert_eq!(eips[0].2.as_deref(), Some(id));
    let ip: std::net::Ipv4Addr = out["eip"].as_str().unwrap().parse().unwrap();
    assert!(!ip.is_private(), "{ip}");

    assert!(
        clock.now_ms() - started_virtual >= 60_000,
        "the set-up took simulated time"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn spec_nat_gateway_terminate_example_waits_until_gone_releases_its_eip_and_succeeds_twice() {
    let (t, clock) = start_simulated(&[]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let id = post_ok(&t, "nat-gateway/create", spec_create_input(&vpc)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..2 {
        let before = clock.now_ms();
        let (status, answer) = t
            .post_raw(
                "/v1/qcloud/nat-gateway/terminate",
                spec_terminate_body(&id, &vpc),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result_code"], "0", "round {round}: {answer}");
        let out = output(&answer, 0);
        assert_eq!(
            output_keys(out),
            ["error_code", "error_message", "guid", "id", "request_id"]
        );
        assert_eq!(out["id"], id.as_str());
        assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
        assert!(t.tencent().nat_gateway_ids(REGION).is_empty());
        assert!(addresses(&t).is_empty(), "the allocated EIP leaked");
        if round == 0 {
            assert!(
                clock.now_ms() - before >= 30_000,
                "the deletion was waited for"
            );
        }
    }
    // The example verbatim: that gateway does not exist, which counts as deleted.
    let (_, answer) = t
        .post_raw(
            "/v1/qcloud/nat-gateway/terminate",
            spec_terminate_body("nat-kr5dnmzb", "vpc-nn3hi480"),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], "nat-kr5dnmzb");
    // With the gateway gone, its VPC can go too.
    post_ok(
        &t,
        "vpc/terminate",
        json!({"guid": "v", "provider_params": DEMO_PARAMS, "id": vpc}),
    )
    .await;
}

#[tokio::test]
async fn assigned_eips_are_bound_answered_comma_joined_and_kept_on_terminate() {
    let (t, _clock) = start_simulated(&[]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let (own_id, own_ip) = t.tencent().allocate_address(REGION);
    let mut input = spec_create_input(&vpc);
    input["assigned_eip_set"] = json!(own_ip);
    input["auto_alloc_eip_num"] = json!(1);
    let out = post_ok(&t, "nat-gateway/create", input).await;
    let id = out["id"].as_str().unwrap();
    let eips = addresses(&t);
    assert_eq!(eips.len(), 2, "{eips:?}");
    let allocated = eips.iter().find(|e| e.0 != own_id).unwrap().0.clone();
    let ids: Vec<&str> = out["eip_id"].as_str().unwrap().split(',').collect();
    assert_eq!(ids, [own_id.as_str(), allocated.as_str()], "{out}");
    let ips: Vec<&str> = out["eip"].as_str().unwrap().split(',').collect();
    assert_eq!(ips.len(), 2);
    assert_eq!(ips[0], own_ip);
    assert!(eips.iter().all(|e| e.2.as_deref() == Some(id)));

    post_ok(
        &t,
        "nat-gateway/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": id}),
    )
    .await;
    assert_eq!(
        addresses(&t),
        [(own_id, "UNBIND".to_owned(), None)],
        "the caller's EIP is unbound and kept, the allocated one released"
    );
}

#[tokio::test]
async fn nat_gateway_create_with_an_existing_id_returns_it_with_its_eip_without_creating() {
    let (t, _clock) = start_simulated(&[]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let created = post_ok(&t, "nat-gateway/create", spec_create_input(&vpc)).await;
    let mut input = spec_create_input(&vpc);
    input["id"] = created["id"].clone();
    let again = post_ok(&t, "nat-gateway/create", input).await;
    assert_eq!(again["id"], created["id"]);
    assert_eq!(again["eip"], created["eip"]);
    assert_eq!(again["eip_id"], created["eip_id"]);
    assert_eq!(t.tencent().nat_gateway_ids(REGION).len(), 1);
    assert_eq!(addresses(&t).len(), 1);

    // An id that does not exist creates a new gateway.
    let mut input = spec_create_input(&vpc);
    input["id"] = json!("nat-00000000");
    let other = post_ok(&t, "nat-gateway/create", input).await;
    assert_ne!(other["id"], created["id"]);
    assert_eq!(t.tencent().nat_gateway_ids(REGION).len(), 2);
}

#[tokio::test]
async fn nat_gateway_errors_are_clear_per_output_messages() {
    let (t, _clock) = start_simulated(&[]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;

    // Unknown VPC: Tencent's code and request id.
    let message = post_err(&t, "nat-gateway/create", spec_create_input("vpc-00000000")).await;
    assert!(
        message.contains("Code=ResourceNotFound") && message.contains("RequestId="),
        "{message}"
    );
    // A bandwidth Tencent does not offer.
    let mut input = spec_create_input(&vpc);
    input["bandwidth"] = json!(30);
    let message = post_err(&t, "nat-gateway/create", input).await;
    assert!(message.contains("InvalidParameterValue.Range"), "{message}");
    // An EIP that does not exist.
    let mut input = spec_create_input(&vpc);
    input["assigned_eip_set"] = json!("[\"1.2.3.4\"]");
    let message = post_err(&t, "nat-gateway/create", input).await;
    assert!(message.contains("InvalidAddressId.NotFound"), "{message}");
    // Neither EIP input, and a wrongly typed one.
    let mut input = spec_create_input(&vpc);
    input["auto_alloc_eip_num"] = json!(0);
    assert_eq!(
        post_err(&t, "nat-gateway/create", input).await,
        "at least one of \"assigned_eip_set\" and \"auto_alloc_eip_num\" is required"
    );
    let mut input = spec_create_input(&vpc);
    input["auto_alloc_eip_num"] = json!("one");
    let message = post_err(&t, "nat-gateway/create", input).await;
    assert!(message.contains("auto_alloc_eip_num"), "{message}");
    // Invalid provider_params.
    let mut input = spec_create_input(&vpc);
    input["provider_params"] = json!("Region=ap-shanghai;SecretID=x");
    assert_eq!(
        post_err(&t, "nat-gateway/create", input).await,
        "provider_params is missing `SecretKey`"
    );
    // A malformed id on terminate.
    let message = post_err(
        &t,
        "nat-gateway/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": "nat-bad"}),
    )
    .await;
    assert!(
        message.contains("InvalidParameterValue.Malformed"),
        "{message}"
    );
    assert!(t.tencent().nat_gateway_ids(REGION).is_empty());
    assert!(addresses(&t).is_empty());

    // A VPC with a NAT gateway cannot be deleted.
    post_ok(&t, "nat-gateway/create", spec_create_input(&vpc)).await;
    let message = post_err(
        &t,
        "vpc/terminate",
        json!({"guid": "v", "provider_params": DEMO_PARAMS, "id": vpc}),
    )
    .await;
    assert!(message.contains("ResourceInUse"), "{message}");
}

#[tokio::test]
async fn a_nat_gateway_slower_than_the_operator_timeout_fails_its_input() {
    let (t, clock) =
        start_simulated(&[("nat-gateway-timeout-secs", SettingValue::Integer(20))]).await;
    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let before = clock.now_ms();
    let message = post_err(&t, "nat-gateway/create", spec_create_input(&vpc)).await;
    let id = t.tencent().nat_gateway_ids(REGION).remove(0);
    assert_eq!(
        message,
        format!(
            "NAT gateway {id} was created, but: timed out after 20 s waiting for NAT gateway {id} \
             to be AVAILABLE (last state PENDING)"
        )
    );
    let waited = clock.now_ms() - before;
    assert!((20_000..60_000).contains(&waited), "waited {waited} ms");
}
