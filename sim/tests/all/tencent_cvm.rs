//! The Tencent simulator's CVM instances, whose lifecycle follows a manual clock.

use std::sync::Arc;

use broker_sim::{ManualSimClock, TencentSim, TencentSimConfig};
use serde_json::{Value, json};

use crate::tc3_client::{Call, error_code};

pub(crate) const REGION: &str = "ap-guangzhou";
pub(crate) const ZONE: &str = "ap-guangzhou-3";

pub(crate) async fn sim() -> (TencentSim, Arc<ManualSimClock>) {
    let clock = Arc::new(ManualSimClock::starting_at(1_000_000));
    let sim = TencentSim::spawn(TencentSimConfig {
        clock: clock.clone(),
        ..TencentSimConfig::default()
    })
    .await
    .expect("simulator starts");
    (sim, clock)
}

pub(crate) fn cvm(action: &str, body: Value) -> Call {
    Call {
        service: "cvm".into(),
        ..Call::vpc(action, body)
    }
}

async fn send(sim: &TencentSim, call: Call) -> Value {
    call.send(&sim.url()).await
}

pub(crate) async fn ok(sim: &TencentSim, call: Call) -> Value {
    let action = call.action.clone();
    let response = send(sim, call).await;
    assert_eq!(error_code(&response), None, "{action}: {response}");
    response
}

pub(crate) async fn code(sim: &TencentSim, call: Call) -> String {
    let action = call.action.clone();
    let response = send(sim, call).await;
    error_code(&response)
        .unwrap_or_else(|| panic!("{action} succeeded: {response}"))
        .to_owned()
}

/// A VPC 10.0.0.0/16 with subnet 10.0.1.0/24 in [`ZONE`]: (vpc, subnet).
pub(crate) async fn network(sim: &TencentSim) -> (String, String) {
    let vpc = ok(
        sim,
        Call::vpc(
            "CreateVpc",
            json!({"VpcName": "v", "CidrBlock": "10.0.0.0/16"}),
        ),
    )
    .await["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    let subnet = ok(
        sim,
        Call::vpc(
            "CreateSubnet",
            json!({"VpcId": vpc, "SubnetName": "s", "CidrBlock": "10.0.1.0/24", "Zone": ZONE}),
        ),
    )
    .await["Subnet"]["SubnetId"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, subnet)
}

pub(crate) fn run_body(vpc: &str, subnet: &str, password: &str) -> Value {
    json!({
        "Placement": {"Zone": ZONE},
        "ImageId": "img-31tjrtph",
        "InstanceType": "S5.MEDIUM4",
        "InstanceChargeType": "POSTPAID_BY_HOUR",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
        "VirtualPrivateCloud": {"VpcId": vpc, "SubnetId": subnet},
        "InstanceName": "app_001",
        "LoginSettings": {"Password": password},
        "InternetAccessible": {"InternetMaxBandwidthOut": 0, "PublicIpAssigned": false},
    })
}

async fn describe(sim: &TencentSim, id: &str) -> Value {
    let response = ok(sim, cvm("DescribeInstances", json!({"InstanceIds": [id]}))).await;
    response["InstanceSet"][0].clone()
}

