//! The alicloud plugin's security group and vm routes through the real host and component to the
//! Alibaba simulator, in simulated time.

use std::time::{Duration, Instant};

use broker::capabilities::clock::HostClock;
use broker_sdk::password;
use serde_json::{Value, json};

use crate::alicloud::{REGION, create_vpc, create_vswitch, post_err, post_example, post_ok, start};
use crate::harness::TestBroker;

/// The security group's rules as the simulator holds them: (direction, protocol, ports, cidr).
fn rules(t: &TestBroker, group: &str) -> Vec<(String, String, String, String)> {
    let permissions = t.aliyun().attr(REGION, "sg", group, "Permissions").unwrap();
    permissions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or("").to_owned();
            let cidr = if s("Direction") == "ingress" {
                s("SourceCidrIp")
            } else {
                s("DestCidrIp")
            };
            (s("Direction"), s("IpProtocol"), s("PortRange"), cidr)
        })
        .collect()
}

fn rule(d: &str, p: &str, ports: &str, cidr: &str) -> (String, String, String, String) {
    (d.into(), p.into(), ports.into(), cidr.into())
}

async fn create_group(t: &TestBroker, vpc: &str) -> String {
    let out = post_ok(
        t,
        "security_group/create",
        json!({"securityGroupName": "sg", "vpcId": vpc, "description": "d"}),
    )
    .await;
    out["securityGroupId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn spec_security_group_examples_create_authorize_revoke_and_delete() {
    let (t, _clock) = start().await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"securityGroupName": "test_security_group",
			"description": "test security group"
		}
	]
}"#;
    let out = post_example(&t, "security_group/create", create).await;
    assert_eq!(out["guid"], "0033_0000000001");
    let group = out["securityGroupId"].as_str().unwrap().to_owned();
    assert!(group.starts_with("sg-"), "{out}");
    assert_eq!(out["request_id"].as_str().unwrap().len(), 36, "{out}");
    assert_eq!(t.aliyun().ids(REGION, "sg"), [group.as_str()]);

    let authorize = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"securityGroupId": "sg-t4n1d2wurvisird07abx",
			"policy": "accept",
			"cidrIp": "[192.168.xx.xx,192.168.xx.192/26,192.168.xx.193]",
			"ipProtocol": "[tcp,tcp,udp]",
			"portRange": "[8080,22-8000,8888]",
			"actionType": "egress",
			"description": "test security group rule"
		}
	]
}"#
    // Before the ids: a generated id may contain "xx".
    .replace("xx", "1")
    .replace("sg-t4n1d2wurvisird07abx", &group);
    post_example(&t, "security_group/authorize", &authorize).await;
    assert_eq!(
        rules(&t, &group),
        [
            rule("egress", "TCP", "8080/8080", "192.168.1.1/32"),
            rule("egress", "TCP", "22/8000", "192.168.1.192/26"),
            rule("egress", "UDP", "8888/8888", "192.168.1.193/32"),
        ]
    );
    // Again: the rules exist, nothing changes.
    post_example(&t, "security_group/authorize", &authorize).await;
    assert_eq!(rules(&t, &group).len(), 3);

    let revoke = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"securityGroupId": "sg-t4n1d2wurvisird07abx",
			"policy": "accept",
			"cidrIp": "[192.168.xx.xx,192.168.xx.192/26]",
			"ipProtocol": "[tcp,tcp]",
			"portRange": "[8080,22-8000]",
			"actionType": "egress"
		}
	]
}"#
    // Before the ids: a generated id may contain "xx".
    .replace("xx", "1")
    .replace("sg-t4n1d2wurvisird07abx", &group);
    post_example(&t, "security_group/revoke", &revoke).await;
    assert_eq!(
        rules(&t, &group),
        [rule("egress", "UDP", "8888/8888", "192.168.1.193/32")]
    );
    post_example(&t, "security_group/revoke", &revoke).await;

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"securityGroupId": "sg-t4n1d2wurvisird07abx"
		}
	]
}"#;
    post_example(
        &t,
        "security_group/delete",
        &delete.replace("sg-t4n1d2wurvisird07abx", &group),
    )
    .await;
    assert!(t.aliyun().ids(REGION, "sg").is_empty());
    // Verbatim: absent, which counts as deleted (the original failed here).
    post_example(&t, "security_group/delete", delete).await;
}

