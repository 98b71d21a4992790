//! `security-group/*`: groups, their rules (add, remove, modify, priority) and the instances
//! bound to them.

use broker_sdk::ErrorMessage;
use broker_sdk::cds::CdsApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{
    Ctx, Params, data, existing, items, opt_u64, run, run_and_wait, run_for_id, text,
};
use crate::vm;

/// The groups `DescribeSecurityGroups` lists for `params`.
fn list(api: &impl CdsApi, params: Params) -> Result<Vec<Value>, ErrorMessage> {
    let answer = run(api, "DescribeSecurityGroups", &params)?;
    Ok(items(data(&answer), "SecurityGroup").to_vec())
}

/// The group `id`, if it exists.
fn find(api: &impl CdsApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(list(api, Params::new().set("SecurityGroupId", id))?
        .into_iter()
        .find(|g| text(g, "SecurityGroupId") == id))
}

fn group_output(ctx: &Ctx, group: &Value) -> Output {
    let mut out = ctx.output(Some(text(group, "SecurityGroupId")));
    out.insert("name".into(), text(group, "SecurityGroupName").into());
    out.insert("type".into(), text(group, "SecurityGroupType").into());
    out.insert("description".into(), text(group, "Description").into());
    out
}

/// `security-group/create`: `name`, `description`, `type` (`public`/`private`); returns the
/// existing group when `id` names one. `CreateSecurityGroup` answers no id, so the new group is
/// the one with this name that was not there before.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some(group) = existing(input, |id| find(&api, id))? {
        return Ok(group_output(&ctx, &group));
    }
    let name = input.required_str("name")?;
    let named = |api: &_| -> Result<Vec<Value>, ErrorMessage> {
        Ok(list(api, Params::new().set("Keyword", name))?
            .into_iter()
            .filter(|g| text(g, "SecurityGroupName") == name)
            .collect())
    };
    let before: Vec<String> = named(&api)?
        .iter()
        .map(|g| text(g, "SecurityGroupId").to_owned())
        .collect();
    let params = Params::new()
        .set("SecurityGroupName", name)
        .set(
            "Description",
            input.optional_str("description")?.unwrap_or(name),
        )
        .set(
            "SecurityGroupType",
            input.optional_str("type")?.unwrap_or("private"),
        );
    run_and_wait(&api, "CreateSecurityGroup", &params)?;
    let mut new: Vec<Value> = named(&api)?
        .into_iter()
        .filter(|g| !before.iter().any(|b| b == text(g, "SecurityGroupId")))
        .collect();
    match new.len() {
        1 => Ok(group_output(&ctx, &new.remove(0))),
        n => Err(ErrorMessage::new(format!(
            "{n} new security groups are named `{name}`; cannot tell which one was created"
        ))),
    }
}

/// `security-group/terminate`: `id`, `force` (`true`: unbind instances first, as
/// `ForceDeleteSecurityGroup` does); success when it is already gone.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    if find(&api, id)?.is_some() {
        let force = matches!(input.get("force"), Some(Value::Bool(true)))
            || input.optional_str("force").ok().flatten() == Some("true");
        let action = if force {
            "ForceDeleteSecurityGroup"
        } else {
            "DeleteSecurityGroup"
        };
        run_and_wait(&api, action, &Params::new().set("SecurityGroupId", id))?;
    }
    Ok(ctx.output(Some(id)))
}

/// `security-group/add-rule`: `id` (the group), `protocol`, `target_address`, `target_port`,
/// `local_port`, `priority`, `action` (1 allow, 0 deny; default 1), `direction` (default
/// `all`), `rule_type` (default `ip`), `description`; returns the new `rule_id`.
pub fn handle_add_rule(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let protocol = input.required_str("protocol")?;
    let icmp = protocol.eq_ignore_ascii_case("ICMP");
    let port = |name: &str| -> Result<String, ErrorMessage> {
        match input.optional_str(name)? {
            Some(port) => Ok(port.to_owned()),
            None if icmp => Ok("0".to_owned()),
            None => input.required_str(name).map(str::to_owned),
        }
    };
    let params = Params::new()
        .set("SecurityGroupId", id)
        .set("Action", opt_u64(input, "action")?.unwrap_or(1).to_string())
        .set(
            "Description",
            input.optional_str("description")?.unwrap_or(protocol),
        )
        .set("TargetAddress", input.required_str("target_address")?)
        .set("TargetPort", port("target_port")?)
        .set("LocalPort", port("local_port")?)
        .set(
            "Direction",
            input.optional_str("direction")?.unwrap_or("all"),
        )
        .set(
            "Priority",
            opt_u64(input, "priority")?.unwrap_or(10).to_string(),
        )
        .set("Protocol", protocol)
        .set("RuleType", input.optional_str("rule_type")?.unwrap_or("ip"));
    let rule = run_for_id(&api, "AddSecurityGroupRule", &params)?;
    let mut out = ctx.output(Some(id));
    out.insert("rule_id".into(), rule.into());
    Ok(out)
}

