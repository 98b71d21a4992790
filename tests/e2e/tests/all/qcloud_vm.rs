//! The qcloud plugin's vm routes, through the real host and component to the simulator, in
//! simulated time: the broker's plugins and the simulator share one virtual clock, so a 20 s
//! boot or a 15 s termination takes no real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::capabilities::clock::{HostClock, VirtualClock};
use broker_sdk::password;
use serde_json::{Value, json};

use crate::harness::{TestBroker, logs};
use crate::qcloud::{create_vpc, output, output_keys, post_err, post_ok, start_simulated};

const REGION: &str = "ap-shanghai";
/// The zone of the spec's examples.
const PARAMS_3: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";

/// A broker whose plugins and simulator share a virtual clock starting now.
async fn start() -> (TestBroker, Arc<VirtualClock>) {
    start_simulated(&[]).await
}

/// A VPC 10.6.0.0/16 with subnet 10.6.1.0/24 in zone ap-shanghai-3: (vpc, subnet).
async fn network(t: &TestBroker) -> (String, String) {
    let vpc = create_vpc(t, "10.6.0.0/16").await;
    let subnet = post_ok(
        t,
        "subnet/create",
        json!({"guid": "sn", "provider_params": PARAMS_3, "name": "s", "vpc_id": vpc,
            "cidr_block": "10.6.1.0/24"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, subnet)
}

/// The spec's `vm/create` example input, on this test's network.
fn spec_create_input(vpc: &str, subnet: &str) -> Value {
    let example = r#"{
			"guid":"0008_0000000088",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"seed":"abc@2018",
			"vpc_id": "vpc-dbw95tm4",
			"subnet_id": "subnet-c1u04dkj",
			"instance_name": "app_001",
			"instance_type": "S2.SMALL1",
			"image_id": "img-31tjrtph",
			"system_disk_size": 50,
			"instance_charge_period": null,
			"instance_charge_type": "POSTPAID_BY_HOUR",
			"instance_private_ip": null
		}"#
    .replace("vpc-dbw95tm4", vpc)
    .replace("subnet-c1u04dkj", subnet);
    serde_json::from_str(&example).unwrap()
}

/// Creates a VM with the spec's example input; returns its output.
async fn create_vm(t: &TestBroker, vpc: &str, subnet: &str) -> Value {
    post_ok(t, "vm/create", spec_create_input(vpc, subnet)).await
}

/// The spec's terminate/start/stop example input (they are identical) for instance `id`.
fn spec_id_input(id: &str) -> String {
    r#"{
	"inputs": [
		{
			"guid":"0008_0000000088",
			"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}",
			"id": "ins-kjqxqlgh"
		}
	]
}"#
    .replace("ins-kjqxqlgh", id)
}

#[tokio::test]
async fn spec_vm_create_example_boots_an_instance_in_simulated_time() {
    let (t, clock) = start().await;
    let (vpc, subnet) = network(&t).await;
    let body = json!({ "inputs": [spec_create_input(&vpc, &subnet)] });
    let started_virtual = clock.now_ms();
    let started = Instant::now();
    let (status, answer) = t.post("/v1/qcloud/vm/create", &body).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(
        output_keys(out),
        [
            "cpu",
            "error_code",
            "error_message",
            "guid",
            "id",
            "instance_private_ip",
            "instance_state",
            "memory",
            "password",
            "request_id"
        ]
    );
    assert_eq!(out["guid"], "0008_0000000088");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("ins-") && id.len() == 12, "{id}");
    assert_eq!(out["cpu"], "1");
    assert_eq!(out["memory"], "1");
    assert_eq!(out["instance_state"], "RUNNING");
    assert_eq!(out["instance_private_ip"], "10.6.1.2");
    assert_eq!(t.tencent().instance_ids(REGION), [id]);
    assert_eq!(
        t.tencent().instance_state(REGION, id).as_deref(),
        Some("RUNNING")
    );

    // The 20 s boot happened in simulated time.
    assert!(clock.now_ms() - started_virtual >= 20_000);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");

    // The password is encrypted with guid + seed, meets Tencent's rule, and never logged.
    let encrypted = out["password"].as_str().unwrap();
    assert!(encrypted.starts_with("{cipher_a}"), "{encrypted}");
    let plain = password::decrypt("0008_0000000088", "abc@2018", encrypted).unwrap();
    assert_eq!(plain.len(), 12, "{plain}");
    assert!(plain.bytes().any(|b| b.is_ascii_lowercase()));
    assert!(plain.bytes().any(|b| b.is_ascii_uppercase()));
    assert!(plain.bytes().any(|b| b.is_ascii_digit()));
    let logs = logs();
    assert!(logs.contains(id), "the outcome is logged");
    assert!(!logs.contains(&plain), "the password reached the logs");
}

