//! The tencent plugin's compute routes (`/v1/tencent/compute/...`), through the real host and
//! component to the simulator, with credentials from the broker's account store and simulated
//! time (instances boot, stop and reinstall in virtual seconds).
//!
//! The spec's examples run verbatim as the `system` tenant, whose `tencent` account is registered
//! through the admin API under the examples' `ClusterUuid`; only ids the simulator hands out
//! (instances, the security group) are substituted.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broker::capabilities::clock::{HostClock, VirtualClock};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker, logs, provider};
use crate::qcloud::post_ok;

/// The spec examples' tenant and cluster.
const TENANT: &str = "system";
const CLUSTER: &str = "72db4b34-1473-418f-ade4-de00b956f16b";
/// The simulator's second demo key pair: the stored account's credentials.
const SIM_KEY_ID: &str = "AKIDsimulatorDEMO0000000000000000000";
const SIM_SECRET: &str = "simulatorDEMOsecretKey0000000000";
/// qcloud `provider_params` for the examples' region and zone (to build the network).
const PARAMS: &str = "Region=ap-guangzhou;AvailableZone=ap-guangzhou-3;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";

const CREATE: &str = r#"{
    "Region": "ap-guangzhou",
    "Placement": {
        "Zone": "ap-guangzhou-3"
    },
    "ImageId": "img-9id7emv7",
    "SystemDisk": {
        "DiskType": "CLOUD_PREMIUM",
        "DiskSize": 50
    },
    "InternetAccessible": {
        "InternetMaxBandwidthOut": 1,
        "PublicIpAssigned": true
    },
    "securityGroupId": [
        "sg-n5ihii7d"
    ],
    "InstanceCount": 1,
    "InstanceName": "123",
    "LoginSettings": {
        "Password": "964322396.cda"
    },
    "InstanceType": "MA2.SMALL8",
    "EnhancedService": {
        "SecurityService": {
            "Enabled": false
        },
        "MonitorService": {
            "Enabled": false
        }
    },
    "cluster_uuid": "a7d3bc11-e5dd-4fc3-90cf-f9bb466ba9df",
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const DELETE: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceIds": [
        "ins-2n9bmcww"
    ],
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const UPDATE: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceIds": [
        "ins-2n9bmcww"
    ],
    "InstanceName": "1234",
    "cluster_uuid": "a7d3bc11-e5dd-4fc3-90cf-f9bb466ba9df",
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const RESET: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceId": "ins-2n9bmcww",
    "SystemDisk": {
        "DiskType": "CLOUD_PREMIUM",
        "DiskSize": 50
    },
    "LoginSettings": {
        "Password": "964322396.cda"
    },
    "EnhancedService": {
        "SecurityService": {
            "Enabled": false
        },
        "MonitorService": {
            "Enabled": false
        }
    },
    "ImageId": "img-n7nyt2d7",
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const LIST: &str = r#"{
    "Region": "ap-guangzhou",
    "PageSize": 10,
    "Fuzzy": "",
    "PageNum": 0,
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const INSPECT: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceId": "ins-2n9bmcww",
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const TURN_ON: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceIds": [
        "ins-2n9bmcww"
    ],
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

const TURN_OFF: &str = r#"{
    "Region": "ap-guangzhou",
    "InstanceIds": [
        "ins-2n9bmcww"
    ],
    "ForceStop": false,
    "cluster_uuid": "a7d3bc11-e5dd-4fc3-90cf-f9bb466ba9df",
    "TenantUuid": "system",
    "ClusterUuid": "72db4b34-1473-418f-ade4-de00b956f16b"
}"#;

/// A broker with the tencent (and, to build networks, qcloud) plugin in simulated time; the
/// `system` tenant with its stored account; a `Default-VPC` network and a security group.
struct Env {
    t: TestBroker,
    clock: Arc<VirtualClock>,
    /// The `system` tenant's key.
    key: String,
    /// A security group in the examples' region.
    sg: String,
}