#[tokio::test]
async fn an_instance_boots_stops_starts_and_terminates_in_simulated_time() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let created = ok(
        &sim,
        cvm("RunInstances", run_body(&vpc, &subnet, "Abcdefgh1234")),
    )
    .await;
    let id = created["InstanceIdSet"][0].as_str().unwrap().to_owned();
    assert!(id.starts_with("ins-") && id.len() == 12, "{id}");

    let instance = describe(&sim, &id).await;
    assert_eq!(instance["InstanceState"], "PENDING");
    assert_eq!(instance["InstanceName"], "app_001");
    assert_eq!(instance["CPU"], 2);
    assert_eq!(instance["Memory"], 4);
    assert_eq!(instance["InstanceType"], "S5.MEDIUM4");
    assert_eq!(instance["Placement"]["Zone"], ZONE);
    assert_eq!(instance["PrivateIpAddresses"], json!(["10.0.1.2"]));
    assert_eq!(
        code(&sim, cvm("StopInstances", json!({"InstanceIds": [id]}))).await,
        "UnsupportedOperation.InstanceStatePending"
    );

    clock.advance_ms(19_999);
    assert_eq!(describe(&sim, &id).await["InstanceState"], "PENDING");
    clock.advance_ms(1);
    assert_eq!(describe(&sim, &id).await["InstanceState"], "RUNNING");
    assert_eq!(
        code(&sim, cvm("StartInstances", json!({"InstanceIds": [id]}))).await,
        "UnsupportedOperation.InstanceStateRunning"
    );

    ok(
        &sim,
        cvm(
            "StopInstances",
            json!({"InstanceIds": [id], "StopType": "SOFT", "ForceStop": false}),
        ),
    )
    .await;
    assert_eq!(describe(&sim, &id).await["InstanceState"], "STOPPING");
    clock.advance_ms(10_000);
    assert_eq!(sim.instance_state(REGION, &id).as_deref(), Some("STOPPED"));

    ok(&sim, cvm("StartInstances", json!({"InstanceIds": [id]}))).await;
    assert_eq!(describe(&sim, &id).await["InstanceState"], "STARTING");
    clock.advance_ms(10_000);
    assert_eq!(describe(&sim, &id).await["InstanceState"], "RUNNING");

    let delete_subnet = || Call::vpc("DeleteSubnet", json!({ "SubnetId": subnet }));
    assert_eq!(code(&sim, delete_subnet()).await, "ResourceInUse");
    ok(
        &sim,
        cvm("TerminateInstances", json!({"InstanceIds": [id]})),
    )
    .await;
    assert_eq!(describe(&sim, &id).await["InstanceState"], "SHUTDOWN");
    assert_eq!(
        code(
            &sim,
            cvm("TerminateInstances", json!({"InstanceIds": [id]}))
        )
        .await,
        "UnsupportedOperation.InstanceStateShutdown"
    );
    clock.advance_ms(15_000);
    let gone = ok(&sim, cvm("DescribeInstances", json!({"InstanceIds": [id]}))).await;
    assert_eq!(gone["TotalCount"], 0, "{gone}");
    assert!(sim.instance_ids(REGION).is_empty());
    ok(&sim, delete_subnet()).await;
}

#[tokio::test]
async fn run_instances_checks_password_image_type_and_network() {
    let (sim, _clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let run = |body: Value| cvm("RunInstances", body);
    for weak in ["abcdefgh1234", "Ab1!", "ABCDEFGHIJKL"] {
        assert_eq!(
            code(&sim, run(run_body(&vpc, &subnet, weak))).await,
            "InvalidParameterValue.InvalidPassword",
            "{weak}"
        );
    }
    let mut body = run_body(&vpc, &subnet, "Abcdefgh1234");
    body["ImageId"] = json!("img-00000000");
    assert_eq!(code(&sim, run(body)).await, "InvalidImageId.NotFound");
    let mut body = run_body(&vpc, &subnet, "Abcdefgh1234");
    body["VirtualPrivateCloud"]["SubnetId"] = json!("subnet-00000000");
    assert_eq!(
        code(&sim, run(body)).await,
        "InvalidParameterValue.SubnetNotExist"
    );
    let mut body = run_body(&vpc, &subnet, "Abcdefgh1234");
    body["VirtualPrivateCloud"]["VpcId"] = json!("vpc-00000000");
    assert_eq!(
        code(&sim, run(body)).await,
        "InvalidParameterValue.VpcIdNotExist"
    );
    assert!(sim.instance_ids(REGION).is_empty());

    // Addresses are allocated in order from the subnet's block.
    for expected in ["10.0.1.2", "10.0.1.3"] {
        let id = ok(&sim, run(run_body(&vpc, &subnet, "Abcdefgh1234"))).await["InstanceIdSet"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            describe(&sim, &id).await["PrivateIpAddresses"],
            json!([expected])
        );
    }
    let filtered = ok(
        &sim,
        cvm(
            "DescribeInstances",
            json!({"Filters": [{"Name": "vpc-id", "Values": [vpc]}], "Limit": 1, "Offset": 1}),
        ),
    )
    .await;
    assert_eq!(filtered["TotalCount"], 2);
    assert_eq!(
        filtered["InstanceSet"][0]["PrivateIpAddresses"],
        json!(["10.0.1.3"])
    );
}

#[tokio::test]
async fn unknown_and_malformed_instance_ids_get_tencents_codes() {
    let (sim, _clock) = sim().await;
    assert_eq!(
        code(
            &sim,
            cvm("StartInstances", json!({"InstanceIds": ["ins-00000000"]}))
        )
        .await,
        "InvalidInstanceId.NotFound"
    );
    assert_eq!(
        code(
            &sim,
            cvm("TerminateInstances", json!({"InstanceIds": ["nope"]}))
        )
        .await,
        "InvalidInstanceId.Malformed"
    );
    assert_eq!(
        code(
            &sim,
            cvm("DescribeInstances", json!({"InstanceIds": ["ins-x"]}))
        )
        .await,
        "InvalidInstanceId.Malformed"
    );
    let none = ok(
        &sim,
        cvm(
            "DescribeInstances",
            json!({"InstanceIds": ["ins-00000000"]}),
        ),
    )
    .await;
    assert_eq!(none["TotalCount"], 0);
}