#[tokio::test]
async fn vm_create_with_an_existing_id_returns_it_without_a_password_or_a_new_instance() {
    let (t, _clock) = start().await;
    let (vpc, subnet) = network(&t).await;
    let created = create_vm(&t, &vpc, &subnet).await;
    let id = created["id"].as_str().unwrap();
    let mut input = spec_create_input(&vpc, &subnet);
    input["id"] = json!(id);
    let again = post_ok(&t, "vm/create", input).await;
    assert_eq!(again["id"], id);
    assert_eq!(again["cpu"], "1");
    assert_eq!(again["memory"], "1");
    assert_eq!(again["instance_state"], "RUNNING");
    assert_eq!(again["instance_private_ip"], created["instance_private_ip"]);
    assert!(again.get("password").is_none(), "{again}");
    assert_eq!(t.tencent().instance_ids(REGION), [id]);
}

#[tokio::test]
async fn spec_vm_stop_and_start_examples_wait_for_the_state() {
    let (t, clock) = start().await;
    let (vpc, subnet) = network(&t).await;
    let id = create_vm(&t, &vpc, &subnet).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (route, state) in [("vm/stop", "STOPPED"), ("vm/start", "RUNNING")] {
        let before = clock.now_ms();
        let (status, answer) = t
            .post_raw(&format!("/v1/qcloud/{route}"), spec_id_input(&id))
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result_code"], "0", "{route}: {answer}");
        let out = output(&answer, 0);
        assert_eq!(
            output_keys(out),
            ["error_code", "error_message", "guid", "id", "request_id"]
        );
        assert_eq!(out["guid"], "0008_0000000088");
        assert_eq!(out["id"], id.as_str());
        assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
        assert_eq!(
            t.tencent().instance_state(REGION, &id).as_deref(),
            Some(state),
            "{route}"
        );
        assert!(clock.now_ms() - before >= 10_000, "{route} waited");
        // Again: already there, succeeds at once.
        let (_, answer) = t
            .post_raw(&format!("/v1/qcloud/{route}"), spec_id_input(&id))
            .await;
        assert_eq!(answer["result_code"], "0", "{route} again: {answer}");
    }
}

#[tokio::test]
async fn spec_vm_terminate_example_waits_until_gone_and_succeeds_twice() {
    let (t, _clock) = start().await;
    let (vpc, subnet) = network(&t).await;
    let id = create_vm(&t, &vpc, &subnet).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let (status, answer) = t
            .post_raw("/v1/qcloud/vm/terminate", spec_id_input(&id))
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result_code"], "0", "{answer}");
        let out = output(&answer, 0);
        assert_eq!(
            output_keys(out),
            ["error_code", "error_message", "guid", "id", "request_id"]
        );
        assert_eq!(out["id"], id.as_str());
        assert!(t.tencent().instance_ids(REGION).is_empty());
    }
    // The example verbatim: that instance does not exist, which counts as terminated.
    let (_, answer) = t
        .post_raw("/v1/qcloud/vm/terminate", spec_id_input("ins-kjqxqlgh"))
        .await;
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(output(&answer, 0)["id"], "ins-kjqxqlgh");
}

