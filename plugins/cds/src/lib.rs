//! Capital Online (首云, CDS) provider plugin: the whole Capital Online API behind the broker.
//!
//! * `POST /v1/cds/actions/{Action}` runs any action of [`actions::ACTIONS`] (see [`generic`]).
//! * `POST /v1/cds/<resource>/<action>` are WeCube-style resource routes (body `{"inputs":[...]}`,
//!   answer `{"result_code","result_message","results":{"outputs":[...]}}`): each runs its
//!   action, waits on the task (`DescribeTask` until `FINISH`/`ERROR`) and returns the resource
//!   ids and useful attributes.
//!
//! `provider_params` is `Region=...;AccessKeyId=...;AccessKeySecret=...`, or the name of an
//! account stored for the calling tenant (`broker_sdk::cds::open_account`).

use broker_sdk::cds::UPSTREAM_HOSTS;
use broker_sdk::http::method_name;
use broker_sdk::wecube::{self, Input, Output};
use broker_sdk::{ErrorMessage, Manifest, Method, Operation, Plugin, Request, Response};

pub mod actions;
pub mod common;
pub mod disk;
pub mod generic;
pub mod network;
pub mod security_group;
pub mod template;
pub mod vdc;
pub mod vm;
pub mod waits;

/// Every route this plugin serves starts with this prefix.
pub const ROUTE_PREFIX: &str = "/v1/cds/";

/// A per-input handler of a WeCube batch route.
type Handler = fn(&Input) -> Result<Output, ErrorMessage>;

/// One resource route: path, summary for the manifest, handler (all are POST).
struct Route {
    path: &'static str,
    summary: &'static str,
    handler: Handler,
}

