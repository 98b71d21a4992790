//! The qcloud plugin's storage routes (CBS disks), through the real host and component to the
//! simulator, in simulated time; and the set-up the database route tests share (a broker on a
//! virtual clock, a network, a VM).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::{HostClock, VirtualClock};
use broker::config::SettingValue;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker};
use crate::qcloud::{create_vpc, output, output_keys, post_err, post_ok};

pub(crate) const REGION: &str = "ap-shanghai";
/// The zone of the spec's storage example.
const PARAMS_1: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";

/// A broker whose plugins and simulator share a virtual clock starting now, with the qcloud
/// operator settings `settings`.
pub(crate) async fn start_with(settings: &[(&str, i64)]) -> (TestBroker, Arc<VirtualClock>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
    let settings = settings
        .iter()
        .map(|(name, value)| ((*name).to_owned(), SettingValue::Integer(*value)))
        .collect();
    let t = TestBroker::with(Setup {
        clock: Some(clock.clone()),
        plugin_settings: BTreeMap::from([("qcloud".to_owned(), settings)]),
        ..Setup::default()
    })
    .await;
    (t, clock)
}

/// A VPC `10.<n>.0.0/16` with subnet `10.<n>.1.0/24` in the zone of `params`: (vpc, subnet).
pub(crate) async fn network(t: &TestBroker, params: &str, n: u8) -> (String, String) {
    let vpc = create_vpc(t, &format!("10.{n}.0.0/16")).await;
    let subnet = post_ok(
        t,
        "subnet/create",
        json!({"guid": "sn", "provider_params": params, "name": "s", "vpc_id": vpc,
            "cidr_block": format!("10.{n}.1.0/24")}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, subnet)
}

/// A running VM in zone ap-shanghai-1; returns its id.
async fn create_vm(t: &TestBroker) -> String {
    let (vpc, subnet) = network(t, PARAMS_1, 8).await;
    let vm = post_ok(
        t,
        "vm/create",
        json!({"guid": "vm", "provider_params": PARAMS_1, "seed": "s", "vpc_id": vpc,
            "subnet_id": subnet, "instance_name": "app", "instance_type": "S2.SMALL1",
            "image_id": "img-31tjrtph"}),
    )
    .await;
    vm["id"].as_str().unwrap().to_owned()
}

/// The spec's `storage/create` example input, for instance `instance_id`.
fn spec_create_input(instance_id: &str) -> Value {
    let example = r#"{
			"guid":"0009_0000000099",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"instance_id":"ins-owbrtpsb",
			"disk_name": "DISK1",
			"disk_type": "CLOUD_PREMIUM",
			"disk_size": 10,
			"disk_charge_type": "POSTPAID_BY_HOUR",
			"disk_charge_period": null
		}"#
    .replace("ins-owbrtpsb", instance_id);
    serde_json::from_str(&example).unwrap()
}

/// The spec's `storage/terminate` example body, for disk `id`.
fn spec_terminate_body(id: &str) -> String {
    r#"{
   "inputs": [
	   {
			"guid":"0009_0000000099",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id":"disk-74ate6ar"
		}]
}"#
    .replace("disk-74ate6ar", id)
}

const KEYS: [&str; 5] = ["error_code", "error_message", "guid", "id", "request_id"];

