//! `security_group/create|delete|authorize|revoke` (ECS security groups and rules).
//!
//! A rule input may hold lists: `cidrIp`, `ipProtocol` and `portRange` written as `[a,b,c]` are
//! zipped into sub-rules (a single value applies to every sub-rule). Ports are normalised
//! (`80` → `80/80`, `22-8000` → `22/8000`; ICMP, GRE and `all` use `-1/-1`), a CIDR without a mask
//! gets `/32`, and protocol and policy are lower-cased. The direction is `actionType` (the spec)
//! or `policyType` (the released code). When one sub-rule fails, the ones this call applied are
//! undone, so an input changes all of its rules or none.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, ECS, Session, find, push_optional};

/// How security groups are described (the id filter is a JSON list).
pub const SECURITY_GROUPS: Describe = Describe {
    noun: "security group",
    action: "DescribeSecurityGroups",
    id_param: "SecurityGroupIds",
    json_list: true,
    id_field: "SecurityGroupId",
    list: "SecurityGroups",
    item: "SecurityGroup",
};

/// `POST /alicloud/v1/security_group/create`: returns the existing `securityGroupId` or creates
/// one; output `securityGroupId` and `request_id` (as the spec lists it).
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    let mut out = Output::new();
    if let Some(id) = input.optional_str("securityGroupId")?
        && find(&api, &SECURITY_GROUPS, id)?.is_some()
    {
        out.insert("securityGroupId".into(), json!(id));
        out.insert("request_id".into(), json!(""));
        return Ok(out);
    }
    let mut params = vec![(
        "SecurityGroupName",
        input.required_str("securityGroupName")?,
    )];
    push_optional(
        input,
        &mut params,
        &[
            ("description", "Description"),
            ("vpcId", "VpcId"),
            ("securityGroupType", "SecurityGroupType"),
        ],
    )?;
    let created = api.call("CreateSecurityGroup", &params)?;
    out.insert(
        "securityGroupId".into(),
        json!(text(&created.body, "SecurityGroupId")),
    );
    out.insert("request_id".into(), json!(created.request_id));
    Ok(out)
}

/// `POST /alicloud/v1/security_group/delete`: deletes `securityGroupId`; an absent group counts as
/// deleted (the original failed).
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("securityGroupId")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    if find(&api, &SECURITY_GROUPS, id)?.is_some() {
        api.call("DeleteSecurityGroup", &[("SecurityGroupId", id)])?;
    }
    Ok(Output::new())
}

/// Ingress or egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inbound: `AuthorizeSecurityGroup`, source CIDR.
    Ingress,
    /// Outbound: `AuthorizeSecurityGroupEgress`, destination CIDR.
    Egress,
}

impl Direction {
    fn parse(value: &str) -> Result<Self, ErrorMessage> {
        match value.to_ascii_lowercase().as_str() {
            "ingress" => Ok(Direction::Ingress),
            "egress" => Ok(Direction::Egress),
            other => Err(ErrorMessage::new(format!(
                "actionType must be ingress or egress, got \"{other}\""
            ))),
        }
    }

    /// The action that adds (`add`) or removes a rule of this direction.
    fn action(self, add: bool) -> &'static str {
        match (self, add) {
            (Direction::Ingress, true) => "AuthorizeSecurityGroup",
            (Direction::Egress, true) => "AuthorizeSecurityGroupEgress",
            (Direction::Ingress, false) => "RevokeSecurityGroup",
            (Direction::Egress, false) => "RevokeSecurityGroupEgress",
        }
    }

    fn cidr_param(self) -> &'static str {
        match self {
            Direction::Ingress => "SourceCidrIp",
            Direction::Egress => "DestCidrIp",
        }
    }
}

/// One normalised sub-rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp`, `gre` or `all`.
    pub protocol: String,
    /// `from/to`.
    pub ports: String,
    /// CIDR with a mask.
    pub cidr: String,
}

/// `[a,b]` → `["a","b"]`; a plain value → `["value"]`.
pub fn split_list(value: &str) -> Vec<String> {
    let value = value.trim();
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    inner.split(',').map(|s| s.trim().to_owned()).collect()
}

/// `80` → `80/80`, `22-8000` → `22/8000`, `a/b` kept; `-1/-1` for protocols without ports.
pub fn normalise_ports(protocol: &str, ports: &str) -> String {
    if matches!(protocol, "icmp" | "gre" | "all") && matches!(ports, "" | "-1" | "-1/-1") {
        return "-1/-1".to_owned();
    }
    if ports.contains('/') {
        ports.to_owned()
    } else if let Some((from, to)) = ports.split_once('-') {
        format!("{}/{}", from.trim(), to.trim())
    } else {
        format!("{ports}/{ports}")
    }
}

