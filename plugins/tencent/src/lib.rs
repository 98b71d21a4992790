//! Tencent Cloud compute plugin: the TopHCS API `/v1/tencent/compute/...`
//! (`shared/spec/tencent-compute-api.md`) over Tencent CVM API 3.0.
//!
//! Each request is one JSON object answered in the `{scode, desc, message, message_cn, stack,
//! data}` envelope ([`broker_sdk::envelope::tencent`]). Credentials come from the broker's
//! account store: `TenantUuid` must be the caller's tenant and `ClusterUuid` names one of its
//! `tencent` accounts ([`account`]); the secret never enters the plugin.

use broker_sdk::envelope::tencent::{self as envelope, Failure, Fields};
use broker_sdk::http::method_name;
use broker_sdk::tencent::Client;
use broker_sdk::{Manifest, Method, Operation, Plugin, Request, Response, log};
use serde_json::Value;

pub mod account;
pub mod compute;

use compute::{Apis, CVM_VERSION, Handler, VPC_VERSION};

/// Every route this plugin serves starts with this prefix.
pub const ROUTE_PREFIX: &str = "/v1/tencent/";

/// The Tencent API hosts the plugin calls.
pub const UPSTREAM_HOSTS: &[&str] = &["cvm.tencentcloudapi.com", "vpc.tencentcloudapi.com"];

/// One route: path, summary for the manifest, handler. All are `POST`.
struct Route {
    path: &'static str,
    summary: &'static str,
    handler: Handler,
}

const ROUTES: &[Route] = &[
    Route {
        path: "/v1/tencent/compute/create",
        summary: "Create CVM instances (RunInstances); data: InstanceIdSet.",
        handler: compute::create,
    },
    Route {
        path: "/v1/tencent/compute/delete",
        summary: "Terminate CVM instances (TerminateInstances).",
        handler: compute::delete,
    },
    Route {
        path: "/v1/tencent/compute/update",
        summary: "Rename instances or replace their security groups (ModifyInstancesAttribute).",
        handler: compute::update,
    },
    Route {
        path: "/v1/tencent/compute/reset",
        summary: "Reinstall an instance's operating system (ResetInstance).",
        handler: compute::reset,
    },
    Route {
        path: "/v1/tencent/compute/list",
        summary: "List instances by page and name (DescribeInstances) with their VPC names.",
        handler: compute::list,
    },
    Route {
        path: "/v1/tencent/compute/inspect",
        summary: "Describe one instance (DescribeInstances).",
        handler: compute::inspect,
    },
    Route {
        path: "/v1/tencent/compute/turn_on",
        summary: "Start instances (StartInstances).",
        handler: compute::turn_on,
    },
    Route {
        path: "/v1/tencent/compute/turn_off",
        summary: "Stop instances, optionally forced (StopInstances).",
        handler: compute::turn_off,
    },
];

/// The plugin type exported to the broker.
pub struct Tencent;

impl Plugin for Tencent {
    fn manifest() -> Manifest {
        Manifest {
            name: "tencent".to_owned(),
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
            upstream_hosts: UPSTREAM_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            error_template: broker_sdk::TENCENT_ERROR_TEMPLATE.to_owned(),
            settings: vec![],
        }
    }

    fn handle(request: Request) -> Response {
        let answer = route(request.method, &request.path).and_then(|h| serve(h, &request));
        match answer {
            Ok(data) => envelope::success(data),
            Err(failure) => envelope::failure(&failure),
        }
    }
}

broker_sdk::export_provider!(Tencent);

/// The handler for `method` and `path`: 404 for an unknown path, 405 for another method.
fn route(method: Method, path: &str) -> Result<Handler, Failure> {
    let Some(route) = ROUTES.iter().find(|r| r.path == path) else {
        let method = method_name(method);
        return Err(Failure::not_found(
            format!("unknown route {method} {path}"),
            format!("未知的接口 {method} {path}"),
        ));
    };
    if method != Method::Post {
        let method = method_name(method);
        return Err(Failure::new(
            envelope::SCODE_PARAMETER,
            405,
            format!("method {method} is not allowed on {path}; use POST"),
            format!("接口 {path} 不支持 {method} 方法，请使用 POST"),
        ));
    }
    Ok(route.handler)
}

/// Check the body and the caller's tenancy, open the stored account, and run `handler`
/// against the account's CVM and VPC APIs in the request's region.
fn serve(handler: Handler, request: &Request) -> Result<Value, Failure> {
    let fields = Fields::parse(&request.body)?;
    let scope = account::scope(&fields, &request.tenant)?;
    // The instance password is the one secret in a body; keep it out of every log line.
    if let Some(password) = fields
        .get("LoginSettings")
        .and_then(|l| l.get("Password"))
        .and_then(Value::as_str)
    {
        log::redact(password);
    }
    let credential = account::open(&scope)?;
    let region = Some(scope.region.as_str());
    let cvm = Client::new(&credential, "cvm", CVM_VERSION, region);
    let vpc = Client::new(&credential, "vpc", VPC_VERSION, region);
    handler(
        &fields,
        &Apis {
            cvm: &cvm,
            vpc: &vpc,
            region: &scope.region,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str, body: &str) -> Request {
        Request {
            method,
            path: path.to_owned(),
            query: String::new(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
            request_id: "r".to_owned(),
            tenant: "system".to_owned(),
        }
    }

    fn answer(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn the_manifest_declares_prefix_routes_hosts_and_template() {
        let m = Tencent::manifest();
        assert_eq!(m.name, "tencent");
        assert_eq!(m.route_prefixes, ["/v1/tencent/"]);
        assert_eq!(
            m.upstream_hosts,
            ["cvm.tencentcloudapi.com", "vpc.tencentcloudapi.com"]
        );
        assert_eq!(m.error_template, broker_sdk::TENCENT_ERROR_TEMPLATE);
        let paths: Vec<_> = m.operations.iter().map(|o| o.path.as_str()).collect();
        let names = [
            "create", "delete", "update", "reset", "list", "inspect", "turn_on", "turn_off",
        ];
        let expected: Vec<String> = names
            .iter()
            .map(|n| format!("/v1/tencent/compute/{n}"))
            .collect();
        assert_eq!(paths, expected);
        assert!(m.operations.iter().all(|o| o.method == Method::Post));
    }

    #[test]
    fn unknown_routes_and_methods_answer_in_the_envelope() {
        let r = Tencent::handle(request(Method::Post, "/v1/tencent/x", "{}"));
        assert_eq!(r.status, 404);
        assert_eq!(answer(&r)["scode"], envelope::SCODE_NOT_FOUND);
        assert_eq!(answer(&r)["message"], "unknown route POST /v1/tencent/x");
        let r = Tencent::handle(request(Method::Get, "/v1/tencent/compute/list", ""));
        assert_eq!(r.status, 405);
        assert!(answer(&r)["message_cn"].as_str().unwrap().contains("POST"));
    }

    #[test]
    fn bad_bodies_and_other_tenants_are_refused_before_any_import_is_called() {
        let r = Tencent::handle(request(Method::Post, "/v1/tencent/compute/list", "{"));
        assert_eq!((r.status, answer(&r)["scode"].as_i64()), (400, Some(10001)));
        let body = r#"{"Region":"ap-guangzhou","TenantUuid":"acme","ClusterUuid":"c"}"#;
        let r = Tencent::handle(request(Method::Post, "/v1/tencent/compute/list", body));
        assert_eq!((r.status, answer(&r)["scode"].as_i64()), (403, Some(10003)));
        assert_eq!(answer(&r)["data"], Value::Null);
    }
}
