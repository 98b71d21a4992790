//! The qcloud plugin's mariadb route, through the real host and component to the simulator, in
//! simulated time.

use broker::capabilities::clock::HostClock;
use broker_sdk::password;
use serde_json::{Value, json};

use crate::harness::logs;
use crate::qcloud::{output, output_keys, post_err, post_ok};
use crate::qcloud_storage::{REGION, network, start_with};

/// `provider_params` of the spec's MariaDB example.
const SPEC_PARAMS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby";

/// The spec's `mariadb/create` example input, on this test's network.
fn spec_create_input(vpc: &str, subnet: &str) -> Value {
    let example = r#"{
		"guid": "0011_000000011",
		"provider_params": "Region=ap-shanghai;AvailableZone=ap-shanghai-3;SecretID=AKID0ZxA9ZGkhPq8E0oKk9MQVZNvEqGzZy3t;SecretKey=kE3g7PWP2i9X1HGn0znOo8RfR4ScWBby",
		"seed":"seed@123456",
		"vpc_id":"vpc-nn3hi480",
		"subnet_id":"subnet-1b4zl3gd",
		"zones":"ap-shanghai-3",
		"db_version":"10.1.9",
		"character_set":"utf8",
		"node_count":2,
		"memory_size":2,
		"storage_size":10,
		"lower_case_table_names":"true",
		"charge_period":1,
		"user_name":"tdsqladmin"
		}"#
    .replace("vpc-nn3hi480", vpc)
    .replace("subnet-1b4zl3gd", subnet);
    serde_json::from_str(&example).unwrap()
}

#[tokio::test]
async fn spec_mariadb_create_example_initialises_and_returns_an_encrypted_password() {
    let (t, clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 40).await;
    let before = clock.now_ms();
    let (status, answer) = t
        .post(
            "/v1/qcloud/mariadb/create",
            &json!({"inputs": [spec_create_input(&vpc, &subnet)]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_code"], "0", "{answer}");
    assert_eq!(answer["result_message"], "success");
    let out = output(&answer, 0);
    assert_eq!(
        output_keys(out),
        [
            "error_code",
            "error_message",
            "guid",
            "id",
            "password",
            "private_ip",
            "private_port",
            "request_id",
            "user_name"
        ]
    );
    assert_eq!(out["guid"], "0011_000000011");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    let id = out["id"].as_str().unwrap();
    assert!(id.starts_with("tdsql-") && id.len() == 14, "{id}");
    assert_eq!(out["private_ip"], "10.40.1.254");
    assert_eq!(out["private_port"], "3306");
    assert_eq!(out["user_name"], "tdsqladmin");

    let params = t.tencent().mariadb_params(REGION, id).unwrap();
    let accounts = t.tencent().mariadb_accounts(REGION, id).unwrap();
    assert_eq!(t.tencent().mariadb_status(REGION, id), Some(2));
    assert_eq!(
        params,
        [
            ("character_set_server".to_owned(), "utf8".to_owned()),
            ("lower_case_table_names".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(accounts, [("tdsqladmin@%".to_owned(), 22)]);
    // Creation (60 s) and initialisation (20 s) happened in simulated time.
    assert!(clock.now_ms() - before >= 80_000);

    // The password is encrypted with guid + seed and never logged.
    let encrypted = out["password"].as_str().unwrap();
    assert!(encrypted.starts_with("{cipher_a}"), "{encrypted}");
    let plain = password::decrypt("0011_000000011", "seed@123456", encrypted).unwrap();
    assert_eq!(plain.len(), 12, "{plain}");
    let logs = logs();
    assert!(logs.contains(id), "the outcome is logged");
    assert!(!logs.contains(&plain), "the password reached the logs");
}

#[tokio::test]
async fn mariadb_create_with_an_existing_id_creates_nothing_and_returns_no_password() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 40).await;
    let created = post_ok(&t, "mariadb/create", spec_create_input(&vpc, &subnet)).await;
    let id = created["id"].as_str().unwrap();
    let mut again = spec_create_input(&vpc, &subnet);
    again["id"] = json!(id);
    let out = post_ok(&t, "mariadb/create", again).await;
    assert_eq!(out["id"], id);
    assert_eq!(out["private_ip"], created["private_ip"]);
    assert_eq!(out["private_port"], "3306");
    assert!(out.get("password").is_none(), "{out}");
    assert_eq!(t.tencent().mariadb_ids(REGION), [id]);
}

#[tokio::test]
async fn mariadb_errors_are_clear_per_output_messages() {
    let (t, _clock) = start_with(&[]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 40).await;

    // Upstream validation errors name Tencent's code and request id.
    let mut small = spec_create_input(&vpc, &subnet);
    small["memory_size"] = json!(1);
    let message = post_err(&t, "mariadb/create", small).await;
    assert!(message.contains("InvalidParameterValue.Range"), "{message}");
    assert!(message.contains("RequestId="), "{message}");
    let mut other_region = spec_create_input(&vpc, &subnet);
    other_region["zones"] = json!("ap-guangzhou-3");
    let message = post_err(&t, "mariadb/create", other_region).await;
    assert!(message.contains("InvalidZone.MismatchRegion"), "{message}");
    assert!(t.tencent().mariadb_ids(REGION).is_empty());

    // Invalid provider_params and fields.
    let mut no_seed = spec_create_input(&vpc, &subnet);
    no_seed.as_object_mut().unwrap().remove("seed");
    assert_eq!(
        post_err(&t, "mariadb/create", no_seed).await,
        "missing required field \"seed\""
    );
    let mut bad_params = spec_create_input(&vpc, &subnet);
    bad_params["provider_params"] = json!("Region=ap-shanghai");
    assert!(
        post_err(&t, "mariadb/create", bad_params)
            .await
            .contains("provider_params")
    );
    let mut bad_flag = spec_create_input(&vpc, &subnet);
    bad_flag["lower_case_table_names"] = json!("sometimes");
    assert!(
        post_err(&t, "mariadb/create", bad_flag)
            .await
            .contains("lower_case_table_names")
    );
}

#[tokio::test]
async fn mariadb_waits_are_bounded_by_the_operator_timeout() {
    // Creation takes 60 s; the operator allows 30 s.
    let (t, clock) = start_with(&[("mariadb-timeout-secs", 30)]).await;
    let (vpc, subnet) = network(&t, SPEC_PARAMS, 40).await;
    let before = clock.now_ms();
    let message = post_err(&t, "mariadb/create", spec_create_input(&vpc, &subnet)).await;
    assert!(
        message.starts_with("MariaDB instance tdsql-")
            && message.contains("timed out after 30 s waiting for MariaDB instance"),
        "{message}"
    );
    let waited = clock.now_ms() - before;
    assert!((30_000..60_000).contains(&waited), "waited {waited} ms");
}
