//! The alicloud plugin's network routes (vpc, vswitch, route_table, route_entry) through the
//! real host and component to the Alibaba simulator, in simulated time.

use std::time::{Duration, Instant};

use broker::capabilities::clock::HostClock;
use serde_json::json;

use crate::alicloud::{
    REGION, create_vpc, create_vswitch, output, post_err, post_example, post_ok, start,
};

#[tokio::test]
async fn spec_vpc_create_example_waits_for_the_vpc_in_simulated_time() {
    let (t, clock) = start().await;
    let example = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vpcId": "",
			"vpcName": "test_vpc1",
			"cidrBlock": "xx.xx.xx.xx/xx",
			"description": "test vpc"
		}
	]
}"#
    .replace("xx.xx.xx.xx/xx", "10.0.0.0/16");
    let (before, started) = (clock.now_ms(), Instant::now());
    let out = post_example(&t, "vpc/create", &example).await;
    assert!(clock.now_ms() - before >= 3_000, "waited until Available");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out["guid"], "0033_0000000001");
    let vpc = out["vpcId"].as_str().unwrap();
    assert!(vpc.starts_with("vpc-") && vpc.len() == 25, "{vpc}");
    assert_eq!(t.aliyun().ids(REGION, "vpc"), [vpc]);
    let table = out["routeTableId"].as_str().unwrap();
    assert_eq!(t.aliyun().ids(REGION, "vtb"), [table], "the system table");
}

#[tokio::test]
async fn spec_vpc_delete_example_deletes_and_an_absent_vpc_counts_as_deleted() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.0.0.0/16").await;
    let example = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vpcId": "vpc-t4n0iti7ecd8erg63nngq"
		}
	]
}"#;
    let out = post_example(
        &t,
        "vpc/delete",
        &example.replace("vpc-t4n0iti7ecd8erg63nngq", &vpc),
    )
    .await;
    assert_eq!(out["guid"], "0033_0000000001");
    assert!(t.aliyun().ids(REGION, "vpc").is_empty());
    assert!(t.aliyun().ids(REGION, "vtb").is_empty());
    // Verbatim: that VPC does not exist, which counts as deleted.
    post_example(&t, "vpc/delete", example).await;
}

#[tokio::test]
async fn spec_vswitch_examples_create_and_delete_with_and_without_a_route_table() {
    let (t, clock) = start().await;
    let vpc = create_vpc(&t, "10.1.0.0/16").await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vSwitchName": "test_vswitch1",
			"vpcId": "vpc-t4nu397hag3n2u0cnftv7",
			"cidrBlock": "xx.xx.xx.xx/xx",
			"zoneId": "ap-southeast-1b",
			"description": "test vswitch1"
		}
	]
}"#
    .replace("vpc-t4nu397hag3n2u0cnftv7", &vpc)
    .replace("xx.xx.xx.xx/xx", "10.1.1.0/24");
    let before = clock.now_ms();
    let out = post_example(&t, "vswitch/create", &create).await;
    assert!(clock.now_ms() - before >= 3_000, "waited until Available");
    let plain = out["vSwitchId"].as_str().unwrap().to_owned();
    assert!(plain.starts_with("vsw-"), "{out}");
    let system = t.aliyun().vswitch_route_table(REGION, &plain).unwrap();
    assert_eq!(
        out["routeTableId"],
        system.as_str(),
        "the VPC's system table"
    );

    let bind = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vSwitchName": "test_vswitch2",
			"vpcId": "vpc-t4nu397hag3n2u0cnftv7",
			"cidrBlock": "xx.xx.xx.xx/xx",
			"zoneId": "ap-southeast-1b",
			"description": "test vswitch2"
		}
	]
}"#
    .replace("vpc-t4nu397hag3n2u0cnftv7", &vpc)
    .replace("xx.xx.xx.xx/xx", "10.1.2.0/24");
    let out = post_example(&t, "vswitch/create/route_table/bind", &bind).await;
    let bound = out["vSwitchId"].as_str().unwrap().to_owned();
    let custom = out["routeTableId"].as_str().unwrap().to_owned();
    assert_ne!(custom, system);
    assert_eq!(
        t.aliyun().vswitch_route_table(REGION, &bound),
        Some(custom.clone())
    );

    let unbind = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vSwitchId": "vsw-t4nmkrt4iw96bzliflzy1"
		}
	]
}"#;
    let out = post_example(
        &t,
        "vswitch/delete/route_table/unbind",
        &unbind.replace("vsw-t4nmkrt4iw96bzliflzy1", &bound),
    )
    .await;
    assert_eq!(out["guid"], "0033_0000000001");
    assert!(
        !t.aliyun().ids(REGION, "vtb").contains(&custom),
        "custom table deleted"
    );
    assert_eq!(t.aliyun().ids(REGION, "vsw"), [plain.as_str()]);
    post_example(&t, "vswitch/delete/route_table/unbind", unbind).await;

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"vSwitchId": "vsw-t4n83ebdl4jvqc24rm5pt"
		}
	]
}"#;
    post_example(
        &t,
        "vswitch/delete",
        &delete.replace("vsw-t4n83ebdl4jvqc24rm5pt", &plain),
    )
    .await;
    assert!(t.aliyun().ids(REGION, "vsw").is_empty());
    post_example(&t, "vswitch/delete", delete).await;
}

