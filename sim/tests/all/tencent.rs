//! The Tencent API 3.0 simulator: signatures, VPC state, errors, faults.

use std::time::Duration;

use broker_sim::{FaultKind, TencentSim, TencentSimConfig};
use serde_json::{Value, json};

use crate::tc3_client::{Call, error_code};

async fn sim() -> TencentSim {
    TencentSim::spawn(TencentSimConfig::default())
        .await
        .expect("simulator starts")
}

async fn create_vpc(sim: &TencentSim, name: &str, cidr: &str) -> Value {
    let response = Call::vpc("CreateVpc", json!({"VpcName": name, "CidrBlock": cidr}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&response), None, "{response}");
    response["Vpc"].clone()
}

#[tokio::test]
async fn a_vpc_is_created_described_deleted_and_then_not_found() {
    let sim = sim().await;
    let vpc = create_vpc(&sim, "web", "10.0.0.0/16").await;
    let id = vpc["VpcId"].as_str().unwrap().to_owned();
    assert!(id.len() == 12 && id.starts_with("vpc-"), "{id}");
    assert_eq!(vpc["VpcName"], "web");
    assert_eq!(vpc["CidrBlock"], "10.0.0.0/16");
    assert_eq!(vpc["IsDefault"], false);
    assert_eq!(vpc["EnableDhcp"], true);
    assert_eq!(
        vpc["CreatedTime"].as_str().unwrap().len(),
        "2026-01-01 00:00:00".len()
    );
    assert_eq!(sim.vpc_count(), 1);

    let described = Call::vpc("DescribeVpcs", json!({"VpcIds": [id]}))
        .send(&sim.url())
        .await;
    assert_eq!(described["TotalCount"], 1, "{described}");
    assert_eq!(described["VpcSet"][0], vpc);

    let deleted = Call::vpc("DeleteVpc", json!({"VpcId": id}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&deleted), None, "{deleted}");
    assert_eq!(
        deleted.as_object().unwrap().len(),
        1,
        "only RequestId: {deleted}"
    );
    assert_eq!(sim.vpc_count(), 0);

    let gone = Call::vpc("DescribeVpcs", json!({"VpcIds": [id]}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&gone), Some("ResourceNotFound"));
    let again = Call::vpc("DeleteVpc", json!({"VpcId": id}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&again), Some("ResourceNotFound"));
}

#[tokio::test]
async fn describe_vpcs_filters_and_pages_with_string_offsets() {
    let sim = sim().await;
    for (name, cidr) in [
        ("web-a", "10.1.0.0/16"),
        ("web-b", "10.2.0.0/16"),
        ("db", "192.168.0.0/16"),
    ] {
        create_vpc(&sim, name, cidr).await;
    }
    let by_name =
        json!({"Filters": [{"Name": "vpc-name", "Values": ["web"]}], "Offset": "1", "Limit": "1"});
    let page = Call::vpc("DescribeVpcs", by_name).send(&sim.url()).await;
    assert_eq!(page["TotalCount"], 2, "{page}");
    assert_eq!(page["VpcSet"].as_array().unwrap().len(), 1);
    assert_eq!(page["VpcSet"][0]["VpcName"], "web-b");

    let by_cidr = json!({"Filters": [{"Name": "cidr-block", "Values": ["192.168.0.0/16"]}]});
    let found = Call::vpc("DescribeVpcs", by_cidr).send(&sim.url()).await;
    assert_eq!(found["VpcSet"][0]["VpcName"], "db");

    let all = Call::vpc("DescribeVpcs", json!({})).send(&sim.url()).await;
    assert_eq!(all["TotalCount"], 3);
    let bad_filter = json!({"Filters": [{"Name": "tag-key", "Values": ["x"]}]});
    let answer = Call::vpc("DescribeVpcs", bad_filter).send(&sim.url()).await;
    assert_eq!(
        error_code(&answer),
        Some("InvalidParameter.FilterInvalidKey")
    );
}

#[tokio::test]
async fn regions_hold_separate_vpcs() {
    let sim = sim().await;
    create_vpc(&sim, "gz", "10.0.0.0/16").await;
    let mut shanghai = Call::vpc("DescribeVpcs", json!({}));
    shanghai.region = Some("ap-shanghai".into());
    assert_eq!(shanghai.send(&sim.url()).await["TotalCount"], 0);
    assert_eq!(sim.vpc_ids("ap-guangzhou").len(), 1);
}

