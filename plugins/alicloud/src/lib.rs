//! Alibaba Cloud provider plugin: the WeCube alicloud API (`/alicloud/v1/...`) over Alibaba
//! Cloud's RPC APIs (signature v1, signed by the host). Each route takes an alicloud batch; see
//! `shared/spec/alicloud-api.md`.

use broker_sdk::alicloud;
use broker_sdk::http::method_name;
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, Manifest, Method, Operation, Plugin, Request, Response};

pub mod cen;
pub mod common;
pub mod disk;
pub mod eip;
pub mod load_balancer;
pub mod nat;
pub mod rds;
pub mod redis;
pub mod route_table;
pub mod security_group;
pub mod vm;
pub mod vpc;
pub mod vswitch;
pub mod waits;

/// Every route this plugin serves starts with this prefix.
pub const ROUTE_PREFIX: &str = "/alicloud/v1/";

/// A per-input handler of a batch route.
type Handler = fn(&Input) -> Result<Output, ErrorMessage>;

/// One route: path (all are `POST`), summary for the manifest, handler.
struct Route {
    path: &'static str,
    summary: &'static str,
    handler: Handler,
}

const ROUTES: &[Route] = &[
    Route {
        path: "/alicloud/v1/vpc/create",
        summary: "Create a VPC and wait until it is available (returns the existing one when `vpcId` is found).",
        handler: vpc::handle_create,
    },
    Route {
        path: "/alicloud/v1/vpc/delete",
        summary: "Delete a VPC and wait until it is gone (success when it is already gone).",
        handler: vpc::handle_delete,
    },
    Route {
        path: "/alicloud/v1/vswitch/create",
        summary: "Create a vSwitch and wait until it is available (returns the existing one when `vSwitchId` is found).",
        handler: vswitch::handle_create,
    },
    Route {
        path: "/alicloud/v1/vswitch/delete",
        summary: "Delete a vSwitch (success when it is already gone).",
        handler: vswitch::handle_delete,
    },
    Route {
        path: "/alicloud/v1/vswitch/create/route_table/bind",
        summary: "Create a vSwitch with its own custom route table.",
        handler: vswitch::handle_create_with_route_table,
    },
    Route {
        path: "/alicloud/v1/vswitch/delete/route_table/unbind",
        summary: "Delete a vSwitch and its custom route table (success when it is already gone).",
        handler: vswitch::handle_delete_with_route_table,
    },
    Route {
        path: "/alicloud/v1/route_table/create",
        summary: "Create a custom route table (returns the existing one when `routeTableId` is found).",
        handler: route_table::handle_create,
    },
    Route {
        path: "/alicloud/v1/route_table/delete",
        summary: "Unassociate and delete a custom route table (success when it is already gone).",
        handler: route_table::handle_delete,
    },
    Route {
        path: "/alicloud/v1/route_table/vswitch/associate",
        summary: "Associate a vSwitch with a route table.",
        handler: route_table::handle_associate_vswitch,
    },
    Route {
        path: "/alicloud/v1/route_table/route_entry/create",
        summary: "Add a route entry (success when the same route exists).",
        handler: route_table::handle_create_entry,
    },
    Route {
        path: "/alicloud/v1/route_table/route_entry/delete",
        summary: "Delete a route entry (success when it is already gone).",
        handler: route_table::handle_delete_entry,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/create",
        summary: "Create a NAT gateway and wait until it is available (returns the existing one when `natGatewayId` is found).",
        handler: nat::handle_create,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/delete",
        summary: "Force-delete a NAT gateway and wait until it is gone (success when it is already gone).",
        handler: nat::handle_delete,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/snat_entry/create",
        summary: "Bind EIPs to a NAT gateway and create an SNAT entry with them.",
        handler: nat::handle_create_entry,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/snat_entry/delete",
        summary: "Delete an SNAT entry and unbind its EIPs (success when it is already gone).",
        handler: nat::handle_delete_entry,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/snat_entry/modify/append",
        summary: "Add EIPs to an SNAT entry.",
        handler: nat::handle_append,
    },
    Route {
        path: "/alicloud/v1/vpc/nat/snat_entry/modify/remove",
        summary: "Remove EIPs from an SNAT entry and unbind them.",
        handler: nat::handle_remove,
    },
    Route {
        path: "/alicloud/v1/vpc/eip/allocate",
        summary: "Allocate an EIP into a common bandwidth package (returns the existing one when `allocationId` is found).",
        handler: eip::handle_allocate,
    },
    Route {
        path: "/alicloud/v1/vpc/eip/release",
        summary: "Release an EIP (success when it is already gone).",
        handler: eip::handle_release,
    },
    Route {
        path: "/alicloud/v1/vpc/eip/associate",
        summary: "Bind an EIP to an instance and wait until it is in use.",
        handler: eip::handle_associate,
    },
    Route {
        path: "/alicloud/v1/vpc/eip/un-associate",
        summary: "Unbind an EIP from an instance and wait until it is free.",
        handler: eip::handle_unassociate,
    },
    Route {
        path: "/alicloud/v1/cen/create",
        summary: "Create a CEN and wait until it is active (returns the existing one when `cenId` is found).",
        handler: cen::handle_create,
    },
    Route {
        path: "/alicloud/v1/cen/delete",
        summary: "Detach every network, delete the CEN and wait until it is gone (success when it is already gone).",
        handler: cen::handle_delete,
    },
    Route {
        path: "/alicloud/v1/cen/attach",
        summary: "Attach a network (VPC) to a CEN and wait until it is attached.",
        handler: cen::handle_attach,
    },
    Route {
        path: "/alicloud/v1/cen/detach",
        summary: "Detach a network from a CEN and wait until it is detached.",
        handler: cen::handle_detach,
    },
    Route {
        path: "/alicloud/v1/security_group/create",
        summary: "Create a security group (returns the existing one when `securityGroupId` is found).",
        handler: security_group::handle_create,
    },
    Route {
        path: "/alicloud/v1/security_group/delete",
        summary: "Delete a security group (success when it is already gone).",
        handler: security_group::handle_delete,
    },
    Route {
        path: "/alicloud/v1/security_group/authorize",
        summary: "Add (list-valued) rules to a security group; all or none are applied.",
        handler: security_group::handle_authorize,
    },
    Route {
        path: "/alicloud/v1/security_group/revoke",
        summary: "Remove (list-valued) rules from a security group; all or none are removed.",
        handler: security_group::handle_revoke,
    },
    Route {
        path: "/alicloud/v1/vm/create",
        summary: "Create an ECS instance, start it and wait until it runs; returns its encrypted password (returns the existing one when `instanceId` is found).",
        handler: vm::handle_create,
    },
    Route {
        path: "/alicloud/v1/vm/delete",
        summary: "Delete an ECS instance and wait until it is gone (success when it is already gone).",
        handler: vm::handle_delete,
    },
    Route {
        path: "/alicloud/v1/vm/start",
        summary: "Start an ECS instance and wait until it runs.",
        handler: vm::handle_start,
    },
    Route {
        path: "/alicloud/v1/vm/stop",
        summary: "Stop an ECS instance and wait until it is stopped.",
        handler: vm::handle_stop,
    },
    Route {
        path: "/alicloud/v1/vm/security-group/bind",
        summary: "Add a security group to an instance.",
        handler: vm::handle_bind_security_group,
    },
    Route {
        path: "/alicloud/v1/vm/security-group/unbind",
        summary: "Remove a security group from an instance.",
        handler: vm::handle_unbind_security_group,
    },
    Route {
        path: "/alicloud/v1/disk/create_attach",
        summary: "Create a disk, attach it, and format and mount it with Cloud Assistant (returns the existing one when `diskId` is found).",
        handler: disk::handle_create_attach,
    },
    Route {
        path: "/alicloud/v1/disk/detach_delete",
        summary: "Unmount a disk with Cloud Assistant, detach and delete it (success when it is already gone).",
        handler: disk::handle_detach_delete,
    },
    Route {
        path: "/alicloud/v1/load_balancer/create",
        summary: "Create a load balancer (returns the existing one when `loadBalancerId` is found).",
        handler: load_balancer::handle_create,
    },
    Route {
        path: "/alicloud/v1/load_balancer/delete",
        summary: "Delete a load balancer (success when it is already gone).",
        handler: load_balancer::handle_delete,
    },
    Route {
        path: "/alicloud/v1/load_balancer/backend_server/add",
        summary: "Add backend servers through a VServer group on a listener (created and started as needed).",
        handler: load_balancer::handle_add_backend,
    },
    Route {
        path: "/alicloud/v1/load_balancer/backend_server/remove",
        summary: "Remove backend servers; optionally delete the listener and its VServer group.",
        handler: load_balancer::handle_remove_backend,
    },
    Route {
        path: "/alicloud/v1/rds/db/create",
        summary: "Create an RDS instance and its account and wait until both are ready (returns the existing one when `dBInstanceId` is found).",
        handler: rds::handle_create,
    },
    Route {
        path: "/alicloud/v1/rds/db/delete",
        summary: "Delete an RDS instance and wait until it is gone (success when it is already gone).",
        handler: rds::handle_delete,
    },
    Route {
        path: "/alicloud/v1/rds/backup/create",
        summary: "Back up an RDS instance and wait until the backup finished.",
        handler: rds::handle_create_backup,
    },
    Route {
        path: "/alicloud/v1/rds/backup/delete",
        summary: "Delete an RDS backup (success when it is already gone).",
        handler: rds::handle_delete_backup,
    },
    Route {
        path: "/alicloud/v1/rds/security_ip/append",
        summary: "Add IPs to an RDS whitelist group.",
        handler: rds::handle_append_ips,
    },
    Route {
        path: "/alicloud/v1/rds/security_ip/delete",
        summary: "Remove IPs from an RDS whitelist group.",
        handler: rds::handle_delete_ips,
    },
    Route {
        path: "/alicloud/v1/redis/create",
        summary: "Create a Redis instance and wait until it is ready; returns its encrypted password (returns the existing one when `instanceId` is found).",
        handler: redis::handle_create,
    },
    Route {
        path: "/alicloud/v1/redis/delete",
        summary: "Delete a Redis instance and wait until it is gone (success when it is already gone).",
        handler: redis::handle_delete,
    },
];