#[tokio::test]
async fn spec_route_table_and_route_entry_examples_work_end_to_end() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.2.0.0/16").await;
    let vswitch = create_vswitch(&t, &vpc, "10.2.1.0/24").await;
    let create = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"routeTableName": "test_route_table",
			"vpcId": "vpc-t4nu397hag3n2u0cnftv7",
			"description": "test route table"
		}
	]
}"#
    .replace("vpc-t4nu397hag3n2u0cnftv7", &vpc);
    let out = post_example(&t, "route_table/create", &create).await;
    let table = out["routeTableId"].as_str().unwrap().to_owned();
    assert!(t.aliyun().ids(REGION, "vtb").contains(&table));

    let associate = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"routeTableId": "vtb-t4n70cxitxen1mfsx5t2x",
			"vSwitchId": "vsw-t4ndwyqqlxmczbyr6t3f3"
		}
	]
}"#
    .replace("vtb-t4n70cxitxen1mfsx5t2x", &table)
    .replace("vsw-t4ndwyqqlxmczbyr6t3f3", &vswitch);
    post_example(&t, "route_table/vswitch/associate", &associate).await;
    assert_eq!(
        t.aliyun().vswitch_route_table(REGION, &vswitch),
        Some(table.clone())
    );
    post_example(&t, "route_table/vswitch/associate", &associate).await;

    // The example routes to a NAT gateway, which the simulator checks exists.
    let nat = post_ok(&t, "vpc/nat/create", json!({"vpcId": vpc})).await["natGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = post_err(
        &t,
        "route_table/route_entry/create",
        json!({"routeTableId": table, "destinationCidrBlock": "0.0.0.0/0",
            "nextHopType": "NatGateway", "nextHopId": "ngw-doesnotexist"}),
    )
    .await;
    assert!(e.contains("Code=InvalidNatGatewayId.NotFound"), "{e}");

    let entry = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"routeTableId": "vtb-t4n70cxitxen1mfsx5t2x",
			"nextHopType": "NatGateway",
			"destinationCidrBlock": "xx.xx.xx.xx/xx",
			"nextHopId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"routeEntryName": "test_route_entry"
		}
	]
}"#
    .replace("vtb-t4n70cxitxen1mfsx5t2x", &table)
    .replace("xx.xx.xx.xx/xx", "0.0.0.0/0")
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat);
    let out = post_example(&t, "route_table/route_entry/create", &entry).await;
    assert_eq!(out["guid"], "0033_0000000001");
    assert_eq!(t.aliyun().route_destinations(REGION, &table), ["0.0.0.0/0"]);
    // The same route again is success, not a second entry.
    post_example(&t, "route_table/route_entry/create", &entry).await;
    assert_eq!(t.aliyun().route_destinations(REGION, &table).len(), 1);

    let delete_entry = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"routeTableId": "vtb-t4n70cxitxen1mfsx5t2x",
			"destinationCidrBlock": "xx.xx.xx.xx/xx",
			"nextHopId": "ngw-t4nkybnb2eb9c1qm64wuo"
		}
	]
}"#
    .replace("vtb-t4n70cxitxen1mfsx5t2x", &table)
    .replace("xx.xx.xx.xx/xx", "0.0.0.0/0")
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat);
    post_example(&t, "route_table/route_entry/delete", &delete_entry).await;
    assert!(t.aliyun().route_destinations(REGION, &table).is_empty());
    post_example(&t, "route_table/route_entry/delete", &delete_entry).await;

    let delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"routeTableId": "vtb-t4nwtmqy18tpgzhkup3m6"
		}
	]
}"#;
    // The table still has the vSwitch: the route unassociates it first.
    post_example(
        &t,
        "route_table/delete",
        &delete.replace("vtb-t4nwtmqy18tpgzhkup3m6", &table),
    )
    .await;
    assert!(!t.aliyun().ids(REGION, "vtb").contains(&table));
    assert_ne!(
        t.aliyun().vswitch_route_table(REGION, &vswitch),
        Some(table)
    );
    post_example(&t, "route_table/delete", delete).await;
}

