//! The Tencent simulator's subnets, route tables (with routes) and security groups.

use broker_sim::{TencentSim, TencentSimConfig};
use serde_json::{Value, json};

use crate::tc3_client::{Call, error_code};

const REGION: &str = "ap-guangzhou";

async fn sim() -> TencentSim {
    TencentSim::spawn(TencentSimConfig::default())
        .await
        .expect("simulator starts")
}

/// Calls `action` and asserts it succeeded.
async fn ok(sim: &TencentSim, action: &str, body: Value) -> Value {
    let response = Call::vpc(action, body).send(&sim.url()).await;
    assert_eq!(error_code(&response), None, "{action}: {response}");
    response
}

/// Calls `action` and returns its error code.
async fn code(sim: &TencentSim, action: &str, body: Value) -> String {
    let response = Call::vpc(action, body).send(&sim.url()).await;
    error_code(&response)
        .unwrap_or_else(|| panic!("{action} succeeded: {response}"))
        .to_owned()
}

async fn vpc(sim: &TencentSim, cidr: &str) -> String {
    let response = ok(sim, "CreateVpc", json!({"VpcName": "v", "CidrBlock": cidr})).await;
    response["Vpc"]["VpcId"].as_str().unwrap().to_owned()
}

async fn subnet(sim: &TencentSim, vpc_id: &str, cidr: &str) -> Value {
    ok(
        sim,
        "CreateSubnet",
        json!({"VpcId": vpc_id, "SubnetName": "s", "CidrBlock": cidr, "Zone": "ap-guangzhou-3"}),
    )
    .await["Subnet"]
        .clone()
}

#[tokio::test]
async fn a_new_vpc_has_a_main_route_table_that_cannot_be_deleted() {
    let sim = sim().await;
    let vpc_id = vpc(&sim, "10.0.0.0/16").await;
    let main = sim.main_route_table(REGION, &vpc_id).expect("main table");
    let described = ok(
        &sim,
        "DescribeRouteTables",
        json!({"RouteTableIds": [main]}),
    )
    .await;
    assert_eq!(described["TotalCount"], 1);
    let table = &described["RouteTableSet"][0];
    assert_eq!(table["VpcId"], vpc_id.as_str());
    assert_eq!(table["Main"], true);
    assert_eq!(table["AssociationSet"], json!([]));
    assert_eq!(
        code(&sim, "DeleteRouteTable", json!({"RouteTableId": main})).await,
        "UnsupportedOperation"
    );
    // Deleting the VPC takes its main table with it.
    ok(&sim, "DeleteVpc", json!({"VpcId": vpc_id})).await;
    assert!(sim.route_table_ids(REGION).is_empty());
}

#[tokio::test]
async fn a_subnet_is_created_in_its_vpc_described_and_deleted() {
    let sim = sim().await;
    let vpc_id = vpc(&sim, "10.0.0.0/16").await;
    let created = subnet(&sim, &vpc_id, "10.0.1.0/24").await;
    let id = created["SubnetId"].as_str().unwrap();
    assert!(id.starts_with("subnet-") && id.len() == 15, "{id}");
    assert_eq!(created["VpcId"], vpc_id.as_str());
    assert_eq!(created["Zone"], "ap-guangzhou-3");
    assert_eq!(created["CidrBlock"], "10.0.1.0/24");
    assert_eq!(created["TotalIpAddressCount"], 256);
    assert_eq!(
        created["RouteTableId"].as_str(),
        sim.main_route_table(REGION, &vpc_id).as_deref()
    );
    let described = ok(&sim, "DescribeSubnets", json!({"SubnetIds": [id]})).await;
    assert_eq!(described["SubnetSet"][0], created);
    assert_eq!(
        code(&sim, "DeleteVpc", json!({"VpcId": vpc_id})).await,
        "ResourceInUse"
    );
    ok(&sim, "DeleteSubnet", json!({"SubnetId": id})).await;
    assert_eq!(
        code(&sim, "DescribeSubnets", json!({"SubnetIds": [id]})).await,
        "ResourceNotFound"
    );
    assert_eq!(
        code(&sim, "DeleteSubnet", json!({"SubnetId": id})).await,
        "ResourceNotFound"
    );
    ok(&sim, "DeleteVpc", json!({"VpcId": vpc_id})).await;
}

