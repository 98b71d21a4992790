//! The alicloud plugin's CEN and disk routes through the real host and component to the Alibaba
//! simulator, in simulated time. Disks are formatted and mounted with Cloud Assistant, never SSH.

use broker::capabilities::clock::HostClock;
use serde_json::json;

use crate::alicloud::{REGION, create_vpc, create_vswitch, post_err, post_example, post_ok, start};
use crate::harness::TestBroker;

#[tokio::test]
async fn spec_cen_examples_create_attach_detach_and_delete() {
    let (t, clock) = start().await;
    let vpc = create_vpc(&t, "10.30.0.0/16").await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"name": "test_cen",
			"description": "test cen"
		}
	]
}"#;
    let before = clock.now_ms();
    let out = post_example(&t, "cen/create", create).await;
    assert!(clock.now_ms() - before >= 3_000, "waited until Active");
    let cen = out["cenId"].as_str().unwrap().to_owned();
    assert!(cen.starts_with("cen-"), "{out}");
    assert_eq!(
        t.aliyun().status("", "cen", &cen).as_deref(),
        Some("Active")
    );

    let attach = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cenId": "cen-bfffghnat1dmt9p18o",
			"childInstanceId": "vpc-t4nu397hag3n2u0cnftv7"
		}
	]
}"#
    .replace("cen-bfffghnat1dmt9p18o", &cen)
    .replace("vpc-t4nu397hag3n2u0cnftv7", &vpc);
    post_example(&t, "cen/attach", &attach).await;
    let child = t.aliyun().ids("", "cenchild");
    assert_eq!(child.len(), 1);
    // The region defaulted to the input's regionId.
    assert_eq!(
        t.aliyun()
            .attr("", "cenchild", &child[0], "ChildInstanceRegionId")
            .unwrap(),
        REGION
    );
    assert_eq!(
        t.aliyun().status("", "cenchild", &child[0]).as_deref(),
        Some("Attached")
    );
    post_example(&t, "cen/attach", &attach).await;
    assert_eq!(t.aliyun().ids("", "cenchild").len(), 1);

    post_example(&t, "cen/detach", &attach).await;
    assert!(t.aliyun().ids("", "cenchild").is_empty());
    post_example(&t, "cen/detach", &attach).await;

    // delete detaches what is still attached.
    post_example(&t, "cen/attach", &attach).await;
    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cenId": "cen-bfffghnat1dmt9p18o"
		}
	]
}"#;
    post_example(
        &t,
        "cen/delete",
        &delete.replace("cen-bfffghnat1dmt9p18o", &cen),
    )
    .await;
    assert!(t.aliyun().ids("", "cen").is_empty());
    assert!(t.aliyun().ids("", "cenchild").is_empty());
    post_example(&t, "cen/delete", delete).await;
}

