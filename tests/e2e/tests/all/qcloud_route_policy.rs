//! The qcloud plugin's route-policy routes, through the real host and component to the
//! simulator.

use serde_json::json;

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{create_route_table, create_vpc, output, post_err, post_ok};

const REGION: &str = "ap-shanghai";

/// A VPC and a custom route table in it; returns the table id.
async fn table(t: &TestBroker) -> String {
    let vpc = create_vpc(t, "10.5.0.0/16").await;
    create_route_table(t, &vpc).await
}

fn route(table: &str, dest: &str, gateway_type: &str) -> serde_json::Value {
    json!({"guid": "g", "provider_params": DEMO_PARAMS, "route_table_id": table, "dest_cidr": dest,
        "gateway_type": gateway_type, "gateway_id": "nat-9rbwryi9", "desc": "d"})
}

#[tokio::test]
async fn spec_route_policy_create_example_adds_a_route_and_returns_its_id() {
    let t = TestBroker::start().await;
    let table = table(&t).await;
    let body = r#"{
  "inputs": [
  	    {
			"guid":"0004_0000000044",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"route_table_id": "rtb-47oxymsj",
			"dest_cidr":"10.0.0.0/8",
			"gateway_type":"NAT",
			"gateway_id":"nat-9rbwryi9",
			"desc":"nat_policy"
		}]
} "#
    .replace("rtb-47oxymsj", &table);
    let (status, answer) = t.post_raw("/v1/qcloud/route-policy/create", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0004_0000000044");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id: u64 = out["id"].as_str().unwrap().parse().expect("a decimal id");
    assert_eq!(t.tencent().route_ids(REGION, &table), Some(vec![id]));
}

#[tokio::test]
async fn spec_route_policy_terminate_example_deletes_the_route_and_succeeds_when_absent() {
    let t = TestBroker::start().await;
    let table = table(&t).await;
    let id = post_ok(
        &t,
        "route-policy/create",
        route(&table, "10.0.0.0/8", "NAT"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The spec's example is not valid JSON (a missing comma after provider_params, a trailing
    // comma); this is it with those two fixed.
    let example = r#"{
  "inputs": [
		{
			"guid":"0004_0000000044",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "114914",
			"route_table_id": "rtb-47oxymsj"
		}]
}"#
    .replace("rtb-47oxymsj", &table);
    let (status, answer) = t
        .post_raw(
            "/v1/qcloud/route-policy/terminate",
            example.replace("114914", &id),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(
        crate::qcloud::output_keys(out),
        ["error_code", "error_message", "guid", "request_id"]
    );
    assert_eq!(out["guid"], "0004_0000000044");
    assert_eq!(t.tencent().route_ids(REGION, &table), Some(vec![]));

    // Route 114914 does not exist: already terminated.
    let (_, answer) = t
        .post_raw("/v1/qcloud/route-policy/terminate", example)
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn route_policy_create_with_an_existing_id_returns_it_and_terminate_twice_succeeds() {
    let t = TestBroker::start().await;
    let table = table(&t).await;
    let id = post_ok(
        &t,
        "route-policy/create",
        route(&table, "10.0.0.0/8", "nat"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut again = route(&table, "10.0.0.0/8", "NAT");
    again["id"] = json!(id);
    let out = post_ok(&t, "route-policy/create", again).await;
    assert_eq!(out["id"], id.as_str());
    assert_eq!(t.tencent().route_ids(REGION, &table).unwrap().len(), 1);

    let terminate =
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": id, "route_table_id": table});
    post_ok(&t, "route-policy/terminate", terminate.clone()).await;
    post_ok(&t, "route-policy/terminate", terminate).await;
    assert_eq!(t.tencent().route_ids(REGION, &table), Some(vec![]));
}

#[tokio::test]
async fn route_policy_errors_conflicts_gateway_types_and_unknown_tables() {
    let t = TestBroker::start().await;
    let table = table(&t).await;
    let first = post_ok(
        &t,
        "route-policy/create",
        route(&table, "10.0.0.0/8", "NAT"),
    )
    .await;
    let e = post_err(
        &t,
        "route-policy/create",
        route(&table, "10.0.0.0/8", "VPN"),
    )
    .await;
    assert!(
        e.starts_with(&format!(
            "route table {table} already has 1 route(s) to 10.0.0.0/8 (RouteId {})",
            first["id"].as_str().unwrap()
        )),
        "{e}"
    );

    let seen = t.tencent().requests_seen();
    let e = post_err(
        &t,
        "route-policy/create",
        route(&table, "10.0.0.0/8", "ROUTER"),
    )
    .await;
    assert!(e.starts_with("gateway_type must be one of CVM, VPN"), "{e}");
    assert_eq!(
        t.tencent().requests_seen(),
        seen,
        "rejected before any call"
    );

    let e = post_err(
        &t,
        "route-policy/create",
        route("rtb-00000000", "192.168.0.0/16", "NAT"),
    )
    .await;
    assert!(e.contains("Code=ResourceNotFound"), "{e}");
    assert_eq!(t.tencent().route_ids(REGION, &table).unwrap().len(), 1);
}