#[tokio::test]
async fn subnet_blocks_must_lie_in_the_vpc_and_not_overlap() {
    let sim = sim().await;
    let vpc_id = vpc(&sim, "10.0.0.0/16").await;
    subnet(&sim, &vpc_id, "10.0.1.0/24").await;
    let create = |vpc: &str, cidr: &str, zone: &str| json!({"VpcId": vpc, "SubnetName": "s", "CidrBlock": cidr, "Zone": zone});
    for (body, expected) in [
        (
            create(&vpc_id, "10.1.0.0/24", "ap-guangzhou-3"),
            "InvalidParameterValue.SubnetRange",
        ),
        (
            create(&vpc_id, "10.0.0.0/8", "ap-guangzhou-3"),
            "InvalidParameterValue.SubnetRange",
        ),
        (
            create(&vpc_id, "10.0.1.0/25", "ap-guangzhou-3"),
            "InvalidParameterValue.SubnetConflict",
        ),
        (
            create(&vpc_id, "10.0.0.0/23", "ap-guangzhou-3"),
            "InvalidParameterValue.SubnetConflict",
        ),
        (
            create(&vpc_id, "10.0.2.1/24", "ap-guangzhou-3"),
            "InvalidParameterValue.Malformed",
        ),
        (
            create(&vpc_id, "10.0.2.0/24", "ap-shanghai-1"),
            "InvalidParameterValue.Zone",
        ),
        (
            create("vpc-00000000", "10.0.2.0/24", "ap-guangzhou-3"),
            "ResourceNotFound",
        ),
        (
            create("vpc-BAD", "10.0.2.0/24", "ap-guangzhou-3"),
            "InvalidParameterValue.Malformed",
        ),
    ] {
        assert_eq!(
            code(&sim, "CreateSubnet", body.clone()).await,
            expected,
            "{body}"
        );
    }
    assert_eq!(sim.subnet_ids(REGION).len(), 1);
}