const ROUTES: &[Route] = &[
    Route {
        path: "/v1/cds/vdc/create",
        summary: "Create a VDC in `region_id` (default `Region`) and wait for its task; returns the existing one when `id` is found.",
        handler: vdc::handle_create,
    },
    Route {
        path: "/v1/cds/vdc/terminate",
        summary: "Delete a VDC and wait (success when it is already gone).",
        handler: vdc::handle_terminate,
    },
    Route {
        path: "/v1/cds/public-network/create",
        summary: "Create a public network (bandwidth, addresses) in a VDC and wait; returns ids, segments and addresses.",
        handler: network::handle_public_create,
    },
    Route {
        path: "/v1/cds/public-network/terminate",
        summary: "Delete a public network and wait (success when it is already gone).",
        handler: network::handle_public_terminate,
    },
    Route {
        path: "/v1/cds/public-network/modify-bandwidth",
        summary: "Change a public network's bandwidth (`qos`, Mbps) and wait.",
        handler: network::handle_modify_bandwidth,
    },
    Route {
        path: "/v1/cds/public-network/add-ip",
        summary: "Add a block of `number` public addresses and wait; returns `segment_id` and `segment_ips`.",
        handler: network::handle_add_ip,
    },
    Route {
        path: "/v1/cds/public-network/remove-ip",
        summary: "Remove the address block `segment_id` and wait (success when it is already gone).",
        handler: network::handle_remove_ip,
    },
    Route {
        path: "/v1/cds/public-network/renew",
        summary: "Turn a public network's auto-renewal on or off (`auto_renew`).",
        handler: network::handle_renew,
    },
    Route {
        path: "/v1/cds/private-network/create",
        summary: "Create a private network in a VDC and wait; returns the existing one when `id` is found.",
        handler: network::handle_private_create,
    },
    Route {
        path: "/v1/cds/private-network/terminate",
        summary: "Delete a private network and wait (success when it is already gone).",
        handler: network::handle_private_terminate,
    },
    Route {
        path: "/v1/cds/vm/create",
        summary: "Create a cloud server and wait for its task; returns its id, state and private/public IPs (the existing one when `id` is found).",
        handler: vm::handle_create,
    },
    Route {
        path: "/v1/cds/vm/terminate",
        summary: "Delete a cloud server and wait (success when it is already gone).",
        handler: vm::handle_terminate,
    },
    Route {
        path: "/v1/cds/vm/start",
        summary: "Start a cloud server and wait until it runs.",
        handler: vm::handle_start,
    },
    Route {
        path: "/v1/cds/vm/stop",
        summary: "Stop a cloud server and wait until it is shut down.",
        handler: vm::handle_stop,
    },
    Route {
        path: "/v1/cds/vm/reboot",
        summary: "Reboot a cloud server and wait.",
        handler: vm::handle_reboot,
    },
    Route {
        path: "/v1/cds/vm/change-spec",
        summary: "Change a cloud server's `cpu`/`ram` and wait.",
        handler: vm::handle_change_spec,
    },
    Route {
        path: "/v1/cds/vm/change-charge-type",
        summary: "Change a cloud server's `charge_type` (PrePaid/PostPaid) and wait.",
        handler: vm::handle_change_charge_type,
    },
    Route {
        path: "/v1/cds/vm/reset-image",
        summary: "Reinstall a cloud server from `image_id` and wait.",
        handler: vm::handle_reset_image,
    },
    Route {
        path: "/v1/cds/vm/change-ip",
        summary: "Change the address of a cloud server's interface (default: first private) to `ip` and wait.",
        handler: vm::handle_change_ip,
    },
    Route {
        path: "/v1/cds/disk/create",
        summary: "Add a data disk to an instance and wait; returns the disk id (the existing one when `id` is found).",
        handler: disk::handle_create,
    },
    Route {
        path: "/v1/cds/disk/resize",
        summary: "Grow a data disk to `size` GB and wait.",
        handler: disk::handle_resize,
    },
    Route {
        path: "/v1/cds/disk/terminate",
        summary: "Delete a data disk and wait (success when it is already gone).",
        handler: disk::handle_terminate,
    },
    Route {
        path: "/v1/cds/security-group/create",
        summary: "Create a security group; returns its id (the existing one when `id` is found).",
        handler: security_group::handle_create,
    },
    Route {
        path: "/v1/cds/security-group/terminate",
        summary: "Delete a security group (`force`: unbind instances first) and wait (success when it is already gone).",
        handler: security_group::handle_terminate,
    },
    Route {
        path: "/v1/cds/security-group/add-rule",
        summary: "Add a rule to a security group and wait; returns `rule_id`.",
        handler: security_group::handle_add_rule,
    },
    Route {
        path: "/v1/cds/security-group/remove-rule",
        summary: "Remove rule `rule_id` and wait (success when it is already gone).",
        handler: security_group::handle_remove_rule,
    },
    Route {
        path: "/v1/cds/security-group/modify-rule",
        summary: "Change the description of rule `rule_id`.",
        handler: security_group::handle_modify_rule,
    },
    Route {
        path: "/v1/cds/security-group/modify-rule-priority",
        summary: "Change the priority of rule `rule_id` and wait.",
        handler: security_group::handle_modify_rule_priority,
    },
    Route {
        path: "/v1/cds/security-group/join",
        summary: "Bind an instance (on a private or public network) to a security group and wait.",
        handler: security_group::handle_join,
    },
    Route {
        path: "/v1/cds/security-group/leave",
        summary: "Unbind an instance from a security group and wait.",
        handler: security_group::handle_leave,
    },
    Route {
        path: "/v1/cds/template/create",
        summary: "Make a template from an instance and wait; returns its id (the existing one when `id` is found).",
        handler: template::handle_create,
    },
    Route {
        path: "/v1/cds/template/delete",
        summary: "Delete a template from `region_id` (default `Region`) and wait (success when it is not there).",
        handler: template::handle_delete,
    },
    Route {
        path: "/v1/cds/template/sync",
        summary: "Copy a template to `region_id` (default `Region`) and wait.",
        handler: template::handle_sync,
    },
];

/// The plugin type exported to the broker.
pub struct Cds;

