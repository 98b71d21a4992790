//! `peering-connection/create` and `peering-connection/terminate` on the VPC service:
//! `DescribeVpcPeeringConnections`, `CreateVpcPeeringConnection`, `AcceptVpcPeeringConnection`,
//! `DeleteVpcPeeringConnection`.
//!
//! The connection goes from the VPC of `provider_params` to the peer's VPC in the peer's region
//! (`Region` of `peer_provider_params`, which must name a region and keys). A cross-region
//! connection needs `bandwidth`. Create waits until the connection is `ACTIVE`: at once within
//! a region, once the link is up across regions. A connection to another account is `PENDING`
//! until that account accepts it, so when `peer_provider_params` carries keys other than the
//! requester's, create accepts it with them in the peer's region (the original never used the
//! peer's keys). With the same keys it waits for an acceptance made elsewhere. `REJECTED` and
//! `EXPIRED` end the wait with an error. Terminate deletes it and waits until it is gone
//! (cross-region links take a while). Waits follow [`crate::waits::PEERING_CONNECTION`].

use broker_sdk::clock::{Clock, HostClock};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::{Client, TencentApi};
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, TencentParams, log};
use serde_json::{Value, json};

use crate::common::{
    self, API_VERSION, Common, Lookup, Resource, SERVICE, TerminateArgs, optional_uint, state_of,
    wait_for_state,
};
use crate::waits;

/// VPC peering connections of the VPC service (the create answers `PeeringConnectionId` at
/// the top level; [`create`] reads it).
pub const PEERING_CONNECTION: Resource = Resource {
    plural: "peering connections",
    describe: "DescribeVpcPeeringConnections",
    ids_param: "PeeringConnectionIds",
    set_key: "PeerConnectionSet",
    id_field: "PeeringConnectionId",
    create: "CreateVpcPeeringConnection",
    created_key: "PeeringConnectionId",
    delete: "DeleteVpcPeeringConnection",
};

/// The noun of messages.
const NOUN: &str = "peering connection";

/// States that end a create's wait with an error.
const FAILED: &[&str] = &["REJECTED", "EXPIRED", "FAILED", "DELETING", "gone"];

/// `peer_provider_params`, validated like `provider_params` (region and keys required); errors
/// name the field.
fn peer_params(input: &Input) -> Result<TencentParams, ErrorMessage> {
    TencentParams::parse(input.required_str("peer_provider_params")?)
        .map_err(|e| ErrorMessage::new(format!("peer_{}", e.message())))
}

/// Validated `peering-connection/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params` (the requesting side).
    pub common: Common,
    /// The accepting side: its region and keys.
    pub peer: TencentParams,
    /// Existing connection to look up first (optional).
    pub id: Option<String>,
    /// `PeeringConnectionName`.
    pub name: String,
    /// `SourceVpcId`.
    pub vpc_id: String,
    /// `DestinationVpcId`.
    pub peer_vpc_id: String,
    /// `DestinationUin`.
    pub peer_uin: String,
    /// `Bandwidth` in Mbps (required across regions).
    pub bandwidth: Option<u64>,
    /// `Type`: `VPCPEER` (`zone_node_link_type` 1, the default) or `VPCBMPEER` (2).
    pub link_type: &'static str,
}

