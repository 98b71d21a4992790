//! Security groups of the VPC product: `CreateSecurityGroup`, `DescribeSecurityGroups`,
//! `DeleteSecurityGroup`. Ids look like `sg-xxxxxxxx`.

use serde::Serialize;
use serde_json::{Value, json};

use super::Call;
use super::error::TcError;
use super::state::{self, State};
use super::vpc::{Tag, required_name, tags};

/// `GroupDescription` limit in characters.
const MAX_DESCRIPTION_CHARS: usize = 100;

/// One security group, serialised as `DescribeSecurityGroups` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SecurityGroup {
    pub(crate) security_group_id: String,
    security_group_name: String,
    security_group_desc: String,
    project_id: String,
    is_default: bool,
    created_time: String,
    tag_set: Vec<Tag>,
    update_time: String,
}

/// `CreateSecurityGroup {GroupName, GroupDescription, ProjectId?, Tags?}` → `{SecurityGroup}`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["GroupName", "GroupDescription", "ProjectId", "Tags"])?;
    let name = required_name(p, "GroupName")?;
    let description = p.required_str("GroupDescription")?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(TcError::new(
            "InvalidParameterValue.TooLong",
            format!(
                "The value of parameter `GroupDescription` exceeds {MAX_DESCRIPTION_CHARS} characters."
            ),
        ));
    }
    let project_id = p.uint("ProjectId")?.unwrap_or(0).to_string();
    let tags = tags(p)?;
    let now = state::created_time();
    let group = SecurityGroup {
        security_group_id: state.new_id("sg"),
        security_group_name: name.to_owned(),
        security_group_desc: description.to_owned(),
        project_id,
        is_default: false,
        created_time: now.clone(),
        tag_set: tags,
        update_time: now,
    };
    state
        .security_groups
        .entry(call.region.to_owned())
        .or_default()
        .push(group.clone());
    Ok(json!({ "SecurityGroup": group }))
}

/// `DescribeSecurityGroups {SecurityGroupIds?, Offset?, Limit?}` →
/// `{TotalCount, SecurityGroupSet}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["SecurityGroupIds", "Offset", "Limit"])?;
    let ids = p.str_list("SecurityGroupIds")?;
    let groups = state
        .security_groups
        .get(call.region)
        .map_or(&[][..], Vec::as_slice);
    let (total, page) = state::describe_page(
        groups,
        ids.as_deref(),
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("sg", "SecurityGroupIds"),
        |g| &g.security_group_id,
    )?;
    Ok(json!({ "TotalCount": total, "SecurityGroupSet": page }))
}

/// `DeleteSecurityGroup {SecurityGroupId}` → `{}`.
pub(super) fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["SecurityGroupId"])?;
    let id = p.required_str("SecurityGroupId")?;
    state::check_id("sg", "SecurityGroupId", id)?;
    state::remove_by_id(state.security_groups.get_mut(call.region), id, |g| {
        &g.security_group_id
    })?;
    Ok(json!({}))
}
