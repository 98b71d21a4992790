//! The qcloud plugin's route-table routes, through the real host and component to the simulator.

use serde_json::json;

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{create_route_table, create_subnet, create_vpc, output, post_err, post_ok};

const REGION: &str = "ap-shanghai";

#[tokio::test]
async fn spec_route_table_create_example_creates_a_table_in_the_vpc() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    let body = r#"{
  "inputs": [
  	    {
  	    	"guid":"0003_0000000033",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"name": "rtbl_001",
			"vpc_id":"vpc-nn3hi480"
		}]
}"#
    .replace("vpc-nn3hi480", &vpc);
    let (status, answer) = t.post_raw("/v1/qcloud/route-table/create", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0003_0000000033");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("rtb-") && id.len() == 12, "{id}");
    let main = t.tencent().main_route_table(REGION, &vpc).unwrap();
    assert_eq!(t.tencent().route_table_ids(REGION), [main.as_str(), id]);
}

#[tokio::test]
async fn spec_route_table_terminate_example_deletes_the_table_and_succeeds_when_absent() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    let table = create_route_table(&t, &vpc).await;
    let example = r#"{
  "inputs": [
  	    {
  	    	"guid":"0003_0000000033",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "rtb-47oxymsj"
		}]
}"#;
    let (status, answer) = t
        .post_raw(
            "/v1/qcloud/route-table/terminate",
            example.replace("rtb-47oxymsj", &table),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0003_0000000033");
    assert_eq!(out["id"], table.as_str());
    assert!(!t.tencent().route_table_ids(REGION).contains(&table));

    // Unlike the original plugin, an absent table counts as terminated.
    let (_, answer) = t
        .post_raw("/v1/qcloud/route-table/terminate", example)
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn spec_route_table_associate_subnet_example_moves_the_subnet_to_the_table() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    let subnet = create_subnet(&t, &vpc, "10.5.1.0/24").await;
    let table = create_route_table(&t, &vpc).await;
    let body = r#"{
  "inputs": [
  	    {
  	    	"guid":"0003_0000000033",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"route_table_id": "rtb-47oxymsj",
			"subnet_id":"subnet-1b4zl3gd"
		}]
}"#
    .replace("rtb-47oxymsj", &table)
    .replace("subnet-1b4zl3gd", &subnet);
    let (status, answer) = t
        .post_raw("/v1/qcloud/route-table/associate-subnet", body)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(
        crate::qcloud::output_keys(out),
        ["error_code", "error_message", "guid", "request_id"]
    );
    assert_eq!(out["guid"], "0003_0000000033");
    assert_eq!(
        t.tencent().subnet_route_table(REGION, &subnet).as_deref(),
        Some(table.as_str())
    );
}

#[tokio::test]
async fn an_associated_or_main_route_table_is_not_terminated() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    let subnet = create_subnet(&t, &vpc, "10.0.1.0/24").await;
    let table = create_route_table(&t, &vpc).await;
    post_ok(
        &t,
        "route-table/associate-subnet",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "route_table_id": table, "subnet_id": subnet}),
    )
    .await;
    let e = post_err(
        &t,
        "route-table/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": table}),
    )
    .await;
    assert!(
        e.starts_with(&format!(
            "route table {table} is still associated with 1 subnet(s)"
        )),
        "{e}"
    );
    assert!(t.tencent().route_table_ids(REGION).contains(&table));

    let main = t.tencent().main_route_table(REGION, &vpc).unwrap();
    post_ok(
        &t,
        "route-table/associate-subnet",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "route_table_id": main, "subnet_id": subnet}),
    )
    .await;
    // A main table is refused by Tencent even without subnets.
    let other = create_vpc(&t, "10.1.0.0/16").await;
    let other_main = t.tencent().main_route_table(REGION, &other).unwrap();
    let e = post_err(
        &t,
        "route-table/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": other_main}),
    )
    .await;
    assert!(e.contains("Code=UnsupportedOperation"), "{e}");
    // Now unassociated, the custom table goes.
    post_ok(
        &t,
        "route-table/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": table}),
    )
    .await;
    assert_eq!(t.tencent().route_table_ids(REGION), [main, other_main]);
}

#[tokio::test]
async fn route_table_create_with_an_existing_id_returns_it_and_terminate_twice_succeeds() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    let table = create_route_table(&t, &vpc).await;
    let again = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": table, "name": "r", "vpc_id": vpc});
    let out = post_ok(&t, "route-table/create", again).await;
    assert_eq!(out["id"], table.as_str());
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert_eq!(t.tencent().route_table_ids(REGION).len(), 2, "main + one");

    let terminate = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": table});
    post_ok(&t, "route-table/terminate", terminate.clone()).await;
    post_ok(&t, "route-table/terminate", terminate).await;
    assert_eq!(t.tencent().route_table_ids(REGION).len(), 1);
}

#[tokio::test]
async fn route_table_errors_name_tencents_code() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    let table = create_route_table(&t, &vpc).await;
    let e = post_err(
        &t,
        "route-table/create",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "name": "r", "vpc_id": "vpc-00000000"}),
    )
    .await;
    assert!(e.contains("Code=ResourceNotFound"), "{e}");
    let e = post_err(
        &t,
        "route-table/associate-subnet",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "route_table_id": table, "subnet_id": "subnet-00000000"}),
    )
    .await;
    assert!(e.contains("Code=ResourceNotFound"), "{e}");
    let e = post_err(
        &t,
        "route-table/associate-subnet",
        json!({"guid": "g", "provider_params": "Region=ap-shanghai;SecretID={$your_SecretID}", "route_table_id": table, "subnet_id": "subnet-00000000"}),
    )
    .await;
    assert_eq!(e, "provider_params is missing `SecretKey`");
}
