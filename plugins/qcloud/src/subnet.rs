//! `subnet/create` and `subnet/terminate`: `DescribeSubnets`, `CreateSubnet` (in the zone
//! `AvailableZone` of `provider_params`), `DeleteSubnet`.

use broker_sdk::ErrorMessage;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::json;

use crate::common::{self, Common, Resource, TerminateArgs};

/// How `DescribeSubnets`, `CreateSubnet` and `DeleteSubnet` name things.
pub const SUBNET: Resource = Resource {
    plural: "subnets",
    describe: "DescribeSubnets",
    ids_param: "SubnetIds",
    set_key: "SubnetSet",
    id_field: "SubnetId",
    create: "CreateSubnet",
    created_key: "Subnet",
    delete: "DeleteSubnet",
};

/// Validated `subnet/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing subnet to look up first (optional).
    pub id: Option<String>,
    /// `SubnetName`.
    pub name: String,
    /// `VpcId`.
    pub vpc_id: String,
    /// `CidrBlock`.
    pub cidr_block: String,
    /// `Zone`, from `AvailableZone` in `provider_params`.
    pub zone: String,
}

impl CreateArgs {
    /// Validate a `subnet/create` input: `guid`, `provider_params` (with `AvailableZone`),
    /// `name`, `vpc_id`, `cidr_block` required, `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let zone = common.params.require_zone()?.to_owned();
        Ok(Self {
            common,
            zone,
            name: input.required_str("name")?.to_owned(),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            cidr_block: input.required_str("cidr_block")?.to_owned(),
            id: input.optional_str("id")?.map(str::to_owned),
        })
    }
}

/// Create a subnet, or return the existing one when `id` names exactly one.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    common::create_or_existing(
        api,
        &SUBNET,
        &args.common.guid,
        args.id.as_deref(),
        &json!({
            "VpcId": args.vpc_id,
            "SubnetName": args.name,
            "CidrBlock": args.cidr_block,
            "Zone": args.zone,
        }),
    )
}

/// Delete a subnet; one that is already gone counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    common::terminate(api, &SUBNET, &args.common.guid, &args.id, |_| Ok(()))
}

/// `POST /v1/qcloud/subnet/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    common::with_client("subnet/create", &args.common, |api| create(api, &args))
}

/// `POST /v1/qcloud/subnet/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    common::with_client("subnet/terminate", &args.common, |api| {
        terminate(api, &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, PARAMS, api_error, input, ok};
    use serde_json::Value;

    #[test]
    fn create_needs_the_zone_and_sends_it_with_vpc_name_and_block() {
        let v = json!({"guid": "g", "provider_params": "Region=ap-shanghai;SecretID=a;SecretKey=b",
            "name": "s", "vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24"});
        assert_eq!(
            CreateArgs::from_input(&input(v)).unwrap_err().as_str(),
            "provider_params is missing `AvailableZone`"
        );
        let args = CreateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS,
            "name": "s", "vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24", "id": "subnet-gone"})))
        .unwrap();
        let api = FakeApi::new(vec![
            api_error("ResourceNotFound", "r-d"),
            ok("r-c", json!({"Subnet": {"SubnetId": "subnet-new"}})),
        ]);
        let out = create(&api, &args).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "subnet-new"})
        );
        assert_eq!(api.actions(), ["DescribeSubnets", "CreateSubnet"]);
        assert_eq!(
            api.calls.borrow()[0].1,
            json!({"SubnetIds": ["subnet-gone"]})
        );
        assert_eq!(
            api.calls.borrow()[1].1,
            json!({"VpcId": "vpc-1", "SubnetName": "s", "CidrBlock": "10.0.1.0/24", "Zone": "ap-shanghai-1"})
        );
    }
}
