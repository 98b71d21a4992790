//! The qcloud plugin's peering-connection routes, through the real host and component to the
//! simulator, in simulated time (a cross-region link takes 30 s to come up or go down).
//!
//! The simulator holds one account, UIN `100011023753` (the spec example's `peer_uin`), so the
//! spec's example is a same-account, same-region peering.

use broker::capabilities::clock::HostClock;
use broker::config::SettingValue;
use serde_json::{Value, json};

use crate::harness::{DEMO_PARAMS, TestBroker};
use crate::qcloud::{create_vpc, output, output_keys, post_err, post_ok, start_simulated};

const REGION: &str = "ap-shanghai";
/// The simulator's own account.
const OWN_UIN: &str = "100011023753";
/// `provider_params` in Beijing.
const BEIJING: &str = "Region=ap-beijing;AvailableZone=ap-beijing-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";
/// The simulator's second demo key pair: another account's keys, as far as the plugin knows.
const OTHER_KEYS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID=AKIDsimulatorDEMO0000000000000000000;SecretKey=simulatorDEMOsecretKey0000000000";

/// The spec's `peering-connection/create` example input, between `vpc` and `peer_vpc`.
fn spec_create_input(vpc: &str, peer_vpc: &str) -> Value {
    let example = r#"{
			"guid":"0006_0000000066",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"name": "PeerConnA-B-01",
			"vpc_id": "vpc-dbw95tm4",
			"peer_provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"peer_vpc_id": "vpc-nn3hi480",
			"peer_uin": "100011023753"
		}"#
    .replace("vpc-dbw95tm4", vpc)
    .replace("vpc-nn3hi480", peer_vpc);
    serde_json::from_str(&example).unwrap()
}

/// The spec's `peering-connection/terminate` example body for connection `id`.
fn spec_terminate_body(id: &str) -> String {
    r#"{
    "inputs": [
    	{
			"guid":"0006_0000000066",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"peer_provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "pcx-c9zunx21"
		}
	]
}"#
    .replace("pcx-c9zunx21", id)
}

/// Two VPCs with disjoint blocks in Shanghai.
async fn two_vpcs(t: &TestBroker) -> (String, String) {
    (
        create_vpc(t, "10.8.0.0/16").await,
        create_vpc(t, "10.9.0.0/16").await,
    )
}