#[tokio::test]
async fn vm_errors_are_clear_per_output_messages() {
    let (t, _clock) = start().await;
    let (vpc, subnet) = network(&t).await;

    // Unknown and malformed ids.
    let input = |id: &str| json!({"guid": "g", "provider_params": PARAMS_3, "id": id});
    for route in ["vm/start", "vm/stop"] {
        let message = post_err(&t, route, input("ins-kjqxqlgh")).await;
        assert!(
            message.starts_with("instance ins-kjqxqlgh does not exist"),
            "{route}: {message}"
        );
    }
    let message = post_err(&t, "vm/terminate", input("not-an-id")).await;
    assert!(message.contains("InvalidInstanceId.Malformed"), "{message}");

    // Invalid provider_params and a missing seed.
    let mut bad = spec_create_input(&vpc, &subnet);
    bad["provider_params"] = json!("Region=ap-shanghai;AvailableZone=ap-shanghai-3");
    let message = post_err(&t, "vm/create", bad).await;
    assert!(
        message.contains("SecretID") || message.contains("provider_params"),
        "{message}"
    );
    let mut no_seed = spec_create_input(&vpc, &subnet);
    no_seed.as_object_mut().unwrap().remove("seed");
    assert_eq!(
        post_err(&t, "vm/create", no_seed).await,
        "missing required field \"seed\""
    );

    // An upstream error names Tencent's code.
    let mut unknown_image = spec_create_input(&vpc, &subnet);
    unknown_image["image_id"] = json!("img-00000000");
    let message = post_err(&t, "vm/create", unknown_image).await;
    assert!(message.contains("InvalidImageId.NotFound"), "{message}");
    assert!(message.contains("RequestId="), "{message}");
    assert!(t.tencent().instance_ids(REGION).is_empty());

    // A failing input does not stop the batch.
    let mut no_seed = spec_create_input(&vpc, &subnet);
    no_seed.as_object_mut().unwrap().remove("seed");
    let (status, answer) = t
        .post(
            "/v1/qcloud/vm/create",
            &json!({"inputs": [no_seed, spec_create_input(&vpc, &subnet)]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["result_code"], "1", "{answer}");
    assert_eq!(output(&answer, 0)["error_code"], "1");
    assert_eq!(output(&answer, 1)["error_code"], "0");
    assert_eq!(output(&answer, 1)["instance_state"], "RUNNING");
    assert_eq!(t.tencent().instance_ids(REGION).len(), 1);
}

/// Real time here: the broker's wall-clock limit is 7 s and a simulated instance boots in 20 s.
/// The first create stops waiting before the limit (keeping 5 s to answer) and says so; the
/// second is not attempted; both outputs come back instead of the call being cut off.
#[tokio::test]
async fn a_batch_answers_every_input_before_the_wall_clock_limit() {
    let t = crate::harness::TestBroker::with(crate::harness::Setup {
        limits: broker::config::Limits {
            wall_secs: 7,
            ..broker::config::Limits::default()
        },
        ..crate::harness::Setup::default()
    })
    .await;
    let (vpc, subnet) = network(&t).await;
    let mut second = spec_create_input(&vpc, &subnet);
    second["guid"] = json!("second");
    let body = json!({ "inputs": [spec_create_input(&vpc, &subnet), second] });
    let started = Instant::now();
    let (status, answer) = t.post("/v1/qcloud/vm/create", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(answer["result_code"], "1", "{answer}");
    let first = output(&answer, 0)["error_message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        first.contains("was created, but: stopped waiting for instance")
            && first.contains("time limit is nearly spent"),
        "{first}"
    );
    assert_eq!(
        output(&answer, 1)["error_message"],
        broker_sdk::wecube::NOT_ATTEMPTED,
        "{answer}"
    );
    assert_eq!(
        t.tencent().instance_ids(REGION).len(),
        1,
        "the second was not created"
    );
}
