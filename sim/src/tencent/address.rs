//! Elastic IPs of the VPC product: `AllocateAddresses`, `DescribeAddresses`, `ReleaseAddresses`,
//! and the binding NAT gateways do (`nat.rs`).
//!
//! An EIP is `eip-` plus 8 characters with a public-looking address (`106.54.x.y`). Its
//! `AddressStatus` is `UNBIND` when free, `BINDING`/`BIND` while a NAT gateway is being created or
//! holds it, `UNBINDING` while that gateway is deleted. EIPs a NAT gateway allocated itself
//! (`AddressCount`) carry `CascadeRelease: true` and are released with the gateway, as on
//! Tencent; the caller's own EIPs (`PublicIpAddresses`) go back to `UNBIND`.
//!
//! `DescribeAddresses` takes `AddressIds` (unknown ones are `InvalidAddressId.NotFound`) or
//! `Filters` (`address-id`, `address-ip`, `address-name`, `address-status`, `instance-id`; no
//! match is an empty set). `ReleaseAddresses` of a bound EIP is
//! `UnsupportedOperation.AddressStatusNotPermit`.

use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use super::Call;
use super::cvm::filters;
use super::error::TcError;
use super::state::{self, State};

/// At most this many EIPs per `AllocateAddresses` call, and per NAT gateway.
pub(super) const MAX_PER_CALL: u64 = 10;

/// One EIP, serialised as `DescribeAddresses` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Address {
    pub(crate) address_id: String,
    address_name: String,
    pub(crate) address_status: &'static str,
    pub(crate) address_ip: String,
    /// The NAT gateway (or instance) it is bound to; `null` when free.
    pub(crate) instance_id: Option<String>,
    created_time: String,
    address_type: &'static str,
    is_arrears: bool,
    is_blocked: bool,
    is_eip_direct_connection: bool,
    /// Released when unbound (EIPs a NAT gateway allocated itself).
    pub(crate) cascade_release: bool,
}

/// A new EIP in `region`: bound to `instance` (status `BINDING`) or free (`UNBIND`).
pub(super) fn allocate(
    state: &mut State,
    region: &str,
    instance: Option<&str>,
    cascade_release: bool,
) -> String {
    let id = state.new_id("eip");
    let ip = loop {
        let mut rng = rand::rng();
        let ip = format!(
            "106.54.{}.{}",
            rng.random_range(0..=255u8),
            rng.random_range(1..=254u8)
        );
        // Ids and addresses share the set of things handed out; neither is ever reused.
        if state.issued_ids.insert(ip.clone()) {
            break ip;
        }
    };
    state
        .addresses
        .entry(region.to_owned())
        .or_default()
        .push(Address {
            address_id: id.clone(),
            address_name: String::new(),
            address_status: if instance.is_some() {
                "BINDING"
            } else {
                "UNBIND"
            },
            address_ip: ip,
            instance_id: instance.map(str::to_owned),
            created_time: state::created_time(),
            address_type: "EIP",
            is_arrears: false,
            is_blocked: false,
            is_eip_direct_connection: false,
            cascade_release,
        });
    id
}

/// The EIPs of `region` bound (or binding, unbinding) to `instance`.
pub(super) fn bound_to<'a>(
    state: &'a State,
    region: &str,
    instance: &'a str,
) -> impl Iterator<Item = &'a Address> + 'a {
    state
        .addresses
        .get(region)
        .into_iter()
        .flatten()
        .filter(move |a| a.instance_id.as_deref() == Some(instance))
}

/// Set the status of every EIP of `region` bound to `instance`.
pub(super) fn set_status(state: &mut State, region: &str, instance: &str, status: &'static str) {
    for address in state.addresses.get_mut(region).into_iter().flatten() {
        if address.instance_id.as_deref() == Some(instance) {
            address.address_status = status;
        }
    }
}

/// Unbind every EIP of `region` from `instance`: released if `CascadeRelease`, else `UNBIND`.
pub(super) fn unbind_all(state: &mut State, region: &str, instance: &str) {
    if let Some(addresses) = state.addresses.get_mut(region) {
        addresses.retain(|a| !(a.cascade_release && a.instance_id.as_deref() == Some(instance)));
        for address in addresses.iter_mut() {
            if address.instance_id.as_deref() == Some(instance) {
                address.instance_id = None;
                address.address_status = "UNBIND";
            }
        }
    }
}

/// `InvalidParameterValue.AddressIdMalformed` unless every id looks like `eip-xxxxxxxx`.
fn check_ids(ids: &[&str]) -> Result<(), TcError> {
    match ids.iter().find(|id| !state::is_id("eip", id)) {
        Some(id) => Err(TcError::new(
            "InvalidParameterValue.AddressIdMalformed",
            format!("The EIP id `{id}` is malformed."),
        )),
        None => Ok(()),
    }
}

fn not_found(id: &str) -> TcError {
    TcError::new(
        "InvalidAddressId.NotFound",
        format!("The EIP `{id}` does not exist."),
    )
}