#[tokio::test]
async fn malformed_vpc_ids_get_malformed_and_unknown_ones_resource_not_found() {
    let sim = sim().await;
    let malformed = Call::vpc("DeleteVpc", json!({"VpcId": "vpc-NOPE"}))
        .send(&sim.url())
        .await;
    assert_eq!(
        error_code(&malformed),
        Some("InvalidParameterValue.Malformed")
    );
    let described = Call::vpc("DescribeVpcs", json!({"VpcIds": ["vpc_12345678"]}))
        .send(&sim.url())
        .await;
    assert_eq!(
        error_code(&described),
        Some("InvalidParameterValue.Malformed")
    );
    let unknown = Call::vpc("DescribeVpcs", json!({"VpcIds": ["vpc-12345678"]}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&unknown), Some("ResourceNotFound"));
    assert_eq!(
        unknown["Error"]["Message"],
        "The specified resource does not exist."
    );
}

#[tokio::test]
async fn wrong_secret_gets_signature_failure() {
    let sim = sim().await;
    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.secret_key = "not-the-secret".into();
    let response = call.send(&sim.url()).await;
    assert_eq!(error_code(&response), Some("AuthFailure.SignatureFailure"));
    assert_eq!(
        response["Error"]["Message"],
        "The provided credentials could not be validated. Please check your signature is correct."
    );
}

#[tokio::test]
async fn unknown_secret_id_gets_secret_id_not_found() {
    let sim = sim().await;
    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.secret_id = "AKIDnobodyHasThisKey0000000000000000".into();
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("AuthFailure.SecretIdNotFound")
    );
}

#[tokio::test]
async fn stale_timestamp_gets_signature_expire() {
    let sim = sim().await;
    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.timestamp -= 301;
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("AuthFailure.SignatureExpire")
    );
    call.timestamp += 2; // 299 s old: inside the window.
    assert_eq!(error_code(&call.send(&sim.url()).await), None);
}

#[tokio::test]
async fn tampered_body_gets_signature_failure() {
    let sim = sim().await;
    let mut call = Call::vpc(
        "CreateVpc",
        json!({"VpcName": "a", "CidrBlock": "10.0.0.0/16"}),
    );
    call.sent_body = Some(json!({"VpcName": "b", "CidrBlock": "10.0.0.0/16"}).to_string());
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("AuthFailure.SignatureFailure")
    );
    assert_eq!(sim.vpc_count(), 0);
}

#[tokio::test]
async fn missing_or_garbled_authorization_gets_invalid_authorization() {
    let sim = sim().await;
    let call = Call::vpc("DescribeVpcs", json!({}));
    let http = reqwest::Client::new();
    for auth in [None, Some("TC3-HMAC-SHA256 garbage"), Some("Bearer abc")] {
        let mut request = http
            .post(format!("{}/", sim.url()))
            .header("content-type", "application/json")
            .header("x-tc-action", "DescribeVpcs")
            .header("x-tc-version", "2017-03-12")
            .header("x-tc-region", "ap-guangzhou")
            .header("x-tc-timestamp", call.timestamp.to_string())
            .body("{}");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(
            error_code(&body["Response"]),
            Some("AuthFailure.InvalidAuthorization"),
            "{auth:?}"
        );
    }
}

#[tokio::test]
async fn unknown_action_gets_invalid_action() {
    let sim = sim().await;
    let response = Call::vpc("DescribeVpcz", json!({})).send(&sim.url()).await;
    assert_eq!(error_code(&response), Some("InvalidAction"));
    let mut cvm = Call::vpc("CreateVpc", json!({}));
    cvm.service = "cvm".into();
    assert_eq!(
        error_code(&cvm.send(&sim.url()).await),
        Some("InvalidAction"),
        "action of another service"
    );
}

#[tokio::test]
async fn missing_version_or_region_gets_missing_parameter_and_unknown_region_unsupported_region() {
    let sim = sim().await;
    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.version = None;
    let response = call.send(&sim.url()).await;
    assert_eq!(error_code(&response), Some("MissingParameter"));
    assert_eq!(
        response["Error"]["Message"],
        "The request is missing a required parameter `Version`."
    );

    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.version = Some("2099-01-01".into());
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("NoSuchVersion")
    );

    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.region = None;
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("MissingParameter")
    );
    call.region = Some("mars-olympus".into());
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("UnsupportedRegion")
    );
}

