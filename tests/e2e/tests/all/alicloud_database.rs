//! The alicloud plugin's RDS and Redis routes through the real host and component to the Alibaba
//! simulator, in simulated time.

use broker::capabilities::clock::HostClock;
use broker_sdk::password;
use serde_json::json;

use crate::alicloud::{REGION, create_vpc, create_vswitch, post_err, post_example, post_ok, start};
use crate::harness::TestBroker;

/// A VPC 10.50.0.0/16 with a vSwitch in ap-southeast-1b and a security group:
/// (vpc, vswitch, group).
async fn network(t: &TestBroker) -> (String, String, String) {
    let vpc = create_vpc(t, "10.50.0.0/16").await;
    let vswitch = create_vswitch(t, &vpc, "10.50.1.0/24").await;
    let group = post_ok(
        t,
        "security_group/create",
        json!({"securityGroupName": "sg", "vpcId": vpc}),
    )
    .await["securityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, vswitch, group)
}

fn whitelist(t: &TestBroker, db: &str) -> serde_json::Value {
    t.aliyun().attr(REGION, "rm", db, "IPArrays").unwrap()["Default"].clone()
}

#[tokio::test]
async fn spec_rds_examples_create_back_up_whitelist_and_delete_in_simulated_time() {
    let (t, clock) = start().await;
    let (vpc, vswitch, group) = network(&t).await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "seed": "seed123",
            "accountName": "root1",
            "accountPassword": "Abcd1234",
            "accountDescription": "test account",
            "securityGroupId": "sg-t4n7rbtfeh1si9qpqiqj",
            "dBInstanceSpec": "1C1G",
            "dBInstanceStorage": "40",
            "engine": "MySQL",
            "engineVersion": "5.7",
            "securityIPList": "[192.168.xx.xx,192.168.xx.0/24]",
            "vpcId": "vpc-t4nq3954f7lj8wk2hoy3o",
            "vSwitchId": "vsw-t4n1d7ng0b37kv2a6od11",
            "dBInstanceStorageType": "local_ssd",
            "category": "HighAvailability",
            "dBIsIgnoreCase": "1",
            "payType": "PostPaid",
            "dBInstanceDescription": "test rds"
		}
	]
}"#
    // Before the ids: a generated id may contain "xx".
    .replace("xx", "1")
    .replace("sg-t4n7rbtfeh1si9qpqiqj", &group)
    .replace("vpc-t4nq3954f7lj8wk2hoy3o", &vpc)
    .replace("vsw-t4n1d7ng0b37kv2a6od11", &vswitch);
    let before = clock.now_ms();
    let out = post_example(&t, "rds/db/create", &create).await;
    assert!(
        clock.now_ms() - before >= 23_000,
        "waited for the instance and the account"
    );
    let db = out["dBInstanceId"].as_str().unwrap().to_owned();
    assert!(db.starts_with("rm-"), "{out}");
    // As in the spec's answer: 1C1G MySQL is rds.mysql.t1.small.
    assert_eq!(out["dBInstanceClass"], "rds.mysql.t1.small");
    assert_eq!(out["cpu"], "1");
    assert_eq!(out["memory"], "1");
    assert_eq!(out["port"], "3306");
    assert_eq!(out["accountName"], "root1");
    assert!(
        out["connectionString"].as_str().unwrap().starts_with(&db),
        "{out}"
    );
    let encrypted = out["accountPassword"].as_str().unwrap();
    assert_eq!(
        password::decrypt("0033_0000000001", "seed123", encrypted).unwrap(),
        "Abcd1234"
    );
    assert_eq!(
        t.aliyun()
            .attr(REGION, "rm", &db, "SecurityGroupId")
            .unwrap(),
        group.as_str()
    );
    assert_eq!(whitelist(&t, &db), json!(["192.168.1.1", "192.168.1.0/24"]));

    let backup = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "dBInstanceId": "rm-t4n64t9pm1yj736g6",
            "backupStrategy": "db",
            "backupMethod": "Physical"
		}
	]
}"#
    .replace("rm-t4n64t9pm1yj736g6", &db);
    let before = clock.now_ms();
    let out = post_example(&t, "rds/backup/create", &backup).await;
    assert!(
        clock.now_ms() - before >= 10_000,
        "waited for the backup job"
    );
    let backup_id = out["backupId"].as_str().unwrap().to_owned();
    assert!(backup_id.parse::<u64>().is_ok(), "{out}");
    assert_eq!(t.aliyun().ids(REGION, "bak"), [backup_id.as_str()]);

    let delete_backup = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "dBInstanceId": "rm-t4n64t9pm1yj736g6",
            "backupId": "507512199"
		}
	]
}"#
    .replace("rm-t4n64t9pm1yj736g6", &db);
    post_example(
        &t,
        "rds/backup/delete",
        &delete_backup.replace("507512199", &backup_id),
    )
    .await;
    assert!(t.aliyun().ids(REGION, "bak").is_empty());
    post_example(
        &t,
        "rds/backup/delete",
        &delete_backup.replace("507512199", &backup_id),
    )
    .await;

    let append = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "securityIps": "[192.168.0.xx,10.0.xx.1]",
            "dBInstanceId": "rm-t4n64t9pm1yj736g6"
		}
	]
}"#
    // Before the ids: a generated id may contain "xx".
    .replace("xx", "6")
    .replace("rm-t4n64t9pm1yj736g6", &db);
    post_example(&t, "rds/security_ip/append", &append).await;
    assert_eq!(
        whitelist(&t, &db),
        json!(["192.168.1.1", "192.168.1.0/24", "192.168.0.6", "10.0.6.1"])
    );
    post_example(&t, "rds/security_ip/append", &append).await;
    assert_eq!(whitelist(&t, &db).as_array().unwrap().len(), 4);
    let remove = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "securityIps": "[192.168.xx.6,10.0.xx.1]",
            "dBInstanceId": "rm-t4n64t9pm1yj736g6"
		}
	]
}"#
    // Before the ids: a generated id may contain "xx".
    .replace("192.168.xx.6", "192.168.0.6")
    .replace("xx", "6")
    .replace("rm-t4n64t9pm1yj736g6", &db);
    post_example(&t, "rds/security_ip/delete", &remove).await;
    assert_eq!(whitelist(&t, &db), json!(["192.168.1.1", "192.168.1.0/24"]));
    post_example(&t, "rds/security_ip/delete", &remove).await;

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "dBInstanceId": "rm-t4n64t9pm1yj736g6"
		}
	]
}"#;
    post_example(
        &t,
        "rds/db/delete",
        &delete.replace("rm-t4n64t9pm1yj736g6", &db),
    )
    .await;
    assert!(t.aliyun().ids(REGION, "rm").is_empty());
    post_example(&t, "rds/db/delete", delete).await;
}