#[tokio::test]
async fn security_group_rules_accept_policy_type_and_roll_back_when_one_fails() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.8.0.0/16").await;
    let group = create_group(&t, &vpc).await;
    // The released code's `policyType` works like `actionType`.
    post_ok(
        &t,
        "security_group/authorize",
        json!({"securityGroupId": group, "policy": "accept",
        "cidrIp": "10.0.0.0/8", "ipProtocol": "tcp", "portRange": "22", "policyType": "ingress"}),
    )
    .await;
    assert_eq!(
        rules(&t, &group),
        [rule("ingress", "TCP", "22/22", "10.0.0.0/8")]
    );

    // The third sub-rule is refused upstream: the second (new) one is undone, the first (which
    // existed before) is kept.
    let e = post_err(
        &t,
        "security_group/authorize",
        json!({"securityGroupId": group,
        "policy": "accept", "cidrIp": "[10.0.0.0/8,10.1.0.0/16,10.2.0.0/16]",
        "ipProtocol": "[tcp,udp,bogus]", "portRange": "[22,53,1]", "actionType": "ingress"}),
    )
    .await;
    assert!(e.contains("Code=InvalidIpProtocol.Malformed"), "{e}");
    assert!(
        e.contains("1 of 1 rules applied before it were undone"),
        "{e}"
    );
    assert_eq!(
        rules(&t, &group),
        [rule("ingress", "TCP", "22/22", "10.0.0.0/8")]
    );

    let e = post_err(
        &t,
        "security_group/authorize",
        json!({"securityGroupId": group,
        "cidrIp": "[10.0.0.0/8,10.1.0.0/16]", "ipProtocol": "[tcp,udp,tcp]", "portRange": "22",
        "actionType": "ingress"}),
    )
    .await;
    assert!(e.contains("equal length"), "{e}");
    let e = post_err(
        &t,
        "security_group/authorize",
        json!({"securityGroupId": group,
        "cidrIp": "10.0.0.0/8", "ipProtocol": "tcp", "portRange": "22"}),
    )
    .await;
    assert_eq!(
        e,
        "missing required field \"actionType\" (or \"policyType\")"
    );
    let e = post_err(
        &t,
        "security_group/revoke",
        json!({"securityGroupId": "sg-doesnotexist000000000000",
        "cidrIp": "10.0.0.0/8", "ipProtocol": "tcp", "portRange": "22", "actionType": "ingress"}),
    )
    .await;
    assert!(e.contains("Code=InvalidSecurityGroupId.NotFound"), "{e}");

    // Create with an existing id returns it.
    let out = post_ok(
        &t,
        "security_group/create",
        json!({"securityGroupId": group, "securityGroupName": "x"}),
    )
    .await;
    assert_eq!(out["securityGroupId"], group.as_str());
    assert_eq!(t.aliyun().ids(REGION, "sg").len(), 1);
}

/// A VPC 10.128.0.0/16 with vSwitch 10.128.64.0/24 in ap-southeast-1b and a security group:
/// (vswitch, group).
async fn network(t: &TestBroker) -> (String, String) {
    let vpc = create_vpc(t, "10.128.0.0/16").await;
    let vswitch = create_vswitch(t, &vpc, "10.128.64.0/24").await;
    let group = create_group(t, &vpc).await;
    (vswitch, group)
}

fn id_example(id: &str, extra: &str) -> String {
    r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"instanceId": "i-t4n7rbtfeh1si9quyw94"EXTRA
		}
	]
}"#
    .replace("i-t4n7rbtfeh1si9quyw94", id)
    .replace("EXTRA", extra)
}

