//! The Tencent simulator's CBS disks and CDB, MariaDB and Redis instances, whose lifecycles
//! follow a manual clock.

use serde_json::{Value, json};

use crate::tc3_client::Call;
use crate::tencent_cvm::{REGION, ZONE, code, cvm, network, ok, run_body, sim};

/// A call to `service` at `version`.
fn call(service: &str, version: &str, action: &str, body: Value) -> Call {
    Call {
        service: service.into(),
        version: Some(version.into()),
        ..Call::vpc(action, body)
    }
}

fn cbs(action: &str, body: Value) -> Call {
    call("cbs", "2017-03-12", action, body)
}

fn cdb(action: &str, body: Value) -> Call {
    call("cdb", "2017-03-20", action, body)
}

fn mariadb(action: &str, body: Value) -> Call {
    call("mariadb", "2017-03-12", action, body)
}

fn redis(action: &str, body: Value) -> Call {
    call("redis", "2018-04-12", action, body)
}

#[tokio::test]
async fn a_disk_is_listed_after_creation_and_cannot_be_terminated_while_attached() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let instance = ok(
        &sim,
        cvm("RunInstances", run_body(&vpc, &subnet, "Abcdefgh1234")),
    )
    .await["InstanceIdSet"][0]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance_ms(20_000);
    let create = json!({"Placement": {"Zone": ZONE}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 10,
        "DiskChargeType": "POSTPAID_BY_HOUR", "DiskName": "d"});
    let disk = ok(&sim, cbs("CreateDisks", create)).await["DiskIdSet"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let describe = || cbs("DescribeDisks", json!({"DiskIds": [disk]}));
    assert_eq!(
        ok(&sim, describe()).await["TotalCount"],
        0,
        "not listed yet"
    );
    let attach = || {
        cbs(
            "AttachDisks",
            json!({"DiskIds": [disk], "InstanceId": instance}),
        )
    };
    assert_eq!(code(&sim, attach()).await, "InvalidDiskId.NotFound");
    clock.advance_ms(10_000);
    assert_eq!(
        ok(&sim, describe()).await["DiskSet"][0]["DiskState"],
        "UNATTACHED"
    );

    ok(&sim, attach()).await;
    assert_eq!(
        ok(&sim, describe()).await["DiskSet"][0]["DiskState"],
        "ATTACHING"
    );
    assert_eq!(code(&sim, attach()).await, "ResourceBusy");
    clock.advance_ms(5_000);
    assert_eq!(
        sim.disk_state(REGION, &disk),
        Some(("ATTACHED".to_owned(), instance.clone()))
    );
    let terminate = || cbs("TerminateDisks", json!({"DiskIds": [disk]}));
    assert_eq!(
        code(&sim, terminate()).await,
        "ResourceUnavailable.Attached"
    );

    ok(&sim, cbs("DetachDisks", json!({"DiskIds": [disk]}))).await;
    clock.advance_ms(5_000);
    ok(&sim, terminate()).await;
    assert!(sim.disk_ids(REGION).is_empty());
    assert_eq!(code(&sim, terminate()).await, "InvalidDiskId.NotFound");
    let bad = json!({"Placement": {"Zone": ZONE}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 15,
        "DiskChargeType": "POSTPAID_BY_HOUR"});
    assert_eq!(
        code(&sim, cbs("CreateDisks", bad)).await,
        "InvalidParameterValue.Range"
    );
}

#[tokio::test]
async fn a_mysql_instance_runs_restarts_is_isolated_and_goes_offline() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let create = json!({"GoodsNum": 1, "Memory": 1000, "Volume": 100, "UniqVpcId": vpc,
        "UniqSubnetId": subnet, "Zone": ZONE});
    let id = ok(&sim, cdb("CreateDBInstanceHour", create)).await["InstanceIds"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.mysql_status(REGION, &id), Some(0));
    let restart = || cdb("RestartDBInstances", json!({"InstanceIds": [id]}));
    assert_eq!(
        code(&sim, restart()).await,
        "FailedOperation.StatusConflict"
    );
    clock.advance_ms(60_000);
    assert_eq!(sim.mysql_status(REGION, &id), Some(1));

    let request = ok(&sim, restart()).await["AsyncRequestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let info = || {
        cdb(
            "DescribeAsyncRequestInfo",
            json!({"AsyncRequestId": request}),
        )
    };
    assert_eq!(ok(&sim, info()).await["Status"], "RUNNING");
    clock.advance_ms(20_000);
    assert_eq!(ok(&sim, info()).await["Status"], "SUCCESS");

    let offline = || cdb("OfflineIsolatedInstances", json!({"InstanceIds": [id]}));
    assert_eq!(
        code(&sim, offline()).await,
        "FailedOperation.StatusConflict"
    );
    ok(&sim, cdb("IsolateDBInstance", json!({"InstanceId": id}))).await;
    assert_eq!(sim.mysql_status(REGION, &id), Some(4));
    clock.advance_ms(10_000);
    assert_eq!(sim.mysql_status(REGION, &id), Some(5));
    ok(&sim, offline()).await;
    assert!(sim.mysql_ids(REGION).is_empty());
    assert_eq!(
        code(&sim, cdb("IsolateDBInstance", json!({"InstanceId": id}))).await,
        "InvalidParameter.InstanceNotFound"
    );
    let described = ok(
        &sim,
        cdb("DescribeDBInstances", json!({"InstanceIds": [id]})),
    )
    .await;
    assert_eq!(described["TotalCount"], 0);
}

