//! Every Capital Online action the broker can run: its product path and HTTP method.
//!
//! The one source of truth for the generic route (`POST /v1/cds/actions/{Action}`), the manifest
//! and the README. Methods and paths follow the spec's own tables, corrected where the reference
//! (`cds_bridgx_tencent.md` §1.3, §1.7) shows the spec is wrong:
//! * `DeleteInstance`: the spec's host `api.capitalonline.net` is a doc error; every SDK uses
//!   `cdsapi.capitalonline.net/ccs`, like all other actions here.
//! * `DisconnectNetworkInterface` has no URL in the spec: `/ccs`, like its twin.
//! * `StartInstance` is not in the spec (which has only stop and reboot) but in the newer docs
//!   and every SDK (GET `/ccs`); the `vm/start` route needs it, so it is listed too.

use broker_sdk::Method;

/// One action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The action name, e.g. `CreateInstance`.
    pub name: &'static str,
    /// The product path under `cdsapi.capitalonline.net`, e.g. `ccs`.
    pub product: &'static str,
    /// GET (parameters in the signed query) or POST (JSON body, unsigned).
    pub method: Method,
    /// Whether `DescribeTask` can follow it (it answers a `TaskId`).
    pub has_task: bool,
    /// Whether the spec (`cds-api.md`) lists it; `false` for additions from the newer docs.
    pub in_spec: bool,
}

const fn action(
    name: &'static str,
    product: &'static str,
    method: Method,
    has_task: bool,
) -> Action {
    Action {
        name,
        product,
        method,
        has_task,
        in_spec: true,
    }
}

/// The 48 actions of the spec, in its order, plus `StartInstance`.
pub const ACTIONS: &[Action] = {
    use Method::{Get, Post};
    &[
        action("CreateInstance", "ccs", Post, true),
        action("DeleteInstance", "ccs", Post, true),
        action("StopInstance", "ccs", Get, true),
        action("RebootInstance", "ccs", Get, true),
        action("ModifyInstanceChargeType", "ccs", Post, true),
        action("ModifyInstanceSpec", "ccs", Post, true),
        action("CreateDisk", "ccs", Post, true),
        action("ResizeDisk", "ccs", Post, true),
        action("DeleteDisk", "ccs", Post, true),
        action("ResetImage", "ccs", Post, true),
        action("DescribeInstances", "ccs", Post, false),
        action("ConnectNetworkInterface", "ccs", Post, true),
        action("DisconnectNetworkInterface", "ccs", Post, true),
        action("ModifyIpAddress", "ccs", Post, true),
        action("DescribeInstanceMonitor", "ccs", Post, false),
        action("CreateSecurityGroup", "ccs", Post, false),
        action("DeleteSecurityGroup", "ccs", Get, false),
        action("ForceDeleteSecurityGroup", "ccs", Get, true),
        action("DescribeSecurityGroupAttribute", "ccs", Get, false),
        action("ModifySecurityGroupAttribute", "ccs", Post, false),
        action("DescribeSecurityGroups", "ccs", Post, false),
        action("AddSecurityGroupRule", "ccs", Post, true),
        action("RemoveSecurityGroupRule", "ccs", Post, true),
        action("ModifySecurityGroupRule", "ccs", Post, false),
        action("JoinSecurityGroup", "ccs", Post, true),
        action("LeaveSecurityGroup", "ccs", Post, true),
        action("ModifySecurityGroupRulePriority", "ccs", Post, true),
        action("CreateTemplate", "ccs", Post, true),
        action("DeleteTemplate", "ccs", Post, true),
        action("SyncTemplate", "ccs", Post, true),
        action("DescribeTemplateInfo", "ccs", Post, false),
        action("DescribeVdc", "network", Get, false),
        action("CreateVdc", "network", Post, true),
        action("DeleteVdc", "network", Get, true),
        action("CreatePublicNetwork", "network", Post, true),
        action("CreatePrivateNetwork", "network", Post, true),
        action("ModifyPublicNetwork", "network", Get, true),
        action("AddPublicIp", "network", Get, true),
        action("DeletePublicIp", "network", Get, true),
        action("DeletePublicNetwork", "network", Get, true),
        action("DeletePrivateNetwork", "network", Get, true),
        action("RenewPublicNetwork", "network", Get, false),
        action("DescribeBandwidthTraffic", "network", Get, false),
        action("DescribeBill", "billing", Get, false),
        action("DescribeBillInfo", "billing", Get, false),
        action("GetMetering", "ccs-product", Get, false),
        action("DescribeAvailableResource", "ccs", Get, false),
        action("DescribeTask", "ccs", Get, false),
        Action {
            name: "StartInstance",
            product: "ccs",
            method: Get,
            has_task: true,
            in_spec: false,
        },
    ]
};

/// The action named `name` (exact spelling).
pub fn find(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The action named `name`; panics if the table lacks it (only for names in this crate).
pub fn get(name: &str) -> &'static Action {
    find(name).unwrap_or_else(|| panic!("action {name} is in the table"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_48_spec_actions_once_each_plus_start_instance() {
        assert_eq!(ACTIONS.iter().filter(|a| a.in_spec).count(), 48);
        let mut names: Vec<_> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        assert_eq!(find("StartInstance").map(|a| a.in_spec), Some(false));
        assert_eq!(get("DescribeTask").method, Method::Get);
        assert!(find("describetask").is_none());
    }
}
