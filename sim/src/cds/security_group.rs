//! The `/ccs` security group actions (the classic API: groups, rules, bindings).

use serde_json::{Map, Value, json};

use super::error::CdsError;
use super::params::Params;
use super::state::{Rule, SecurityGroup, State, new_id};
use super::{Call, created_text, with_task};

fn group<'a>(state: &'a mut State, id: &str) -> Result<&'a mut SecurityGroup, CdsError> {
    state
        .security_groups
        .get_mut(id)
        .ok_or_else(|| CdsError::not_found("SecurityGroupNotFound", "security group", id))
}

/// A synchronous answer: `TaskId` empty, `Data` empty.
fn done() -> Value {
    json!({"Code": "Success", "Message": "Success.", "Data": {}, "TaskId": ""})
}

/// `CreateSecurityGroup`: `SecurityGroupName`, `Description`, `SecurityGroupType`; synchronous,
/// and (as the spec shows) the answer does not name the new group.
pub fn create(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let name = p.str("SecurityGroupName")?;
    let description = p.str("Description")?;
    let kind = p.str("SecurityGroupType")?;
    if !matches!(kind.as_str(), "public" | "private") {
        return Err(CdsError::invalid_parameter_value("SecurityGroupType"));
    }
    let id = new_id();
    let created = created_text(call.now_ms);
    state.security_groups.insert(
        id.clone(),
        SecurityGroup {
            id,
            name,
            description,
            kind,
            rules: Vec::new(),
            bindings: Vec::new(),
            created,
        },
    );
    Ok(done())
}

/// `DeleteSecurityGroup`: refused while instances are bound.
pub fn delete(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    if !group(state, &id)?.bindings.is_empty() {
        return Err(CdsError::in_use("security group"));
    }
    state.security_groups.remove(&id);
    Ok(done())
}

/// `ForceDeleteSecurityGroup`: unbinds every instance, then deletes (a task).
pub fn force_delete(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    group(state, &id)?;
    let (apply, task) = state.start_task("forceDeleteSecurityGroup", call.now_ms, vec![id.clone()]);
    if apply {
        state.security_groups.remove(&id);
    }
    Ok(json!({"Code": "Success", "Message": "Success.", "Data": {}, "TaskId": task}))
}

fn rule_json(rule: &Rule) -> Value {
    let mut m = rule.fields.clone();
    m.insert("RuleId".into(), json!(rule.id));
    m.insert("Status".into(), json!("ok"));
    Value::Object(m)
}

/// `DescribeSecurityGroupAttribute`: the group's rules (or one, with `RuleId`).
pub fn describe_attribute(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    let rule = call.params.opt_str("RuleId");
    let g = group(state, &id)?;
    let rules: Vec<Value> = g
        .rules
        .iter()
        .filter(|r| rule.as_ref().is_none_or(|id| &r.id == id))
        .map(rule_json)
        .collect();
    Ok(json!({
        "Code": "Success",
        "Message": "Success.",
        "Data": {
            "SecurityGroupType": g.kind,
            "SecurityGroupRuleCount": rules.len(),
            "SecurityGroupRules": rules,
            "SecurityGroupName": g.name,
            "SecurityGroupId": g.id,
            "BindData": g.bindings.iter().map(|(i, n)| json!({"InstanceId": i, "NetworkId": n})).collect::<Vec<_>>(),
        },
        "TaskId": "",
    }))
}

/// `ModifySecurityGroupAttribute`: `Description`.
pub fn modify_attribute(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    let description = call.params.str("Description")?;
    group(state, &id)?.description = description;
    Ok(done())
}

/// `DescribeSecurityGroups`: filters `SecurityGroupType`, `Keyword` (in the name),
/// `SecurityGroupId`.
pub fn describe(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let kind = p.opt_str("SecurityGroupType");
    let keyword = p.opt_str("Keyword");
    let id = p.opt_str("SecurityGroupId");
    let groups: Vec<Value> = state
        .security_groups
        .values()
        .filter(|g| kind.as_ref().is_none_or(|k| &g.kind == k))
        .filter(|g| keyword.as_ref().is_none_or(|k| g.name.contains(k.as_str())))
        .filter(|g| id.as_ref().is_none_or(|i| &g.id == i))
        .map(|g| {
            json!({
                "UpdateTime": g.created,
                "CreateTime": g.created,
                "Description": g.description,
                "SecurityGroupName": g.name,
                "SecurityGroupId": g.id,
                "SecurityGroupType": g.kind,
                "BindInstanceCount": g.bindings.len(),
                "BindVdcCount": 0,
                "BindInterfaceCount": g.bindings.len(),
            })
        })
        .collect();
    Ok(
        json!({"Code": "Success", "Message": "Success.", "Data": {"SecurityGroupCount": groups.len(), "SecurityGroup": groups}, "TaskId": ""}),
    )
}

/// The rule fields `AddSecurityGroupRule` requires (the spec's table).
pub const RULE_FIELDS: &[&str] = &[
    "Action",
    "Description",
    "TargetAddress",
    "TargetPort",
    "LocalPort",
    "Direction",
    "Priority",
    "Protocol",
    "RuleType",
];