#[tokio::test]
async fn network_creates_with_an_existing_id_return_it_without_creating() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.3.0.0/16").await;
    let out = post_ok(
        &t,
        "vpc/create",
        json!({"vpcId": vpc, "vpcName": "again", "cidrBlock": "10.9.0.0/16"}),
    )
    .await;
    assert_eq!(out["vpcId"], vpc.as_str());
    assert_eq!(t.aliyun().ids(REGION, "vpc").len(), 1);

    let vswitch = create_vswitch(&t, &vpc, "10.3.1.0/24").await;
    let out = post_ok(
        &t,
        "vswitch/create",
        json!({"vSwitchId": vswitch, "vSwitchName": "s", "vpcId": vpc, "cidrBlock": "10.3.1.0/24",
            "zoneId": "ap-southeast-1b"}),
    )
    .await;
    assert_eq!(out["vSwitchId"], vswitch.as_str());
    assert_eq!(t.aliyun().ids(REGION, "vsw").len(), 1);

    let table = post_ok(&t, "route_table/create", json!({"vpcId": vpc})).await["routeTableId"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = post_ok(
        &t,
        "route_table/create",
        json!({"routeTableId": table, "vpcId": vpc}),
    )
    .await;
    assert_eq!(out["routeTableId"], table.as_str());
    assert_eq!(
        t.aliyun().ids(REGION, "vtb").len(),
        2,
        "system + one custom"
    );

    // An id that does not exist means: create.
    let out = post_ok(
        &t,
        "vpc/create",
        json!({"vpcId": "vpc-doesnotexist000000000", "vpcName": "n", "cidrBlock": "10.4.0.0/16"}),
    )
    .await;
    assert_ne!(out["vpcId"], "vpc-doesnotexist000000000");
    assert_eq!(t.aliyun().ids(REGION, "vpc").len(), 2);
}

