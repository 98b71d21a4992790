//! The alicloud plugin's NAT gateway, SNAT entry and EIP routes through the real host and
//! component to the Alibaba simulator, in simulated time.

use broker::capabilities::clock::HostClock;
use serde_json::{Value, json};

use crate::alicloud::{
    REGION, create_vpc, create_vswitch, output, post_err, post_example, post_ok, start,
};
use crate::harness::TestBroker;

/// The EIP with allocation id `id` as the simulator holds it: (bound instance, bandwidth package).
fn eip(t: &TestBroker, id: &str) -> (String, String) {
    let s = |key: &str| {
        t.aliyun()
            .attr(REGION, "eip", id, key)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    (s("InstanceId"), s("BandwidthPackageId"))
}

/// Allocates one EIP; returns (allocation id, address).
async fn allocate(t: &TestBroker) -> (String, String) {
    let out = post_ok(t, "vpc/eip/allocate", json!({})).await;
    (
        out["allocationId"].as_str().unwrap().to_owned(),
        out["eipAddress"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn spec_nat_snat_and_eip_examples_work_end_to_end() {
    let (t, clock) = start().await;
    let vpc = create_vpc(&t, "10.20.0.0/16").await;
    let vswitch = create_vswitch(&t, &vpc, "10.20.1.0/24").await;

    let allocate_example = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cbpName": "test_cbp",
			"bandwidth": "5",
			"instanceChargeType": "PostPaid",
			"internetChargeType": "PayByBandwidth"
		},
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cbpName": "test_cbp",
			"bandwidth": "5",
			"instanceChargeType": "PostPaid",
			"internetChargeType": "PayByBandwidth"
		}
	]
}"#;
    let (status, answer) = t
        .post_raw("/alicloud/v1/vpc/eip/allocate", allocate_example)
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["resultCode"], "0", "{answer}");
    let (a, b) = (output(&answer, 0).clone(), output(&answer, 1).clone());
    for out in [&a, &b] {
        assert_eq!(out["guid"], "0033_0000000001");
        assert_eq!(out["errorCode"], "0");
        assert_eq!(out["cbpName"], "test_cbp");
        assert!(
            out["allocationId"].as_str().unwrap().starts_with("eip-"),
            "{out}"
        );
        assert_eq!(
            out["eipAddress"].as_str().unwrap().split('.').count(),
            4,
            "{out}"
        );
    }
    assert_ne!(a["allocationId"], b["allocationId"]);
    assert_eq!(
        a["cbpId"], b["cbpId"],
        "one bandwidth package, found by name"
    );
    let cbp = a["cbpId"].as_str().unwrap().to_owned();
    assert_eq!(t.aliyun().ids(REGION, "cbwp"), [cbp.as_str()]);
    let eip_a = a["allocationId"].as_str().unwrap().to_owned();
    let eip_b = b["allocationId"].as_str().unwrap().to_owned();
    assert_eq!(eip(&t, &eip_a).1, cbp);

    let nat_example = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"name": "test_nat",
			"vpcId": "vpc-t4nu397hag3n2u0cnftv7",
			"vSwitchId": "vsw-t4nmkrt4iw96bzliflzy1",
			"spec": "Small",
			"instanceChargeType": "PostPaid",
			"description": "test nat"
		}
	]
}"#
    .replace("vpc-t4nu397hag3n2u0cnftv7", &vpc)
    .replace("vsw-t4nmkrt4iw96bzliflzy1", &vswitch);
    let before = clock.now_ms();
    let out = post_example(&t, "vpc/nat/create", &nat_example).await;
    assert!(clock.now_ms() - before >= 5_000, "waited until Available");
    let nat = out["natGatewayId"].as_str().unwrap().to_owned();
    let table = out["snatTableId"].as_str().unwrap().to_owned();
    assert!(
        nat.starts_with("ngw-") && table.starts_with("stb-"),
        "{out}"
    );

    // eip/associate binds the first EIP to the NAT gateway; un-associate frees it again.
    let associate = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"allocationId": "eip-t4nxfcb1xc08dbkknjg6x",
			"instanceId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"instanceType": "Nat"
		}
	]
}"#
    .replace("eip-t4nxfcb1xc08dbkknjg6x", &eip_a)
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat);
    post_example(&t, "vpc/eip/associate", &associate).await;
    assert_eq!(eip(&t, &eip_a).0, nat);
    assert_eq!(
        t.aliyun().status(REGION, "eip", &eip_a).as_deref(),
        Some("Available"),
        "past Associating"
    );
    post_example(&t, "vpc/eip/associate", &associate).await;
    let unassociate = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"allocationId": "eip-t4nxfcb1xc08dbkknjg6x",
			"instanceId": "ngw-t4nkybnb2eb9c1qm64wuo"
		}
	]
}"#
    .replace("eip-t4nxfcb1xc08dbkknjg6x", &eip_a)
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat);
    post_example(&t, "vpc/eip/un-associate", &unassociate).await;
    assert_eq!(eip(&t, &eip_a).0, "");
    post_example(&t, "vpc/eip/un-associate", &unassociate).await;

    let (ip_a, ip_b) = (
        a["eipAddress"].as_str().unwrap(),
        b["eipAddress"].as_str().unwrap(),
    );
    let (eip_c, ip_c) = allocate(&t).await;
    let snat = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"natId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"snatTableId": "stb-t4n2yfn8z2m5ktu1o60pr",
			"snatIp": "[xx.xx.xx.xx,xx.xx.xx.xx]",
			"sourceVSwitchId": "vsw-t4nmkrt4iw96bzliflzy1",
			"snatEntryName": "test_snat_entry"
		}
	]
}"#
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat)
    .replace("stb-t4n2yfn8z2m5ktu1o60pr", &table)
    .replace("[xx.xx.xx.xx,xx.xx.xx.xx]", &format!("[{ip_a},{ip_b}]"))
    .replace("vsw-t4nmkrt4iw96bzliflzy1", &vswitch);
    let out = post_example(&t, "vpc/nat/snat_entry/create", &snat).await;
    let entry = out["snatEntryId"].as_str().unwrap().to_owned();
    assert!(entry.starts_with("snat-"), "{out}");
    assert_eq!(eip(&t, &eip_a).0, nat, "bound to the gateway for the entry");
    assert_eq!(eip(&t, &eip_b).0, nat);
    let snat_ips = || {
        t.aliyun()
            .attr(REGION, "snat", &entry, "SnatIp")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(snat_ips(), format!("{ip_a},{ip_b}"));
    // The same entry again is returned, not created twice.
    let again = post_example(&t, "vpc/nat/snat_entry/create", &snat).await;
    assert_eq!(again["snatEntryId"], entry.as_str());

    let append = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"natId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"snatTableId": "stb-t4n2yfn8z2m5ktu1o60pr",
			"snatIp": "[xx.xx.xx.xx,xx.xx.xx.xx]",
			"snatEntryId": "snat-t4nimzwmoc4a42rrxo6hn"
		}
	]
}"#
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat)
    .replace("stb-t4n2yfn8z2m5ktu1o60pr", &table)
    .replace("[xx.xx.xx.xx,xx.xx.xx.xx]", &format!("[{ip_b},{ip_c}]"))
    .replace("snat-t4nimzwmoc4a42rrxo6hn", &entry);
    post_example(&t, "vpc/nat/snat_entry/modify/append", &append).await;
    assert_eq!(snat_ips(), format!("{ip_a},{ip_b},{ip_c}"));
    assert_eq!(eip(&t, &eip_c).0, nat);

    let remove = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"natId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"snatTableId": "stb-t4n2yfn8z2m5ktu1o60pr",
			"snatIp": "[xx.xx.xx.xx]",
			"snatEntryId": "snat-t4nimzwmoc4a42rrxo6hn"
		}
	]
}"#
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat)
    .replace("stb-t4n2yfn8z2m5ktu1o60pr", &table)
    .replace("[xx.xx.xx.xx]", &format!("[{ip_a}]"))
    .replace("snat-t4nimzwmoc4a42rrxo6hn", &entry);
    post_example(&t, "vpc/nat/snat_entry/modify/remove", &remove).await;
    assert_eq!(snat_ips(), format!("{ip_b},{ip_c}"));
    assert_eq!(eip(&t, &eip_a).0, "", "the removed EIP is unbound");
    post_example(&t, "vpc/nat/snat_entry/modify/remove", &remove).await;

    let delete_entry = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"natId": "ngw-t4nkybnb2eb9c1qm64wuo",
			"snatTableId": "stb-t4n2yfn8z2m5ktu1o60pr",
			"snatEntryId": "snat-t4nimzwmoc4a42rrxo6hn"
		}
	]
}"#
    .replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat)
    .replace("stb-t4n2yfn8z2m5ktu1o60pr", &table)
    .replace("snat-t4nimzwmoc4a42rrxo6hn", &entry);
    post_example(&t, "vpc/nat/snat_entry/delete", &delete_entry).await;
    assert!(t.aliyun().ids(REGION, "snat").is_empty());
    assert_eq!(eip(&t, &eip_b).0, "");
    assert_eq!(eip(&t, &eip_c).0, "");
    post_example(&t, "vpc/nat/snat_entry/delete", &delete_entry).await;

    // The spec has no example for nat/delete; this one follows its input table.
    let nat_delete = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"natGatewayId": "ngw-t4nkybnb2eb9c1qm64wuo"
		}
	]
}"#;
    post_example(&t, "vpc/eip/associate", &associate).await;
    let before = clock.now_ms();
    post_example(
        &t,
        "vpc/nat/delete",
        &nat_delete.replace("ngw-t4nkybnb2eb9c1qm64wuo", &nat),
    )
    .await;
    assert!(clock.now_ms() - before >= 5_000, "waited until gone");
    assert!(t.aliyun().ids(REGION, "ngw").is_empty());
    assert_eq!(eip(&t, &eip_a).0, "", "its EIP is unbound, not released");
    post_example(&t, "vpc/nat/delete", nat_delete).await;

    let release = r#"{
	"inputs": [
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cbpName": "test_cbp",
			"allocationId": "eip-t4nxfcb1xc08dbkknjg6x"
		},
		{
			"guid":"0033_0000000001",
			"identityParams": "accessKeyId=*******;secret=*******",
			"cloudParams": "regionId=ap-southeast-1",
			"cbpName": "test_cbp",
			"allocationId": "eip-t4nwk9pcc41nuxwh1cgui"
		}
	]
}"#;
    let mine = release
        .replace("eip-t4nxfcb1xc08dbkknjg6x", &eip_a)
        .replace("eip-t4nwk9pcc41nuxwh1cgui", &eip_b);
    let (_, answer) = t.post_raw("/alicloud/v1/vpc/eip/release", mine).await;
    assert_eq!(answer["resultCode"], "0", "{answer}");
    assert_eq!(t.aliyun().ids(REGION, "eip"), [eip_c]);
    assert_eq!(t.aliyun().ids(REGION, "cbwp"), [cbp], "the package stays");
    let (_, answer) = t.post_raw("/alicloud/v1/vpc/eip/release", release).await;
    assert_eq!(
        answer["resultCode"], "0",
        "verbatim: absent EIPs count as released"
    );
}

