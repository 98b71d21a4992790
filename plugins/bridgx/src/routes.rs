//! The 26 endpoints of BridgX's developer handbook, as BridgX's code serves them: method,
//! path under `/api/v1/`, the parameters the code requires, and the correction applied first.

use broker_sdk::Method;

use crate::Failure;
use crate::corrections;
use crate::params::Params;

/// A rewrite of a request's parameters into what BridgX's code accepts.
pub type Correction = fn(&mut Params) -> Result<(), Failure>;

/// One endpoint.
pub struct Route {
    /// The method BridgX's code serves it with.
    pub method: Method,
    /// The path under `/api/v1/` (and under `/v1/bridgx/`); `:id` is a path parameter.
    pub path: &'static str,
    /// One line for the manifest.
    pub summary: &'static str,
    /// Parameters BridgX's code requires (query for `GET`, body for `POST`).
    pub required: &'static [&'static str],
    /// Applied before the check of `required`.
    pub correct: Correction,
    /// Also answered for `GET` with query parameters, because the handbook says `GET`; sent
    /// upstream as the code's `POST` with a JSON body.
    pub handbook_get: bool,
}

const fn get(
    path: &'static str,
    summary: &'static str,
    required: &'static [&'static str],
) -> Route {
    Route {
        method: Method::Get,
        path,
        summary,
        required,
        correct: corrections::none,
        handbook_get: false,
    }
}

const fn post(
    path: &'static str,
    summary: &'static str,
    required: &'static [&'static str],
) -> Route {
    Route {
        method: Method::Post,
        path,
        summary,
        required,
        correct: corrections::none,
        handbook_get: false,
    }
}

const fn corrected(route: Route, correct: Correction) -> Route {
    Route { correct, ..route }
}

/// Every endpoint, in the handbook's order.
pub const ROUTES: &[Route] = &[
    corrected(
        post(
            "cluster/create",
            "Create a cluster template (handbook `disks`/`charge_type` moved where the code reads them).",
            &[
                "name",
                "provider",
                "region_id",
                "zone_id",
                "instance_type",
                "password",
                "account_key",
            ],
        ),
        corrections::cluster_create,
    ),
    get("cluster/describe_all", "List clusters.", &[]),
    post(
        "vpc/create",
        "Create a VPC; data: its id.",
        &["provider", "region_id", "vpc_name", "ak"],
    ),
    get(
        "vpc/describe",
        "List VPCs (the code requires provider, region_id and account_key).",
        &["provider", "region_id", "account_key"],
    ),
    Route {
        handbook_get: true,
        ..post(
            "subnet/create",
            "Create a subnet (POST, as the code serves it; the handbook's GET is accepted too).",
            &[
                "account_key",
                "vpc_id",
                "switch_name",
                "cidr_block",
                "zone_id",
            ],
        )
    },
    get("subnet/describe", "List subnets.", &[]),
    corrected(
        post(
            "security_group/create_with_rule",
            "Create a security group with rules (`port_range` turned into `port_from`/`port_to`).",
            &["account_key", "vpc_id", "region_id", "security_group_name"],
        ),
        corrections::rules,
    ),
    get("security_group/describe", "List security groups.", &[]),
    corrected(
        post(
            "network_config/create",
            "Create a VPC, subnet and security group in one call.",
            &[
                "provider",
                "region_id",
                "cidr_block",
                "vpc_name",
                "zone_id",
                "switch_cidr_block",
                "gateway_ip",
                "switch_name",
                "security_group_name",
                "ak",
            ],
        ),
        corrections::rules,
    ),
    get("region/list", "List a provider's regions.", &["provider"]),
    get(
        "zone/list",
        "List a region's zones.",
        &["provider", "region_id"],
    ),
    get(
        "instance_type/list",
        "List a zone's instance types.",
        &["provider", "region_id", "zone_id"],
    ),
    get(
        "image/list",
        "List images (the code requires image_type).",
        &["provider", "region_id", "image_type"],
    ),
    post(
        "network_config/sync",
        "Sync a provider's network configuration.",
        &["provider", "region_id", "account_key"],
    ),
    get(
        "network_config/template",
        "The network configuration template.",
        &[],
    ),
    get("vpc/info/:id", "One VPC.", &[]),
    get("subnet/info/:id", "One subnet (query vpc_id).", &[]),
    get(
        "security_group/:id/rules",
        "A security group and its rules.",
        &[],
    ),
    post(
        "cluster/expand",
        "Create an expand task; data: the task id (a number above 2^53, exact).",
        &["cluster_name", "count"],
    ),
    post(
        "cluster/shrink",
        "Create a shrink task at the code's route (the handbook says cluster/expand).",
        &["cluster_name", "count"],
    ),
    get("task/list", "List expand and shrink tasks.", &[]),
    get("instance/describe_all", "List instances.", &[]),
    get("instance/id/describe", "One instance.", &["instance_id"]),
    get("instance/num", "Count running instances.", &[]),
    corrected(
        get(
            "instance/usage_total",
            "Seconds of machine time on one day (date YYYY-MM-DD; the handbook's yyyy-dd-mm is turned around).",
            &["date"],
        ),
        corrections::usage_date,
    ),
    corrected(
        get(
            "instance/usage_statistics",
            "Machine time per instance on one day (date as for usage_total).",
            &["date"],
        ),
        corrections::usage_date,
    ),
];

/// The route whose pattern matches `path` (the part after `/v1/bridgx/`).
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| matches(r.path, path))
}

fn matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern.iter().zip(&path).all(|(p, s)| {
            if p.starts_with(':') {
                !s.is_empty()
            } else {
                p == s
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_handbook_endpoints_are_routed() {
        assert_eq!(ROUTES.len(), 26);
        assert_eq!(
            find("security_group/sg-1/rules").unwrap().path,
            "security_group/:id/rules"
        );
        assert_eq!(find("vpc/info/vpc-1").unwrap().path, "vpc/info/:id");
        assert!(find("vpc/info/").is_none());
        assert!(find("cluster/delete/1").is_none());
        assert_eq!(find("cluster/shrink").unwrap().method, Method::Post);
    }
}
