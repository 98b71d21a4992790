//! `nat-gateway/create` and `nat-gateway/terminate` on the VPC service: `DescribeNatGateways`,
//! `CreateNatGateway`, `DeleteNatGateway`, and the gateway's EIPs through `DescribeAddresses`
//! (filtered by `instance-id`) and `ReleaseAddresses`.
//!
//! Create waits until the gateway is `AVAILABLE` (`FAILED` ends the wait with an error), then
//! answers its EIPs: `eip` and `eip_id` list every EIP bound to the gateway, comma-joined in the
//! same order when there are several. Terminate waits until the gateway is gone. Tencent releases
//! the EIPs it allocated for the gateway (`auto_alloc_eip_num`, marked `CascadeRelease`) together
//! with it; terminate checks afterwards and releases any of those still there, so none leaks.
//! The caller's own EIPs (`assigned_eip_set`) are only unbound, never released. Both waits poll
//! with the host clock as the operator settings of [`crate::waits::NAT_GATEWAY`] say.

use std::net::Ipv4Addr;

use broker_sdk::clock::{Clock, HostClock};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output, type_name};
use broker_sdk::{ErrorMessage, log};
use serde_json::{Value, json};

use crate::common::{
    self, Common, Lookup, Resource, TerminateArgs, optional_uint, state_of, wait_for_state,
};
use crate::waits;

/// NAT gateways of the VPC service (the create answers a one-gateway `NatGatewaySet`; [`create`]
/// reads it).
pub const NAT_GATEWAY: Resource = Resource {
    plural: "NAT gateways",
    describe: "DescribeNatGateways",
    ids_param: "NatGatewayIds",
    set_key: "NatGatewaySet",
    id_field: "NatGatewayId",
    create: "CreateNatGateway",
    created_key: "NatGatewaySet",
    delete: "DeleteNatGateway",
};

/// The noun of messages.
const NOUN: &str = "NAT gateway";

/// Validated `nat-gateway/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing gateway to look up first (optional).
    pub id: Option<String>,
    /// `NatGatewayName`.
    pub name: String,
    /// `VpcId`.
    pub vpc_id: String,
    /// `MaxConcurrentConnection` (Tencent's default when absent).
    pub max_concurrent: Option<u64>,
    /// `InternetMaxBandwidthOut` in Mbps (Tencent's default when absent).
    pub bandwidth: Option<u64>,
    /// `PublicIpAddresses`: the caller's own EIPs to bind.
    pub assigned_eips: Vec<String>,
    /// `AddressCount`: how many EIPs Tencent allocates for the gateway.
    pub auto_alloc_eip_num: Option<u64>,
}

/// `assigned_eip_set`: a single address, comma-separated addresses or a JSON array of them (as a
/// string or a real array); absent, `null` and `""` are none. Each must be an IPv4 address.
fn eip_set(input: &Input) -> Result<Vec<String>, ErrorMessage> {
    const NAME: &str = "assigned_eip_set";
    let items: Vec<String> = match input.get(NAME) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if text.trim().starts_with('[') => {
            serde_json::from_str::<Vec<String>>(text.trim()).map_err(|_| {
                ErrorMessage::new(format!(
                    "field \"{NAME}\" is not a JSON array of addresses: {text}"
                ))
            })?
        }
        Some(Value::String(text)) => text.split(',').map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(ErrorMessage::new(format!(
                    "field \"{NAME}\" must hold addresses as strings, got {}",
                    type_name(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ErrorMessage::new(format!(
                "field \"{NAME}\" must be a string, got {}",
                type_name(other)
            )));
        }
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<Ipv4Addr>() {
            Ok(_) => Ok(s.to_owned()),
            Err(_) => Err(ErrorMessage::new(format!(
                "field \"{NAME}\" holds `{s}`, which is not an IPv4 address"
            ))),
        })
        .collect()
}

impl CreateArgs {
    /// Validate a `nat-gateway/create` input: `guid`, `provider_params`, `name`, `vpc_id`
    /// required; `id`, `max_concurrent`, `bandwidth` optional; at least one of
    /// `assigned_eip_set` and `auto_alloc_eip_num` (non-zero), as the spec says.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let args = Self {
            common: Common::from_input(input)?,
            id: input.optional_str("id")?.map(str::to_owned),
            name: input.required_str("name")?.to_owned(),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            max_concurrent: optional_uint(input, "max_concurrent")?,
            bandwidth: optional_uint(input, "bandwidth")?,
            assigned_eips: eip_set(input)?,
            auto_alloc_eip_num: optional_uint(input, "auto_alloc_eip_num")?.filter(|n| *n > 0),
        };
        if args.assigned_eips.is_empty() && args.auto_alloc_eip_num.is_none() {
            return Err(ErrorMessage::new(
                "at least one of \"assigned_eip_set\" and \"auto_alloc_eip_num\" is required",
            ));
        }
        Ok(args)
    }

    /// The `CreateNatGateway` payload; unset options are left to Tencent's defaults.
    fn payload(&self) -> Value {
        let mut payload = json!({"VpcId": self.vpc_id, "NatGatewayName": self.name});
        if let Some(bandwidth) = self.bandwidth {
            payload["InternetMaxBandwidthOut"] = json!(bandwidth);
        }
        if let Some(max) = self.max_concurrent {
            payload["MaxConcurrentConnection"] = json!(max);
        }
        if let Some(count) = self.auto_alloc_eip_num {
            payload["AddressCount"] = json!(count);
        }
        if !self.assigned_eips.is_empty() {
            payload["PublicIpAddresses"] = json!(self.assigned_eips);
        }
        payload
    }
}