impl Env {
    async fn start() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let clock = Arc::new(VirtualClock::starting_at(u64::try_from(now).unwrap()));
        let t = TestBroker::with(Setup {
            plugins: vec![provider("tencent"), provider("qcloud")],
            clock: Some(clock.clone()),
            ..Setup::default()
        })
        .await;
        let key = new_tenant(&t, TENANT).await;
        register(&t, TENANT, CLUSTER, SIM_KEY_ID).await;
        let vpc = qcloud_id(
            &t,
            "vpc/create",
            json!({"name": "Default-VPC", "cidr_block": "172.16.0.0/16"}),
        )
        .await;
        qcloud_id(
            &t,
            "subnet/create",
            json!({"name": "Default-Subnet", "vpc_id": vpc, "cidr_block": "172.16.16.0/20"}),
        )
        .await;
        let sg = qcloud_id(
            &t,
            "security-group/create",
            json!({"name": "default", "description": "d"}),
        )
        .await;
        Self { t, clock, key, sg }
    }

    /// POSTs `body` to `/v1/tencent/compute/{route}` with `key`.
    async fn call_with(&self, key: &str, route: &str, body: &Value) -> (u16, Value) {
        let path = format!("/v1/tencent/compute/{route}");
        let (status, _, answer) = self
            .t
            .call(Method::POST, &path, Some(key), Some(body))
            .await;
        (status, answer)
    }

    /// POSTs `body` as the `system` tenant.
    async fn call(&self, route: &str, body: &Value) -> (u16, Value) {
        self.call_with(&self.key, route, body).await
    }

    /// POSTs `body`, asserts the spec's success envelope, and returns `data`.
    async fn ok(&self, route: &str, body: &Value) -> Value {
        let (status, answer) = self.call(route, body).await;
        assert_eq!(status, 200, "{route}: {answer}");
        assert_success(&answer);
        answer["data"].clone()
    }

    /// POSTs `body`, asserts a failure with `status` and `scode`, and returns the answer.
    async fn fail(&self, route: &str, body: &Value, status: u16, scode: i64) -> Value {
        let (got, answer) = self.call(route, body).await;
        assert_failure(&answer, (got, status), scode);
        answer
    }

    /// Creates one instance from the spec's example, named `name`; returns its id.
    async fn create(&self, name: &str) -> String {
        let mut body = example(CREATE, "sg-n5ihii7d", &self.sg);
        body["InstanceName"] = json!(name);
        let data = self.ok("create", &body).await;
        data["InstanceIdSet"][0].as_str().unwrap().to_owned()
    }

    /// The instance `id` as `inspect` answers it.
    async fn inspect(&self, id: &str) -> Value {
        self.ok("inspect", &example(INSPECT, "ins-2n9bmcww", id))
            .await
    }

    /// Lets `ms` of simulated time pass.
    async fn advance(&self, ms: u64) {
        self.clock.sleep(Duration::from_millis(ms)).await;
    }
}

/// A spec example with `from` replaced by `to`, parsed.
fn example(text: &str, from: &str, to: &str) -> Value {
    serde_json::from_str(&text.replace(from, to)).unwrap()
}

/// The spec's success envelope: exactly its six keys.
fn assert_success(answer: &Value) {
    let mut keys: Vec<_> = answer.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["data", "desc", "message", "message_cn", "scode", "stack"],
        "{answer}"
    );
    assert_eq!(answer["scode"], 0, "{answer}");
    assert_eq!(answer["desc"], "");
    assert_eq!(answer["message"], "success");
    assert_eq!(answer["message_cn"], "成功");
    assert_eq!(answer["stack"], Value::Null);
}

/// A failure envelope: non-zero `scode`, both messages, `data` null; (got, want) statuses.
fn assert_failure(answer: &Value, (got, want): (u16, u16), scode: i64) {
    assert_eq!(got, want, "{answer}");
    assert_eq!(answer["scode"], scode, "{answer}");
    assert!(!answer["message"].as_str().unwrap().is_empty(), "{answer}");
    let cn = answer["message_cn"].as_str().unwrap();
    assert!(
        cn.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message_cn is Chinese: {answer}"
    );
    assert_eq!(answer["data"], Value::Null);
    assert_eq!(answer["stack"], Value::Null);
}

