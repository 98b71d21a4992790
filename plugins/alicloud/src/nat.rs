//! `vpc/nat/create|delete` and `vpc/nat/snat_entry/create|delete|modify/append|modify/remove`
//! (VPC product NAT gateways and SNAT entries).
//!
//! An SNAT entry's IPs (`snatIp`, `[ip1,ip2]`) are EIP addresses: the routes bind free EIPs to
//! the NAT gateway before using them, and unbind the ones an entry no longer uses (unless another
//! entry of the gateway still does).

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::clock::Poll;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{
    Common, Describe, Session, VPC, find, push_optional, wait_for, wait_gone, wait_status,
};
use crate::eip::{bind, find_by_address, unbind};
use crate::security_group::split_list;
use crate::waits;

/// How NAT gateways are described.
pub const NAT_GATEWAYS: Describe = Describe {
    noun: "NAT gateway",
    action: "DescribeNatGateways",
    id_param: "NatGatewayId",
    json_list: false,
    id_field: "NatGatewayId",
    list: "NatGateways",
    item: "NatGateway",
};

/// The first SNAT table of a described (or just created) NAT gateway.
fn snat_table(nat: &Value) -> String {
    nat.pointer("/SnatTableIds/SnatTableId/0")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `POST /alicloud/v1/vpc/nat/create`: returns the existing `natGatewayId` or creates a gateway
/// and waits until it is `Available`. Output `natGatewayId`, `snatTableId`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let existing = match input.optional_str("natGatewayId")? {
        Some(id) => find(&api, &NAT_GATEWAYS, id)?,
        None => None,
    };
    let nat = match existing {
        Some(nat) => nat,
        None => {
            let mut params = vec![("VpcId", input.required_str("vpcId")?)];
            push_optional(
                input,
                &mut params,
                &[
                    ("name", "Name"),
                    ("vSwitchId", "VSwitchId"),
                    ("spec", "Spec"),
                    ("instanceChargeType", "InstanceChargeType"),
                    ("pricingCycle", "PricingCycle"),
                    ("duration", "Duration"),
                    ("description", "Description"),
                ],
            )?;
            let created = api.call("CreateNatGateway", &params)?;
            let id = text(&created.body, "NatGatewayId").to_owned();
            wait_status(&api, &NAT_GATEWAYS, &id, "Available", waits::NAT_AVAILABLE)?
        }
    };
    let mut out = Output::new();
    out.insert("natGatewayId".into(), json!(text(&nat, "NatGatewayId")));
    out.insert("snatTableId".into(), json!(snat_table(&nat)));
    Ok(out)
}

/// `POST /alicloud/v1/vpc/nat/delete`: force-deletes the gateway (its SNAT entries go with it and
/// its EIPs are unbound, not released) and waits until it is gone; an absent gateway counts as
/// deleted (the original failed).
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("natGatewayId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    if find(&api, &NAT_GATEWAYS, id)?.is_some() {
        api.call(
            "DeleteNatGateway",
            &[("NatGatewayId", id), ("Force", "true")],
        )?;
        wait_gone(&api, &NAT_GATEWAYS, id, waits::NAT_GONE)?;
    }
    Ok(Output::new())
}

/// The ids every SNAT route takes.
struct EntryArgs<'a> {
    nat: &'a str,
    table: &'a str,
}

impl<'a> EntryArgs<'a> {
    fn from_input(input: &'a Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            nat: input.required_str("natId")?,
            table: input.required_str("snatTableId")?,
        })
    }
}

