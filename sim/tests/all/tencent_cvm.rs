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

/// A security group in [`REGION`].
async fn security_group(sim: &TencentSim) -> String {
    ok(
        sim,
        Call::vpc(
            "CreateSecurityGroup",
            json!({"GroupName": "g", "GroupDescription": "d"}),
        ),
    )
    .await["SecurityGroup"]["SecurityGroupId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn run_instances_keeps_every_struct_field_and_describe_shows_them() {
    let (sim, _clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let sg = security_group(&sim).await;
    let body = json!({
        "Placement": {"Zone": ZONE, "ProjectId": 1196468},
        "ImageId": "img-9id7emv7",
        "InstanceType": "MA2.SMALL8",
        "InstanceChargeType": "PREPAID",
        "InstanceChargePrepaid": {"Period": 1, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"},
        "SystemDisk": {"DiskType": "CLOUD_SSD", "DiskSize": 60},
        "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 100}],
        "VirtualPrivateCloud": {"VpcId": vpc, "SubnetId": subnet},
        "InternetAccessible": {"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
            "InternetMaxBandwidthOut": 1, "PublicIpAssigned": true},
        "InstanceCount": 2,
        "InstanceName": "web",
        "LoginSettings": {"Password": "964322396.cda"},
        "SecurityGroupIds": [sg],
        "EnhancedService": {"SecurityService": {"Enabled": false}, "MonitorService": {"Enabled": false}},
    });
    let created = ok(&sim, cvm("RunInstances", body)).await;
    let ids = created["InstanceIdSet"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{created}");
    let request_id = created["RequestId"].clone();
    let i = describe(&sim, ids[1].as_str().unwrap()).await;
    assert_eq!(i["Placement"], json!({"Zone": ZONE, "ProjectId": 1196468}));
    assert_eq!(
        (i["CPU"].as_u64(), i["Memory"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(i["InstanceTypeName"], "内存型MA2");
    assert_eq!(i["OsName"], "Windows Server 2016 数据中心版 64位中文版");
    assert_eq!(i["InstanceChargeType"], "PREPAID");
    assert_eq!(i["RenewFlag"], "NOTIFY_AND_AUTO_RENEW");
    assert!(i["ExpiredTime"].as_str().unwrap().ends_with('Z'), "{i}");
    assert_eq!(i["SystemDisk"]["DiskType"], "CLOUD_SSD");
    assert_eq!(i["SystemDisk"]["DiskSize"], 60);
    assert!(
        i["SystemDisk"]["DiskId"]
            .as_str()
            .unwrap()
            .starts_with("disk-")
    );
    assert_eq!(i["DataDisks"][0]["DiskSize"], 100);
    assert_eq!(
        i["PrivateIpAddresses"],
        json!(["10.0.1.3"]),
        "second instance, next address"
    );
    assert_eq!(i["PublicIpAddresses"].as_array().unwrap().len(), 1);
    assert_eq!(
        i["InternetAccessible"],
        json!({"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 1})
    );
    assert_eq!(i["SecurityGroupIds"], json!([sg]));
    assert_eq!(i["LoginSettings"], json!({}), "the password is never shown");
    assert_eq!(i["RestrictState"], "NORMAL");
    assert_eq!(i["LatestOperation"], "RunInstances");
    assert_eq!(i["LatestOperationState"], "OPERATING");
    assert_eq!(i["LatestOperationRequestId"], request_id);
    assert_eq!(i["Uuid"].as_str().unwrap().len(), 36);
    assert!(!i.to_string().contains("964322396.cda"));

    // Wrong shapes of the pass-through structs get Tencent's codes.
    for (key, value, expected) in [
        (
            "EnhancedService",
            json!({"MonitorService": {"Enabled": "no"}}),
            "InvalidParameter",
        ),
        (
            "DataDisks",
            json!([{"DiskSize": 1}]),
            "InvalidParameterValue.Range",
        ),
        (
            "SecurityGroupIds",
            json!(["sg-00000000"]),
            "InvalidSecurityGroupId.NotFound",
        ),
        (
            "SecurityGroupIds",
            json!(["nope"]),
            "InvalidSecurityGroupId.Malformed",
        ),
        (
            "InstanceChargePrepaid",
            json!({"Period": 13}),
            "InvalidParameterValue.Range",
        ),
    ] {
        let mut body = run_body(&vpc, &subnet, "Abcdefgh1234");
        body["InstanceChargeType"] = json!("PREPAID");
        body["InstanceChargePrepaid"] = json!({"Period": 1});
        body[key] = value;
        assert_eq!(
            code(&sim, cvm("RunInstances", body)).await,
            expected,
            "{key}"
        );
    }
}

#[tokio::test]
async fn without_a_network_an_instance_goes_into_the_zones_default_subnet() {
    let (sim, _clock) = sim().await;
    let mut body = run_body("x", "y", "Abcdefgh1234");
    body.as_object_mut().unwrap().remove("VirtualPrivateCloud");
    assert_eq!(
        code(&sim, cvm("RunInstances", body.clone())).await,
        "InvalidParameterValue.VpcIdNotExist"
    );
    let (vpc, subnet) = network(&sim).await;
    let created = ok(&sim, cvm("RunInstances", body)).await;
    let i = describe(&sim, created["InstanceIdSet"][0].as_str().unwrap()).await;
    assert_eq!(i["VirtualPrivateCloud"]["VpcId"], vpc.as_str());
    assert_eq!(i["VirtualPrivateCloud"]["SubnetId"], subnet.as_str());
}

#[tokio::test]
async fn describe_pages_with_offset_and_limit_and_matches_names_by_substring() {
    let (sim, _clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let mut ids = Vec::new();
    for name in ["web-1", "web-2", "db-1"] {
        let mut body = run_body(&vpc, &subnet, "Abcdefgh1234");
        body["InstanceName"] = json!(name);
        let created = ok(&sim, cvm("RunInstances", body)).await;
        ids.push(created["InstanceIdSet"][0].as_str().unwrap().to_owned());
    }
    let page = ok(
        &sim,
        cvm("DescribeInstances", json!({"Offset": 1, "Limit": 1})),
    )
    .await;
    assert_eq!(page["TotalCount"], 3);
    assert_eq!(page["InstanceSet"].as_array().unwrap().len(), 1);
    assert_eq!(page["InstanceSet"][0]["InstanceId"], ids[1].as_str());
    let named = ok(
        &sim,
        cvm(
            "DescribeInstances",
            json!({"Filters": [{"Name": "instance-name", "Values": ["web"]}]}),
        ),
    )
    .await;
    assert_eq!(named["TotalCount"], 2, "{named}");
    let by_id = ok(
        &sim,
        cvm(
            "DescribeInstances",
            json!({"Filters": [{"Name": "instance-id", "Values": [ids[2]]}]}),
        ),
    )
    .await;
    assert_eq!(by_id["InstanceSet"][0]["InstanceName"], "db-1");
}

#[tokio::test]
async fn modify_changes_one_attribute_per_call() {
    let (sim, _clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let sg = security_group(&sim).await;
    let created = ok(
        &sim,
        cvm("RunInstances", run_body(&vpc, &subnet, "Abcdefgh1234")),
    )
    .await;
    let id = created["InstanceIdSet"][0].as_str().unwrap().to_owned();
    let renamed = ok(
        &sim,
        cvm(
            "ModifyInstancesAttribute",
            json!({"InstanceIds": [id], "InstanceName": "new"}),
        ),
    )
    .await;
    ok(
        &sim,
        cvm(
            "ModifyInstancesAttribute",
            json!({"InstanceIds": [id], "SecurityGroups": [sg]}),
        ),
    )
    .await;
    let i = describe(&sim, &id).await;
    assert_eq!(i["InstanceName"], "new");
    assert_eq!(i["SecurityGroupIds"], json!([sg]));
    assert_eq!(i["LatestOperation"], "ModifyInstancesAttribute");
    assert_eq!(i["LatestOperationState"], "SUCCESS");
    assert_ne!(i["LatestOperationRequestId"], renamed["RequestId"]);
    for (body, expected) in [
        (
            json!({"InstanceIds": [id], "InstanceName": "a", "SecurityGroups": [sg]}),
            "InvalidParameter",
        ),
        (json!({"InstanceIds": [id]}), "MissingParameter"),
        (
            json!({"InstanceIds": [id], "SecurityGroups": ["sg-00000000"]}),
            "InvalidSecurityGroupId.NotFound",
        ),
        (
            json!({"InstanceIds": ["ins-00000000"], "InstanceName": "a"}),
            "InvalidInstanceId.NotFound",
        ),
    ] {
        assert_eq!(
            code(&sim, cvm("ModifyInstancesAttribute", body)).await,
            expected
        );
    }
}

#[tokio::test]
async fn reset_reinstalls_in_simulated_time_and_force_stop_is_quicker() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let created = ok(
        &sim,
        cvm("RunInstances", run_body(&vpc, &subnet, "Abcdefgh1234")),
    )
    .await;
    let id = created["InstanceIdSet"][0].as_str().unwrap().to_owned();
    let reset = json!({"InstanceId": id, "ImageId": "img-n7nyt2d7",
        "SystemDisk": {"DiskSize": 60}, "LoginSettings": {"Password": "964322396.cda"}});
    assert_eq!(
        code(&sim, cvm("ResetInstance", reset.clone())).await,
        "UnsupportedOperation.InstanceStatePending"
    );
    clock.advance_ms(20_000);
    ok(&sim, cvm("ResetInstance", reset.clone())).await;
    let i = describe(&sim, &id).await;
    assert_eq!(i["InstanceState"], "RESETTING");
    assert_eq!(
        (i["ImageId"].as_str(), i["OsName"].as_str()),
        (Some("img-n7nyt2d7"), Some("CentOS 8.2 64位"))
    );
    assert_eq!(i["SystemDisk"]["DiskSize"], 60);
    assert_eq!(i["LatestOperation"], "ResetInstance");
    clock.advance_ms(30_000);
    let i = describe(&sim, &id).await;
    assert_eq!(i["InstanceState"], "RUNNING");
    assert_eq!(i["LatestOperationState"], "SUCCESS");
    let mut smaller = reset.clone();
    smaller["SystemDisk"] = json!({"DiskSize": 40});
    assert_eq!(
        code(&sim, cvm("ResetInstance", smaller)).await,
        "InvalidParameterValue"
    );

    ok(
        &sim,
        cvm(
            "StopInstances",
            json!({"InstanceIds": [id], "ForceStop": true}),
        ),
    )
    .await;
    clock.advance_ms(3_000);
    assert_eq!(describe(&sim, &id).await["InstanceState"], "STOPPED");
    ok(&sim, cvm("StartInstances", json!({"InstanceIds": [id]}))).await;
    clock.advance_ms(10_000);
    ok(
        &sim,
        cvm(
            "StopInstances",
            json!({"InstanceIds": [id], "ForceStop": false}),
        ),
    )
    .await;
    clock.advance_ms(3_000);
    assert_eq!(
        describe(&sim, &id).await["InstanceState"],
        "STOPPING",
        "a soft stop takes longer"
    );
}