impl CreateArgs {
    /// Validate a `peering-connection/create` input: `guid`, `provider_params`, `name`,
    /// `vpc_id`, `peer_provider_params`, `peer_vpc_id`, `peer_uin` required; `bandwidth`
    /// (required when the regions differ), `zone_node_link_type` (1 or 2) and `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let peer = peer_params(input)?;
        let bandwidth = optional_uint(input, "bandwidth")?;
        if bandwidth.is_none() && peer.region() != common.params.region() {
            return Err(ErrorMessage::new(format!(
                "field \"bandwidth\" is required for a cross-region peering connection ({} to {})",
                common.params.region(),
                peer.region()
            )));
        }
        let link_type = match optional_uint(input, "zone_node_link_type")? {
            None | Some(1) => "VPCPEER",
            Some(2) => "VPCBMPEER",
            Some(other) => {
                return Err(ErrorMessage::new(format!(
                    "field \"zone_node_link_type\" must be 1 (VPC to VPC) or 2 (VPC to bare metal), got {other}"
                )));
            }
        };
        Ok(Self {
            common,
            peer,
            id: input.optional_str("id")?.map(str::to_owned),
            name: input.required_str("name")?.to_owned(),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            peer_vpc_id: input.required_str("peer_vpc_id")?.to_owned(),
            peer_uin: input.required_str("peer_uin")?.to_owned(),
            bandwidth,
            link_type,
        })
    }

    /// The `CreateVpcPeeringConnection` payload.
    fn payload(&self) -> Value {
        let mut payload = json!({
            "SourceVpcId": self.vpc_id,
            "PeeringConnectionName": self.name,
            "DestinationVpcId": self.peer_vpc_id,
            "DestinationUin": self.peer_uin,
            "DestinationRegion": self.peer.region(),
            "Type": self.link_type,
        });
        if let Some(bandwidth) = self.bandwidth {
            payload["Bandwidth"] = json!(bandwidth);
        }
        payload
    }

    /// Whether the peer's keys differ from the requester's, so they can accept for the peer.
    fn peer_can_accept(&self) -> bool {
        self.peer.secret_id() != self.common.params.secret_id()
    }
}

/// Accept connection `id` as the peer when it is `PENDING` and the peer's keys are given, then
/// wait until it is `ACTIVE`.
fn settle(
    api: &impl TencentApi,
    peer: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
    id: &str,
) -> Result<(), ErrorMessage> {
    let (_, lookup) = common::describe(api, &PEERING_CONNECTION, id)?;
    let state = match &lookup {
        Lookup::One(_, item) => state_of(item),
        _ => "gone",
    };
    if state == "PENDING" && args.peer_can_accept() {
        match peer.call(
            "AcceptVpcPeeringConnection",
            &json!({ "PeeringConnectionId": id }),
        ) {
            Ok(_) => {}
            // Not waiting for acceptance (a same-account connection whose link is still being
            // set up): the wait below tells whether it comes up.
            Err(error)
                if error
                    .code()
                    .is_some_and(|c| c.starts_with("UnsupportedOperation")) =>
            {
                log::info(
                    "peering-connection/create",
                    &[
                        ("id", id),
                        ("accept", "not needed"),
                        ("detail", &error.to_string()),
                    ],
                );
            }
            Err(error) => {
                return Err(ErrorMessage::new(format!(
                    "the peer could not accept it: {error}"
                )));
            }
        }
    }
    wait_for_state(
        api,
        clock,
        wait,
        &PEERING_CONNECTION,
        NOUN,
        id,
        &["ACTIVE"],
        FAILED,
    )?;
    Ok(())
}

/// Create a connection and wait until it is active, or return the existing one when `id`
/// names one.
pub fn create(
    api: &impl TencentApi,
    peer: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    let guid = &args.common.guid;
    if let Some(id) = &args.id {
        match common::describe(api, &PEERING_CONNECTION, id)? {
            (request_id, Lookup::One(found, _)) => {
                settle(api, peer, clock, wait, args, &found)?;
                return Ok(common::output_with_id(&request_id, guid, &found));
            }
            (_, Lookup::Absent) => {}
            (request_id, Lookup::Many(n)) => {
                return Err(ErrorMessage::new(format!(
                    "DescribeVpcPeeringConnections found {n} peering connections for id {id}, expected at most 1 (RequestId={request_id})"
                )));
            }
        }
    }
    let response = api.call("CreateVpcPeeringConnection", &args.payload())?;
    let id = response
        .body
        .get("PeeringConnectionId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "CreateVpcPeeringConnection succeeded but returned no PeeringConnectionId (RequestId={})",
                response.request_id
            ))
        })?
        .to_owned();
    settle(api, peer, clock, wait, args, &id).map_err(|e| {
        ErrorMessage::new(format!(
            "peering connection {id} was created, but: {}",
            e.as_str()
        ))
    })?;
    Ok(common::output_with_id(&response.request_id, guid, &id))
}

