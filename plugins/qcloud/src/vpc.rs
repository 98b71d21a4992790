//! `vpc/create` and `vpc/terminate` (the describe/create/delete pattern is in [`crate::common`]).
//!
//! Inputs are validated into `*Args` (pure), the logic runs against any [`TencentApi`] (pure, so
//! tested with a fake), and only `handle_*` touch the host (credential, signed HTTP, logs).

use broker_sdk::ErrorMessage;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::json;

use crate::common::{self, Common, Resource, TerminateArgs};

/// How `DescribeVpcs`, `CreateVpc` and `DeleteVpc` name things.
pub const VPC: Resource = Resource {
    plural: "VPCs",
    describe: "DescribeVpcs",
    ids_param: "VpcIds",
    set_key: "VpcSet",
    id_field: "VpcId",
    create: "CreateVpc",
    created_key: "Vpc",
    delete: "DeleteVpc",
};

/// Validated `vpc/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing VPC to look up first (optional).
    pub id: Option<String>,
    /// `VpcName`.
    pub name: String,
    /// `CidrBlock`.
    pub cidr_block: String,
}

impl CreateArgs {
    /// Validate a `vpc/create` input: `guid`, `provider_params`, `name`, `cidr_block` required,
    /// `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            name: input.required_str("name")?.to_owned(),
            cidr_block: input.required_str("cidr_block")?.to_owned(),
            id: input.optional_str("id")?.map(str::to_owned),
        })
    }
}

/// Create a VPC, or return the existing one when `id` names exactly one.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    common::create_or_existing(
        api,
        &VPC,
        &args.common.guid,
        args.id.as_deref(),
        &json!({ "VpcName": args.name, "CidrBlock": args.cidr_block }),
    )
}

/// Delete a VPC; a VPC that is already gone (before or during the call) counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    common::terminate(api, &VPC, &args.common.guid, &args.id, |_| Ok(()))
}

/// `POST /v1/qcloud/vpc/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    common::with_client("vpc/create", &args.common, |api| create(api, &args))
}

