//! Operator plugin settings: declared in the manifest, listed by `GET /v1/plugins`, overridden
//! in the broker's configuration, read by the plugin through the `config` capability; a setting
//! the plugin does not declare keeps the plugin from loading.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::{HostClock, VirtualClock};
use broker::config::SettingValue;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker};
use crate::qcloud::{create_vpc, output};

const PARAMS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";

fn qcloud_settings(
    pairs: &[(&str, SettingValue)],
) -> BTreeMap<String, BTreeMap<String, SettingValue>> {
    BTreeMap::from([(
        "qcloud".to_string(),
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect(),
    )])
}

fn listed_setting<'a>(listing: &'a Value, plugin: &str, name: &str) -> &'a Value {
    listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == plugin)
        .unwrap_or_else(|| panic!("{plugin} listed: {listing}"))["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed: {listing}"))
}

#[tokio::test]
async fn declared_settings_are_listed_with_defaults() {
    let t = TestBroker::start().await;
    let (status, listing) = t.get("/v1/plugins").await;
    assert_eq!(status, 200);
    let timeout = listed_setting(&listing, "qcloud", "vm-timeout-secs");
    assert_eq!(timeout["default"], "600");
    assert_eq!(timeout["value"], "600");
    assert!(timeout["summary"].as_str().unwrap().contains("seconds"));
}

#[tokio::test]
async fn an_operator_timeout_bounds_the_plugins_wait() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
    // The simulated instance boots in 20 s; the operator allows 6 s, looking every 2 s.
    let t = TestBroker::with(Setup {
        clock: Some(clock.clone()),
        plugin_settings: qcloud_settings(&[
            ("vm-timeout-secs", SettingValue::Integer(6)),
            ("vm-interval-secs", SettingValue::Text("2".into())),
        ]),
        ..Setup::default()
    })
    .await;
    let (_, listing) = t.get("/v1/plugins").await;
    assert_eq!(
        listed_setting(&listing, "qcloud", "vm-timeout-secs")["value"],
        "6"
    );

    let vpc = create_vpc(&t, "10.7.0.0/16").await;
    let (_, subnet) = t
        .post(
            "/v1/qcloud/subnet/create",
            &json!({"inputs": [{"guid": "sn", "provider_params": PARAMS, "name": "s",
                "vpc_id": vpc, "cidr_block": "10.7.1.0/24"}]}),
        )
        .await;
    let subnet = output(&subnet, 0)["id"].as_str().unwrap().to_owned();
    let started = clock.now_ms();
    let (status, answer) = t
        .post(
            "/v1/qcloud/vm/create",
            &json!({"inputs": [{"guid": "g", "provider_params": PARAMS, "seed": "s",
                "vpc_id": vpc, "subnet_id": subnet, "instance_name": "vm",
                "instance_type": "S2.SMALL1", "image_id": "img-31tjrtph",
                "system_disk_size": "50", "instance_charge_type": "POSTPAID_BY_HOUR"}]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let out = output(&answer, 0);
    assert_eq!(out["error_code"], "1", "{answer}");
    let message = out["error_message"].as_str().unwrap();
    assert!(message.contains("timed out after 6 s"), "{message}");
    let waited = clock.now_ms() - started;
    assert!((6_000..20_000).contains(&waited), "waited {waited} ms");
}

#[tokio::test]
async fn a_bad_operator_value_is_an_error_naming_the_setting() {
    let t = TestBroker::with(Setup {
        plugin_settings: qcloud_settings(&[("vm-timeout-secs", SettingValue::Text("ten".into()))]),
        ..Setup::default()
    })
    .await;
    let (status, answer) = t
        .post(
            "/v1/qcloud/vm/terminate",
            &json!({"inputs": [{"guid": "g", "provider_params": PARAMS, "id": "ins-12345678"}]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let message = output(&answer, 0)["error_message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("`vm-timeout-secs` is `ten`, not a positive whole number of seconds"),
        "{message}"
    );
}

#[tokio::test]
async fn a_setting_the_plugin_does_not_declare_keeps_it_from_loading() {
    let t = TestBroker::with(Setup {
        plugin_settings: qcloud_settings(&[("vm-timeout-sec", SettingValue::Integer(60))]),
        ..Setup::default()
    })
    .await;
    let refused = t.broker.refused().join("\n");
    assert!(
        refused
            .contains("the operator set `vm-timeout-sec`, which plugin `qcloud` does not declare")
            && refused.contains("vm-timeout-secs"),
        "{refused}"
    );
    let (_, listing) = t.get("/v1/plugins").await;
    assert!(
        listing["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "qcloud"),
        "{listing}"
    );
    // The rest of the broker serves on.
    let (status, _) = t.get("/healthz").await;
    assert_eq!(status, 200);
}
