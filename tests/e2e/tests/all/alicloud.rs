//! Helpers the `alicloud_*` test modules share: a broker with the alicloud plugin whose plugins
//! and Alibaba simulator share a virtual clock, and calls in the alicloud envelope.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::VirtualClock;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker, provider};

/// The spec examples' region.
pub(crate) const REGION: &str = "ap-southeast-1";
/// The spec examples' `identityParams` (the simulator accepts these placeholder keys).
pub(crate) const IDENTITY: &str = "accessKeyId=*******;secret=*******";
/// The spec examples' `cloudParams`.
pub(crate) const CLOUD: &str = "regionId=ap-southeast-1";

/// A broker with the alicloud plugin; plugins and simulators share a virtual clock starting now,
/// so waits take simulated, not real, time.
pub(crate) async fn start() -> (TestBroker, Arc<VirtualClock>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
    let t = TestBroker::with(Setup {
        plugins: vec![provider("alicloud")],
        clock: Some(clock.clone()),
        ..Setup::default()
    })
    .await;
    (t, clock)
}

/// Output `i` of an alicloud answer.
pub(crate) fn output(answer: &Value, i: usize) -> &Value {
    &answer["results"]["outputs"][i]
}

/// Asserts `answer` succeeded as a whole and returns its first output, after checking the fields
/// every alicloud output carries.
pub(crate) fn ok_output(answer: &Value) -> Value {
    assert_eq!(answer["resultCode"], "0", "{answer}");
    assert_eq!(answer["resultMessage"], "Success", "{answer}");
    let out = output(answer, 0).clone();
    assert_eq!(out["errorCode"], "0", "{out}");
    assert_eq!(out["errorMessage"], "", "{out}");
    assert!(out["callbackParameter"].is_string(), "{out}");
    out
}

/// Posts a raw spec example to `/alicloud/v1/{route}`; returns its first output after checking
/// it succeeded.
pub(crate) async fn post_example(t: &TestBroker, route: &str, body: &str) -> Value {
    let (status, answer) = t
        .post_raw(&format!("/alicloud/v1/{route}"), body.to_owned())
        .await;
    assert_eq!(status, 200, "{answer}");
    ok_output(&answer)
}

/// The common fields of a hand-written input: guid, the demo keys and region, plus `fields`.
pub(crate) fn input(fields: Value) -> Value {
    let mut input = json!({"guid": "g", "identityParams": IDENTITY, "cloudParams": CLOUD});
    input
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    input
}

/// Posts one input to `route`, asserts it succeeded, returns its output.
pub(crate) async fn post_ok(t: &TestBroker, route: &str, fields: Value) -> Value {
    let (status, answer) = t
        .post(
            &format!("/alicloud/v1/{route}"),
            &json!({"requestId": "r", "operator": "o", "inputs": [input(fields)]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    ok_output(&answer)
}

/// Posts one input to `route`, asserts it failed, returns its `errorMessage`.
pub(crate) async fn post_err(t: &TestBroker, route: &str, fields: Value) -> String {
    let (status, answer) = t
        .post(
            &format!("/alicloud/v1/{route}"),
            &json!({"inputs": [input(fields)]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["resultCode"], "1", "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["errorCode"], "1", "{out}");
    assert_eq!(answer["resultMessage"], out["errorMessage"]);
    out["errorMessage"].as_str().unwrap().to_owned()
}

/// Creates a VPC with `cidr`; returns its id.
pub(crate) async fn create_vpc(t: &TestBroker, cidr: &str) -> String {
    let out = post_ok(t, "vpc/create", json!({"vpcName": "v", "cidrBlock": cidr})).await;
    out["vpcId"].as_str().unwrap().to_owned()
}

/// Creates a vSwitch of `vpc` with `cidr` in zone `ap-southeast-1b`; returns its id.
pub(crate) async fn create_vswitch(t: &TestBroker, vpc: &str, cidr: &str) -> String {
    let out = post_ok(
        t,
        "vswitch/create",
        json!({"vSwitchName": "s", "vpcId": vpc, "cidrBlock": cidr, "zoneId": "ap-southeast-1b"}),
    )
    .await;
    out["vSwitchId"].as_str().unwrap().to_owned()
}
