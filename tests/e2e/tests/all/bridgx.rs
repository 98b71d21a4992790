//! The bridgx plugin (`/v1/bridgx/...`): every endpoint of BridgX's developer handbook through
//! the real broker and component to the BridgX simulator, with the account from the broker's
//! store, token reuse and re-login, and each place where the plugin follows BridgX's code
//! rather than its handbook. Time is virtual: tokens expire and tasks progress as the test
//! moves the clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use broker::capabilities::clock::VirtualClock;
use broker::config::SettingValue;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Setup, TestBroker, provider};

/// 2026-11-23 12:00 China Standard Time: day 23 > 12, so `yyyy-dd-mm` is unambiguous.
pub const START_MS: u64 = 1_795_406_400_000;
/// The simulated day, as BridgX's code wants it and as its handbook writes it.
pub const TODAY: &str = "2026-11-23";
const TODAY_HANDBOOK: &str = "2026-23-11";
/// The simulator's demo organisation's Alibaba Cloud account key.
pub const AK: &str = "LTAI5tAwAMpXAQ78pePcRb6t";
/// The endpoint the broker maps to the BridgX simulator.
pub const DEMO_ENDPOINT: &str = "http://bridgx.sim.internal";

/// A broker with the bridgx plugin on a virtual clock and the operator's bridgx `settings`.
pub async fn start_with(
    settings: &[(&str, SettingValue)],
    upstreams: &[(&str, &str)],
) -> (TestBroker, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::starting_at(START_MS));
    let plugin_settings = BTreeMap::from([(
        "bridgx".to_string(),
        settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )]);
    let t = TestBroker::with(Setup {
        plugins: vec![provider("bridgx")],
        clock: Some(clock.clone()),
        plugin_settings,
        upstreams: upstreams
            .iter()
            .map(|(h, u)| (h.to_string(), u.to_string()))
            .collect(),
        ..Setup::default()
    })
    .await;
    (t, clock)
}

/// A broker whose `default` tenant has the `default` bridgx account on the simulator.
pub async fn start() -> (TestBroker, Arc<VirtualClock>) {
    let (t, clock) = start_with(&[], &[]).await;
    register(&t, "default", DEMO_ENDPOINT, "root", "123456").await;
    (t, clock)
}

