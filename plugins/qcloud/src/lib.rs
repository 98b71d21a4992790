//! Tencent Cloud provider plugin: the WeCube qcloud API (`/v1/qcloud/...`) over Tencent Cloud
//! API 3.0. Each route takes a WeCube batch; see `shared/spec/qcloud-api.md`.

use broker_sdk::http::method_name;
use broker_sdk::wecube::{self, Input, Output};
use broker_sdk::{ErrorMessage, Manifest, Method, Operation, Plugin, Request, Response};

pub mod common;
pub mod mariadb;
pub mod mysql;
pub mod nat_gateway;
pub mod peering_connection;
pub mod redis;
pub mod route_policy;
pub mod route_table;
pub mod security_group;
pub mod storage;
pub mod subnet;
pub mod vm;
pub mod vpc;
pub mod waits;

/// Every route this plugin serves starts with this prefix.
pub const ROUTE_PREFIX: &str = "/v1/qcloud/";

/// A per-input handler of a WeCube batch route.
type Handler = fn(&Input) -> Result<Output, ErrorMessage>;

/// One route: method, path, summary for the manifest, handler.
struct Route {
    method: Method,
    path: &'static str,
    summary: &'static str,
    handler: Handler,
}

const ROUTES: &[Route] = &[
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vpc/create",
        summary: "Create a VPC (returns the existing one when `id` is found).",
        handler: vpc::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vpc/terminate",
        summary: "Delete a VPC (success when it is already gone).",
        handler: vpc::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/subnet/create",
        summary: "Create a subnet in the zone `AvailableZone` (returns the existing one when `id` is found).",
        handler: subnet::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/subnet/terminate",
        summary: "Delete a subnet (success when it is already gone).",
        handler: subnet::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/route-table/create",
        summary: "Create a route table (returns the existing one when `id` is found).",
        handler: route_table::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/route-table/terminate",
        summary: "Delete a route table not associated with subnets (success when it is already gone).",
        handler: route_table::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/route-table/associate-subnet",
        summary: "Associate a subnet with a route table.",
        handler: route_table::handle_associate_subnet,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/route-policy/create",
        summary: "Add a route to a route table (returns route `id` when the table has it).",
        handler: route_policy::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/route-policy/terminate",
        summary: "Delete a route (success when it is already gone).",
        handler: route_policy::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/security-group/create",
        summary: "Create a security group (returns the existing one when `id` is found).",
        handler: security_group::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/security-group/terminate",
        summary: "Delete a security group (success when it is already gone).",
        handler: security_group::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vm/create",
        summary: "Create a CVM instance and wait until it runs; returns its encrypted password (returns the existing one when `id` is found).",
        handler: vm::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vm/terminate",
        summary: "Terminate a CVM instance and wait until it is gone (success when it is already gone).",
        handler: vm::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vm/start",
        summary: "Start a CVM instance and wait until it runs.",
        handler: vm::handle_start,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/vm/stop",
        summary: "Stop a CVM instance and wait until it is stopped.",
        handler: vm::handle_stop,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/nat-gateway/create",
        summary: "Create a NAT gateway and wait until it is available; returns its EIPs (returns the existing one when `id` is found).",
        handler: nat_gateway::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/nat-gateway/terminate",
        summary: "Delete a NAT gateway, wait until it is gone and release the EIPs it allocated (success when it is already gone).",
        handler: nat_gateway::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/peering-connection/create",
        summary: "Create a VPC peering connection (cross-region with bandwidth) and wait until it is active (returns the existing one when `id` is found).",
        handler: peering_connection::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/peering-connection/terminate",
        summary: "Delete a VPC peering connection and wait until it is gone (success when it is already gone).",
        handler: peering_connection::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/storage/create",
        summary: "Create a CBS disk and attach it to `instance_id`, waiting for both (returns the existing one when `id` is found).",
        handler: storage::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/storage/terminate",
        summary: "Detach and terminate a CBS disk (success when it is already gone).",
        handler: storage::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/mysql-vm/create",
        summary: "Create CDB MySQL instances and wait until they run (returns the existing ones when `id` is found).",
        handler: mysql::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/mysql-vm/terminate",
        summary: "Isolate a CDB MySQL instance, wait, and take it offline (success when it is already gone).",
        handler: mysql::handle_terminate,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/mysql-vm/restart",
        summary: "Restart a CDB MySQL instance and wait until the restart succeeds.",
        handler: mysql::handle_restart,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/mariadb/create",
        summary: "Create, initialise and wait for a MariaDB instance with an admin account; returns its encrypted password (returns the existing one when `id` is found).",
        handler: mariadb::handle_create,
    },
    Route {
        method: Method::Post,
        path: "/v1/qcloud/redis/create",
        summary: "Create Redis instances and wait until they run (returns the existing ones when `id` is found).",
        handler: redis::handle_create,
    },
];

/// The plugin type exported to the broker.
pub struct Qcloud;