/// Zips the list-valued fields into sub-rules; lists must have one length (or a single value).
pub fn rules(cidrs: &str, protocols: &str, ports: &str) -> Result<Vec<Rule>, ErrorMessage> {
    let (cidrs, protocols, ports) = (split_list(cidrs), split_list(protocols), split_list(ports));
    let count = cidrs.len().max(protocols.len()).max(ports.len());
    for (name, list) in [
        ("cidrIp", &cidrs),
        ("ipProtocol", &protocols),
        ("portRange", &ports),
    ] {
        if list.len() != 1 && list.len() != count {
            return Err(ErrorMessage::new(format!(
                "{name} has {} values but another rule field has {count}: the lists must be of equal length",
                list.len()
            )));
        }
    }
    let pick = |list: &Vec<String>, i: usize| list[if list.len() == 1 { 0 } else { i }].clone();
    Ok((0..count)
        .map(|i| {
            let protocol = pick(&protocols, i).to_ascii_lowercase();
            let cidr = pick(&cidrs, i);
            Rule {
                ports: normalise_ports(&protocol, &pick(&ports, i)),
                cidr: if cidr.contains('/') {
                    cidr
                } else {
                    format!("{cidr}/32")
                },
                protocol,
            }
        })
        .collect())
}

/// Whether the group already has the rule (so a rollback must not remove it).
fn has_rule(existing: &[Value], direction: Direction, rule: &Rule, policy: &str) -> bool {
    existing.iter().any(|p| {
        text(p, "IpProtocol").eq_ignore_ascii_case(&rule.protocol)
            && text(p, "PortRange") == rule.ports
            && text(p, direction.cidr_param()) == rule.cidr
            && text(p, "Policy").eq_ignore_ascii_case(policy)
    })
}

fn apply(
    api: &impl AliyunApi,
    group: &str,
    direction: Direction,
    rule: &Rule,
    policy: &str,
    description: Option<&str>,
    add: bool,
) -> Result<(), ErrorMessage> {
    let mut params = vec![
        ("SecurityGroupId", group),
        ("IpProtocol", rule.protocol.as_str()),
        ("PortRange", rule.ports.as_str()),
        (direction.cidr_param(), rule.cidr.as_str()),
        ("Policy", policy),
    ];
    if let Some(description) = description.filter(|_| add) {
        params.push(("Description", description));
    }
    api.call(direction.action(add), &params)?;
    Ok(())
}

/// Authorize (`add`) or revoke every sub-rule of the input, undoing this call's changes if one
/// fails.
fn change(input: &Input, add: bool) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let group = input.required_str("securityGroupId")?;
    let direction = match input.optional_str("actionType")? {
        Some(value) => Direction::parse(value)?,
        None => Direction::parse(input.required_str("policyType").map_err(|_| {
            ErrorMessage::new("missing required field \"actionType\" (or \"policyType\")")
        })?)?,
    };
    let policy = input
        .optional_str("policy")?
        .unwrap_or("accept")
        .to_ascii_lowercase();
    let rules = rules(
        input.required_str("cidrIp")?,
        input.required_str("ipProtocol")?,
        input.required_str("portRange")?,
    )?;
    let description = input.optional_str("description")?;
    let session = Session::new(&common);
    let api = session.client(ECS);
    let direction_name = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    let existing = api.call(
        "DescribeSecurityGroupAttribute",
        &[("SecurityGroupId", group), ("Direction", direction_name)],
    )?;
    let existing = items(&existing.body, "Permissions", "Permission").to_vec();
    // Sub-rules already in the wanted state are left alone (and never rolled back).
    let todo: Vec<&Rule> = rules
        .iter()
        .filter(|r| has_rule(&existing, direction, r, &policy) != add)
        .collect();
    let mut done: Vec<&Rule> = Vec::new();
    for rule in todo {
        if let Err(error) = apply(&api, group, direction, rule, &policy, description, add) {
            let undone = done
                .iter()
                .rev()
                .filter(|r| apply(&api, group, direction, r, &policy, description, !add).is_ok())
                .count();
            return Err(ErrorMessage::new(format!(
                "{error} (rule {}/{} {} failed; {undone} of {} rules applied before it were undone)",
                rule.protocol,
                rule.ports,
                rule.cidr,
                done.len()
            )));
        }
        done.push(rule);
    }
    Ok(Output::new())
}

/// `POST /alicloud/v1/security_group/authorize`.
pub fn handle_authorize(input: &Input) -> Result<Output, ErrorMessage> {
    change(input, true)
}

/// `POST /alicloud/v1/security_group/revoke`.
pub fn handle_revoke(input: &Input) -> Result<Output, ErrorMessage> {
    change(input, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_normalised() {
        assert_eq!(normalise_ports("tcp", "80"), "80/80");
        assert_eq!(normalise_ports("tcp", "22-8000"), "22/8000");
        assert_eq!(normalise_ports("udp", "1/2"), "1/2");
        assert_eq!(normalise_ports("icmp", "-1"), "-1/-1");
        assert_eq!(normalise_ports("all", ""), "-1/-1");
    }

    #[test]
    fn list_fields_are_zipped_and_single_values_repeat() {
        let r = rules("[10.0.0.1,10.0.1.0/24]", "[tcp,UDP]", "[8080,22-80]").unwrap();
        assert_eq!(
            r,
            [
                Rule {
                    protocol: "tcp".into(),
                    ports: "8080/8080".into(),
                    cidr: "10.0.0.1/32".into()
                },
                Rule {
                    protocol: "udp".into(),
                    ports: "22/80".into(),
                    cidr: "10.0.1.0/24".into()
                },
            ]
        );
        assert_eq!(rules("0.0.0.0/0", "tcp", "[80,443]").unwrap().len(), 2);
        let e = rules("[a,b,c]", "[tcp,tcp]", "80").unwrap_err();
        assert!(e.as_str().contains("equal length"), "{e}");
    }
}