/// `POST /v1/qcloud/vpc/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    common::with_client("vpc/terminate", &args.common, |api| terminate(api, &args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, PARAMS, api_error, input, ok};
    use broker_sdk::TencentError;
    use serde_json::Value;

    fn create_args(id: Option<&str>) -> CreateArgs {
        let mut v = json!({"guid": "g1", "provider_params": PARAMS, "name": "n", "cidr_block": "10.0.0.0/16"});
        if let Some(id) = id {
            v["id"] = json!(id);
        }
        CreateArgs::from_input(&input(v)).unwrap()
    }

    fn terminate_args() -> TerminateArgs {
        TerminateArgs::from_input(&input(
            json!({"guid": "g1", "provider_params": PARAMS, "id": "vpc-1"}),
        ))
        .unwrap()
    }

    #[test]
    fn create_inputs_are_validated_before_any_call() {
        let args = create_args(Some("vpc-1"));
        assert_eq!(args.common.params.region(), "ap-shanghai");
        assert_eq!(args.id.as_deref(), Some("vpc-1"));
        assert_eq!(create_args(None).id, None);
        let missing = |v: Value| CreateArgs::from_input(&input(v)).unwrap_err().into_string();
        assert_eq!(
            missing(json!({"guid": "g", "provider_params": PARAMS, "name": "n"})),
            "missing required field \"cidr_block\""
        );
        assert_eq!(
            missing(
                json!({"guid": "g", "provider_params": "SecretID=a;SecretKey=b", "name": "n", "cidr_block": "c"})
            ),
            "provider_params is missing `Region`"
        );
        assert_eq!(
            missing(json!({"guid": "g", "provider_params": PARAMS, "name": 3, "cidr_block": "c"})),
            "field \"name\" must be a string, got number"
        );
        assert_eq!(
            missing(json!({"provider_params": PARAMS, "name": "n", "cidr_block": "c"})),
            "missing required field \"guid\""
        );
    }

    #[test]
    fn create_without_id_calls_create_vpc() {
        let api = FakeApi::new(vec![ok("r-c", json!({"Vpc": {"VpcId": "vpc-new"}}))]);
        let out = create(&api, &create_args(None)).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g1", "id": "vpc-new"})
        );
        assert_eq!(
            api.calls.borrow()[0],
            (
                "CreateVpc".to_owned(),
                json!({"VpcName": "n", "CidrBlock": "10.0.0.0/16"})
            )
        );
    }

    #[test]
    fn create_with_an_existing_id_returns_it_without_creating() {
        let api = FakeApi::new(vec![ok(
            "r-d",
            json!({"TotalCount": 1, "VpcSet": [{"VpcId": "vpc-1"}]}),
        )]);
        let out = create(&api, &create_args(Some("vpc-1"))).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-d", "guid": "g1", "id": "vpc-1"})
        );
        assert_eq!(api.actions(), ["DescribeVpcs"]);
        assert_eq!(api.calls.borrow()[0].1, json!({"VpcIds": ["vpc-1"]}));
    }

    #[test]
    fn create_with_an_unknown_id_creates() {
        for describe in [
            ok("r-d", json!({"TotalCount": 0, "VpcSet": []})),
            api_error("ResourceNotFound", "r-d"),
        ] {
            let api = FakeApi::new(vec![
                describe,
                ok("r-c", json!({"Vpc": {"VpcId": "vpc-2"}})),
            ]);
            let out = create(&api, &create_args(Some("vpc-gone"))).unwrap();
            assert_eq!(out["id"], "vpc-2");
            assert_eq!(out["request_id"], "r-c");
            assert_eq!(api.actions(), ["DescribeVpcs", "CreateVpc"]);
        }
    }

    #[test]
    fn create_fails_on_several_matches_other_errors_and_an_empty_vpc_id() {
        let api = FakeApi::new(vec![ok("r-d", json!({"TotalCount": 2}))]);
        let e = create(&api, &create_args(Some("vpc-1"))).unwrap_err();
        assert!(e.as_str().contains("found 2 VPCs"), "{e}");

        let api = FakeApi::new(vec![api_error("AuthFailure.SignatureFailure", "r-x")]);
        assert_eq!(
            create(&api, &create_args(Some("vpc-1")))
                .unwrap_err()
                .as_str(),
            "[TencentCloudSDKError] Code=AuthFailure.SignatureFailure, Message=msg, RequestId=r-x"
        );

        for body in [json!({"Vpc": {"VpcId": ""}}), json!({})] {
            let api = FakeApi::new(vec![ok("r-c", body)]);
            let e = create(&api, &create_args(None)).unwrap_err();
            assert_eq!(
                e.as_str(),
                "CreateVpc succeeded but returned no VpcId (RequestId=r-c)"
            );
        }
    }

    #[test]
    fn terminate_deletes_an_existing_vpc() {
        let api = FakeApi::new(vec![
            ok(
                "r-d",
                json!({"TotalCount": 1, "VpcSet": [{"VpcId": "vpc-1"}]}),
            ),
            ok("r-del", json!({})),
        ]);
        let out = terminate(&api, &terminate_args()).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-del", "guid": "g1", "id": "vpc-1"})
        );
        assert_eq!(api.calls.borrow()[1].1, json!({"VpcId": "vpc-1"}));
    }

    #[test]
    fn terminate_of_a_missing_vpc_succeeds_without_deleting() {
        for describe in [
            ok("r-d", json!({"TotalCount": 0, "VpcSet": []})),
            api_error("ResourceNotFound", "r-d"),
        ] {
            let api = FakeApi::new(vec![describe]);
            let out = terminate(&api, &terminate_args()).unwrap();
            assert_eq!(
                Value::Object(out),
                json!({"request_id": "r-d", "guid": "g1", "id": "vpc-1"})
            );
            assert_eq!(api.actions(), ["DescribeVpcs"]);
        }
    }

    #[test]
    fn terminate_treats_a_raced_delete_as_success_and_reports_other_errors() {
        let api = FakeApi::new(vec![
            ok("r-d", json!({"TotalCount": 1})),
            api_error("ResourceNotFound", "r-del"),
        ]);
        assert_eq!(
            terminate(&api, &terminate_args()).unwrap()["request_id"],
            "r-del"
        );

        let api = FakeApi::new(vec![
            ok("r-d", json!({"TotalCount": 1})),
            api_error("ResourceInUse", "r-del"),
        ]);
        assert_eq!(
            terminate(&api, &terminate_args()).unwrap_err().as_str(),
            "[TencentCloudSDKError] Code=ResourceInUse, Message=msg, RequestId=r-del"
        );

        let api = FakeApi::new(vec![Err(TencentError::Http("egress denied: x".into()))]);
        assert!(terminate(&api, &terminate_args()).is_err());
    }

    #[test]
    fn terminate_requires_an_id() {
        let e = TerminateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS})))
            .unwrap_err();
        assert_eq!(e.as_str(), "missing required field \"id\"");
    }
}
