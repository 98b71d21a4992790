//! NAT gateways and their SNAT entries (VPC product).
//!
//! A NAT gateway is `Creating` for [`NAT_PENDING_MS`], then `Available`; it comes with one SNAT
//! table (`stb-…`) and one forward table (`ftb-…`). SNAT entries are `Pending` after a create and
//! `Modifying` after a modify for [`SNAT_PENDING_MS`]; deletes keep them `Deleting` until gone.
//! An entry's IPs must be EIPs bound to its NAT gateway.

use serde_json::{Value, json};

use super::Call;
use super::common::{attr_filter, id_filter, new_resource, page, view};
use super::error::AliError;
use super::state::{Cidr, State};
use super::vpc::{vpc_of, vswitch_of};

/// How long a new NAT gateway is `Creating`, and a deleted one `Deleting`, in simulated ms.
pub const NAT_PENDING_MS: u64 = 5_000;
/// How long an SNAT entry change takes, in simulated ms.
pub const SNAT_PENDING_MS: u64 = 3_000;

/// The NAT actions of the VPC product.
pub(crate) const ACTIONS: &[&str] = &[
    "CreateNatGateway",
    "DescribeNatGateways",
    "DeleteNatGateway",
    "CreateSnatEntry",
    "DescribeSnatTableEntries",
    "DeleteSnatEntry",
    "ModifySnatEntry",
];

/// Runs a NAT action.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateNatGateway" => create(state, call),
        "DescribeNatGateways" => Ok(describe(state, call)),
        "DeleteNatGateway" => delete(state, call),
        "CreateSnatEntry" => create_entry(state, call),
        "DescribeSnatTableEntries" => describe_entries(state, call),
        "DeleteSnatEntry" => delete_entry(state, call),
        "ModifySnatEntry" => modify_entry(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let vpc = call.require("VpcId")?;
    vpc_of(state, call, vpc)?;
    let vswitch = call.get("VSwitchId").unwrap_or("");
    if !vswitch.is_empty() && vswitch_of(state, call, vswitch)?.attr("VpcId") != vpc {
        return Err(AliError::new(
            400,
            "InvalidVSwitchId.NotBelongToVpc",
            "The specified vswitch does not belong to the VPC.",
        ));
    }
    let spec = call.get("Spec").unwrap_or("Small");
    if !matches!(spec, "Small" | "Middle" | "Large" | "XLarge.1") {
        return Err(AliError::invalid_parameter(
            "Spec",
            "Valid values: Small, Middle, Large, XLarge.1.",
        ));
    }
    let snat_table = state.new_id("stb");
    let forward_table = state.new_id("ftb");
    let id = new_resource(
        state,
        call,
        "ngw",
        NAT_PENDING_MS,
        json!({"VpcId": vpc, "Spec": spec, "Name": call.get("Name").unwrap_or(""),
            "Description": call.get("Description").unwrap_or(""),
            "NatGatewayPrivateInfo": {"VswitchId": vswitch},
            "SnatTableIds": {"SnatTableId": [snat_table]},
            "ForwardTableIds": {"ForwardTableId": [forward_table]}}),
    );
    if let Some(nat) = state.get_mut(call.region, "ngw", &id) {
        nat.pending_status = "Creating";
    }
    Ok(
        json!({"NatGatewayId": id, "SnatTableIds": {"SnatTableId": [snat_table]},
        "ForwardTableIds": {"ForwardTableId": [forward_table]}}),
    )
}

/// The NAT gateway owning SNAT table `table`.
fn nat_of_table(state: &State, call: &Call<'_>, table: &str) -> Result<String, AliError> {
    state
        .list(call.region, "ngw")
        .find(|n| n.attrs["SnatTableIds"]["SnatTableId"][0] == table)
        .map(|n| n.id.clone())
        .ok_or_else(|| AliError::not_found("InvalidSnatTableId.NotFound", "SNAT table"))
}

/// The EIPs bound to NAT gateway `nat`: (allocation id, address).
fn nat_ips(state: &State, call: &Call<'_>, nat: &str) -> Vec<(String, String)> {
    state
        .list(call.region, "eip")
        .filter(|e| e.attr("InstanceId") == nat)
        .map(|e| (e.id.clone(), e.attr("IpAddress").to_owned()))
        .collect()
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "ngw")
        .filter(|n| id_filter(call, "NatGatewayId", &n.id) && attr_filter(call, "VpcId", n))
        .map(|n| {
            let ips: Vec<Value> = nat_ips(state, call, &n.id)
                .into_iter()
                .map(|(id, ip)| json!({"AllocationId": id, "IpAddress": ip}))
                .collect();
            view(
                n,
                call.now_ms,
                json!({"NatGatewayId": n.id, "IpLists": {"IpList": ips}}),
            )
        })
        .collect();
    page(items, "NatGateways", "NatGateway")
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("NatGatewayId")?;
    let nat = state
        .get(call.region, "ngw", id)
        .filter(|n| n.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidNatGatewayId.NotFound", "NAT gateway"))?;
    let table = nat.attrs["SnatTableIds"]["SnatTableId"][0]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let force = call.get("Force") == Some("true");
    let entries = state.ids_where(call.region, "snat", |e| e.attr("SnatTableId") == table);
    let bound = nat_ips(state, call, id);
    if !force && !entries.is_empty() {
        return Err(AliError::dependency(
            "DependencyViolation.SnatEntry",
            "SNAT entries",
        ));
    }
    if !force && !bound.is_empty() {
        return Err(AliError::dependency("DependencyViolation.EIPS", "EIPs"));
    }
    for entry in entries {
        state.remove(call.region, "snat", &entry);
    }
    for (eip, _) in bound {
        if let Some(e) = state.get_mut(call.region, "eip", &eip) {
            e.set("InstanceId", "");
            e.set("InstanceType", "");
        }
    }
    let now = call.now_ms;
    if let Some(nat) = state.get_mut(call.region, "ngw", id) {
        nat.transition("Deleting", "Deleting", now, NAT_PENDING_MS);
        nat.gone_ms = Some(now + NAT_PENDING_MS);
    }
    Ok(json!({}))
}

