//! The alicloud plugin's load balancer routes through the real host and component to the Alibaba
//! simulator.

use serde_json::json;

use crate::alicloud::{REGION, create_vpc, create_vswitch, post_err, post_example, post_ok, start};
use crate::harness::TestBroker;

/// A VPC, vSwitch and running VM: (vpc, vswitch, instance).
async fn network_with_vm(t: &TestBroker) -> (String, String, String) {
    let vpc = create_vpc(t, "10.40.0.0/16").await;
    let vswitch = create_vswitch(t, &vpc, "10.40.1.0/24").await;
    let group = post_ok(
        t,
        "security_group/create",
        json!({"securityGroupName": "sg", "vpcId": vpc}),
    )
    .await["securityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let vm = post_ok(t, "vm/create", json!({"seed": "s", "instanceType": "ecs.n4.small",
        "imageId": "img", "zoneId": "ap-southeast-1b", "vSwitchId": vswitch, "securityGroupId": group}))
    .await["instanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    (vpc, vswitch, vm)
}

fn backends(t: &TestBroker, group: &str) -> serde_json::Value {
    t.aliyun()
        .attr(REGION, "rsp", group, "BackendServers")
        .unwrap()["BackendServer"]
        .clone()
}

#[tokio::test]
async fn spec_load_balancer_examples_create_add_remove_and_delete() {
    let (t, _clock) = start().await;
    let (vpc, vswitch, vm) = network_with_vm(&t).await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"addressType": "internet",
			"internetChargeType": "paybytraffic",
			"bandWidth": "5",
			"loadBalancerName": "test_lb",
			"vpcId": "vpc-t4nq3954f7lj8wk2hoy3o",
			"vSwitchId": "vsw-t4n1d7ng0b37kv2a6od11",
            "payType": "PostPaid"
		}
	]
}"#
    .replace("vpc-t4nq3954f7lj8wk2hoy3o", &vpc)
    .replace("vsw-t4n1d7ng0b37kv2a6od11", &vswitch);
    let out = post_example(&t, "load_balancer/create", &create).await;
    let lb = out["loadBalancerId"].as_str().unwrap().to_owned();
    assert!(lb.starts_with("lb-"), "{out}");
    assert!(
        out["address"].as_str().unwrap().starts_with("161.117."),
        "{out}"
    );

    let add = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"loadBalancerId": "lb-t4nvuami0zjalr9ne4fmj",
			"hostIds": "[i-t4n7rbtfeh1si9quyw94]",
			"hostPorts": "[8080]",
			"vServerGroupName": "test_lb",
			"bandwidth": "5",
			"listenerPort": "8080",
            "listenerProtocol": "tcp"
		}
	]
}"#
    .replace("lb-t4nvuami0zjalr9ne4fmj", &lb)
    .replace("i-t4n7rbtfeh1si9quyw94", &vm);
    let out = post_example(&t, "load_balancer/backend_server/add", &add).await;
    let group = out["vServerGroupId"].as_str().unwrap().to_owned();
    assert!(group.starts_with("rsp-"), "{out}");
    assert_eq!(
        backends(&t, &group),
        json!([{"ServerId": vm, "Port": "8080", "Weight": "100"}])
    );
    let listener = format!("{lb}:8080");
    assert_eq!(
        t.aliyun().status(REGION, "lsn", &listener).as_deref(),
        Some("running")
    );
    // Again: the listener and its group exist; the server is not added twice.
    let again = post_example(&t, "load_balancer/backend_server/add", &add).await;
    assert_eq!(again["vServerGroupId"], group.as_str());
    assert_eq!(backends(&t, &group).as_array().unwrap().len(), 1);

    let remove = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"loadBalancerId": "lb-t4nvuami0zjalr9ne4fmj",
			"hostIds": "[i-t4n7rbtfeh1si9quyw94]",
			"hostPorts": "[8080]",
			"vServerGroupId": "rsp-t4nfwp9ozu68v",
			"deleteListener": "Y",
			"listenerPort": "8080",
            "listenerProtocol": "tcp"
		}
	]
}"#
    .replace("lb-t4nvuami0zjalr9ne4fmj", &lb)
    .replace("i-t4n7rbtfeh1si9quyw94", &vm)
    .replace("rsp-t4nfwp9ozu68v", &group);
    post_example(&t, "load_balancer/backend_server/remove", &remove).await;
    assert!(t.aliyun().ids(REGION, "lsn").is_empty());
    assert!(t.aliyun().ids(REGION, "rsp").is_empty());
    post_example(&t, "load_balancer/backend_server/remove", &remove).await;

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
            "loadBalancerId": "lb-t4nvuami0zjalr9ne4fmj"
		}
	]
}"#;
    post_example(
        &t,
        "load_balancer/delete",
        &delete.replace("lb-t4nvuami0zjalr9ne4fmj", &lb),
    )
    .await;
    assert!(t.aliyun().ids(REGION, "lb").is_empty());
    post_example(&t, "load_balancer/delete", delete).await;
}

#[tokio::test]
async fn load_balancer_create_is_idempotent_and_errors_are_clear() {
    let (t, _clock) = start().await;
    let (_vpc, vswitch, vm) = network_with_vm(&t).await;
    let out = post_ok(
        &t,
        "load_balancer/create",
        json!({"addressType": "intranet", "vSwitchId": vswitch}),
    )
    .await;
    let lb = out["loadBalancerId"].as_str().unwrap().to_owned();
    assert!(
        out["address"].as_str().unwrap().starts_with("10.40.1."),
        "{out}"
    );
    let again = post_ok(
        &t,
        "load_balancer/create",
        json!({"loadBalancerId": lb, "addressType": "intranet"}),
    )
    .await;
    assert_eq!(again, out);
    assert_eq!(t.aliyun().ids(REGION, "lb").len(), 1);

    let add = |fields: serde_json::Value| {
        let mut input = json!({"loadBalancerId": lb, "hostIds": format!("[{vm}]"), "hostPorts": "[80]",
            "listenerPort": "80", "listenerProtocol": "http", "bandwidth": "-1"});
        input
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        input
    };
    let group =
        post_ok(&t, "load_balancer/backend_server/add", add(json!({}))).await["vServerGroupId"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(t.aliyun().ids(REGION, "rsp").contains(&group));
    let e = post_err(
        &t,
        "load_balancer/backend_server/add",
        add(json!({"listenerProtocol": "ftp"})),
    )
    .await;
    assert_eq!(
        e,
        "listenerProtocol must be tcp, udp, http or https, got \"ftp\""
    );
    let e = post_err(
        &t,
        "load_balancer/backend_server/add",
        add(json!({"hostIds": "[i-nope]", "listenerPort": "81"})),
    )
    .await;
    assert!(e.contains("Code=InvalidBackendServer.NotFound"), "{e}");
    let e = post_err(
        &t,
        "load_balancer/backend_server/add",
        add(json!({"hostPorts": "[80,81]"})),
    )
    .await;
    assert!(e.contains("one port per host"), "{e}");
    let e = post_err(&t, "load_balancer/create", json!({"addressType": "dmz"})).await;
    assert!(e.contains("Code=InvalidParameter"), "{e}");
}