impl Plugin for Qcloud {
    fn manifest() -> Manifest {
        Manifest {
            name: "qcloud".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            route_prefixes: vec![ROUTE_PREFIX.to_owned()],
            operations: ROUTES
                .iter()
                .map(|r| Operation {
                    method: r.method,
                    path: r.path.to_owned(),
                    summary: r.summary.to_owned(),
                })
                .collect(),
            upstream_hosts: vec![
                common::UPSTREAM_HOST.to_owned(),
                vm::UPSTREAM_HOST.to_owned(),
                storage::UPSTREAM_HOST.to_owned(),
                mysql::UPSTREAM_HOST.to_owned(),
                mariadb::UPSTREAM_HOST.to_owned(),
                redis::UPSTREAM_HOST.to_owned(),
            ],
            error_template: broker_sdk::WECUBE_ERROR_TEMPLATE.to_owned(),
            settings: waits::ALL.iter().flat_map(|w| w.declare()).collect(),
        }
    }

    fn handle(request: Request) -> Response {
        match route(request.method, &request.path) {
            Ok(handler) => wecube::handle_batch(&request.body, handler),
            Err((status, message)) => wecube::error_response(status, &message),
        }
    }
}

broker_sdk::export_provider!(Qcloud);

/// Find the handler for `method` and `path`, or the (status, message) to answer with:
/// 404 for an unknown path, 405 for a known path with another method.
fn route(method: Method, path: &str) -> Result<Handler, (u16, String)> {
    let mut path_matched = false;
    for r in ROUTES.iter().filter(|r| r.path == path) {
        path_matched = true;
        if r.method == method {
            return Ok(r.handler);
        }
    }
    let method = method_name(method);
    if path_matched {
        Err((405, format!("method {method} is not allowed on {path}")))
    } else {
        Err((404, format!("unknown route {method} {path}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_declares_prefix_operations_host_and_template() {
        let m = Qcloud::manifest();
        assert_eq!(m.name, "qcloud");
        assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(m.route_prefixes, ["/v1/qcloud/"]);
        assert_eq!(
            m.upstream_hosts,
            [
                "vpc.tencentcloudapi.com",
                "cvm.tencentcloudapi.com",
                "cbs.tencentcloudapi.com",
                "cdb.tencentcloudapi.com",
                "mariadb.tencentcloudapi.com",
                "redis.tencentcloudapi.com",
            ]
        );
        assert_eq!(m.error_template, broker_sdk::WECUBE_ERROR_TEMPLATE);
        let settings: Vec<_> = m.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            settings,
            [
                "vm-timeout-secs",
                "vm-interval-secs",
                "nat-gateway-timeout-secs",
                "nat-gateway-interval-secs",
                "peering-connection-timeout-secs",
                "peering-connection-interval-secs",
                "storage-timeout-secs",
                "storage-interval-secs",
                "mysql-timeout-secs",
                "mysql-interval-secs",
                "mysql-restart-timeout-secs",
                "mysql-restart-interval-secs",
                "mariadb-timeout-secs",
                "mariadb-interval-secs",
                "redis-timeout-secs",
                "redis-interval-secs",
            ]
        );
        let paths: Vec<_> = m.operations.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/v1/qcloud/vpc/create",
                "/v1/qcloud/vpc/terminate",
                "/v1/qcloud/subnet/create",
                "/v1/qcloud/subnet/terminate",
                "/v1/qcloud/route-table/create",
                "/v1/qcloud/route-table/terminate",
                "/v1/qcloud/route-table/associate-subnet",
                "/v1/qcloud/route-policy/create",
                "/v1/qcloud/route-policy/terminate",
                "/v1/qcloud/security-group/create",
                "/v1/qcloud/security-group/terminate",
                "/v1/qcloud/vm/create",
                "/v1/qcloud/vm/terminate",
                "/v1/qcloud/vm/start",
                "/v1/qcloud/vm/stop",
                "/v1/qcloud/nat-gateway/create",
                "/v1/qcloud/nat-gateway/terminate",
                "/v1/qcloud/peering-connection/create",
                "/v1/qcloud/peering-connection/terminate",
                "/v1/qcloud/storage/create",
                "/v1/qcloud/storage/terminate",
                "/v1/qcloud/mysql-vm/create",
                "/v1/qcloud/mysql-vm/terminate",
                "/v1/qcloud/mysql-vm/restart",
                "/v1/qcloud/mariadb/create",
                "/v1/qcloud/redis/create",
            ]
        );
        assert!(m.operations.iter().all(|o| o.method == Method::Post));
        assert!(
            m.operations
                .iter()
                .all(|o| o.path.starts_with(ROUTE_PREFIX))
        );
    }

    #[test]
    fn known_routes_resolve_and_others_get_404_or_405() {
        assert!(route(Method::Post, "/v1/qcloud/vpc/create").is_ok());
        assert!(route(Method::Post, "/v1/qcloud/vpc/terminate").is_ok());
        assert_eq!(
            route(Method::Post, "/v1/qcloud/x/y").err(),
            Some((404, "unknown route POST /v1/qcloud/x/y".to_owned()))
        );
        assert_eq!(
            route(Method::Get, "/v1/qcloud/vpc/create").err(),
            Some((
                405,
                "method GET is not allowed on /v1/qcloud/vpc/create".to_owned()
            ))
        );
    }

    #[test]
    fn unknown_routes_answer_with_the_wecube_envelope() {
        let response = Qcloud::handle(Request {
            method: Method::Post,
            path: "/v1/qcloud/x/y".to_owned(),
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
            wecube::error_body("unknown route POST /v1/qcloud/x/y")
        );
    }
}