#[tokio::test]
async fn spec_storage_create_example_creates_and_attaches_a_disk_in_simulated_time() {
    let (t, clock) = start_with(&[]).await;
    let instance = create_vm(&t).await;
    let before = clock.now_ms();
    let (status, answer) = t
        .post(
            "/v1/qcloud/storage/create",
            &json!({"inputs": [spec_create_input(&instance)]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(output_keys(out), KEYS);
    assert_eq!(out["guid"], "0009_0000000099");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("disk-") && id.len() == 13, "{id}");
    assert_eq!(t.tencent().disk_ids(REGION), [id]);
    assert_eq!(
        t.tencent().disk_state(REGION, id),
        Some(("ATTACHED".to_owned(), instance.clone()))
    );
    // Creation (10 s) and attachment (5 s) happened in simulated time.
    assert!(clock.now_ms() - before >= 15_000);
}

#[tokio::test]
async fn storage_create_with_an_existing_id_creates_nothing() {
    let (t, _clock) = start_with(&[]).await;
    let instance = create_vm(&t).await;
    let id = post_ok(&t, "storage/create", spec_create_input(&instance)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut again = spec_create_input(&instance);
    again["id"] = json!(id);
    let out = post_ok(&t, "storage/create", again).await;
    assert_eq!(out["id"], id.as_str());
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert_eq!(t.tencent().disk_ids(REGION), [id]);
}

#[tokio::test]
async fn spec_storage_terminate_example_detaches_and_terminates_and_succeeds_twice() {
    let (t, _clock) = start_with(&[]).await;
    let instance = create_vm(&t).await;
    let id = post_ok(&t, "storage/create", spec_create_input(&instance)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let (status, answer) = t
            .post_raw("/v1/qcloud/storage/terminate", spec_terminate_body(&id))
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result_code"], "0", "{answer}");
        let out = output(&answer, 0);
        assert_eq!(output_keys(out), KEYS);
        assert_eq!(out["guid"], "0009_0000000099");
        assert_eq!(out["id"], id.as_str());
        assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
        assert!(t.tencent().disk_ids(REGION).is_empty());
    }
    // The example verbatim: that disk does not exist, which counts as terminated.
    let (_, answer) = t
        .post_raw(
            "/v1/qcloud/storage/terminate",
            spec_terminate_body("disk-74ate6ar"),
        )
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
}

#[tokio::test]
async fn storage_errors_are_reported_never_swallowed() {
    let (t, _clock) = start_with(&[]).await;
    // An unknown instance: the disk is created, the attach fails, and the input says so.
    let message = post_err(&t, "storage/create", spec_create_input("ins-owbrtpsb")).await;
    assert!(
        message.starts_with("disk disk-")
            && message.contains("attaching it to ins-owbrtpsb failed"),
        "{message}"
    );
    assert!(message.contains("InvalidInstanceId.NotFound"), "{message}");
    assert!(message.contains("RequestId="), "{message}");

    // An upstream validation error names Tencent's code.
    let mut bad_type = spec_create_input("ins-owbrtpsb");
    bad_type["disk_type"] = json!("FLOPPY");
    let message = post_err(&t, "storage/create", bad_type).await;
    assert!(message.contains("Code=InvalidParameterValue"), "{message}");

    // Invalid provider_params and fields.
    let mut no_zone = spec_create_input("ins-owbrtpsb");
    no_zone["provider_params"] =
        json!("Region=ap-shanghai;SecretID={$your_SecretID};SecretKey={$your_SecretKey}");
    assert_eq!(
        post_err(&t, "storage/create", no_zone).await,
        "provider_params is missing `AvailableZone`"
    );
    let mut bad_size = spec_create_input("ins-owbrtpsb");
    bad_size["disk_size"] = json!("big");
    assert!(
        post_err(&t, "storage/create", bad_size)
            .await
            .contains("disk_size")
    );

    // A malformed id on terminate is Tencent's error.
    let message = post_err(
        &t,
        "storage/terminate",
        json!({"guid": "g", "provider_params": PARAMS_1, "id": "not-a-disk"}),
    )
    .await;
    assert!(
        message.contains("InvalidParameterValue.Malformed"),
        "{message}"
    );
}

#[tokio::test]
async fn storage_waits_are_bounded_by_the_operator_timeout() {
    // The disk takes 10 s to be created; the operator allows 4 s.
    let (t, clock) = start_with(&[("storage-timeout-secs", 4), ("storage-interval-secs", 1)]).await;
    let instance = create_vm(&t).await;
    let before = clock.now_ms();
    let message = post_err(&t, "storage/create", spec_create_input(&instance)).await;
    assert!(
        message.contains("timed out after 4 s waiting for disk") && message.contains("UNATTACHED"),
        "{message}"
    );
    let waited = clock.now_ms() - before;
    assert!((4_000..10_000).contains(&waited), "waited {waited} ms");
}