#[tokio::test]
async fn spec_vm_examples_create_start_stop_bind_unbind_and_delete_in_simulated_time() {
    let (t, clock) = start().await;
    let (vswitch, group) = network(&t).await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=******",
			"cloudParams": "regionId=ap-southeast-1",
			"seed": "seed123",
			"password": "Abcd1234",
			"instanceName": "test_vm",
			"instanceSpec": "1c1g",
			"instanceFamily": "c5",
			"systemDiskSize": "40",
			"systemDiskCategory": "cloud_ssd",
			"imageId": "ubuntu_18_04_64_20G_alibase_20190624.vhd",
			"vSwitchId": "vsw-t4n1d7ng0b37kv2a6od11",
			"privateIpAddress": "10.128.64.xx",
			"zoneId": "ap-southeast-1b",
			"instanceChargeType": "PostPaid",
			"resourceTag": "[key1=value1;key2=value2]"
		}
	]
}"#
    .replace("vsw-t4n1d7ng0b37kv2a6od11", &vswitch)
    .replace("10.128.64.xx", "10.128.64.10");
    let (before, started) = (clock.now_ms(), Instant::now());
    let out = post_example(&t, "vm/create", &create).await;
    assert!(
        clock.now_ms() - before >= 20_000,
        "waited for Pending and Starting"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out["guid"], "0033_0000000001");
    let id = out["instanceId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("i-"), "{out}");
    // As in the spec's answer: 1C1G of family c5 is an ecs.c5.large (2 cores, 4 GiB).
    assert_eq!(out["instanceType"], "ecs.c5.large");
    assert_eq!(out["cpu"], "2");
    assert_eq!(out["memory"], "4");
    assert_eq!(out["privateIp"], "10.128.64.10");
    let encrypted = out["password"].as_str().unwrap();
    assert!(
        encrypted.starts_with(password::CIPHER_PREFIX),
        "{encrypted}"
    );
    assert_eq!(
        password::decrypt("0033_0000000001", "seed123", encrypted).unwrap(),
        "Abcd1234"
    );
    assert_eq!(
        t.aliyun().status(REGION, "i", &id).as_deref(),
        Some("Running")
    );
    assert_eq!(
        t.aliyun()
            .attr(REGION, "i", &id, "SecurityGroupIds")
            .unwrap(),
        json!({"SecurityGroupId": [group]}),
        "the VPC's security group"
    );

    let stop = id_example(&id, "");
    post_example(&t, "vm/stop", &stop).await;
    assert_eq!(
        t.aliyun().status(REGION, "i", &id).as_deref(),
        Some("Stopped")
    );
    post_example(&t, "vm/stop", &stop).await;
    post_example(&t, "vm/start", &stop).await;
    assert_eq!(
        t.aliyun().status(REGION, "i", &id).as_deref(),
        Some("Running")
    );
    post_example(&t, "vm/start", &stop).await;

    let second = create_group(
        &t,
        t.aliyun().attr(REGION, "i", &id, "VpcAttributes").unwrap()["VpcId"]
            .as_str()
            .unwrap(),
    )
    .await;
    let bind = id_example(&id, &format!(",\n\t\t\t\"securityGroupId\": \"{second}\""));
    post_example(&t, "vm/security-group/bind", &bind).await;
    assert_eq!(
        t.aliyun()
            .attr(REGION, "i", &id, "SecurityGroupIds")
            .unwrap(),
        json!({"SecurityGroupId": [group, second]})
    );
    post_example(&t, "vm/security-group/bind", &bind).await;
    post_example(&t, "vm/security-group/unbind", &bind).await;
    assert_eq!(
        t.aliyun()
            .attr(REGION, "i", &id, "SecurityGroupIds")
            .unwrap(),
        json!({"SecurityGroupId": [group]})
    );
    let e = post_err(
        &t,
        "vm/security-group/unbind",
        json!({"instanceId": id, "securityGroupId": group}),
    )
    .await;
    assert!(e.contains("must keep at least one security group"), "{e}");

    // Creating again with the id returns the instance, password encrypted from the input.
    let again: Value = post_ok(&t, "vm/create", json!({"instanceId": id, "seed": "s", "password": "Abcd1234",
        "instanceSpec": "1c1g", "instanceFamily": "c5", "imageId": "img", "zoneId": "ap-southeast-1b"})).await;
    assert_eq!(again["instanceId"], id.as_str());
    assert_eq!(again["privateIp"], "10.128.64.10");
    assert_eq!(t.aliyun().ids(REGION, "i").len(), 1);

    let before = clock.now_ms();
    post_example(&t, "vm/delete", &stop).await;
    assert!(clock.now_ms() - before >= 10_000, "waited until gone");
    assert!(t.aliyun().ids(REGION, "i").is_empty());
    post_example(&t, "vm/delete", &stop).await;
}

#[tokio::test]
async fn vm_create_generates_a_password_and_reports_upstream_and_input_errors() {
    let (t, _clock) = start().await;
    let (vswitch, group) = network(&t).await;
    let base = json!({"seed": "s", "instanceSpec": "2C8G", "instanceFamily": "g5", "imageId": "img",
        "zoneId": "ap-southeast-1b", "vSwitchId": vswitch, "securityGroupId": group});
    let out = post_ok(&t, "vm/create", base.clone()).await;
    assert_eq!(out["instanceType"], "ecs.g5.large");
    let plain = password::decrypt("g", "s", out["password"].as_str().unwrap()).unwrap();
    assert_eq!(plain.len(), password::GENERATED_LEN);

    let with = |extra: Value| {
        let mut input = base.clone();
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    // 8 cores of c5 exist only as ecs.c5.2xlarge, which is sold out.
    let e = post_err(
        &t,
        "vm/create",
        with(json!({"instanceSpec": "8C16G", "instanceFamily": "c5"})),
    )
    .await;
    assert!(
        e.contains("no instance type of family ecs.c5 with at least 8 cores"),
        "{e}"
    );
    let e = post_err(&t, "vm/create", with(json!({"instanceSpec": "big"}))).await;
    assert!(e.starts_with("instanceSpec must look like 2C4G"), "{e}");
    let e = post_err(&t, "vm/create", with(json!({"password": "short"}))).await;
    assert!(e.contains("Code=InvalidPassword.Malformed"), "{e}");
    let e = post_err(
        &t,
        "vm/create",
        with(json!({"privateIpAddress": "10.9.9.9"})),
    )
    .await;
    assert!(e.contains("Code=InvalidPrivateIpAddress"), "{e}");
    let e = post_err(&t, "vm/create", with(json!({"seed": ""}))).await;
    assert_eq!(e, "missing required field \"seed\"");
    let e = post_err(&t, "vm/start", json!({"instanceId": "i-doesnotexist"})).await;
    assert_eq!(e, "instance i-doesnotexist does not exist");
    // A security group with an instance cannot be deleted: Alibaba's error comes through.
    let e = post_err(
        &t,
        "security_group/delete",
        json!({"securityGroupId": group}),
    )
    .await;
    assert!(e.contains("Code=DependencyViolation"), "{e}");
    assert_eq!(t.aliyun().ids(REGION, "i").len(), 1);
}