/// `AllocateAddresses {AddressCount?}` → `{AddressSet, TaskId}`: free EIPs.
pub(super) fn allocate_addresses(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["AddressCount", "AddressName", "InternetChargeType", "Tags"])?;
    let count = p.uint("AddressCount")?.unwrap_or(1);
    if !(1..=MAX_PER_CALL).contains(&count) {
        return Err(TcError::out_of_range(
            "AddressCount",
            &count.to_string(),
            "1 to 10",
        ));
    }
    let ids: Vec<String> = (0..count)
        .map(|_| allocate(state, call.region, None, false))
        .collect();
    Ok(json!({ "AddressSet": ids, "TaskId": task_id() }))
}

/// Whether `address` passes filter `name` with `values`.
fn filter_matches(address: &Address, name: &str, values: &[&str]) -> Result<bool, TcError> {
    let field = match name {
        "address-id" => address.address_id.as_str(),
        "address-ip" => address.address_ip.as_str(),
        "address-name" => address.address_name.as_str(),
        "address-status" => address.address_status,
        "instance-id" => address.instance_id.as_deref().unwrap_or(""),
        _ => {
            return Err(TcError::new(
                "InvalidParameter.FilterInvalidKey",
                format!("The filter name `{name}` is not supported."),
            ));
        }
    };
    Ok(values.contains(&field))
}

/// `DescribeAddresses {AddressIds?, Filters?, Offset?, Limit?}` → `{TotalCount, AddressSet}`.
pub(super) fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["AddressIds", "Filters", "Offset", "Limit"])?;
    let ids = p.str_list("AddressIds")?;
    let filters = filters(p)?;
    if ids.is_some() && !filters.is_empty() {
        return Err(TcError::new(
            "InvalidParameter.Coexist",
            "The parameters `AddressIds` and `Filters` cannot be specified at the same time.",
        ));
    }
    let addresses: Vec<&Address> = state
        .addresses
        .get(call.region)
        .into_iter()
        .flatten()
        .collect();
    if let Some(ids) = &ids {
        check_ids(ids)?;
        if let Some(missing) = ids
            .iter()
            .find(|id| !addresses.iter().any(|a| a.address_id == **id))
        {
            return Err(not_found(missing));
        }
    }
    let mut matched = Vec::new();
    for address in addresses {
        if ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&address.address_id.as_str()))
        {
            continue;
        }
        let mut keep = true;
        for (name, values) in &filters {
            keep &= filter_matches(address, name, values)?;
        }
        if keep {
            matched.push(address);
        }
    }
    let (total, page) = state::describe_page(
        &matched,
        None,
        p.uint("Offset")?.unwrap_or(0),
        p.uint("Limit")?.unwrap_or(20),
        ("eip", "AddressIds"),
        |a| &a.address_id,
    )?;
    Ok(json!({ "TotalCount": total, "AddressSet": page }))
}

/// `ReleaseAddresses {AddressIds}` → `{TaskId}`: every EIP must exist and be `UNBIND`.
pub(super) fn release(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["AddressIds"])?;
    let ids = p
        .str_list("AddressIds")?
        .ok_or_else(|| TcError::missing_parameter("AddressIds"))?;
    check_ids(&ids)?;
    let addresses = state.addresses.entry(call.region.to_owned()).or_default();
    for id in &ids {
        let address = addresses
            .iter()
            .find(|a| a.address_id == *id)
            .ok_or_else(|| not_found(id))?;
        if address.address_status != "UNBIND" {
            return Err(TcError::new(
                "UnsupportedOperation.AddressStatusNotPermit",
                format!(
                    "The EIP `{id}` is {}; only an unbound EIP can be released.",
                    address.address_status
                ),
            ));
        }
    }
    addresses.retain(|a| !ids.contains(&a.address_id.as_str()));
    Ok(json!({ "TaskId": task_id() }))
}

/// An asynchronous task id, as Tencent answers for EIP operations.
fn task_id() -> String {
    rand::rng()
        .random_range(100_000_000u64..1_000_000_000)
        .to_string()
}

/// Test helpers on the simulator handle.
impl super::TencentSim {
    /// Allocate a free EIP in `region` (as `AllocateAddresses` does): `(id, address)`.
    pub fn allocate_address(&self, region: &str) -> (String, String) {
        let mut state = self.shared.state();
        let id = allocate(&mut state, region, None, false);
        let ip = state.addresses[region]
            .iter()
            .find(|a| a.address_id == id)
            .map(|a| a.address_ip.clone())
            .unwrap_or_default();
        (id, ip)
    }

    /// The EIPs of `region` as `(id, status, bound instance)`, in allocation order.
    pub fn addresses(&self, region: &str) -> Vec<(String, String, Option<String>)> {
        let now = self.shared.config.clock.now_ms();
        let mut state = self.shared.state();
        super::nat::advance(&mut state, now);
        state
            .addresses
            .get(region)
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a.address_id.clone(),
                    a.address_status.to_owned(),
                    a.instance_id.clone(),
                )
            })
            .collect()
    }
}