impl Plugin for Cds {
    fn manifest() -> Manifest {
        let generic = actions::ACTIONS.iter().map(|a| Operation {
            method: Method::Post,
            path: format!("{}{}", generic::PREFIX, a.name),
            summary: format!(
                "Run Capital Online `{}` ({} /{}){}{}",
                a.name,
                method_name(a.method),
                a.product,
                if a.in_spec {
                    ""
                } else {
                    ", from the newer docs"
                },
                if a.has_task {
                    "; `wait: true` waits for its task."
                } else {
                    "."
                }
            ),
        });
        let resources = ROUTES.iter().map(|r| Operation {
            method: Method::Post,
            path: r.path.to_owned(),
            summary: r.summary.to_owned(),
        });
        Manifest {
            name: "cds".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            route_prefixes: vec![ROUTE_PREFIX.to_owned()],
            operations: resources.chain(generic).collect(),
            upstream_hosts: UPSTREAM_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            error_template: broker_sdk::WECUBE_ERROR_TEMPLATE.to_owned(),
            settings: waits::ALL.iter().flat_map(|w| w.declare()).collect(),
        }
    }

    fn handle(request: Request) -> Response {
        if let Some(action) = request.path.strip_prefix(generic::PREFIX) {
            return generic::handle(request.method, action, &request.body);
        }
        match route(request.method, &request.path) {
            Ok(handler) => wecube::handle_batch(&request.body, handler),
            Err((status, message)) => wecube::error_response(status, &message),
        }
    }
}

broker_sdk::export_provider!(Cds);

/// Find the handler for `method` and `path`, or the (status, message) to answer with:
/// 404 for an unknown path, 405 for a known path with another method.
fn route(method: Method, path: &str) -> Result<Handler, (u16, String)> {
    let found = ROUTES.iter().find(|r| r.path == path);
    let method_text = method_name(method);
    match found {
        Some(r) if method == Method::Post => Ok(r.handler),
        Some(_) => Err((
            405,
            format!("method {method_text} is not allowed on {path}"),
        )),
        None => Err((404, format!("unknown route {method_text} {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_lists_every_resource_route_and_every_action() {
        let m = Cds::manifest();
        assert_eq!(m.name, "cds");
        assert_eq!(m.route_prefixes, ["/v1/cds/"]);
        assert_eq!(
            m.upstream_hosts,
            [
                "cdsapi.capitalonline.net",
                "cdsapi-asia.capitalonline.net",
                "cdsapi-us.capitalonline.net"
            ]
        );
        assert_eq!(m.operations.len(), ROUTES.len() + actions::ACTIONS.len());
        assert!(
            m.operations
                .iter()
                .any(|o| o.path == "/v1/cds/actions/DescribeTask")
        );
        assert!(m.operations.iter().any(|o| o.path == "/v1/cds/vm/create"));
        let summary = |path: &str| {
            m.operations
                .iter()
                .find(|o| o.path == path)
                .map(|o| o.summary.as_str())
        };
        assert_eq!(
            summary("/v1/cds/actions/CreateVdc"),
            Some(
                "Run Capital Online `CreateVdc` (POST /network); `wait: true` waits for its task."
            )
        );
        assert_eq!(
            summary("/v1/cds/actions/StartInstance"),
            Some(
                "Run Capital Online `StartInstance` (GET /ccs), from the newer docs; `wait: true` waits for its task."
            )
        );
        let settings: Vec<_> = m.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(settings, ["task-timeout-secs", "task-interval-secs"]);
    }

    #[test]
    fn known_routes_resolve_and_others_get_404_or_405() {
        assert!(route(Method::Post, "/v1/cds/vdc/create").is_ok());
        assert_eq!(
            route(Method::Post, "/v1/cds/x/y").err().map(|e| e.0),
            Some(404)
        );
        assert_eq!(
            route(Method::Get, "/v1/cds/vdc/create").err().map(|e| e.0),
            Some(405)
        );
    }
}