#[tokio::test]
async fn network_errors_carry_alibabas_code_message_and_request_id_and_the_batch_goes_on() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.5.0.0/16").await;
    create_vswitch(&t, &vpc, "10.5.1.0/24").await;
    let vswitch = |guid: &str, vpc: &str, cidr: &str| {
        crate::alicloud::input(json!({"guid": guid, "vSwitchName": "s", "vpcId": vpc,
            "cidrBlock": cidr, "zoneId": "ap-southeast-1b", "callbackParameter": guid}))
    };
    let body = json!({"requestId": "r", "operator": "o", "inputs": [
        vswitch("unknown-vpc", "vpc-doesnotexist000000000", "10.5.2.0/24"),
        vswitch("overlap", &vpc, "10.5.1.128/25"),
        vswitch("outside", &vpc, "10.6.0.0/24"),
        {"guid": "no-secret", "identityParams": "accessKeyId=*******", "cloudParams": "regionId=ap-southeast-1"},
        {"guid": "no-region", "identityParams": "accessKeyId=*******;secret=*******", "cloudParams": "zoneId=x"},
        vswitch("good", &vpc, "10.5.2.0/24"),
    ]});
    let (status, answer) = t.post("/alicloud/v1/vswitch/create", &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["resultCode"], "1", "{answer}");
    let message = |i: usize| {
        output(&answer, i)["errorMessage"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        answer["resultMessage"],
        message(0).as_str(),
        "the first failure"
    );
    assert!(
        message(0).starts_with("AliCloud server error: [Code=InvalidVpcId.NotFound, Message=Specified VPC does not exist., RequestId="),
        "{}",
        message(0)
    );
    assert!(
        message(1).contains("Code=InvalidCidrBlock.Overlapped"),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("Code=InvalidCidrBlock.Mismatch"),
        "{}",
        message(2)
    );
    assert_eq!(message(3), "identityParams is missing `secret`");
    assert_eq!(message(4), "cloudParams is missing `regionId`");
    let good = output(&answer, 5);
    assert_eq!(good["errorCode"], "0", "{answer}");
    assert_eq!(good["callbackParameter"], "good");
    assert_eq!(output(&answer, 0)["callbackParameter"], "unknown-vpc");
    assert_eq!(t.aliyun().ids(REGION, "vsw").len(), 2);

    // A VPC with vSwitches cannot go: Alibaba's DependencyViolation comes through.
    let e = post_err(&t, "vpc/delete", json!({"vpcId": vpc})).await;
    assert!(e.contains("Code=DependencyViolation.VSwitch"), "{e}");

    // A secret with `=` in it is kept whole: here it is simply wrong, so the signature fails.
    let e = post_err(
        &t,
        "vpc/create",
        json!({"identityParams": "accessKeyId=*******;secret=*******=extra", "vpcName": "v",
            "cidrBlock": "10.0.0.0/16"}),
    )
    .await;
    assert!(e.contains("Code=SignatureDoesNotMatch"), "{e}");
    assert!(
        e.contains("(string to sign omitted)"),
        "no parameters leak: {e}"
    );
    let e = post_err(
        &t,
        "vpc/create",
        json!({"identityParams": "accessKeyId=LTAInobody;secret=x", "vpcName": "v",
            "cidrBlock": "10.0.0.0/16"}),
    )
    .await;
    assert!(e.contains("Code=InvalidAccessKeyId.NotFound"), "{e}");
    let e = post_err(
        &t,
        "vpc/create",
        json!({"vpcName": "v", "cidrBlock": "not-a-cidr"}),
    )
    .await;
    assert!(e.contains("Code=InvalidCidrBlock.Malformed"), "{e}");
    let e = post_err(
        &t,
        "route_table/vswitch/associate",
        json!({"routeTableId": "vtb-x"}),
    )
    .await;
    assert_eq!(e, "missing required field \"vSwitchId\"");

    // A failing gateway or a broken answer is reported, not swallowed.
    t.aliyun()
        .faults()
        .fail_next(1, broker_sim::FaultKind::Http500);
    let e = post_err(&t, "vpc/delete", json!({"vpcId": vpc})).await;
    assert_eq!(
        e,
        "AliCloud client error: [unreadable answer, HTTP 500: unexpected status]"
    );
    t.aliyun()
        .faults()
        .fail_next(1, broker_sim::FaultKind::BadJson);
    let e = post_err(&t, "vpc/delete", json!({"vpcId": vpc})).await;
    assert_eq!(
        e,
        "AliCloud client error: [unreadable answer, HTTP 200: body is not JSON]"
    );

    // Not a batch at all: 400 in the alicloud envelope; the broker keeps serving.
    let (status, answer) = t.post_raw("/alicloud/v1/vpc/create", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(answer["resultCode"], "1");
    assert_eq!(answer["results"]["outputs"], json!([]));
    let (status, answer) = t
        .post("/alicloud/v1/vpc/create", &json!({"inputs": "nope"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["resultMessage"],
        "\"inputs\" must be an array, got string"
    );
    create_vpc(&t, "10.7.0.0/16").await;
}