#[tokio::test]
async fn body_that_is_not_json_gets_invalid_parameter() {
    let sim = sim().await;
    let mut call = Call::vpc("DescribeVpcs", json!({}));
    call.body = "VpcName=web".into();
    assert_eq!(
        error_code(&call.send(&sim.url()).await),
        Some("InvalidParameter")
    );
}

#[tokio::test]
async fn missing_vpc_name_gets_missing_parameter() {
    let sim = sim().await;
    let response = Call::vpc("CreateVpc", json!({"CidrBlock": "10.0.0.0/16"}))
        .send(&sim.url())
        .await;
    assert_eq!(error_code(&response), Some("MissingParameter"));
    assert_eq!(
        response["Error"]["Message"],
        "The request is missing a required parameter `VpcName`."
    );
}

#[tokio::test]
async fn unknown_parameters_get_unknown_parameter() {
    let sim = sim().await;
    let body = json!({"VpcName": "a", "CidrBlock": "10.0.0.0/16", "Cidr": "x"});
    assert_eq!(
        error_code(&Call::vpc("CreateVpc", body).send(&sim.url()).await),
        Some("UnknownParameter")
    );
}

#[tokio::test]
async fn invalid_cidr_gets_malformed_and_out_of_range_cidr_gets_range() {
    let sim = sim().await;
    for (cidr, code) in [
        ("10.0.0.0", "InvalidParameterValue.Malformed"),
        ("10.0.0.300/16", "InvalidParameterValue.Malformed"),
        ("10.0.0.1/16", "InvalidParameterValue.Malformed"),
        ("8.8.8.0/24", "InvalidParameterValue.Range"),
        ("10.0.0.0/8", "InvalidParameterValue.Range"),
        ("192.168.0.0/29", "InvalidParameterValue.Range"),
    ] {
        let response = Call::vpc("CreateVpc", json!({"VpcName": "a", "CidrBlock": cidr}))
            .send(&sim.url())
            .await;
        assert_eq!(error_code(&response), Some(code), "{cidr}");
    }
    assert_eq!(sim.vpc_count(), 0);
}

#[tokio::test]
async fn injected_http_500_is_followed_by_success() {
    let sim = sim().await;
    sim.faults().fail_next(1, FaultKind::Http500);
    let call = Call::vpc("DescribeVpcs", json!({}));
    let first = call
        .request(&reqwest::Client::new(), &sim.url())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 500);
    assert_eq!(error_code(&call.send(&sim.url()).await), None);
    assert_eq!(sim.requests_seen(), 2);
}

#[tokio::test]
async fn faults_can_be_set_over_http_like_curl_does() {
    let sim = sim().await;
    let http = reqwest::Client::new();
    let faults_url = format!("{}/_sim/faults", sim.url());
    let state: Value = http
        .post(&faults_url)
        .json(&json!({"fail_next": 1, "kind": "bad_json", "latency_ms": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state,
        json!({"latency_ms": 1, "pending": [{"count": 1, "kind": "bad_json"}]})
    );

    let call = Call::vpc("DescribeVpcs", json!({}));
    let broken = call.request(&http, &sim.url()).send().await.unwrap();
    assert_eq!(broken.status(), 200);
    assert!(serde_json::from_slice::<Value>(&broken.bytes().await.unwrap()).is_err());

    http.post(&faults_url)
        .json(&json!({"clear": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(sim.faults().latency(), Duration::ZERO);
    assert_eq!(error_code(&call.send(&sim.url()).await), None);
}

#[tokio::test]
async fn a_hanging_request_makes_the_client_time_out() {
    let sim = sim().await;
    sim.faults().fail_next(1, FaultKind::Hang);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = Call::vpc("DescribeVpcs", json!({}))
        .request(&http, &sim.url())
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
}

#[tokio::test]
async fn the_spec_demo_credentials_are_accepted() {
    let sim = sim().await;
    let mut call = Call::vpc(
        "CreateVpc",
        json!({"VpcName": "demo", "CidrBlock": "172.16.0.0/16"}),
    );
    call.secret_id = "{$your_SecretID}".into();
    call.secret_key = "{$your_SecretKey}".into();
    let response = call.send(&sim.url()).await;
    assert_eq!(error_code(&response), None, "{response}");
    assert_eq!(sim.vpc_count(), 1);
}