/// The rules of group `id`.
fn rules(api: &impl CdsApi, id: &str) -> Result<Vec<Value>, ErrorMessage> {
    let answer = run(
        api,
        "DescribeSecurityGroupAttribute",
        &Params::new().set("SecurityGroupId", id),
    )?;
    Ok(items(data(&answer), "SecurityGroupRules").to_vec())
}

fn rule_output(ctx: &Ctx, id: &str, rule_id: &str, rule: Option<&Value>) -> Output {
    let mut out = ctx.output(Some(id));
    out.insert("rule_id".into(), rule_id.into());
    if let Some(rule) = rule {
        out.insert(
            "priority".into(),
            rule.get("Priority").cloned().unwrap_or(Value::Null),
        );
        out.insert("description".into(), text(rule, "Description").into());
    }
    out
}

/// `security-group/remove-rule`: `id`, `rule_id`; success when the rule is already gone.
pub fn handle_remove_rule(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let rule = input.required_str("rule_id")?;
    if rules(&api, id)?.iter().any(|r| text(r, "RuleId") == rule) {
        run_and_wait(
            &api,
            "RemoveSecurityGroupRule",
            &Params::new()
                .set("SecurityGroupId", id)
                .set("RuleIds", json!([rule])),
        )?;
    }
    Ok(rule_output(&ctx, id, rule, None))
}

/// Runs `action` on rule `rule_id` of group `id`, then answers the rule as it is now.
fn change_rule(input: &Input, action: &str, params: Params) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let rule = input.required_str("rule_id")?;
    run_and_wait(&api, action, &params.set("SecurityGroupId", id))?;
    let now = rules(&api, id)?;
    Ok(rule_output(
        &ctx,
        id,
        rule,
        now.iter().find(|r| text(r, "RuleId") == rule),
    ))
}

/// `security-group/modify-rule`: `id`, `rule_id`, `description`.
pub fn handle_modify_rule(input: &Input) -> Result<Output, ErrorMessage> {
    let params = Params::new()
        .set("RuleId", input.required_str("rule_id")?)
        .set("Description", input.required_str("description")?);
    change_rule(input, "ModifySecurityGroupRule", params)
}

/// `security-group/modify-rule-priority`: `id`, `rule_id`, `priority` (1–100).
pub fn handle_modify_rule_priority(input: &Input) -> Result<Output, ErrorMessage> {
    let bind = json!([{"RuleId": input.required_str("rule_id")?, "Priority": crate::common::req_u64(input, "priority")?}]);
    change_rule(
        input,
        "ModifySecurityGroupRulePriority",
        Params::new().set("BindData", bind),
    )
}

/// The `BindData` of a join or leave: `instance_id` with `private_id` or `public_id`
/// (default: the instance's first private network).
fn bind_data(api: &impl CdsApi, input: &Input) -> Result<Value, ErrorMessage> {
    let instance = input.required_str("instance_id")?;
    if let Some(public) = input.optional_str("public_id")? {
        return Ok(json!([{"InstanceId": instance, "PublicId": public}]));
    }
    let private = match input.optional_str("private_id")? {
        Some(private) => private.to_owned(),
        None => items(&vm::require(api, instance)?, "PrivateNetworkInterface")
            .first()
            .map(|n| text(n, "PrivateId").to_owned())
            .ok_or_else(|| ErrorMessage::new(format!("instance {instance} has no private network; give \"private_id\" or \"public_id\"")))?,
    };
    Ok(json!([{"InstanceId": instance, "PrivateId": private}]))
}

fn bind(input: &Input, action: &str) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let data = bind_data(&api, input)?;
    run_and_wait(
        &api,
        action,
        &Params::new()
            .set("SecurityGroupId", id)
            .set("BindData", data),
    )?;
    let mut out = ctx.output(Some(id));
    out.insert(
        "instance_id".into(),
        input.required_str("instance_id")?.into(),
    );
    Ok(out)
}

/// `security-group/join`: binds `instance_id` (on `private_id`/`public_id`) to group `id`.
pub fn handle_join(input: &Input) -> Result<Output, ErrorMessage> {
    bind(input, "JoinSecurityGroup")
}

/// `security-group/leave`: unbinds it.
pub fn handle_leave(input: &Input) -> Result<Output, ErrorMessage> {
    bind(input, "LeaveSecurityGroup")
}