/// The comma-separated `SnatIp`, each an EIP bound to `nat`.
fn snat_ips(state: &State, call: &Call<'_>, nat: &str) -> Result<Vec<String>, AliError> {
    let ips: Vec<String> = call
        .require("SnatIp")?
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let bound = nat_ips(state, call, nat);
    for ip in &ips {
        if !bound.iter().any(|(_, b)| b == ip) {
            return Err(AliError::new(
                400,
                "InvalidSnatIp.NotBelongToNat",
                format!("The specified SnatIp {ip} is not an EIP bound to the NAT gateway."),
            ));
        }
    }
    Ok(ips)
}

fn create_entry(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let table = call.require("SnatTableId")?.to_owned();
    let nat = nat_of_table(state, call, &table)?;
    if state
        .get(call.region, "ngw", &nat)
        .map(|n| n.status(call.now_ms))
        != Some("Available")
    {
        return Err(AliError::incorrect_status(
            "IncorrectStatus.NatGateway",
            "NAT gateway",
        ));
    }
    let ips = snat_ips(state, call, &nat)?;
    let source_vswitch = call.get("SourceVSwitchId").unwrap_or("");
    let mut source_cidr = call.get("SourceCIDR").unwrap_or("").to_owned();
    match (source_vswitch.is_empty(), source_cidr.is_empty()) {
        (false, true) => {
            source_cidr = vswitch_of(state, call, source_vswitch)?
                .attr("CidrBlock")
                .to_owned()
        }
        (true, false) if Cidr::parse(&source_cidr).is_some() => {}
        (true, false) => {
            return Err(AliError::invalid_parameter(
                "SourceCIDR",
                "It must be a CIDR block.",
            ));
        }
        _ => {
            return Err(AliError::new(
                400,
                "MissingParameter",
                "Exactly one of SourceVSwitchId and SourceCIDR must be given.",
            ));
        }
    }
    if state
        .list(call.region, "snat")
        .any(|e| e.attr("SnatTableId") == table && e.attr("SourceCIDR") == source_cidr)
    {
        return Err(AliError::new(
            400,
            "Forbidden.SourceCIDR.Duplicated",
            "An SNAT entry for this source already exists.",
        ));
    }
    let id = new_resource(
        state,
        call,
        "snat",
        SNAT_PENDING_MS,
        json!({"SnatTableId": table, "SnatIp": ips.join(","), "SourceVSwitchId": source_vswitch,
            "SourceCIDR": source_cidr, "SnatEntryName": call.get("SnatEntryName").unwrap_or("")}),
    );
    Ok(json!({"SnatEntryId": id}))
}

fn describe_entries(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let table = call.require("SnatTableId")?;
    nat_of_table(state, call, table)?;
    let items = state
        .list(call.region, "snat")
        .filter(|e| e.attr("SnatTableId") == table && id_filter(call, "SnatEntryId", &e.id))
        .map(|e| view(e, call.now_ms, json!({"SnatEntryId": e.id})))
        .collect();
    Ok(page(items, "SnatTableEntries", "SnatTableEntry"))
}

fn entry_status(state: &State, call: &Call<'_>) -> Result<(String, String), AliError> {
    let table = call.require("SnatTableId")?;
    let id = call.require("SnatEntryId")?;
    nat_of_table(state, call, table)?;
    let entry = state
        .get(call.region, "snat", id)
        .filter(|e| e.attr("SnatTableId") == table && e.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidSnatEntryId.NotFound", "SNAT entry"))?;
    if entry.status(call.now_ms) != "Available" {
        return Err(AliError::incorrect_status(
            "IncorrectStatus.SnatEntry",
            "SNAT entry",
        ));
    }
    Ok((table.to_owned(), id.to_owned()))
}

fn delete_entry(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let (_, id) = entry_status(state, call)?;
    let now = call.now_ms;
    if let Some(entry) = state.get_mut(call.region, "snat", &id) {
        entry.transition("Deleting", "Deleting", now, SNAT_PENDING_MS);
        entry.gone_ms = Some(now + SNAT_PENDING_MS);
    }
    Ok(json!({}))
}

fn modify_entry(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let (table, id) = entry_status(state, call)?;
    let nat = nat_of_table(state, call, &table)?;
    let ips = snat_ips(state, call, &nat)?;
    let now = call.now_ms;
    if let Some(entry) = state.get_mut(call.region, "snat", &id) {
        entry.set("SnatIp", ips.join(","));
        entry.transition("Modifying", "Available", now, SNAT_PENDING_MS);
    }
    Ok(json!({}))
}

/// Whether EIP address `ip` is used by an SNAT entry of NAT gateway `nat`.
pub(crate) fn ip_in_use(state: &State, region: &str, nat: &str, ip: &str) -> bool {
    let Some(table) = state
        .get(region, "ngw", nat)
        .and_then(|n| n.attrs["SnatTableIds"]["SnatTableId"][0].as_str())
    else {
        return false;
    };
    state
        .list(region, "snat")
        .filter(|e| e.attr("SnatTableId") == table)
        .any(|e| e.attr("SnatIp").split(',').any(|i| i == ip))
}
