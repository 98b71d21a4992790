//! The Tencent simulator's NAT gateways, EIPs and VPC peering connections, whose lifecycles
//! follow a manual clock.

use std::sync::Arc;

use broker_sim::{ManualSimClock, TencentSim, TencentSimConfig};
use serde_json::{Value, json};

use crate::tc3_client::{Call, error_code};

const REGION: &str = "ap-guangzhou";

async fn sim() -> (TencentSim, Arc<ManualSimClock>) {
    let clock = Arc::new(ManualSimClock::starting_at(1_000_000));
    let sim = TencentSim::spawn(TencentSimConfig {
        clock: clock.clone(),
        ..TencentSimConfig::default()
    })
    .await
    .expect("simulator starts");
    (sim, clock)
}

/// A `vpc` call in `region`.
fn in_region(region: &str, action: &str, body: Value) -> Call {
    Call {
        region: Some(region.into()),
        ..Call::vpc(action, body)
    }
}

async fn ok(sim: &TencentSim, call: Call) -> Value {
    let action = call.action.clone();
    let response = call.send(&sim.url()).await;
    assert_eq!(error_code(&response), None, "{action}: {response}");
    response
}

async fn code(sim: &TencentSim, call: Call) -> String {
    let action = call.action.clone();
    let response = call.send(&sim.url()).await;
    error_code(&response)
        .unwrap_or_else(|| panic!("{action} succeeded: {response}"))
        .to_owned()
}