#[tokio::test]
async fn nat_and_eip_creates_are_idempotent_and_errors_are_clear() {
    let (t, _clock) = start().await;
    let vpc = create_vpc(&t, "10.21.0.0/16").await;
    let nat = post_ok(&t, "vpc/nat/create", json!({"vpcId": vpc})).await;
    let id = nat["natGatewayId"].as_str().unwrap();
    let again = post_ok(
        &t,
        "vpc/nat/create",
        json!({"natGatewayId": id, "vpcId": vpc}),
    )
    .await;
    assert_eq!(again, nat);
    assert_eq!(t.aliyun().ids(REGION, "ngw").len(), 1);

    let (eip_id, ip) = allocate(&t).await;
    let out: Value = post_ok(&t, "vpc/eip/allocate", json!({"allocationId": eip_id})).await;
    assert_eq!(out["eipAddress"], ip.as_str());
    assert_eq!(out["cbpId"], "");
    assert_eq!(t.aliyun().ids(REGION, "eip").len(), 1);

    let table = nat["snatTableId"].as_str().unwrap();
    let e = post_err(
        &t,
        "vpc/nat/snat_entry/create",
        json!({"natId": id, "snatTableId": table,
        "snatIp": "[203.0.113.9]", "sourceCIDR": "10.21.0.0/24"}),
    )
    .await;
    assert_eq!(e, "no EIP has the address 203.0.113.9");
    let e = post_err(
        &t,
        "vpc/nat/snat_entry/create",
        json!({"natId": id, "snatTableId": "stb-nope",
        "snatIp": ip, "sourceCIDR": "10.21.0.0/24"}),
    )
    .await;
    assert!(e.contains("Code=InvalidSnatTableId.NotFound"), "{e}");
    let entry = post_ok(
        &t,
        "vpc/nat/snat_entry/create",
        json!({"natId": id, "snatTableId": table,
        "snatIp": ip, "sourceCIDR": "10.21.0.0/24"}),
    )
    .await["snatEntryId"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = post_err(
        &t,
        "vpc/nat/snat_entry/modify/remove",
        json!({"natId": id, "snatTableId": table,
        "snatEntryId": entry, "snatIp": ip}),
    )
    .await;
    assert!(e.contains("delete the entry instead"), "{e}");
    // The EIP serves the entry: Alibaba refuses to unbind it, and the message says why.
    let e = post_err(
        &t,
        "vpc/eip/un-associate",
        json!({"allocationId": eip_id, "instanceId": id}),
    )
    .await;
    assert!(
        e.contains("Code=InvalidIpStatus.HasBeenUsedBySnatTable"),
        "{e}"
    );
    let e = post_err(&t, "vpc/eip/release", json!({"allocationId": eip_id})).await;
    assert!(e.contains("Code=IncorrectEipStatus"), "{e}");
    let e = post_err(
        &t,
        "vpc/eip/associate",
        json!({"allocationId": "eip-nope", "instanceId": id,
        "instanceType": "Nat"}),
    )
    .await;
    assert_eq!(e, "EIP eip-nope does not exist");
    let e = post_err(&t, "vpc/nat/create", json!({"vpcId": "vpc-nope"})).await;
    assert!(e.contains("Code=InvalidVpcId.NotFound"), "{e}");
}