/// Creates a tenant through the admin API; returns its key.
async fn new_tenant(t: &TestBroker, name: &str) -> String {
    let (status, answer) = t
        .admin(Method::POST, "/admin/tenants", Some(&json!({"name": name})))
        .await;
    assert_eq!(status, 201, "{answer}");
    answer["key"]["key"].as_str().unwrap().to_owned()
}

/// Registers `tenant`'s `tencent` account `cluster` with key id `key_id` through the admin API.
async fn register(t: &TestBroker, tenant: &str, cluster: &str, key_id: &str) {
    let path = format!("/admin/tenants/{tenant}/accounts/tencent/{cluster}");
    let account =
        json!({"secret_id": key_id, "secret_key": SIM_SECRET, "default_region": "ap-guangzhou"});
    let (status, answer) = t.admin(Method::PUT, &path, Some(&account)).await;
    assert_eq!(status, 200, "{answer}");
}

/// Runs a qcloud create route in the examples' region; returns the new id.
async fn qcloud_id(t: &TestBroker, route: &str, mut input: Value) -> String {
    input["guid"] = json!("g");
    input["provider_params"] = json!(PARAMS);
    post_ok(t, route, input).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_spec_example_answers_scode_0_with_the_stored_account() {
    let env = Env::start().await;
    // create: the instance boots in 20 simulated seconds.
    let data = env
        .ok("create", &example(CREATE, "sg-n5ihii7d", &env.sg))
        .await;
    let id = data["InstanceIdSet"][0].as_str().unwrap().to_owned();
    assert_eq!(data["InstanceIdSet"].as_array().unwrap().len(), 1);
    let on = |text: &str| example(text, "ins-2n9bmcww", &id);
    assert_eq!(env.inspect(&id).await["InstanceState"], "PENDING");
    env.advance(20_000).await;

    // list: the spec's data shape, the VPC's name, every struct field passed through.
    let data = env.ok("list", &serde_json::from_str(LIST).unwrap()).await;
    assert_eq!(data["TotalCount"], 1, "{data}");
    assert_eq!(data["VpcName"], json!(["Default-VPC"]));
    let listed = &data["List"][0];
    for key in [
        "Placement",
        "InstanceId",
        "InstanceType",
        "CPU",
        "Memory",
        "RestrictState",
        "InstanceName",
        "InstanceChargeType",
        "SystemDisk",
        "PrivateIpAddresses",
        "PublicIpAddresses",
        "InternetAccessible",
        "VirtualPrivateCloud",
        "ImageId",
        "CreatedTime",
        "OsName",
        "SecurityGroupIds",
        "LoginSettings",
        "InstanceState",
        "StopChargingMode",
        "Uuid",
        "LatestOperation",
        "LatestOperationState",
        "LatestOperationRequestId",
        "DisasterRecoverGroupId",
        "CamRoleName",
        "InstanceTypeName",
    ] {
        assert!(listed.get(key).is_some(), "List[0] lacks {key}: {listed}");
    }
    assert_eq!(listed["InstanceId"], id.as_str());
    assert_eq!(listed["InstanceName"], "123");
    assert_eq!(
        (listed["CPU"].as_u64(), listed["Memory"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(listed["InstanceTypeName"], "内存型MA2");
    assert_eq!(listed["SystemDisk"]["DiskSize"], 50);
    assert_eq!(listed["InternetAccessible"]["InternetMaxBandwidthOut"], 1);
    assert_eq!(listed["PublicIpAddresses"].as_array().unwrap().len(), 1);
    assert_eq!(listed["SecurityGroupIds"], json!([env.sg]));
    assert_eq!(listed["LoginSettings"], json!({}));
    assert_eq!(listed["InstanceState"], "RUNNING");

    // update: the name changes.
    assert_eq!(env.ok("update", &on(UPDATE)).await, json!({}));
    let inspected = env.inspect(&id).await;
    assert_eq!(inspected["InstanceName"], "1234");
    assert_eq!(inspected["InstanceId"], id.as_str());

    // turn_off, then turn_on, each settling in simulated time.
    assert_eq!(env.ok("turn_off", &on(TURN_OFF)).await, json!({}));
    assert_eq!(env.inspect(&id).await["InstanceState"], "STOPPING");
    env.advance(10_000).await;
    assert_eq!(env.inspect(&id).await["InstanceState"], "STOPPED");
    assert_eq!(env.ok("turn_on", &on(TURN_ON)).await, json!({}));
    env.advance(10_000).await;
    assert_eq!(env.inspect(&id).await["InstanceState"], "RUNNING");

    // reset: reinstalled from the example's image, as the inspect example shows.
    assert_eq!(env.ok("reset", &on(RESET)).await, json!({}));
    assert_eq!(env.inspect(&id).await["InstanceState"], "RESETTING");
    env.advance(30_000).await;
    let inspected = env.inspect(&id).await;
    assert_eq!(inspected["InstanceState"], "RUNNING");
    assert_eq!(inspected["ImageId"], "img-n7nyt2d7");
    assert_eq!(inspected["OsName"], "CentOS 8.2 64位");
    assert_eq!(inspected["LatestOperation"], "ResetInstance");
    assert_eq!(inspected["LatestOperationState"], "SUCCESS");

    // delete: terminated, then gone.
    assert_eq!(env.ok("delete", &on(DELETE)).await, json!({}));
    env.advance(15_000).await;
    let answer = env.fail("inspect", &on(INSPECT), 404, 10004).await;
    assert!(
        answer["message"].as_str().unwrap().contains(&id),
        "{answer}"
    );
    assert!(
        !logs().contains("964322396.cda"),
        "the instance password never reaches a log line"
    );
}

#[tokio::test]
async fn list_pages_with_page_num_and_size_and_filters_by_fuzzy_name() {
    let env = Env::start().await;
    for name in ["web-a", "web-b", "db"] {
        env.create(name).await;
    }
    let list = |page_num: u64, page_size: u64, fuzzy: &str| {
        let mut body: Value = serde_json::from_str(LIST).unwrap();
        body["PageNum"] = json!(page_num);
        body["PageSize"] = json!(page_size);
        body["Fuzzy"] = json!(fuzzy);
        body
    };
    let names = |data: &Value| -> Vec<String> {
        data["List"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["InstanceName"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = env.ok("list", &list(0, 2, "")).await;
    assert_eq!(
        (first["TotalCount"].as_u64(), names(&first)),
        (Some(3), vec!["web-a".into(), "web-b".into()])
    );
    let rest = env.ok("list", &list(2, 2, "")).await;
    assert_eq!(names(&rest), ["db"]);
    let web = env.ok("list", &list(0, 0, "web")).await;
    assert_eq!(
        (web["TotalCount"].as_u64(), names(&web).len()),
        (Some(2), 2)
    );
    assert_eq!(web["VpcName"], json!(["Default-VPC"]), "one name per VPC");
    let none = env.ok("list", &list(0, 10, "nothing")).await;
    assert_eq!(none, json!({"TotalCount": 0, "List": [], "VpcName": []}));
}

#[tokio::test]
async fn turn_on_and_off_accept_instance_id_and_force_stop_is_quicker() {
    let env = Env::start().await;
    let id = env.create("a").await;
    env.advance(20_000).await;
    let mut body = example(TURN_OFF, "ins-2n9bmcww", &id);
    body["ForceStop"] = json!(true);
    env.ok("turn_off", &body).await;
    env.advance(3_000).await;
    assert_eq!(
        env.inspect(&id).await["InstanceState"],
        "STOPPED",
        "forced stops skip the guest"
    );
    // The turn_on table's `InstanceId` form, as a string.
    let mut body = example(TURN_ON, "ins-2n9bmcww", &id);
    body.as_object_mut().unwrap().remove("InstanceIds");
    body["InstanceId"] = json!(id);
    env.ok("turn_on", &body).await;
    env.advance(10_000).await;
    assert_eq!(env.inspect(&id).await["InstanceState"], "RUNNING");
}

#[tokio::test]
async fn update_renames_and_replaces_security_groups_together() {
    let env = Env::start().await;
    let id = env.create("a").await;
    let other = qcloud_id(
        &env.t,
        "security-group/create",
        json!({"name": "other", "description": "d"}),
    )
    .await;
    let mut body = example(UPDATE, "ins-2n9bmcww", &id);
    body["SecurityGroups"] = json!([other]);
    env.ok("update", &body).await;
    let inspected = env.inspect(&id).await;
    assert_eq!(inspected["InstanceName"], "1234");
    assert_eq!(inspected["SecurityGroupIds"], json!([other]));
}

#[tokio::test]
async fn an_admin_acts_for_the_tenant_named_in_x_broker_tenant() {
    let env = Env::start().await;
    let as_admin = |tenant: &'static str| {
        env.t
            .client
            .post(format!("{}/v1/tencent/compute/list", env.t.broker.url()))
            .bearer_auth(&env.t.admin_key)
            .header(broker::server::ACT_AS_TENANT, tenant)
            .body(LIST)
            .send()
    };
    let response = as_admin(TENANT).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_success(&response.json().await.unwrap());
    // Acting for `default`, the body's `system` is another tenant.
    let response = as_admin("default").await.unwrap();
    let status = response.status().as_u16();
    assert_failure(&response.json().await.unwrap(), (status, 403), 10003);
}

#[tokio::test]
async fn another_tenants_uuid_or_cluster_is_refused_and_nothing_is_sent_upstream() {
    let env = Env::start().await;
    let before = env.t.tencent().requests_seen();
    // The default tenant names `system` in the body: refused.
    let body: Value = serde_json::from_str(LIST).unwrap();
    let (status, answer) = env.call_with(&env.t.tenant_key, "list", &body).await;
    assert_failure(&answer, (status, 403), 10003);
    assert!(
        answer["message"].as_str().unwrap().contains("`system`"),
        "{answer}"
    );
    // The default tenant names itself but `system`'s cluster: it does not exist for it.
    let mut own = body.clone();
    own["TenantUuid"] = json!("default");
    let (status, answer) = env.call_with(&env.t.tenant_key, "list", &own).await;
    assert_failure(&answer, (status, 404), 10004);
    assert!(
        answer["message"].as_str().unwrap().contains(CLUSTER),
        "{answer}"
    );
    assert_eq!(env.t.tencent().requests_seen(), before, "no upstream call");
    // Once the default tenant registers the same name, it works with its own account.
    register(&env.t, "default", CLUSTER, SIM_KEY_ID).await;
    let (status, answer) = env.call_with(&env.t.tenant_key, "list", &own).await;
    assert_eq!(status, 200, "{answer}");
    assert_success(&answer);
}

#[tokio::test]
async fn an_unknown_cluster_and_credentials_in_the_body_are_refused() {
    let env = Env::start().await;
    let mut body: Value = serde_json::from_str(LIST).unwrap();
    body["ClusterUuid"] = json!("no-such-cluster");
    let answer = env.fail("list", &body, 404, 10004).await;
    assert!(
        answer["message_cn"]
            .as_str()
            .unwrap()
            .contains("no-such-cluster")
    );
    let mut body: Value = serde_json::from_str(LIST).unwrap();
    body["SecretKey"] = json!("sk");
    body["SecretId"] = json!("AKID");
    let answer = env.fail("list", &body, 403, 10003).await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("credentials are not accepted")
    );
}

#[tokio::test]
async fn upstream_errors_carry_tencents_code_and_request_id_in_both_languages() {
    let env = Env::start().await;
    let unknown = example(TURN_ON, "ins-2n9bmcww", "ins-00000000");
    let answer = env.fail("turn_on", &unknown, 404, 10002).await;
    for key in ["message", "message_cn"] {
        let text = answer[key].as_str().unwrap();
        assert!(text.contains("StartInstances"), "{text}");
        assert!(text.contains("Code=InvalidInstanceId.NotFound"), "{text}");
        let request_id = text.split("RequestId=").nth(1).unwrap();
        assert_eq!(request_id.len(), 36, "{text}");
    }
    assert!(answer["message_cn"].as_str().unwrap().contains("调用失败"));
    // An instance in the wrong state: Tencent's state code, 502.
    let id = env.create("a").await;
    let answer = env
        .fail(
            "turn_on",
            &example(TURN_ON, "ins-2n9bmcww", &id),
            502,
            10002,
        )
        .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("UnsupportedOperation.InstanceStatePending")
    );
    // A stored account whose key the cloud does not know: the signed call is refused.
    register(
        &env.t,
        TENANT,
        "stale",
        "AKIDunknown000000000000000000000000",
    )
    .await;
    let mut body: Value = serde_json::from_str(LIST).unwrap();
    body["ClusterUuid"] = json!("stale");
    let answer = env.fail("list", &body, 502, 10002).await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("AuthFailure.SecretIdNotFound"),
        "{answer}"
    );
    // Create with a security group that does not exist.
    let answer = env
        .fail("create", &serde_json::from_str(CREATE).unwrap(), 404, 10002)
        .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("InvalidSecurityGroupId.NotFound")
    );
}

#[tokio::test]
async fn validation_errors_answer_in_the_envelope_and_the_broker_keeps_serving() {
    let env = Env::start().await;
    let before = env.t.tencent().requests_seen();
    let mut no_region: Value = serde_json::from_str(LIST).unwrap();
    no_region.as_object_mut().unwrap().remove("Region");
    let answer = env.fail("list", &no_region, 400, 10001).await;
    assert_eq!(answer["message"], "missing required field `Region`");
    assert_eq!(answer["message_cn"], "缺少必填参数 `Region`");
    let cases = [
        (
            "delete",
            DELETE,
            "InstanceIds",
            json!("ins-1"),
            "field `InstanceIds` must be an array of strings, got string",
        ),
        (
            "list",
            LIST,
            "PageSize",
            json!("ten"),
            "field `PageSize` must be a non-negative integer, got string",
        ),
        (
            "turn_off",
            TURN_OFF,
            "ForceStop",
            json!(1),
            "field `ForceStop` must be a boolean, got number",
        ),
        (
            "create",
            CREATE,
            "Placement",
            json!("ap-guangzhou-3"),
            "field `Placement` must be an object, got string",
        ),
        (
            "reset",
            RESET,
            "ImageId",
            json!(null),
            "missing required field `ImageId`",
        ),
        (
            "inspect",
            INSPECT,
            "Region",
            json!(["ap-guangzhou"]),
            "field `Region` must be a string, got array",
        ),
    ];
    for (route, text, key, value, message) in cases {
        let mut body: Value = serde_json::from_str(text).unwrap();
        body[key] = value;
        let answer = env.fail(route, &body, 400, 10001).await;
        assert_eq!(answer["message"], message, "{route}");
    }
    for raw in ["{\"Region\": ", "[1, 2]", "null"] {
        let (status, answer) = env.t.post_raw("/v1/tencent/compute/list", raw).await;
        assert_failure(&answer, (status, 400), 10001);
    }
    assert_eq!(
        env.t.tencent().requests_seen(),
        before,
        "nothing invalid went upstream"
    );
    let (status, answer) = env.t.post_raw("/v1/tencent/compute/nope", "{}").await;
    assert_failure(&answer, (status, 404), 10004);
    env.ok("list", &serde_json::from_str(LIST).unwrap()).await;
}