async fn vpc(sim: &TencentSim, region: &str, cidr: &str) -> String {
    let call = in_region(
        region,
        "CreateVpc",
        json!({"VpcName": "v", "CidrBlock": cidr}),
    );
    ok(sim, call).await["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn nat(sim: &TencentSim, id: &str) -> Value {
    let call = Call::vpc("DescribeNatGateways", json!({"NatGatewayIds": [id]}));
    ok(sim, call).await["NatGatewaySet"][0].clone()
}

async fn eips_of(sim: &TencentSim, instance: &str) -> Vec<Value> {
    let filter = json!({"Filters": [{"Name": "instance-id", "Values": [instance]}]});
    ok(sim, Call::vpc("DescribeAddresses", filter)).await["AddressSet"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_nat_gateway_comes_up_binds_its_eips_and_releases_only_those_it_allocated() {
    let (sim, clock) = sim().await;
    let vpc = vpc(&sim, REGION, "10.0.0.0/16").await;
    let (own_id, own_ip) = sim.allocate_address(REGION);
    let created = ok(
        &sim,
        Call::vpc(
            "CreateNatGateway",
            json!({"VpcId": vpc, "NatGatewayName": "n", "AddressCount": 2, "PublicIpAddresses": [own_ip]}),
        ),
    )
    .await;
    let id = created["NatGatewaySet"][0]["NatGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["NatGatewaySet"][0]["State"], "PENDING");
    assert_eq!(created["NatGatewaySet"][0]["InternetMaxBandwidthOut"], 100);
    let eips = eips_of(&sim, &id).await;
    assert_eq!(eips.len(), 3);
    assert!(
        eips.iter().all(|e| e["AddressStatus"] == "BINDING"),
        "{eips:?}"
    );
    assert_eq!(
        eips.iter().filter(|e| e["CascadeRelease"] == true).count(),
        2
    );

    // Not deletable while it is being set up.
    let delete = || Call::vpc("DeleteNatGateway", json!({"NatGatewayId": id}));
    assert_eq!(
        code(&sim, delete()).await,
        "UnsupportedOperation.NatGatewayStatusNotPermit"
    );
    // A bound EIP cannot be released.
    let release = Call::vpc("ReleaseAddresses", json!({"AddressIds": [own_id]}));
    assert_eq!(
        code(&sim, release).await,
        "UnsupportedOperation.AddressStatusNotPermit"
    );

    clock.advance_ms(60_000);
    let gateway = nat(&sim, &id).await;
    assert_eq!(gateway["State"], "AVAILABLE");
    assert_eq!(gateway["PublicIpAddressSet"].as_array().unwrap().len(), 3);
    assert!(
        eips_of(&sim, &id)
            .await
            .iter()
            .all(|e| e["AddressStatus"] == "BIND")
    );
    // Its VPC cannot be deleted meanwhile.
    let delete_vpc = Call::vpc("DeleteVpc", json!({"VpcId": vpc}));
    assert_eq!(code(&sim, delete_vpc).await, "ResourceInUse");

    ok(&sim, delete()).await;
    assert_eq!(nat(&sim, &id).await["State"], "DELETING");
    assert!(
        eips_of(&sim, &id)
            .await
            .iter()
            .all(|e| e["AddressStatus"] == "UNBINDING")
    );
    clock.advance_ms(30_000);
    let gone = Call::vpc("DescribeNatGateways", json!({"NatGatewayIds": [id]}));
    assert_eq!(code(&sim, gone).await, "ResourceNotFound");
    assert_eq!(
        sim.addresses(REGION),
        [(own_id.clone(), "UNBIND".to_owned(), None)]
    );
    ok(
        &sim,
        Call::vpc("ReleaseAddresses", json!({"AddressIds": [own_id]})),
    )
    .await;
    assert!(sim.addresses(REGION).is_empty());
    ok(&sim, Call::vpc("DeleteVpc", json!({"VpcId": vpc}))).await;
}

#[tokio::test]
async fn nat_gateway_and_eip_parameters_get_tencents_codes() {
    let (sim, _clock) = sim().await;
    let vpc = vpc(&sim, REGION, "10.0.0.0/16").await;
    let create = |body: Value| Call::vpc("CreateNatGateway", body);
    assert_eq!(
        code(&sim, create(json!({"VpcId": vpc, "NatGatewayName": "n"}))).await,
        "MissingParameter"
    );
    assert_eq!(
        code(
            &sim,
            create(json!({"VpcId": vpc, "NatGatewayName": "n", "AddressCount": 1, "MaxConcurrentConnection": 5}))
        )
        .await,
        "InvalidParameterValue.Range"
    );
    assert_eq!(
        code(
            &sim,
            create(json!({"VpcId": "vpc-00000000", "NatGatewayName": "n", "AddressCount": 1}))
        )
        .await,
        "ResourceNotFound"
    );
    assert_eq!(
        code(
            &sim,
            create(json!({"VpcId": vpc, "NatGatewayName": "n", "PublicIpAddresses": ["1.2.3.4"]}))
        )
        .await,
        "InvalidAddressId.NotFound"
    );
    let describe = |body: Value| Call::vpc("DescribeAddresses", body);
    assert_eq!(
        code(&sim, describe(json!({"AddressIds": ["eip-00000000"]}))).await,
        "InvalidAddressId.NotFound"
    );
    assert_eq!(
        code(&sim, describe(json!({"AddressIds": ["eip-x"]}))).await,
        "InvalidParameterValue.AddressIdMalformed"
    );
    let filter = json!({"Filters": [{"Name": "address-id", "Values": ["eip-00000000"]}]});
    assert_eq!(ok(&sim, describe(filter)).await["TotalCount"], 0);
    let allocated = ok(
        &sim,
        Call::vpc("AllocateAddresses", json!({"AddressCount": 2})),
    )
    .await;
    assert_eq!(allocated["AddressSet"].as_array().unwrap().len(), 2);
    assert_eq!(sim.addresses(REGION).len(), 2);
}

#[tokio::test]
async fn peerings_are_active_at_once_after_a_cross_region_link_or_after_acceptance() {
    let (sim, clock) = sim().await;
    let a = vpc(&sim, REGION, "10.0.0.0/16").await;
    let b = vpc(&sim, REGION, "10.1.0.0/16").await;
    let far = vpc(&sim, "ap-beijing", "10.2.0.0/16").await;
    let create = |destination: &str, region: &str, uin: &str, bandwidth: Option<u64>| {
        let mut body = json!({"SourceVpcId": a, "PeeringConnectionName": "p",
            "DestinationVpcId": destination, "DestinationUin": uin, "DestinationRegion": region});
        if let Some(b) = bandwidth {
            body["Bandwidth"] = json!(b);
        }
        Call::vpc("CreateVpcPeeringConnection", body)
    };
    const OWN: &str = "100011023753";

    // Same region, same account: active at once; its VPCs are in use.
    let local = ok(&sim, create(&b, REGION, OWN, None)).await["PeeringConnectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.peering_state(&local).as_deref(), Some("ACTIVE"));
    assert_eq!(
        code(&sim, create(&b, REGION, OWN, None)).await,
        "UnsupportedOperation.VpcPeerAlreadyExist"
    );
    assert_eq!(
        code(&sim, Call::vpc("DeleteVpc", json!({"VpcId": b}))).await,
        "ResourceInUse"
    );
    let accept = |id: &str, region: &str| {
        in_region(
            region,
            "AcceptVpcPeeringConnection",
            json!({"PeeringConnectionId": id}),
        )
    };
    assert_eq!(
        code(&sim, accept(&local, REGION)).await,
        "UnsupportedOperation.PcxStatusNotPermit"
    );

    // Across regions: Bandwidth required, then PENDING until the link is up; shown in both.
    assert_eq!(
        code(&sim, create(&far, "ap-beijing", OWN, None)).await,
        "MissingParameter"
    );
    let cross = ok(&sim, create(&far, "ap-beijing", OWN, Some(10))).await["PeeringConnectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.peering_state(&cross).as_deref(), Some("PENDING"));
    assert!(sim.peering_ids("ap-beijing").contains(&cross));
    clock.advance_ms(30_000);
    assert_eq!(sim.peering_state(&cross).as_deref(), Some("ACTIVE"));
    let delete = Call::vpc(
        "DeleteVpcPeeringConnection",
        json!({"PeeringConnectionId": cross}),
    );
    ok(&sim, delete).await;
    assert_eq!(sim.peering_state(&cross).as_deref(), Some("DELETING"));
    clock.advance_ms(30_000);
    assert_eq!(sim.peering_state(&cross), None);

    // Another account: PENDING until accepted in the destination region, else it expires.
    let other = "200022334455";
    let c = vpc(&sim, REGION, "10.3.0.0/16").await;
    let d = vpc(&sim, REGION, "10.4.0.0/16").await;
    let accepted = ok(&sim, create(&c, REGION, other, None)).await["PeeringConnectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ignored = ok(&sim, create(&d, REGION, other, None)).await["PeeringConnectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.peering_state(&accepted).as_deref(), Some("PENDING"));
    ok(&sim, accept(&accepted, REGION)).await;
    assert_eq!(sim.peering_state(&accepted).as_deref(), Some("ACTIVE"));
    clock.advance_ms(7 * 24 * 3600 * 1000);
    assert_eq!(sim.peering_state(&ignored).as_deref(), Some("EXPIRED"));

    // Unknown and malformed ids.
    let delete = |id: &str| {
        Call::vpc(
            "DeleteVpcPeeringConnection",
            json!({"PeeringConnectionId": id}),
        )
    };
    assert_eq!(code(&sim, delete("pcx-00000000")).await, "ResourceNotFound");
    assert_eq!(
        code(&sim, delete("pcx-1")).await,
        "InvalidParameterValue.Malformed"
    );
    ok(&sim, delete(&local)).await;
    assert_eq!(
        sim.peering_state(&local),
        None,
        "same-region deletion is immediate"
    );
}