#[tokio::test]
async fn rds_create_is_idempotent_generates_passwords_and_reports_errors() {
    let (t, _clock) = start().await;
    let (_vpc, vswitch, _group) = network(&t).await;
    let base = json!({"seed": "s", "accountName": "app", "dBInstanceSpec": "2C4G",
        "dBInstanceStorage": "20", "engine": "MySQL", "engineVersion": "8.0",
        "securityIPList": "10.0.0.0/8", "vSwitchId": vswitch, "dBInstanceStorageType": "cloud_ssd"});
    let out = post_ok(&t, "rds/db/create", base.clone()).await;
    assert_eq!(out["dBInstanceClass"], "rds.mysql.s2.large");
    let plain = password::decrypt("g", "s", out["accountPassword"].as_str().unwrap()).unwrap();
    assert_eq!(plain.len(), password::GENERATED_LEN);
    let db = out["dBInstanceId"].as_str().unwrap();
    let mut again = base.clone();
    again["dBInstanceId"] = json!(db);
    let out2 = post_ok(&t, "rds/db/create", again).await;
    assert_eq!(out2["dBInstanceId"], db);
    assert_eq!(out2["connectionString"], out["connectionString"]);
    assert_eq!(t.aliyun().ids(REGION, "rm").len(), 1);

    let with = |key: &str, value: &str| {
        let mut input = base.clone();
        input[key] = json!(value);
        input
    };
    let e = post_err(&t, "rds/db/create", with("dBInstanceSpec", "64C512G")).await;
    assert!(
        e.starts_with("no MySQL class with at least 64 cores"),
        "{e}"
    );
    let e = post_err(&t, "rds/db/create", with("engineVersion", "4.1")).await;
    assert!(e.contains("Code=InvalidEngineVersion.Malformed"), "{e}");
    let e = post_err(&t, "rds/db/create", with("dBInstanceStorage", "42")).await;
    assert!(e.contains("Code=InvalidDBInstanceStorage.Format"), "{e}");
    let e = post_err(&t, "rds/backup/create", json!({"dBInstanceId": "rm-nope"})).await;
    assert!(e.contains("Code=InvalidDBInstanceId.NotFound"), "{e}");
    // Removing every whitelist entry leaves 127.0.0.1, as RDS refuses an empty list.
    post_ok(
        &t,
        "rds/security_ip/delete",
        json!({"dBInstanceId": db, "securityIps": "10.0.0.0/8"}),
    )
    .await;
    assert_eq!(whitelist(&t, db), json!(["127.0.0.1"]));
}