/// The EIPs bound to gateway `id`: `DescribeAddresses` filtered by `instance-id`.
pub fn addresses_of(api: &impl TencentApi, id: &str) -> Result<Vec<Value>, ErrorMessage> {
    let filter = json!({"Filters": [{"Name": "instance-id", "Values": [id]}], "Limit": 100});
    let response = api.call("DescribeAddresses", &filter)?;
    Ok(response
        .body
        .get("AddressSet")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// Field `name` of every address, comma-joined.
fn joined(addresses: &[Value], name: &str) -> String {
    addresses
        .iter()
        .filter_map(|a| a.get(name).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(",")
}

/// Wait until gateway `id` is `AVAILABLE`, then answer it with its EIPs.
fn available_output(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    request_id: &str,
    guid: &str,
    id: &str,
) -> Result<Output, ErrorMessage> {
    wait_for_state(
        api,
        clock,
        wait,
        &NAT_GATEWAY,
        NOUN,
        id,
        &["AVAILABLE"],
        &["FAILED", "gone"],
    )?;
    let addresses = addresses_of(api, id)?;
    let mut out = common::output_with_id(request_id, guid, id);
    out.insert("eip".into(), joined(&addresses, "AddressIp").into());
    out.insert("eip_id".into(), joined(&addresses, "AddressId").into());
    Ok(out)
}

/// Create a gateway and wait until it is available, or return the existing one when `id` names
/// one; either way with its EIPs.
pub fn create(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    if let Some(id) = &args.id {
        match common::describe(api, &NAT_GATEWAY, id)? {
            (request_id, Lookup::One(found, _)) => {
                return available_output(api, clock, wait, &request_id, guid, &found);
            }
            (_, Lookup::Absent) => {}
            (request_id, Lookup::Many(n)) => {
                return Err(ErrorMessage::new(format!(
                    "DescribeNatGateways found {n} NAT gateways for id {id}, expected at most 1 (RequestId={request_id})"
                )));
            }
        }
    }
    let response = api.call("CreateNatGateway", &args.payload())?;
    let id = response
        .body
        .get("NatGatewaySet")
        .and_then(Value::as_array)
        .and_then(|set| set.first())
        .and_then(|gateway| gateway.get("NatGatewayId"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "CreateNatGateway succeeded but returned no NatGatewayId (RequestId={})",
                response.request_id
            ))
        })?
        .to_owned();
    available_output(api, clock, wait, &response.request_id, guid, &id).map_err(|e| {
        ErrorMessage::new(format!("NAT gateway {id} was created, but: {}", e.as_str()))
    })
}

/// Release those of `ids` (EIPs the gateway had allocated itself) that are still there.
fn release_leftovers(api: &impl TencentApi, ids: &[String]) -> Result<(), ErrorMessage> {
    if ids.is_empty() {
        return Ok(());
    }
    let filter = json!({"Filters": [{"Name": "address-id", "Values": ids}], "Limit": 100});
    let response = api.call("DescribeAddresses", &filter)?;
    let left: Vec<&str> = response
        .body
        .get("AddressSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("AddressId").and_then(Value::as_str))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    log::info(
        "nat-gateway/terminate",
        &[("outcome", "releasing EIPs"), ("ids", &left.join(","))],
    );
    api.call("ReleaseAddresses", &json!({ "AddressIds": left }))?;
    Ok(())
}

/// Delete a gateway and wait until it is gone (one already gone counts as deleted), then make
/// sure the EIPs it allocated itself are released.
pub fn terminate(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (mut request_id, lookup) = common::describe(api, &NAT_GATEWAY, id)?;
    let item = match lookup {
        Lookup::Absent => return Ok(common::output_with_id(&request_id, guid, id)),
        Lookup::One(_, item) => item,
        Lookup::Many(_) => Value::Null,
    };
    let mut state = state_of(&item).to_owned();
    if matches!(state.as_str(), "PENDING" | "UPDATING") {
        // A gateway being set up cannot be deleted yet.
        let settled = wait_for_state(
            api,
            clock,
            wait,
            &NAT_GATEWAY,
            NOUN,
            id,
            &["AVAILABLE", "FAILED", "DELETING", "gone"],
            &[],
        )?;
        match settled {
            None => return Ok(common::output_with_id(&request_id, guid, id)),
            Some(item) => state = state_of(&item).to_owned(),
        }
    }
    let allocated: Vec<String> = addresses_of(api, id)?
        .iter()
        .filter(|a| a.get("CascadeRelease").and_then(Value::as_bool) == Some(true))
        .filter_map(|a| {
            a.get("AddressId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    if state != "DELETING" {
        match api.call("DeleteNatGateway", &json!({ "NatGatewayId": id })) {
            Ok(response) => request_id = response.request_id,
            Err(error) if error.is_not_found() => request_id = error.request_id().to_owned(),
            Err(error) => return Err(error.into()),
        }
    }
    wait_for_state(api, clock, wait, &NAT_GATEWAY, NOUN, id, &["gone"], &[])?;
    release_leftovers(api, &allocated).map_err(|e| {
        ErrorMessage::new(format!(
            "NAT gateway {id} was deleted, but releasing its EIPs failed: {}",
            e.as_str()
        ))
    })?;
    Ok(common::output_with_id(&request_id, guid, id))
}

/// `POST /v1/qcloud/nat-gateway/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::NAT_GATEWAY.read()?;
    common::with_client("nat-gateway/create", &args.common, |api| {
        create(api, &HostClock, wait, &args)
    })
}

/// `POST /v1/qcloud/nat-gateway/terminate`, one input (`vpc_id`, which the spec's example
/// passes, is not needed by API 3.0 and ignored).
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    let wait = waits::NAT_GATEWAY.read()?;
    common::with_client("nat-gateway/terminate", &args.common, |api| {
        terminate(api, &HostClock, wait, &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, api_error, input, ok};
    use broker_sdk::{TencentError, TencentResponse};

    const WAIT: Wait = Wait {
        timeout_ms: 60_000,
        interval_ms: 5_000,
    };

    fn gateway(state: &str) -> Result<TencentResponse, TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "NatGatewaySet": [{"NatGatewayId": "nat-1", "State": state}]}),
        )
    }

    fn gone() -> Result<TencentResponse, TencentError> {
        ok("r-g", json!({"TotalCount": 0, "NatGatewaySet": []}))
    }

    fn eips(cascade: bool) -> Result<TencentResponse, TencentError> {
        ok(
            "r-a",
            json!({"TotalCount": 2, "AddressSet": [
                {"AddressId": "eip-1", "AddressIp": "1.1.1.1", "CascadeRelease": cascade},
                {"AddressId": "eip-2", "AddressIp": "2.2.2.2", "CascadeRelease": false}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "name": "nat", "vpc_id": "vpc-1",
            "max_concurrent": 1000000, "bandwidth": "100", "assigned_eip_set": "",
            "auto_alloc_eip_num": 1})
    }

    #[test]
    fn the_eip_set_takes_one_address_a_comma_list_or_a_json_array() {
        let eips = |v: Value| {
            let mut i = create_input();
            i["assigned_eip_set"] = v;
            CreateArgs::from_input(&input(i)).map(|a| a.assigned_eips)
        };
        assert_eq!(eips(json!("1.1.1.1")).unwrap(), ["1.1.1.1"]);
        assert_eq!(
            eips(json!(" 1.1.1.1, 2.2.2.2 ,")).unwrap(),
            ["1.1.1.1", "2.2.2.2"]
        );
        assert_eq!(
            eips(json!("[\"1.1.1.1\",\"2.2.2.2\"]")).unwrap(),
            ["1.1.1.1", "2.2.2.2"]
        );
        assert_eq!(eips(json!(["3.3.3.3"])).unwrap(), ["3.3.3.3"]);
        assert!(eips(json!("")).unwrap().is_empty());
        assert!(
            eips(json!("not-an-ip"))
                .unwrap_err()
                .as_str()
                .contains("not-an-ip")
        );
        assert!(eips(json!("[1, 2")).is_err());
        assert!(eips(json!(5)).unwrap_err().as_str().contains("string"));
    }

    #[test]
    fn create_needs_one_of_the_eip_inputs_and_sends_only_what_was_given() {
        let mut i = create_input();
        i["auto_alloc_eip_num"] = json!(0);
        assert_eq!(
            CreateArgs::from_input(&input(i)).unwrap_err().as_str(),
            "at least one of \"assigned_eip_set\" and \"auto_alloc_eip_num\" is required"
        );
        let mut i = create_input();
        i.as_object_mut().unwrap().remove("max_concurrent");
        i["bandwidth"] = json!(null);
        let payload = CreateArgs::from_input(&input(i)).unwrap().payload();
        assert_eq!(
            payload,
            json!({"VpcId": "vpc-1", "NatGatewayName": "nat", "AddressCount": 1})
        );
        let mut i = create_input();
        i["bandwidth"] = json!("fast");
        assert!(CreateArgs::from_input(&input(i)).is_err());
    }

    #[test]
    fn create_waits_until_available_and_answers_every_eip_comma_joined() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok(
                "r-c",
                json!({"TotalCount": 1, "NatGatewaySet": [{"NatGatewayId": "nat-1", "State": "PENDING"}]}),
            ),
            gateway("PENDING"),
            gateway("AVAILABLE"),
            eips(true),
        ]);
        let clock = FakeClock::new();
        let out = create(&api, &clock, WAIT, &args).unwrap();
        assert_eq!(clock.sleeps.get(), 1);
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "nat-1",
                "eip": "1.1.1.1,2.2.2.2", "eip_id": "eip-1,eip-2"})
        );
        let calls = api.calls.borrow();
        assert_eq!(calls[0].1["InternetMaxBandwidthOut"], 100);
        assert_eq!(calls[0].1["MaxConcurrentConnection"], 1_000_000);
        assert_eq!(
            calls[3].1,
            json!({"Filters": [{"Name": "instance-id", "Values": ["nat-1"]}], "Limit": 100})
        );
    }

    #[test]
    fn a_failed_gateway_ends_the_wait_with_an_error_and_so_does_the_timeout() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let created = || {
            ok(
                "r-c",
                json!({"NatGatewaySet": [{"NatGatewayId": "nat-1", "State": "PENDING"}]}),
            )
        };
        let api = FakeApi::new(vec![created(), gateway("PENDING"), gateway("FAILED")]);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "NAT gateway nat-1 was created, but: NAT gateway nat-1 is FAILED"
        );
        let mut answers = vec![created()];
        answers.extend((0..=WAIT.timeout_ms / WAIT.interval_ms).map(|_| gateway("PENDING")));
        let api = FakeApi::new(answers);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(
            error
                .as_str()
                .ends_with("timed out after 60 s waiting for NAT gateway nat-1 to be AVAILABLE (last state PENDING)"),
            "{error:?}"
        );
    }

    #[test]
    fn create_with_an_existing_id_answers_it_without_creating() {
        let mut i = create_input();
        i["id"] = json!("nat-1");
        let args = CreateArgs::from_input(&input(i)).unwrap();
        let api = FakeApi::new(vec![
            gateway("AVAILABLE"),
            gateway("AVAILABLE"),
            eips(false),
        ]);
        let out = create(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["id"], "nat-1");
        assert_eq!(out["eip_id"], "eip-1,eip-2");
        assert!(!api.actions().contains(&"CreateNatGateway".to_owned()));
    }

    #[test]
    fn terminate_waits_until_gone_and_releases_allocated_eips_left_behind() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "nat-1", "vpc_id": "vpc-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![
            gateway("AVAILABLE"),
            eips(true),
            ok("r-del", json!({})),
            gateway("DELETING"),
            gone(),
            ok("r-left", json!({"AddressSet": [{"AddressId": "eip-1"}]})),
            ok("r-rel", json!({"TaskId": "1"})),
        ]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-del");
        let calls = api.calls.borrow();
        assert_eq!(
            calls[5].1["Filters"],
            json!([{"Name": "address-id", "Values": ["eip-1"]}]),
            "only the EIPs the gateway allocated itself"
        );
        assert_eq!(
            calls[6],
            (
                "ReleaseAddresses".to_owned(),
                json!({"AddressIds": ["eip-1"]})
            )
        );
    }

    #[test]
    fn terminate_of_an_absent_gateway_succeeds_and_a_delete_error_is_not_swallowed() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "nat-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![api_error("ResourceNotFound", "r-nf")]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-nf");
        let api = FakeApi::new(vec![
            gateway("AVAILABLE"),
            eips(false),
            api_error("UnsupportedOperation", "r-x"),
        ]);
        let error = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(error.as_str().contains("UnsupportedOperation"), "{error:?}");
    }
}