/// `AddSecurityGroupRule` (a task; its `ResourceId` is the new rule).
pub fn add_rule(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let id = p.str("SecurityGroupId")?;
    group(state, &id)?;
    // An ICMP rule needs no ports (the spec's note on `Protocol`).
    let icmp = p
        .opt_str("Protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("ICMP"));
    let mut fields = Map::new();
    for name in RULE_FIELDS {
        let value = match p.get(&[name]) {
            Some(value) => value.clone(),
            None if icmp && name.ends_with("Port") => json!("0"),
            None => return Err(CdsError::missing_parameter(name)),
        };
        fields.insert((*name).into(), value);
    }
    if !matches!(p.str("Action")?.as_str(), "0" | "1") {
        return Err(CdsError::invalid_parameter_value("Action"));
    }
    p.u64("Priority")?;
    let rule = Rule {
        id: new_id(),
        fields,
    };
    let (apply, task) =
        state.start_task("addSecurityGroupRule", call.now_ms, vec![rule.id.clone()]);
    if apply {
        group(state, &id)?.rules.push(rule);
    }
    Ok(with_task(&task))
}

fn check_rules(g: &SecurityGroup, ids: &[String]) -> Result<(), CdsError> {
    match ids.iter().find(|id| !g.rules.iter().any(|r| &&r.id == id)) {
        Some(id) => Err(CdsError::not_found(
            "SecurityGroupRuleNotFound",
            "security group rule",
            id,
        )),
        None => Ok(()),
    }
}

/// `RemoveSecurityGroupRule`: `RuleIds`.
pub fn remove_rules(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    let rules = call.params.str_list("RuleIds")?;
    check_rules(group(state, &id)?, &rules)?;
    let (apply, task) = state.start_task("removeSecurityGroupRule", call.now_ms, rules.clone());
    if apply {
        group(state, &id)?.rules.retain(|r| !rules.contains(&r.id));
    }
    Ok(with_task(&task))
}

/// `ModifySecurityGroupRule`: `RuleId`, `Description` and any other rule field given.
pub fn modify_rule(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let p = &call.params;
    let id = p.str("SecurityGroupId")?;
    let rule = p.str("RuleId")?;
    p.str("Description")?;
    let g = group(state, &id)?;
    check_rules(g, std::slice::from_ref(&rule))?;
    let target = g.rules.iter_mut().find(|r| r.id == rule).expect("checked");
    for name in RULE_FIELDS {
        if let Some(value) = p.get(&[name]) {
            target.fields.insert((*name).into(), value.clone());
        }
    }
    Ok(done())
}

/// `BindData` entries: `{InstanceId, PrivateId|PrivateID|PublicId}`.
fn bindings(state: &State, p: &Params) -> Result<Vec<(String, String)>, CdsError> {
    let data = p.objects("BindData")?;
    if data.is_empty() {
        return Err(CdsError::missing_parameter("BindData"));
    }
    data.into_iter()
        .map(|entry| {
            let entry = Params(entry);
            let instance = entry.str("InstanceId")?;
            let network = entry
                .opt_str_any(&["PrivateId", "PrivateID", "PublicId", "PublicID"])
                .ok_or_else(|| CdsError::missing_parameter("PrivateId"))?;
            let i = state
                .instances
                .get(&instance)
                .ok_or_else(|| CdsError::not_found("InstanceNotFound", "instance", &instance))?;
            if !i
                .private
                .iter()
                .chain(i.public.iter())
                .any(|n| n.network_id == network)
            {
                return Err(CdsError::invalid_parameter_value("BindData"));
            }
            Ok((instance, network))
        })
        .collect()
}

/// `JoinSecurityGroup`: binds instances (on a network) to the group.
pub fn join(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    group(state, &id)?;
    let pairs = bindings(state, &call.params)?;
    let (apply, task) = state.start_task(
        "joinSecurityGroup",
        call.now_ms,
        pairs.iter().map(|(i, _)| i.clone()).collect(),
    );
    if apply {
        let g = group(state, &id)?;
        for pair in pairs {
            if !g.bindings.contains(&pair) {
                g.bindings.push(pair);
            }
        }
    }
    Ok(with_task(&task))
}

/// `LeaveSecurityGroup`: unbinds them.
pub fn leave(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    group(state, &id)?;
    let pairs = bindings(state, &call.params)?;
    let (apply, task) = state.start_task(
        "leaveSecurityGroup",
        call.now_ms,
        pairs.iter().map(|(i, _)| i.clone()).collect(),
    );
    if apply {
        group(state, &id)?.bindings.retain(|b| !pairs.contains(b));
    }
    Ok(with_task(&task))
}

/// `ModifySecurityGroupRulePriority`: `BindData` `[{RuleId, Priority}]`.
pub fn modify_priority(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let id = call.params.str("SecurityGroupId")?;
    let mut changes = Vec::new();
    for entry in call.params.objects("BindData")? {
        let entry = Params(entry);
        changes.push((
            entry.str("RuleId")?,
            entry.opt_u64("Priority")?.unwrap_or(1),
        ));
    }
    if changes.is_empty() {
        return Err(CdsError::missing_parameter("BindData"));
    }
    let ids: Vec<String> = changes.iter().map(|(r, _)| r.clone()).collect();
    check_rules(group(state, &id)?, &ids)?;
    let (apply, task) = state.start_task("modifySecurityGroupRulePriority", call.now_ms, ids);
    if apply {
        let g = group(state, &id)?;
        for (rule, priority) in changes {
            if let Some(r) = g.rules.iter_mut().find(|r| r.id == rule) {
                r.fields.insert("Priority".into(), json!(priority));
            }
        }
    }
    Ok(with_task(&task))
}