#[tokio::test]
async fn cen_create_with_an_existing_id_returns_it_and_errors_come_through() {
    let (t, _clock) = start().await;
    let cen = post_ok(&t, "cen/create", json!({"name": "c"})).await["cenId"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = post_ok(&t, "cen/create", json!({"cenId": cen, "name": "c"})).await;
    assert_eq!(again["cenId"], cen.as_str());
    assert_eq!(t.aliyun().ids("", "cen").len(), 1);
    let e = post_err(
        &t,
        "cen/attach",
        json!({"cenId": cen, "childInstanceId": "vpc-nope"}),
    )
    .await;
    assert!(e.contains("Code=InvalidVpcId.NotFound"), "{e}");
    let e = post_err(&t, "cen/create", json!({"description": "no name"})).await;
    assert_eq!(e, "missing required field \"name\"");
}

/// A running VM in a fresh network; returns its id.
async fn running_vm(t: &TestBroker) -> String {
    let vpc = create_vpc(t, "10.128.0.0/16").await;
    let vswitch = create_vswitch(t, &vpc, "10.128.64.0/24").await;
    let group = post_ok(
        t,
        "security_group/create",
        json!({"securityGroupName": "sg", "vpcId": vpc}),
    )
    .await["securityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    post_ok(t, "vm/create", json!({"guid": "0033_0000000001", "seed": "seed123", "instanceType": "ecs.c5.large",
        "imageId": "img", "zoneId": "ap-southeast-1b", "vSwitchId": vswitch, "securityGroupId": group}))
    .await["instanceId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn spec_disk_examples_format_mount_and_unmount_through_cloud_assistant() {
    let (t, clock) = start().await;
    let vm = running_vm(&t).await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"seed": "seed123",
			"instanceGuid": "0033_0000000001",
			"password": "{cipher_a}9b28cb58bd8aca2a1f0cef1ea58f6756",
			"fileSystemType": "ext3",
			"mountDir": "/data/test",
			"instanceId": "i-t4n7rbtfeh1si9quyw94",
			"zoneId": "ap-southeast-1b",
			"diskName": "test_disk",
			"size": "40",
			"diskCategory": "cloud_ssd",
			"description": "test disk"
		}
	]
}"#
    .replace("i-t4n7rbtfeh1si9quyw94", &vm);
    let before = clock.now_ms();
    let out = post_example(&t, "disk/create_attach", &create).await;
    assert!(
        clock.now_ms() - before >= 13_000,
        "create, attach and the command took their time"
    );
    let disk = out["diskId"].as_str().unwrap().to_owned();
    assert!(disk.starts_with("d-"), "{out}");
    assert_eq!(out["volumeName"], "/dev/vdb");
    assert_eq!(
        t.aliyun().status(REGION, "d", &disk).as_deref(),
        Some("In_use")
    );
    let commands = t.aliyun().commands(REGION, &vm);
    assert_eq!(commands.len(), 1, "one Cloud Assistant command");
    assert!(
        commands[0].contains("dev=/dev/vdb; fs=ext3; dir=/data/test"),
        "{}",
        commands[0]
    );
    assert!(commands[0].contains("mkfs -t"), "{}", commands[0]);

    // With the id: the same disk and volume, no second disk (the original lost `diskId` here).
    let again = create.replace(
        "\"zoneId\"",
        &format!("\"diskId\": \"{disk}\",\n\t\t\t\"zoneId\""),
    );
    let out = post_example(&t, "disk/create_attach", &again).await;
    assert_eq!(out["diskId"], disk.as_str());
    assert_eq!(out["volumeName"], "/dev/vdb");
    assert_eq!(t.aliyun().ids(REGION, "d").len(), 1);

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"seed": "seed123",
			"instanceGuid": "0033_0000000001",
			"password": "{cipher_a}9b28cb58bd8aca2a1f0cef1ea58f6756",
			"unmountDir": "/data/test",
			"instanceId": "i-t4n7rbtfeh1si9quyw94",
			"diskId": "d-t4n96gxbb5gxotao8ibe",
            "volumeName": "/dev/vdb"
		}
	]
}"#;
    let mine = delete
        .replace("i-t4n7rbtfeh1si9quyw94", &vm)
        .replace("d-t4n96gxbb5gxotao8ibe", &disk);
    post_example(&t, "disk/detach_delete", &mine).await;
    assert!(t.aliyun().ids(REGION, "d").is_empty());
    let commands = t.aliyun().commands(REGION, &vm);
    assert!(
        commands.last().unwrap().contains("umount \"$dir\""),
        "{commands:?}"
    );
    post_example(&t, "disk/detach_delete", delete).await;
}

#[tokio::test]
async fn disk_inputs_that_could_inject_shell_code_are_refused_before_any_call() {
    let (t, _clock) = start().await;
    let vm = running_vm(&t).await;
    let base = json!({"instanceId": vm, "fileSystemType": "ext4", "mountDir": "/data",
        "zoneId": "ap-southeast-1b", "size": "40", "seed": "s", "instanceGuid": "g", "password": "p"});
    let with = |key: &str, value: &str| {
        let mut input = base.clone();
        input[key] = json!(value);
        input
    };
    let e = post_err(&t, "disk/create_attach", with("mountDir", "/data; reboot")).await;
    assert!(e.starts_with("mountDir must be an absolute path"), "{e}");
    let e = post_err(&t, "disk/create_attach", with("fileSystemType", "ntfs")).await;
    assert_eq!(
        e,
        "fileSystemType must be one of ext3, ext4, xfs, got \"ntfs\""
    );
    assert!(
        t.aliyun().ids(REGION, "d").is_empty(),
        "nothing was created"
    );
    let e = post_err(&t, "disk/create_attach", with("size", "5")).await;
    assert!(e.contains("Code=InvalidSize.ValueNotSupported"), "{e}");
    let e = post_err(&t, "disk/create_attach", with("instanceId", "i-nope")).await;
    assert_eq!(e, "instance i-nope does not exist");
    assert!(t.aliyun().commands(REGION, &vm).is_empty());
}