/// The class is picked with RDS `ListClasses`, which needs `CommodityCode` and `OrderType` (the
/// simulator refuses it without them, as RDS does): both billing methods must get through.
#[tokio::test]
async fn rds_create_picks_classes_with_list_classes_for_both_billing_methods() {
    let (t, _clock) = start().await;
    let (_vpc, vswitch, _group) = network(&t).await;
    for (pay_type, spec, class) in [
        ("PrePaid", "1C2G", "rds.mysql.s1.small"),
        ("PostPaid", "4C8G", "rds.mysql.s3.large"),
    ] {
        let input = json!({"seed": "s", "accountName": "app", "dBInstanceSpec": spec,
            "dBInstanceStorage": "20", "engine": "MySQL", "engineVersion": "8.0",
            "securityIPList": "10.0.0.0/8", "vSwitchId": vswitch,
            "dBInstanceStorageType": "cloud_ssd", "payType": pay_type});
        let out = post_ok(&t, "rds/db/create", input).await;
        assert_eq!(out["dBInstanceClass"], class, "{pay_type}");
    }
    assert_eq!(t.aliyun().ids(REGION, "rm").len(), 2);
}

#[tokio::test]
async fn spec_redis_examples_create_with_an_encrypted_password_and_delete() {
    let (t, clock) = start().await;
    let (vpc, vswitch, group) = network(&t).await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "seed": "seed123",
            "instanceName": "test_redis",
            "password": "Abcd1234",
            "capacity": "1024",
            "zoneId": "ap-southeast-1b",
            "engineVersion": "4.0",
            "securityIps": "0.0.0.0/32",
            "securityGroupId": "sg-t4n7rbtfeh1si9qpqiqj",
            "networkType": "VPC",
            "vpcId": "vpc-t4nq3954f7lj8wk2hoy3o",
            "vSwitchId": "vsw-t4n1d7ng0b37kv2a6od11",
            "chargeType": "PostPaid"
		}
	]
}"#
    .replace("sg-t4n7rbtfeh1si9qpqiqj", &group)
    .replace("vpc-t4nq3954f7lj8wk2hoy3o", &vpc)
    .replace("vsw-t4n1d7ng0b37kv2a6od11", &vswitch);
    let before = clock.now_ms();
    let out = post_example(&t, "redis/create", &create).await;
    assert!(clock.now_ms() - before >= 20_000, "waited until Normal");
    let id = out["instanceId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("r-"), "{out}");
    assert_eq!(out["port"], "6379");
    assert!(
        out["privateIpAddr"]
            .as_str()
            .unwrap()
            .starts_with("10.50.1."),
        "{out}"
    );
    assert_eq!(
        out["connectionDomain"],
        format!("{id}.redis.rds.aliyuncs.com")
    );
    let encrypted = out["password"].as_str().unwrap();
    assert_eq!(
        password::decrypt("0033_0000000001", "seed123", encrypted).unwrap(),
        "Abcd1234"
    );
    assert_eq!(
        t.aliyun().attr(REGION, "r", &id, "SecurityIps").unwrap(),
        "0.0.0.0/32"
    );
    assert_eq!(
        t.aliyun()
            .attr(REGION, "r", &id, "SecurityGroupId")
            .unwrap(),
        group.as_str()
    );

    // Without a password one is generated and returned (the original returned "").
    let generated = post_ok(
        &t,
        "redis/create",
        json!({"seed": "s", "capacity": "256",
        "zoneId": "ap-southeast-1b", "engineVersion": "5.0"}),
    )
    .await;
    let plain = password::decrypt("g", "s", generated["password"].as_str().unwrap()).unwrap();
    assert_eq!(plain.len(), password::GENERATED_LEN);
    let again = post_ok(
        &t,
        "redis/create",
        json!({"seed": "s", "instanceId": id, "capacity": "256",
        "zoneId": "ap-southeast-1b", "engineVersion": "5.0"}),
    )
    .await;
    assert_eq!(again["instanceId"], id.as_str());
    assert_eq!(t.aliyun().ids(REGION, "r").len(), 2);

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "instanceId": "r-t4nd94f0f7cf4bb4"
		}
	]
}"#;
    let before = clock.now_ms();
    post_example(
        &t,
        "redis/delete",
        &delete.replace("r-t4nd94f0f7cf4bb4", &id),
    )
    .await;
    assert!(clock.now_ms() - before >= 10_000, "waited until gone");
    assert_eq!(t.aliyun().ids(REGION, "r").len(), 1);
    post_example(&t, "redis/delete", delete).await;

    let e = post_err(
        &t,
        "redis/create",
        json!({"seed": "s", "capacity": "1000",
        "zoneId": "ap-southeast-1b", "engineVersion": "5.0"}),
    )
    .await;
    assert!(e.contains("Code=InvalidCapacity.NotFound"), "{e}");
    let e = post_err(
        &t,
        "redis/create",
        json!({"seed": "s", "capacity": "256", "password": "weak",
        "zoneId": "ap-southeast-1b", "engineVersion": "5.0"}),
    )
    .await;
    assert!(e.contains("Code=InvalidPassword.Malformed"), "{e}");
}