/// A VPC 10.10.0.0/16 in Beijing.
async fn beijing_vpc(t: &TestBroker) -> String {
    let input =
        json!({"guid": "b", "provider_params": BEIJING, "name": "b", "cidr_block": "10.10.0.0/16"});
    post_ok(t, "vpc/create", input).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn spec_peering_connection_create_example_connects_two_vpcs() {
    let (t, _clock) = start_simulated(&[]).await;
    let (a, b) = two_vpcs(&t).await;
    assert_eq!(
        spec_create_input(&a, &b)["peer_uin"],
        OWN_UIN,
        "the example peers within the simulator's account"
    );
    let body = json!({ "inputs": [spec_create_input(&a, &b)] });
    let (status, answer) = t.post("/v1/qcloud/peering-connection/create", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(
        output_keys(out),
        ["error_code", "error_message", "guid", "id", "request_id"]
    );
    assert_eq!(out["guid"], "0006_0000000066");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("pcx-") && id.len() == 12, "{id}");
    assert_eq!(t.tencent().peering_ids(REGION), [id]);
    assert_eq!(t.tencent().peering_state(id).as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn spec_peering_connection_terminate_example_deletes_it_and_succeeds_twice() {
    let (t, _clock) = start_simulated(&[]).await;
    let (a, b) = two_vpcs(&t).await;
    let id = post_ok(&t, "peering-connection/create", spec_create_input(&a, &b)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // While it exists, its VPCs cannot be deleted.
    for vpc in [&a, &b] {
        let message = post_err(
            &t,
            "vpc/terminate",
            json!({"guid": "v", "provider_params": DEMO_PARAMS, "id": vpc}),
        )
        .await;
        assert!(message.contains("ResourceInUse"), "{message}");
    }
    for round in 0..2 {
        let (status, answer) = t
            .post_raw(
                "/v1/qcloud/peering-connection/terminate",
                spec_terminate_body(&id),
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
        assert!(t.tencent().peering_ids(REGION).is_empty());
    }
    // The example verbatim: that connection does not exist, which counts as deleted.
    let (_, answer) = t
        .post_raw(
            "/v1/qcloud/peering-connection/terminate",
            spec_terminate_body("pcx-c9zunx21"),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], "pcx-c9zunx21");
    for vpc in [a, b] {
        post_ok(
            &t,
            "vpc/terminate",
            json!({"guid": "v", "provider_params": DEMO_PARAMS, "id": vpc}),
        )
        .await;
    }
}

#[tokio::test]
async fn a_cross_region_peering_needs_bandwidth_and_waits_for_the_link_both_ways() {
    let (t, clock) = start_simulated(&[]).await;
    let a = create_vpc(&t, "10.8.0.0/16").await;
    let b = beijing_vpc(&t).await;
    let mut input = spec_create_input(&a, &b);
    input["peer_provider_params"] = json!(BEIJING);
    assert_eq!(
        post_err(&t, "peering-connection/create", input.clone()).await,
        "field \"bandwidth\" is required for a cross-region peering connection (ap-shanghai to ap-beijing)"
    );
    input["bandwidth"] = json!("10");
    let before = clock.now_ms();
    let id = post_ok(&t, "peering-connection/create", input).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        clock.now_ms() - before >= 30_000,
        "the link set-up was waited for"
    );
    assert_eq!(t.tencent().peering_state(&id).as_deref(), Some("ACTIVE"));
    assert_eq!(t.tencent().peering_ids("ap-beijing"), [id.as_str()]);

    let before = clock.now_ms();
    let terminate = json!({"guid": "g", "provider_params": DEMO_PARAMS, "peer_provider_params": BEIJING, "id": id});
    post_ok(&t, "peering-connection/terminate", terminate).await;
    assert!(
        clock.now_ms() - before >= 30_000,
        "the link tear-down was waited for"
    );
    assert_eq!(t.tencent().peering_state(&id), None);
}

#[tokio::test]
async fn a_peering_to_another_account_is_accepted_with_the_peers_own_keys() {
    let (t, _clock) = start_simulated(&[]).await;
    let (a, b) = two_vpcs(&t).await;
    let mut input = spec_create_input(&a, &b);
    input["peer_uin"] = json!("200022334455");
    input["peer_provider_params"] = json!(OTHER_KEYS);
    let id = post_ok(&t, "peering-connection/create", input).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.tencent().peering_state(&id).as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn other_keys_of_the_same_account_need_no_acceptance_and_still_get_an_active_link() {
    let (t, _clock) = start_simulated(&[]).await;
    let a = create_vpc(&t, "10.8.0.0/16").await;
    let b = beijing_vpc(&t).await;
    let mut input = spec_create_input(&a, &b);
    input["peer_provider_params"] = json!(OTHER_KEYS.replace("ap-shanghai", "ap-beijing"));
    input["bandwidth"] = json!(10);
    // The accept is refused (nothing to accept); the wait shows the link comes up anyway.
    let id = post_ok(&t, "peering-connection/create", input).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.tencent().peering_state(&id).as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn a_peering_nobody_accepts_times_out_as_the_operator_set() {
    let (t, clock) =
        start_simulated(&[("peering-connection-timeout-secs", SettingValue::Integer(30))]).await;
    let (a, b) = two_vpcs(&t).await;
    let mut input = spec_create_input(&a, &b);
    input["peer_uin"] = json!("200022334455");
    let before = clock.now_ms();
    let message = post_err(&t, "peering-connection/create", input).await;
    let id = t.tencent().peering_ids(REGION).remove(0);
    assert_eq!(
        message,
        format!(
            "peering connection {id} was created, but: timed out after 30 s waiting for \
             peering connection {id} to be ACTIVE (last state PENDING)"
        )
    );
    assert!(clock.now_ms() - before >= 30_000);
    assert_eq!(t.tencent().peering_state(&id).as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn peering_create_with_an_existing_id_returns_it_without_creating() {
    let (t, _clock) = start_simulated(&[]).await;
    let (a, b) = two_vpcs(&t).await;
    let created = post_ok(&t, "peering-connection/create", spec_create_input(&a, &b)).await;
    let mut input = spec_create_input(&a, &b);
    input["id"] = created["id"].clone();
    let again = post_ok(&t, "peering-connection/create", input).await;
    assert_eq!(again["id"], created["id"]);
    assert_eq!(t.tencent().peering_ids(REGION).len(), 1);
}

#[tokio::test]
async fn peering_errors_are_clear_per_output_messages() {
    let (t, _clock) = start_simulated(&[]).await;
    let (a, b) = two_vpcs(&t).await;
    // Unknown VPCs: Tencent's code and request id.
    let message = post_err(
        &t,
        "peering-connection/create",
        spec_create_input("vpc-00000000", &b),
    )
    .await;
    assert!(
        message.contains("Code=ResourceNotFound") && message.contains("RequestId="),
        "{message}"
    );
    let message = post_err(
        &t,
        "peering-connection/create",
        spec_create_input(&a, "vpc-00000000"),
    )
    .await;
    assert!(message.contains("Code=ResourceNotFound"), "{message}");
    // Overlapping blocks.
    let c = create_vpc(&t, "10.8.128.0/17").await;
    let message = post_err(&t, "peering-connection/create", spec_create_input(&a, &c)).await;
    assert!(
        message.contains("UnsupportedOperation.CidrConflict"),
        "{message}"
    );
    // Invalid peer_provider_params, on both routes.
    let mut input = spec_create_input(&a, &b);
    input["peer_provider_params"] = json!("AvailableZone=ap-shanghai-1;SecretID=a;SecretKey=b");
    assert_eq!(
        post_err(&t, "peering-connection/create", input).await,
        "peer_provider_params is missing `Region`"
    );
    let message = post_err(
        &t,
        "peering-connection/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "id": "pcx-c9zunx21"}),
    )
    .await;
    assert_eq!(message, "missing required field \"peer_provider_params\"");
    // A malformed id on terminate.
    let message = post_err(
        &t,
        "peering-connection/terminate",
        json!({"guid": "g", "provider_params": DEMO_PARAMS, "peer_provider_params": DEMO_PARAMS, "id": "pcx-bad"}),
    )
    .await;
    assert!(
        message.contains("InvalidParameterValue.Malformed"),
        "{message}"
    );
    assert!(t.tencent().peering_ids(REGION).is_empty());
}