/// The plugin type exported to the broker.
pub struct Alicloud;

impl Plugin for Alicloud {
    fn manifest() -> Manifest {
        Manifest {
            name: "alicloud".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            route_prefixes: vec![ROUTE_PREFIX.to_owned()],
            operations: ROUTES
                .iter()
                .map(|r| Operation {
                    method: Method::Post,
                    path: r.path.to_owned(),
                    summary: r.summary.to_owned(),
                })
                .collect(),
            upstream_hosts: vec![common::UPSTREAM_HOST.to_owned()],
            error_template: broker_sdk::ALICLOUD_ERROR_TEMPLATE.to_owned(),
            settings: waits::ALL.iter().flat_map(|w| w.declare()).collect(),
        }
    }

    fn handle(request: Request) -> Response {
        match route(request.method, &request.path) {
            Ok(handler) => alicloud::handle_batch(&request.body, handler),
            Err((status, message)) => alicloud::error_response(status, &message),
        }
    }
}

broker_sdk::export_provider!(Alicloud);

/// Find the handler for `method` and `path`, or the (status, message) to answer with:
/// 404 for an unknown path, 405 for a known path with another method.
fn route(method: Method, path: &str) -> Result<Handler, (u16, String)> {
    let found = ROUTES.iter().find(|r| r.path == path);
    match found {
        Some(r) if method == Method::Post => Ok(r.handler),
        Some(_) => Err((
            405,
            format!("method {} is not allowed on {path}", method_name(method)),
        )),
        None => Err((404, format!("unknown route {} {path}", method_name(method)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_declares_prefix_operations_hosts_and_template() {
        let m = Alicloud::manifest();
        assert_eq!(m.name, "alicloud");
        assert_eq!(m.route_prefixes, ["/alicloud/v1/"]);
        assert_eq!(m.upstream_hosts, ["*.aliyuncs.com"]);
        assert_eq!(m.error_template, broker_sdk::ALICLOUD_ERROR_TEMPLATE);
        assert_eq!(m.operations.len(), ROUTES.len());
        assert!(
            m.operations
                .iter()
                .all(|o| o.method == Method::Post && o.path.starts_with(ROUTE_PREFIX))
        );
        let mut paths: Vec<_> = m.operations.iter().map(|o| o.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ROUTES.len(), "no duplicate routes");
    }

    #[test]
    fn unknown_paths_get_404_and_other_methods_405_in_the_alicloud_envelope() {
        assert!(route(Method::Post, "/alicloud/v1/vpc/create").is_ok());
        assert_eq!(
            route(Method::Get, "/alicloud/v1/vpc/create").err(),
            Some((
                405,
                "method GET is not allowed on /alicloud/v1/vpc/create".to_owned()
            ))
        );
        let response = Alicloud::handle(Request {
            method: Method::Post,
            path: "/alicloud/v1/x".to_owned(),
            query: String::new(),
            headers: vec![],
            body: vec![],
            request_id: "r".to_owned(),
            tenant: "default".to_owned(),
        });
        assert_eq!(response.status, 404);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            body,
            alicloud::error_body("unknown route POST /alicloud/v1/x")
        );
    }
}
