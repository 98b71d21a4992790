//! The qcloud plugin's subnet routes, through the real host and component to the simulator.

use serde_json::json;

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{create_subnet, create_vpc, output, post_err, post_ok};

const REGION: &str = "ap-shanghai";

#[tokio::test]
async fn spec_subnet_create_example_creates_a_subnet_in_the_zone_on_the_main_route_table() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    // The spec's example, with the VPC this test created.
    let body = r#"{
	"inputs":[
		{
			"guid":"0002_0000000022",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"name": "subnet-api-1",
			"vpc_id": "vpc-nn3hi480",
			"cidr_block": "10.5.1.0/24"
		}
	]
}"#
    .replace("vpc-nn3hi480", &vpc);
    let (status, answer) = t.post_raw("/v1/qcloud/subnet/create", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0002_0000000022");
    assert_eq!(out["error_code"], "0");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("subnet-") && id.len() == 15, "{id}");
    assert_eq!(t.tencent().subnet_ids(REGION), [id]);
    assert_eq!(
        t.tencent().subnet_route_table(REGION, id),
        t.tencent().main_route_table(REGION, &vpc)
    );
}

#[tokio::test]
async fn spec_subnet_terminate_example_deletes_the_subnet_and_succeeds_when_absent() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    let subnet = create_subnet(&t, &vpc, "10.5.1.0/24").await;
    let example = r#"{
	"inputs":[
		{
			"guid":"0002_0000000022",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "subnet-1dfa3lfh"
		}
	]
}"#;
    let (status, answer) = t
        .post_raw(
            "/v1/qcloud/subnet/terminate",
            example.replace("subnet-1dfa3lfh", &subnet),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["guid"], "0002_0000000022");
    assert_eq!(out["id"], subnet.as_str());
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert!(t.tencent().subnet_ids(REGION).is_empty());

    // The example verbatim: that subnet does not exist, which counts as terminated.
    let (_, answer) = t.post_raw("/v1/qcloud/subnet/terminate", example).await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], "subnet-1dfa3lfh");
}

#[tokio::test]
async fn subnet_create_with_an_existing_id_returns_it_and_terminate_twice_succeeds() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    let subnet = create_subnet(&t, &vpc, "10.0.1.0/24").await;
    let again = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": subnet, "name": "s",
        "vpc_id": vpc, "cidr_block": "10.0.1.0/24"});
    let out = post_ok(&t, "subnet/create", again).await;
    assert_eq!(out["id"], subnet.as_str());
    assert_eq!(
        t.tencent().subnet_ids(REGION).len(),
        1,
        "nothing new created"
    );

    let terminate = json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": subnet});
    post_ok(&t, "subnet/terminate", terminate.clone()).await;
    post_ok(&t, "subnet/terminate", terminate).await;
    assert!(t.tencent().subnet_ids(REGION).is_empty());
}

#[tokio::test]
async fn subnet_errors_name_tencents_code_and_the_batch_goes_on() {
    let t = TestBroker::start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    create_subnet(&t, &vpc, "10.0.1.0/24").await;
    let input = |guid: &str, vpc_id: &str, cidr: &str| json!({"guid": guid, "provider_params": DEMO_PARAMS, "name": "s", "vpc_id": vpc_id, "cidr_block": cidr});
    let body = json!({"inputs": [
        input("unknown-vpc", "vpc-00000000", "10.0.2.0/24"),
        input("outside", &vpc, "10.1.0.0/24"),
        input("overlap", &vpc, "10.0.1.128/25"),
        {"guid": "no-zone", "provider_params": "Region=ap-shanghai;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
            "name": "s", "vpc_id": vpc, "cidr_block": "10.0.3.0/24"},
        input("good", &vpc, "10.0.2.0/24"),
    ]});
    let (status, answer) = t.post("/v1/qcloud/subnet/create", &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["result_code"], "1", "{answer}");
    let message = |i: usize| output(&answer, i)["error_message"].as_str().unwrap();
    assert!(
        message(0).contains("Code=ResourceNotFound"),
        "{}",
        message(0)
    );
    assert!(
        message(1).contains("Code=InvalidParameterValue.SubnetRange"),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("Code=InvalidParameterValue.SubnetConflict"),
        "{}",
        message(2)
    );
    assert_eq!(message(3), "provider_params is missing `AvailableZone`");
    assert_eq!(output(&answer, 4)["error_code"], "0", "{answer}");
    assert_eq!(t.tencent().subnet_ids(REGION).len(), 2);

    // A VPC with subnets cannot be deleted: Tencent's ResourceInUse comes through.
    let e = post_err(
        &t,
        "vpc/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": vpc}),
    )
    .await;
    assert!(e.contains("Code=ResourceInUse"), "{e}");

    let e = post_err(
        &t,
        "subnet/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": "not-a-subnet"}),
    )
    .await;
    assert!(e.contains("Code=InvalidParameterValue.Malformed"), "{e}");
}