/// Registers the `default` tenant's bridgx account `name`.
pub async fn register(t: &TestBroker, name: &str, endpoint: &str, user: &str, password: &str) {
    let (status, answer) = t
        .admin(
            Method::PUT,
            &format!("/admin/tenants/default/accounts/bridgx/{name}"),
            Some(&json!({"endpoint": endpoint, "username": user, "password": password})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// Calls `/v1/bridgx/<path>` as the `default` tenant, with `account` in `X-Bridgx-Account`.
pub async fn call_as(
    t: &TestBroker,
    account: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut request = t
        .client
        .request(method, format!("{}/v1/bridgx/{path}", t.broker.url()))
        .bearer_auth(&t.tenant_key);
    if let Some(account) = account {
        request = request.header("X-Bridgx-Account", account);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("broker answers");
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Calls with the default account; answers status and the JSON envelope.
pub async fn call(t: &TestBroker, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, text) = call_as(t, None, method, path, body.as_deref()).await;
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, json)
}

/// Calls and expects `{code: 200, msg: "success"}`; answers `data`.
pub async fn ok(t: &TestBroker, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(t, method, path, body).await;
    assert_eq!(
        (status, &answer["code"], &answer["msg"]),
        (200, &json!(200), &json!("success")),
        "{path}: {answer}"
    );
    answer["data"].clone()
}

async fn create_vpc(t: &TestBroker) -> String {
    let body = json!({"provider": "AlibabaCloud", "region_id": "cn-qingdao", "cidr_block": "172.16.0.0/12", "vpc_name": "abc", "ak": AK});
    ok(t, Method::POST, "vpc/create", Some(body))
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

/// The handbook's cluster example with a password BridgX accepts and our network ids.
fn cluster_body(name: &str, vpc: &str, subnet: &str, sg: &str) -> Value {
    json!({
        "name": name,
        "provider": "AlibabaCloud",
        "account_key": AK,
        "charge_type": "PostPaid",
        "region_id": "cn-qingdao",
        "zone_id": "cn-qingdao-b",
        "instance_type": "ecs.n1.tiny",
        "image": "centos_7_6_x64_20G_alibase_20211030.vhd",
        "password": "ASDqwe123",
        "desc": "测试用的集群",
        "network_config": {"vpc": vpc, "subnet_id": subnet, "security_group": sg},
        "disks": {
            "system_disk": {"category": "cloud_efficiency", "size": 50},
            "data_disk": [{"category": "cloud_efficiency", "size": 50}]
        }
    })
}

/// Creates a network and a cluster; answers the cluster's name.
async fn create_cluster(t: &TestBroker, name: &str) -> String {
    let vpc = create_vpc(t).await;
    let subnet = ok(t, Method::POST, "subnet/create", Some(json!({"account_key": AK, "vpc_id": vpc, "switch_name": "s", "cidr_block": "172.16.0.0/24", "zone_id": "cn-qingdao-b"}))).await;
    let sg = ok(t, Method::POST, "security_group/create_with_rule", Some(json!({"account_key": AK, "vpc_id": vpc, "region_id": "cn-qingdao", "security_group_name": "sg"}))).await;
    let body = cluster_body(name, &vpc, subnet.as_str().unwrap(), sg.as_str().unwrap());
    assert_eq!(
        ok(t, Method::POST, "cluster/create", Some(body)).await,
        name
    );
    name.to_owned()
}

/// Runs a task to its end in simulated time; answers the statuses seen in `task/list`.
async fn run_task(t: &TestBroker, clock: &VirtualClock, id: u64) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..3 {
        let list = ok(t, Method::GET, "task/list", None).await;
        let task = list["task_list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|task| task["task_id"].as_str() == Some(id.to_string().as_str()))
            .unwrap_or_else(|| panic!("task {id} listed with its exact id: {list}"))
            .clone();
        seen.push(task["status"].as_str().unwrap().to_owned());
        clock.advance_ms(5_000);
        if task["status"] == "SUCCESS" {
            break;
        }
        clock.advance_ms(5_000);
    }
    seen
}

#[tokio::test]
async fn every_handbook_endpoint_answers_through_the_broker_with_one_login() {
    let (t, clock) = start().await;

    // Catalogue and templates.
    let regions = ok(&t, Method::GET, "region/list?provider=AlibabaCloud", None).await;
    assert!(
        regions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["RegionId"] == "cn-qingdao"),
        "{regions}"
    );
    let zones = ok(
        &t,
        Method::GET,
        "zone/list?provider=AlibabaCloud&region_id=cn-qingdao",
        None,
    )
    .await;
    assert_eq!(zones[0]["ZoneId"], "cn-qingdao-b");
    let types = ok(
        &t,
        Method::GET,
        "instance_type/list?provider=AlibabaCloud&region_id=cn-qingdao&zone_id=cn-qingdao-b",
        None,
    )
    .await;
    assert_eq!(types[0]["instance_type"], "ecs.s6-c1m1.small");
    let images = ok(
        &t,
        Method::GET,
        "image/list?provider=AlibabaCloud&region_id=cn-qingdao&image_type=global",
        None,
    )
    .await;
    assert_eq!(
        images[0]["ImageId"],
        "centos_7_6_x64_20G_alibase_20211030.vhd"
    );
    let template = ok(
        &t,
        Method::GET,
        "network_config/template?provider=AlibabaCloud",
        None,
    )
    .await;
    assert_eq!(template["gateway_ip"], "10.0.0.254");
    let synced = ok(
        &t,
        Method::POST,
        "network_config/sync",
        Some(json!({"provider": "AlibabaCloud", "region_id": "cn-qingdao", "account_key": AK})),
    )
    .await;
    assert_eq!(synced, Value::Null);

    // Networks.
    let vpc = create_vpc(&t).await;
    let vpcs = ok(&t, Method::GET, &format!("vpc/describe?provider=AlibabaCloud&region_id=cn-qingdao&account_key={AK}&page_number=1&page_size=50"), None).await;
    assert_eq!(vpcs["Vpcs"][0]["VpcId"], vpc.as_str());
    assert_eq!(vpcs["Pager"]["Total"], 1);
    assert_eq!(
        ok(&t, Method::GET, &format!("vpc/info/{vpc}"), None).await["VpcName"],
        "abc"
    );
    let subnet = ok(&t, Method::POST, "subnet/create", Some(json!({"account_key": AK, "vpc_id": vpc, "switch_name": "第一台交换机", "cidr_block": "172.16.0.0/24", "zone_id": "cn-qingdao-b"}))).await;
    let subnet = subnet.as_str().unwrap();
    let subnets = ok(
        &t,
        Method::GET,
        &format!("subnet/describe?vpc_id={vpc}"),
        None,
    )
    .await;
    assert_eq!(subnets["Switches"][0]["SwitchId"], subnet);
    let info = ok(
        &t,
        Method::GET,
        &format!("subnet/info/{subnet}?vpc_id={vpc}"),
        None,
    )
    .await;
    assert_eq!(info["SwitchName"], "第一台交换机");
    let sg = ok(&t, Method::POST, "security_group/create_with_rule", Some(json!({
        "account_key": AK, "vpc_id": vpc, "region_id": "cn-qingdao", "security_group_name": "web",
        "rules": [{"protocol": "tcp", "port_from": 80, "port_to": 443, "direction": "ingress", "cidr_ip": "0.0.0.0/0"}]
    }))).await;
    let sg = sg.as_str().unwrap();
    let groups = ok(
        &t,
        Method::GET,
        &format!("security_group/describe?vpc_id={vpc}&account_key={AK}"),
        None,
    )
    .await;
    assert_eq!(groups["Groups"][0]["SecurityGroupId"], sg);
    let rules = ok(&t, Method::GET, &format!("security_group/{sg}/rules"), None).await;
    assert_eq!(rules["rules"][0]["port_range"], "80/443");
    let mut network = template.clone();
    for (k, v) in [
        ("region_id", "cn-qingdao"),
        ("zone_id", "cn-qingdao-b"),
        ("ak", AK),
    ] {
        network[k] = json!(v);
    }
    let network_vpc = ok(&t, Method::POST, "network_config/create", Some(network)).await;
    assert!(network_vpc.as_str().unwrap().starts_with("vpc-"));

    // A cluster from the handbook's example body.
    let groups = ok(
        &t,
        Method::GET,
        &format!("security_group/describe?vpc_id={vpc}"),
        None,
    )
    .await;
    let sg = groups["Groups"][0]["SecurityGroupId"].as_str().unwrap();
    assert_eq!(
        ok(
            &t,
            Method::POST,
            "cluster/create",
            Some(cluster_body("测试集群", &vpc, subnet, sg))
        )
        .await,
        "测试集群"
    );
    let clusters = ok(
        &t,
        Method::GET,
        &format!("cluster/describe_all?account={AK}&page_number=1&page_size=15"),
        None,
    )
    .await;
    assert_eq!(clusters["cluster_list"][0]["cluster_name"], "测试集群");
    assert_eq!(
        clusters["cluster_list"][0]["charge_type"], "PostPaid",
        "handbook's top-level charge_type reached charge_config"
    );

    // Expand: a task id above 2^53, exact, and INIT → RUNNING → SUCCESS in simulated time.
    let (status, raw) = call_as(
        &t,
        None,
        Method::POST,
        "cluster/expand",
        Some(r#"{"cluster_name":"测试集群","task_name":"aaa","count":2}"#),
    )
    .await;
    assert_eq!(status, 200, "{raw}");
    let id = serde_json::from_str::<Value>(&raw).unwrap()["data"]
        .as_u64()
        .expect("task id is an integer");
    assert!(id > 1 << 53, "{id}");
    assert!(
        raw.contains(&format!("\"data\":{id}")),
        "the id passes through digit for digit: {raw}"
    );
    assert_eq!(t.bridgx().task_status(id), Some("INIT"));
    assert_eq!(
        run_task(&t, &clock, id).await,
        ["INIT", "RUNNING", "SUCCESS"]
    );

    // Instances.
    let instances = ok(
        &t,
        Method::GET,
        "instance/describe_all?cluster_name=测试集群&status=running",
        None,
    )
    .await;
    assert_eq!(instances["pager"]["total"], 2, "{instances}");
    let first = instances["instance_list"][0]["instance_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ip = instances["instance_list"][0]["ip_inner"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = ok(
        &t,
        Method::GET,
        &format!("instance/id/describe?instance_id={first}"),
        None,
    )
    .await;
    assert_eq!(
        one["storage_config"]["system_disk_size"], 50,
        "handbook's top-level disks reached storage_config: {one}"
    );
    assert_eq!(one["storage_config"]["data_disk_num"], 1);
    assert_eq!(one["network_config"]["vpc_name"], vpc.as_str());
    let num = ok(
        &t,
        Method::GET,
        &format!("instance/num?account={AK}&cluster_name=测试集群"),
        None,
    )
    .await;
    assert_eq!(num["instance_num"], 2);

    // Shrink at the code's own route, by IP.
    let shrink = ok(
        &t,
        Method::POST,
        "cluster/shrink",
        Some(json!({"cluster_name": "测试集群", "task_name": "asas", "ips": [ip], "count": 1})),
    )
    .await;
    let shrink = shrink.as_u64().unwrap();
    assert_ne!(shrink, id);
    assert_eq!(
        run_task(&t, &clock, shrink).await,
        ["INIT", "RUNNING", "SUCCESS"]
    );
    let num = ok(&t, Method::GET, "instance/num?cluster_name=测试集群", None).await;
    assert_eq!(num["instance_num"], 1);
    let gone = ok(
        &t,
        Method::GET,
        &format!("instance/describe_all?ip={ip}"),
        None,
    )
    .await;
    assert_eq!(gone["instance_list"][0]["status"], "DELETED");

    // Usage of the day: the deleted machine ran 5 s after the shrink task was created
    // (2 × 5 s look-ups in run_task) … the sums must agree between the two routes.
    let total = ok(
        &t,
        Method::GET,
        &format!("instance/usage_total?cluster_name=测试集群&date={TODAY}"),
        None,
    )
    .await;
    let total = total["usage_total"].as_u64().unwrap();
    assert!(total > 0);
    let rows = ok(&t, Method::GET, &format!("instance/usage_statistics?cluster_name=测试集群&date={TODAY}&page_number=1&page_size=15"), None).await;
    let sum: u64 = rows["instance_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["startup_time"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total, "{rows}");
    assert_eq!(rows["pager"]["total"], 2);

    assert_eq!(
        t.bridgx().logins(),
        1,
        "every request above reused one token"
    );
}

#[tokio::test]
async fn a_cold_burst_of_requests_performs_one_login() {
    let (t, _clock) = start().await;
    // A slow BridgX widens the window in which the burst finds no token yet.
    t.bridgx()
        .faults()
        .set_latency(std::time::Duration::from_millis(100));
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = t
            .client
            .get(format!(
                "{}/v1/bridgx/region/list?provider=AlibabaCloud",
                t.broker.url()
            ))
            .bearer_auth(&t.tenant_key);
        burst.spawn(async move {
            request
                .send()
                .await
                .expect("broker answers")
                .status()
                .as_u16()
        });
    }
    while let Some(status) = burst.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(t.bridgx().logins(), 1);
    ok(
        &t,
        Method::GET,
        "network_config/template?provider=AlibabaCloud",
        None,
    )
    .await;
    assert_eq!(t.bridgx().logins(), 1);
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_new_login() {
    let (t, clock) = start().await;
    let path = "region/list?provider=AlibabaCloud";
    ok(&t, Method::GET, path, None).await;
    clock.advance_ms(7 * 3_600_000);
    ok(&t, Method::GET, path, None).await;
    assert_eq!(t.bridgx().logins(), 1, "still valid after 7 h");
    // BridgX tokens live 8 h; the plugin stops using one 60 s (token-margin-secs) before.
    clock.advance_ms(3_600_000 - 30_000);
    ok(&t, Method::GET, path, None).await;
    assert_eq!(t.bridgx().logins(), 2);
    ok(&t, Method::GET, path, None).await;
    assert_eq!(t.bridgx().logins(), 2);
}

#[tokio::test]
async fn a_token_bridgx_refuses_is_replaced_and_the_request_retried() {
    let (t, _clock) = start().await;
    let path = "region/list?provider=AlibabaCloud";
    ok(&t, Method::GET, path, None).await;
    t.bridgx().rotate_signing_key();
    let regions = ok(&t, Method::GET, path, None).await;
    assert!(regions.as_array().is_some_and(|r| !r.is_empty()));
    assert_eq!(t.bridgx().logins(), 2);
}

#[tokio::test]
async fn subnet_create_by_the_handbooks_get_is_sent_as_post() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t).await;
    let subnet = ok(&t, Method::GET, &format!("subnet/create?account_key={AK}&vpc_id={vpc}&switch_name=sw&cidr_block=172.16.1.0/24&zone_id=cn-qingdao-b"), None).await;
    let subnets = ok(
        &t,
        Method::GET,
        &format!("subnet/describe?vpc_id={vpc}&switch_name=sw"),
        None,
    )
    .await;
    assert_eq!(subnets["Switches"][0]["SwitchId"], subnet);
}

#[tokio::test]
async fn parameters_the_code_requires_are_named_when_missing() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t).await;
    let cases = [
        (
            Method::GET,
            "vpc/describe?provider=AlibabaCloud&region_id=cn-qingdao".to_owned(),
            None,
            "account_key",
        ),
        (
            Method::GET,
            "image/list?provider=AlibabaCloud&region_id=cn-qingdao".to_owned(),
            None,
            "image_type",
        ),
        (
            Method::POST,
            "security_group/create_with_rule".to_owned(),
            Some(json!({"account_key": AK, "vpc_id": vpc, "security_group_name": "x"})),
            "region_id",
        ),
        (
            Method::POST,
            "subnet/create".to_owned(),
            Some(
                json!({"account_key": AK, "vpc_id": vpc, "switch_name": "s", "cidr_block": "172.16.2.0/24"}),
            ),
            "zone_id",
        ),
        (
            Method::POST,
            "cluster/expand".to_owned(),
            Some(json!({"cluster_name": "c"})),
            "count",
        ),
        (
            Method::GET,
            "instance/usage_total?cluster_name=c".to_owned(),
            None,
            "date",
        ),
    ];
    for (method, path, body, name) in cases {
        let (status, answer) = call(&t, method, &path, body).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(
            answer,
            json!({"code": 400, "msg": format!("param_invalid: missing {name}"), "data": null}),
            "{path}"
        );
    }
    let mut network = ok(&t, Method::GET, "network_config/template", None).await;
    network.as_object_mut().unwrap().remove("gateway_ip");
    for (k, v) in [
        ("region_id", "cn-qingdao"),
        ("zone_id", "cn-qingdao-b"),
        ("ak", AK),
    ] {
        network[k] = json!(v);
    }
    let (status, answer) = call(&t, Method::POST, "network_config/create", Some(network)).await;
    assert_eq!(
        (status, answer["msg"].as_str().unwrap()),
        (400, "param_invalid: missing gateway_ip")
    );
}

#[tokio::test]
async fn without_the_check_bridgx_would_answer_500_permission_denied() {
    // What the plugin's check spares clients: the simulator, like BridgX's code, binds these
    // parameters and answers a bare 500 `permission_denied`.
    let (t, _clock) = start().await;
    let client = reqwest::Client::new();
    let base = t.bridgx().url();
    let login: Value = client
        .post(format!("{base}/user/login"))
        .json(&json!({"username": "root", "password": "123456"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"].as_str().unwrap();
    let response = client
        .get(format!(
            "{base}/api/v1/vpc/describe?provider=AlibabaCloud&region_id=cn-qingdao"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(
        response.json::<Value>().await.unwrap()["msg"],
        "permission_denied"
    );
}

#[tokio::test]
async fn handbook_port_ranges_become_the_codes_port_from_and_port_to() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t).await;
    // The handbook's example rule.
    let sg = ok(&t, Method::POST, "security_group/create_with_rule", Some(json!({
        "account_key": AK, "vpc_id": vpc, "region_id": "cn-qingdao", "security_group_name": "testSecurityGroupName",
        "rules": [{"protocol": "tcp", "port_range": "22/22", "direction": "ingress", "group_id": "sg-bp67acfmxazb4p****", "cidr_ip": "10.0.0.0/8"}]
    }))).await;
    let rules = ok(
        &t,
        Method::GET,
        &format!("security_group/{}/rules", sg.as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(rules["rules"][0]["port_range"], "22/22", "{rules}");
    let (status, answer) = call(&t, Method::POST, "security_group/create_with_rule", Some(json!({
        "account_key": AK, "vpc_id": vpc, "region_id": "cn-qingdao", "security_group_name": "bad",
        "rules": [{"protocol": "tcp", "port_range": "ssh"}]
    }))).await;
    assert_eq!(status, 400);
    assert!(
        answer["msg"]
            .as_str()
            .unwrap()
            .contains("rules[0].port_range"),
        "{answer}"
    );
}

#[tokio::test]
async fn usage_dates_in_the_handbooks_format_are_read_as_the_code_wants() {
    let (t, clock) = start().await;
    create_cluster(&t, "usage").await;
    let id = ok(
        &t,
        Method::POST,
        "cluster/expand",
        Some(json!({"cluster_name": "usage", "count": 1})),
    )
    .await;
    run_task(&t, &clock, id.as_u64().unwrap()).await;
    clock.advance_ms(600_000);
    let code = ok(
        &t,
        Method::GET,
        &format!("instance/usage_total?date={TODAY}"),
        None,
    )
    .await;
    let handbook = ok(
        &t,
        Method::GET,
        &format!("instance/usage_total?date={TODAY_HANDBOOK}"),
        None,
    )
    .await;
    assert!(code["usage_total"].as_u64().unwrap() >= 600, "{code}");
    assert_eq!(code, handbook);
    let stats = ok(
        &t,
        Method::GET,
        &format!("instance/usage_statistics?date={TODAY_HANDBOOK}"),
        None,
    )
    .await;
    assert_eq!(
        stats["instance_list"][0]["startup_time"],
        code["usage_total"]
    );
    let (status, answer) = call(
        &t,
        Method::GET,
        "instance/usage_total?date=23/11/2026",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["msg"].as_str().unwrap().contains("YYYY-MM-DD"),
        "{answer}"
    );
}

#[tokio::test]
async fn bridgx_errors_pass_through_with_their_code_and_message() {
    let (t, _clock) = start().await;
    let (status, answer) = call(
        &t,
        Method::POST,
        "cluster/expand",
        Some(json!({"cluster_name": "nope", "count": 1})),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            400,
            json!({"code": 400, "msg": "cluster nope not found", "data": null})
        )
    );
    create_cluster(&t, "busy").await;
    ok(
        &t,
        Method::POST,
        "cluster/expand",
        Some(json!({"cluster_name": "busy", "count": 1})),
    )
    .await;
    let (status, answer) = call(
        &t,
        Method::POST,
        "cluster/shrink",
        Some(json!({"cluster_name": "busy", "count": 1})),
    )
    .await;
    assert_eq!(
        (status, answer["msg"].as_str().unwrap()),
        (400, "Cluster:busy has unfinished task")
    );
    let vpc = create_vpc(&t).await;
    let (status, answer) = call(
        &t,
        Method::POST,
        "cluster/create",
        Some(cluster_body("weak", &vpc, "vsw-1", "sg-1")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut weak = cluster_body("weak2", &vpc, "vsw-1", "sg-1");
    weak["password"] = json!("********");
    let (status, answer) = call(&t, Method::POST, "cluster/create", Some(weak)).await;
    assert_eq!(status, 400);
    assert!(
        answer["msg"].as_str().unwrap().starts_with("[Password]"),
        "{answer}"
    );
}