/// Delete a connection and wait until it is gone; one already gone counts as deleted.
pub fn terminate(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &TerminateArgs,
) -> Result<Output, ErrorMessage> {
    let (guid, id) = (&args.common.guid, &args.id);
    let (mut request_id, lookup) = common::describe(api, &PEERING_CONNECTION, id)?;
    let state = match &lookup {
        Lookup::Absent => return Ok(common::output_with_id(&request_id, guid, id)),
        Lookup::One(_, item) => state_of(item).to_owned(),
        Lookup::Many(_) => String::new(),
    };
    if state != "DELETING" {
        let payload = json!({ "PeeringConnectionId": id });
        match api.call("DeleteVpcPeeringConnection", &payload) {
            Ok(response) => request_id = response.request_id,
            Err(error) if error.is_not_found() => {
                return Ok(common::output_with_id(error.request_id(), guid, id));
            }
            Err(error) => return Err(error.into()),
        }
    }
    wait_for_state(
        api,
        clock,
        wait,
        &PEERING_CONNECTION,
        NOUN,
        id,
        &["gone"],
        &[],
    )?;
    Ok(common::output_with_id(&request_id, guid, id))
}

/// `POST /v1/qcloud/peering-connection/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::PEERING_CONNECTION.read()?;
    common::with_client("peering-connection/create", &args.common, |api| {
        let credential = args.peer.credential();
        let peer = Client::new(&credential, SERVICE, API_VERSION, Some(args.peer.region()));
        create(api, &peer, &HostClock, wait, &args)
    })
}