#[tokio::test]
async fn route_tables_take_associations_and_refuse_deletion_while_associated() {
    let sim = sim().await;
    let vpc_id = vpc(&sim, "10.0.0.0/16").await;
    let subnet_id = subnet(&sim, &vpc_id, "10.0.1.0/24").await["SubnetId"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = ok(
        &sim,
        "CreateRouteTable",
        json!({"VpcId": vpc_id, "RouteTableName": "rt"}),
    )
    .await;
    let table = created["RouteTable"]["RouteTableId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["RouteTable"]["Main"], false);
    ok(
        &sim,
        "ReplaceRouteTableAssociation",
        json!({"SubnetId": subnet_id, "RouteTableId": table}),
    )
    .await;
    let described = ok(
        &sim,
        "DescribeRouteTables",
        json!({"RouteTableIds": [table]}),
    )
    .await;
    assert_eq!(
        described["RouteTableSet"][0]["AssociationSet"],
        json!([{"SubnetId": subnet_id, "RouteTableId": table}])
    );
    assert_eq!(
        code(&sim, "DeleteRouteTable", json!({"RouteTableId": table})).await,
        "ResourceInUse"
    );
    // A table of another VPC cannot take the subnet.
    let other = vpc(&sim, "10.1.0.0/16").await;
    let other_main = sim.main_route_table(REGION, &other).unwrap();
    assert_eq!(
        code(
            &sim,
            "ReplaceRouteTableAssociation",
            json!({"SubnetId": subnet_id, "RouteTableId": other_main})
        )
        .await,
        "UnsupportedOperation.VpcMismatch"
    );
    let main = sim.main_route_table(REGION, &vpc_id).unwrap();
    ok(
        &sim,
        "ReplaceRouteTableAssociation",
        json!({"SubnetId": subnet_id, "RouteTableId": main}),
    )
    .await;
    ok(&sim, "DeleteRouteTable", json!({"RouteTableId": table})).await;
    assert_eq!(
        code(&sim, "DeleteRouteTable", json!({"RouteTableId": table})).await,
        "ResourceNotFound"
    );
    assert_eq!(
        code(
            &sim,
            "CreateRouteTable",
            json!({"VpcId": "vpc-00000000", "RouteTableName": "rt"})
        )
        .await,
        "ResourceNotFound"
    );
}

#[tokio::test]
async fn routes_get_integer_ids_conflicts_are_reported_and_deleted_routes_are_gone() {
    let sim = sim().await;
    let vpc_id = vpc(&sim, "10.0.0.0/16").await;
    let table = sim.main_route_table(REGION, &vpc_id).unwrap();
    let route = json!({"DestinationCidrBlock": "192.168.0.0/16", "GatewayType": "NAT",
        "GatewayId": "nat-12345678", "RouteDescription": "d", "Enabled": true});
    let created = ok(
        &sim,
        "CreateRoutes",
        json!({"RouteTableId": table, "Routes": [route]}),
    )
    .await;
    assert_eq!(created["TotalCount"], 1);
    let new = &created["RouteTableSet"][0]["RouteSet"][0];
    let route_id = new["RouteId"].as_u64().expect("an integer RouteId");
    assert_eq!(new["GatewayType"], "NAT");
    assert_eq!(new["RouteDescription"], "d");
    assert_eq!(sim.route_ids(REGION, &table), Some(vec![route_id]));

    let conflicts = ok(
        &sim,
        "DescribeRouteConflicts",
        json!({"RouteTableId": table, "DestinationCidrBlocks": ["192.168.0.0/16", "172.16.0.0/16"]}),
    )
    .await;
    let set = conflicts["RouteConflictSet"].as_array().unwrap();
    assert_eq!(set[0]["ConflictSet"][0]["RouteId"], route_id);
    assert_eq!(set[1]["ConflictSet"], json!([]));
    assert_eq!(
        code(
            &sim,
            "CreateRoutes",
            json!({"RouteTableId": table, "Routes": [route]})
        )
        .await,
        "InvalidParameterValue.Duplicate"
    );
    let mut lower = route.clone();
    lower["GatewayType"] = json!("nat");
    lower["DestinationCidrBlock"] = json!("172.16.0.0/16");
    assert_eq!(
        code(
            &sim,
            "CreateRoutes",
            json!({"RouteTableId": table, "Routes": [lower]})
        )
        .await,
        "InvalidParameterValue"
    );

    let deleted = ok(
        &sim,
        "DeleteRoutes",
        json!({"RouteTableId": table, "Routes": [{"RouteId": route_id}]}),
    )
    .await;
    assert_eq!(deleted["RouteSet"][0]["RouteId"], route_id);
    assert_eq!(sim.route_ids(REGION, &table), Some(vec![]));
    assert_eq!(
        code(
            &sim,
            "DeleteRoutes",
            json!({"RouteTableId": table, "Routes": [{"RouteId": route_id}]})
        )
        .await,
        "ResourceNotFound"
    );
}

#[tokio::test]
async fn a_security_group_is_created_described_and_deleted_per_region() {
    let sim = sim().await;
    let created = ok(
        &sim,
        "CreateSecurityGroup",
        json!({"GroupName": "web", "GroupDescription": "PluginAccess"}),
    )
    .await["SecurityGroup"]
        .clone();
    let id = created["SecurityGroupId"].as_str().unwrap();
    assert!(id.starts_with("sg-") && id.len() == 11, "{id}");
    assert_eq!(created["SecurityGroupName"], "web");
    assert_eq!(created["SecurityGroupDesc"], "PluginAccess");
    let described = ok(
        &sim,
        "DescribeSecurityGroups",
        json!({"SecurityGroupIds": [id]}),
    )
    .await;
    assert_eq!(described["SecurityGroupSet"][0], created);
    let mut shanghai = Call::vpc("DescribeSecurityGroups", json!({"SecurityGroupIds": [id]}));
    shanghai.region = Some("ap-shanghai".into());
    assert_eq!(
        error_code(&shanghai.send(&sim.url()).await),
        Some("ResourceNotFound")
    );
    assert_eq!(
        code(
            &sim,
            "DescribeSecurityGroups",
            json!({"SecurityGroupIds": ["sg-BAD"]})
        )
        .await,
        "InvalidParameterValue.Malformed"
    );
    ok(&sim, "DeleteSecurityGroup", json!({"SecurityGroupId": id})).await;
    assert!(sim.security_group_ids(REGION).is_empty());
    assert_eq!(
        code(&sim, "DeleteSecurityGroup", json!({"SecurityGroupId": id})).await,
        "ResourceNotFound"
    );
}
