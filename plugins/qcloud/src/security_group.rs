//! `security-group/create` and `security-group/terminate`: `DescribeSecurityGroups`,
//! `CreateSecurityGroup`, `DeleteSecurityGroup`. One output per input (the original plugin
//! grouped inputs by name and required rule fields the spec does not list).

use broker_sdk::ErrorMessage;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::json;

use crate::common::{self, Common, Resource, TerminateArgs};

/// How `DescribeSecurityGroups`, `CreateSecurityGroup` and `DeleteSecurityGroup` name things.
pub const SECURITY_GROUP: Resource = Resource {
    plural: "security groups",
    describe: "DescribeSecurityGroups",
    ids_param: "SecurityGroupIds",
    set_key: "SecurityGroupSet",
    id_field: "SecurityGroupId",
    create: "CreateSecurityGroup",
    created_key: "SecurityGroup",
    delete: "DeleteSecurityGroup",
};

/// Validated `security-group/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing security group to look up first (optional).
    pub id: Option<String>,
    /// `GroupName`.
    pub name: String,
    /// `GroupDescription`.
    pub description: String,
}

impl CreateArgs {
    /// Validate a `security-group/create` input: `guid`, `provider_params`, `name`,
    /// `description` required, `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            name: input.required_str("name")?.to_owned(),
            description: input.required_str("description")?.to_owned(),
            id: input.optional_str("id")?.map(str::to_owned),
        })
    }
}

/// Create a security group, or return the existing one when `id` names exactly one.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    common::create_or_existing(
        api,
        &SECURITY_GROUP,
        &args.common.guid,
        args.id.as_deref(),
        &json!({ "GroupName": args.name, "GroupDescription": args.description }),
    )
}

/// Delete a security group; one that is already gone counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    common::terminate(
        api,
        &SECURITY_GROUP,
        &args.common.guid,
        &args.id,
        |_| Ok(()),
    )
}

/// `POST /v1/qcloud/security-group/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    common::with_client("security-group/create", &args.common, |api| {
        create(api, &args)
    })
}

/// `POST /v1/qcloud/security-group/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    common::with_client("security-group/terminate", &args.common, |api| {
        terminate(api, &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, PARAMS, input, ok};

    #[test]
    fn create_sends_name_and_description_and_needs_no_rule_fields() {
        let args = CreateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS,
            "name": "group-test-1", "description": "PluginAccess"})))
        .unwrap();
        let api = FakeApi::new(vec![ok(
            "r-c",
            json!({"SecurityGroup": {"SecurityGroupId": "sg-12345678"}}),
        )]);
        assert_eq!(create(&api, &args).unwrap()["id"], "sg-12345678");
        assert_eq!(
            api.calls.borrow()[0],
            (
                "CreateSecurityGroup".to_owned(),
                json!({"GroupName": "group-test-1", "GroupDescription": "PluginAccess"})
            )
        );
    }
}