/// SNAT entry `id` of `table`, `None` when it (or the table) does not exist.
fn find_entry(api: &impl AliyunApi, table: &str, id: &str) -> Result<Option<Value>, ErrorMessage> {
    match api.call(
        "DescribeSnatTableEntries",
        &[("SnatTableId", table), ("SnatEntryId", id)],
    ) {
        Ok(answer) => Ok(items(&answer.body, "SnatTableEntries", "SnatTableEntry")
            .iter()
            .find(|e| text(e, "SnatEntryId") == id)
            .cloned()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every entry of `table`.
fn entries(api: &impl AliyunApi, table: &str) -> Result<Vec<Value>, ErrorMessage> {
    let answer = api.call("DescribeSnatTableEntries", &[("SnatTableId", table)])?;
    Ok(items(&answer.body, "SnatTableEntries", "SnatTableEntry").to_vec())
}

fn ips_of(entry: &Value) -> Vec<String> {
    text(entry, "SnatIp")
        .split(',')
        .filter(|ip| !ip.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Waits until entry `id` is `Available` (`gone`: until it no longer exists).
fn wait_entry(api: &impl AliyunApi, table: &str, id: &str, gone: bool) -> Result<(), ErrorMessage> {
    let what = if gone { "deleted" } else { "Available" };
    wait_for(
        &format!("SNAT entry {id} to be {what}"),
        waits::SNAT_ENTRY,
        || {
            Ok(match find_entry(api, table, id)? {
                None if gone => Poll::Ready(()),
                None => return Err(ErrorMessage::new(format!("SNAT entry {id} disappeared"))),
                Some(e) if !gone && text(&e, "Status") == "Available" => Poll::Ready(()),
                Some(e) => Poll::Pending(text(&e, "Status").to_owned()),
            })
        },
    )
}

/// Binds every address of `ips` (EIPs) to NAT gateway `nat`.
fn bind_all(api: &impl AliyunApi, nat: &str, ips: &[String]) -> Result<(), ErrorMessage> {
    for ip in ips {
        let eip = find_by_address(api, ip)?
            .ok_or_else(|| ErrorMessage::new(format!("no EIP has the address {ip}")))?;
        bind(api, &eip, nat, "Nat", None)?;
    }
    Ok(())
}

/// Unbinds the addresses of `ips` from `nat` unless another entry of `table` still uses them.
fn unbind_unused(
    api: &impl AliyunApi,
    nat: &str,
    table: &str,
    ips: &[String],
) -> Result<(), ErrorMessage> {
    let still_used: Vec<String> = entries(api, table)?.iter().flat_map(ips_of).collect();
    for ip in ips.iter().filter(|ip| !still_used.contains(ip)) {
        if let Some(eip) = find_by_address(api, ip)? {
            unbind(api, &eip, nat)?;
        }
    }
    Ok(())
}

/// `POST /alicloud/v1/vpc/nat/snat_entry/create`: binds the EIPs of `snatIp` to the gateway and
/// creates the entry for `sourceVSwitchId` or `sourceCIDR`; an entry for the same source with the
/// same IPs is returned as is. Output `snatEntryId`.
pub fn handle_create_entry(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let args = EntryArgs::from_input(input)?;
    let ips = split_list(input.required_str("snatIp")?);
    let vswitch = input.optional_str("sourceVSwitchId")?;
    let cidr = input.optional_str("sourceCIDR")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let same = entries(&api, args.table)?.into_iter().find(|e| {
        let source = match (vswitch, cidr) {
            (Some(v), _) => text(e, "SourceVSwitchId") == v,
            (None, Some(c)) => text(e, "SourceCIDR") == c,
            (None, None) => false,
        };
        let mut have = ips_of(e);
        let mut want = ips.clone();
        have.sort();
        want.sort();
        source && have == want
    });
    let id = match same {
        Some(entry) => text(&entry, "SnatEntryId").to_owned(),
        None => {
            bind_all(&api, args.nat, &ips)?;
            let joined = ips.join(",");
            let mut params = vec![("SnatTableId", args.table), ("SnatIp", joined.as_str())];
            for (value, param) in [
                (vswitch, "SourceVSwitchId"),
                (cidr, "SourceCIDR"),
                (input.optional_str("snatEntryName")?, "SnatEntryName"),
            ] {
                if let Some(value) = value {
                    params.push((param, value));
                }
            }
            let created = api.call("CreateSnatEntry", &params)?;
            let id = text(&created.body, "SnatEntryId").to_owned();
            wait_entry(&api, args.table, &id, false)?;
            id
        }
    };
    let mut out = Output::new();
    out.insert("snatEntryId".into(), json!(id));
    Ok(out)
}

/// `POST /alicloud/v1/vpc/nat/snat_entry/delete`: deletes the entry, waits until it is gone and
/// unbinds its EIPs from the gateway; an absent entry counts as deleted.
pub fn handle_delete_entry(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let args = EntryArgs::from_input(input)?;
    let id = input.required_str("snatEntryId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let Some(entry) = find_entry(&api, args.table, id)? else {
        return Ok(Output::new());
    };
    if text(&entry, "Status") != "Available" {
        wait_entry(&api, args.table, id, false)?;
    }
    api.call(
        "DeleteSnatEntry",
        &[("SnatTableId", args.table), ("SnatEntryId", id)],
    )?;
    wait_entry(&api, args.table, id, true)?;
    unbind_unused(&api, args.nat, args.table, &ips_of(&entry))?;
    Ok(Output::new())
}

/// Sets entry `id`'s IPs to `ips` and waits until it is `Available`.
fn modify(api: &impl AliyunApi, table: &str, id: &str, ips: &[String]) -> Result<(), ErrorMessage> {
    let joined = ips.join(",");
    api.call(
        "ModifySnatEntry",
        &[
            ("SnatTableId", table),
            ("SnatEntryId", id),
            ("SnatIp", joined.as_str()),
        ],
    )?;
    wait_entry(api, table, id, false)
}

fn require_entry(api: &impl AliyunApi, table: &str, id: &str) -> Result<Value, ErrorMessage> {
    find_entry(api, table, id)?
        .ok_or_else(|| ErrorMessage::new(format!("SNAT entry {id} does not exist in {table}")))
}

/// `POST /alicloud/v1/vpc/nat/snat_entry/modify/append`: binds the new EIPs and adds them to the
/// entry (IPs it has already are skipped).
pub fn handle_append(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let args = EntryArgs::from_input(input)?;
    let id = input.required_str("snatEntryId")?;
    let requested = split_list(input.required_str("snatIp")?);
    let session = Session::new(&common);
    let api = session.client(VPC);
    let mut ips = ips_of(&require_entry(&api, args.table, id)?);
    let new: Vec<String> = requested
        .into_iter()
        .filter(|ip| !ips.contains(ip))
        .collect();
    if !new.is_empty() {
        bind_all(&api, args.nat, &new)?;
        ips.extend(new);
        modify(&api, args.table, id, &ips)?;
    }
    Ok(Output::new())
}

/// `POST /alicloud/v1/vpc/nat/snat_entry/modify/remove`: removes the IPs from the entry and
/// unbinds them from the gateway. Removing every IP is refused: delete the entry instead.
pub fn handle_remove(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let args = EntryArgs::from_input(input)?;
    let id = input.required_str("snatEntryId")?;
    let requested = split_list(input.required_str("snatIp")?);
    let session = Session::new(&common);
    let api = session.client(VPC);
    let ips = ips_of(&require_entry(&api, args.table, id)?);
    let (removed, kept): (Vec<String>, Vec<String>) =
        ips.into_iter().partition(|ip| requested.contains(ip));
    if removed.is_empty() {
        return Ok(Output::new());
    }
    if kept.is_empty() {
        return Err(ErrorMessage::new(format!(
            "removing every IP of SNAT entry {id} would leave it empty; delete the entry instead"
        )));
    }
    modify(&api, args.table, id, &kept)?;
    unbind_unused(&api, args.nat, args.table, &removed)?;
    Ok(Output::new())
}