/// `POST /v1/qcloud/peering-connection/terminate`, one input (`peer_provider_params` required
/// and validated, as the spec says; the requester deletes).
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    peer_params(input)?;
    let wait = waits::PEERING_CONNECTION.read()?;
    common::with_client("peering-connection/terminate", &args.common, |api| {
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
    const OTHER_KEYS: &str = "Region=ap-shanghai;SecretID=AKIDpeer;SecretKey=peer-key";

    fn connection(state: &str) -> Result<TencentResponse, TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "PeerConnectionSet": [{"PeeringConnectionId": "pcx-1", "State": state}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "name": "p", "vpc_id": "vpc-1",
            "peer_provider_params": PARAMS, "peer_vpc_id": "vpc-2", "peer_uin": "100"})
    }

    #[test]
    fn peer_params_are_validated_and_cross_region_needs_bandwidth() {
        let mut i = create_input();
        i["peer_provider_params"] = json!("AvailableZone=x;SecretID=a;SecretKey=b");
        assert_eq!(
            CreateArgs::from_input(&input(i)).unwrap_err().as_str(),
            "peer_provider_params is missing `Region`"
        );
        let mut i = create_input();
        i["peer_provider_params"] = json!("Region=ap-beijing;SecretID=a;SecretKey=b");
        assert_eq!(
            CreateArgs::from_input(&input(i.clone()))
                .unwrap_err()
                .as_str(),
            "field \"bandwidth\" is required for a cross-region peering connection (ap-shanghai to ap-beijing)"
        );
        i["bandwidth"] = json!("100");
        let payload = CreateArgs::from_input(&input(i)).unwrap().payload();
        assert_eq!(
            payload,
            json!({"SourceVpcId": "vpc-1", "PeeringConnectionName": "p", "DestinationVpcId": "vpc-2",
                "DestinationUin": "100", "DestinationRegion": "ap-beijing", "Type": "VPCPEER",
                "Bandwidth": 100})
        );
        let mut i = create_input();
        i["zone_node_link_type"] = json!("2");
        assert_eq!(
            CreateArgs::from_input(&input(i.clone())).unwrap().link_type,
            "VPCBMPEER"
        );
        i["zone_node_link_type"] = json!(3);
        assert!(CreateArgs::from_input(&input(i)).is_err());
    }

    #[test]
    fn create_with_the_same_keys_waits_until_active_without_accepting() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"PeeringConnectionId": "pcx-1"})),
            connection("PENDING"),
            connection("PENDING"),
            connection("ACTIVE"),
        ]);
        let peer = FakeApi::new(vec![]);
        let clock = FakeClock::new();
        let out = create(&api, &peer, &clock, WAIT, &args).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g", "id": "pcx-1"})
        );
        assert_eq!(clock.sleeps.get(), 1);
        assert!(peer.actions().is_empty());
    }

    #[test]
    fn create_with_the_peers_own_keys_accepts_for_the_peer() {
        let mut i = create_input();
        i["peer_provider_params"] = json!(OTHER_KEYS);
        let args = CreateArgs::from_input(&input(i)).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"PeeringConnectionId": "pcx-1"})),
            connection("PENDING"),
            connection("ACTIVE"),
        ]);
        let peer = FakeApi::new(vec![ok("r-acc", json!({}))]);
        create(&api, &peer, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(
            peer.calls.borrow()[0],
            (
                "AcceptVpcPeeringConnection".to_owned(),
                json!({"PeeringConnectionId": "pcx-1"})
            )
        );

        // Nothing to accept (a same-account link still coming up): the wait decides.
        let api = FakeApi::new(vec![
            ok("r-c", json!({"PeeringConnectionId": "pcx-1"})),
            connection("PENDING"),
            connection("ACTIVE"),
        ]);
        let peer = FakeApi::new(vec![api_error(
            "UnsupportedOperation.PcxStatusNotPermit",
            "r-u",
        )]);
        create(&api, &peer, &FakeClock::new(), WAIT, &args).unwrap();

        let api = FakeApi::new(vec![
            ok("r-c", json!({"PeeringConnectionId": "pcx-1"})),
            connection("PENDING"),
        ]);
        let peer = FakeApi::new(vec![api_error("AuthFailure.UnauthorizedOperation", "r-x")]);
        let error = create(&api, &peer, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(
            error.as_str().starts_with(
                "peering connection pcx-1 was created, but: the peer could not accept it: [TencentCloudSDKError] Code=AuthFailure.UnauthorizedOperation"
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_rejected_connection_ends_the_wait_with_an_error() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"PeeringConnectionId": "pcx-1"})),
            connection("PENDING"),
            connection("REJECTED"),
        ]);
        let error =
            create(&api, &FakeApi::new(vec![]), &FakeClock::new(), WAIT, &args).unwrap_err();
        assert_eq!(
            error.as_str(),
            "peering connection pcx-1 was created, but: peering connection pcx-1 is REJECTED"
        );
    }

    #[test]
    fn terminate_waits_until_gone_and_an_absent_connection_succeeds() {
        let args = TerminateArgs::from_input(&input(
            json!({"guid": "g", "provider_params": PARAMS, "id": "pcx-1"}),
        ))
        .unwrap();
        let api = FakeApi::new(vec![
            connection("ACTIVE"),
            ok("r-del", json!({})),
            connection("DELETING"),
            api_error("ResourceNotFound", "r-nf"),
        ]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-del");
        let api = FakeApi::new(vec![api_error("ResourceNotFound", "r-nf")]);
        let out = terminate(&api, &FakeClock::new(), WAIT, &args).unwrap();
        assert_eq!(out["request_id"], "r-nf");
        assert_eq!(api.actions(), ["DescribeVpcPeeringConnections"]);
    }
}