#[tokio::test]
async fn a_mariadb_instance_needs_initialising_before_accounts() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let create = json!({"Zones": [ZONE], "NodeCount": 2, "Memory": 2, "Storage": 10,
        "Period": 1, "VpcId": vpc, "SubnetId": subnet});
    let id = ok(&sim, mariadb("CreateDBInstance", create)).await["InstanceIds"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let account = json!({"InstanceId": id, "UserName": "admin", "Host": "%",
        "Password": "Abcdefgh1234"});
    let init = |value: &str| {
        mariadb(
            "InitDBInstances",
            json!({"InstanceIds": [id], "Params": [{"Param": "lower_case_table_names", "Value": value}]}),
        )
    };
    assert_eq!(
        code(&sim, init("1")).await,
        "UnsupportedOperation.InstanceStatusError"
    );
    clock.advance_ms(60_000);
    assert_eq!(
        code(&sim, init("true")).await,
        "InvalidParameterValue.IllegalInitParam"
    );
    ok(&sim, init("1")).await;
    assert_eq!(
        code(&sim, mariadb("CreateAccount", account.clone())).await,
        "UnsupportedOperation.InstanceStatusError"
    );
    clock.advance_ms(20_000);
    let mut weak = account.clone();
    weak["Password"] = json!("password");
    assert_eq!(
        code(&sim, mariadb("CreateAccount", weak)).await,
        "InvalidParameterValue.BadPassword"
    );
    ok(&sim, mariadb("CreateAccount", account.clone())).await;
    assert_eq!(
        code(&sim, mariadb("CreateAccount", account)).await,
        "InvalidParameterValue.AccountAlreadyExists"
    );
    let grant = json!({"InstanceId": id, "UserName": "admin", "Host": "%", "DbName": "*",
        "Privileges": ["SELECT", "INSERT"]});
    ok(&sim, mariadb("GrantAccountPrivileges", grant)).await;
    let params = sim.mariadb_params(REGION, &id).unwrap();
    let accounts = sim.mariadb_accounts(REGION, &id).unwrap();
    assert_eq!(sim.mariadb_status(REGION, &id), Some(2));
    assert_eq!(
        params,
        [("lower_case_table_names".to_owned(), "1".to_owned())]
    );
    assert_eq!(accounts, [("admin@%".to_owned(), 2)]);
}

#[tokio::test]
async fn redis_instances_run_later_and_need_a_password_or_no_auth() {
    let (sim, clock) = sim().await;
    let (vpc, subnet) = network(&sim).await;
    let body = |extra: Value| {
        let mut body = json!({"TypeId": 2, "MemSize": 256, "GoodsNum": 2, "Period": 1,
            "BillingMode": 0, "ZoneName": ZONE, "VpcId": vpc, "SubnetId": subnet});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    assert_eq!(
        code(&sim, redis("CreateInstances", body(json!({})))).await,
        "MissingParameter"
    );
    assert_eq!(
        code(
            &sim,
            redis(
                "CreateInstances",
                body(json!({"NoAuth": true, "Password": "sample@2018!"}))
            )
        )
        .await,
        "InvalidParameterValue"
    );
    let created = ok(
        &sim,
        redis("CreateInstances", body(json!({"Password": "sample@2018!"}))),
    )
    .await;
    let ids: Vec<&str> = created["InstanceIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(created["DealId"].as_str().is_some());
    assert_eq!(sim.redis_status(REGION, ids[0]), Some((1, false)));
    clock.advance_ms(30_000);
    let described = ok(
        &sim,
        redis("DescribeInstances", json!({"InstanceId": ids[1]})),
    )
    .await;
    assert_eq!(described["InstanceSet"][0]["Status"], 2);
    let unknown = ok(
        &sim,
        redis("DescribeInstances", json!({"InstanceId": "crs-00000000"})),
    )
    .await;
    assert_eq!(unknown["TotalCount"], 0);
}
