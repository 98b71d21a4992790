//! What a BridgX server holds: per organisation, its cloud accounts, network resources,
//! clusters, expand/shrink tasks and the instances they made.

use std::collections::BTreeMap;

use serde_json::Value;

/// One security-group rule as BridgX stores it.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp` or `all`.
    pub protocol: String,
    /// First port (0 when none was given).
    pub port_from: i64,
    /// Last port (0 when none was given).
    pub port_to: i64,
    /// `ingress` or `egress`.
    pub direction: String,
    /// Peer security group.
    pub group_id: String,
    /// Peer CIDR.
    pub cidr_ip: String,
    /// Peer prefix list.
    pub prefix_list_id: String,
}

/// A VPC.
#[derive(Debug, Clone)]
pub struct Vpc {
    pub id: String,
    pub name: String,
    pub cidr_block: String,
    pub provider: String,
    pub region_id: String,
    pub account_key: String,
    pub create_at_ms: u64,
}

/// A subnet (BridgX: switch).
#[derive(Debug, Clone)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub zone_id: String,
    pub name: String,
    pub cidr_block: String,
    pub gateway_ip: String,
    pub create_at_ms: u64,
}

/// A security group with its rules.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    pub kind: String,
    pub account_key: String,
    pub rules: Vec<Rule>,
    pub create_at_ms: u64,
}

/// A cluster template.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: u64,
    pub name: String,
    pub provider: String,
    pub account_key: String,
    pub region_id: String,
    pub zone_id: String,
    pub instance_type: String,
    pub image: String,
    pub charge_type: String,
    /// The `network_config` object as given.
    pub network: Value,
    /// The `storage_config` object as given.
    pub storage: Value,
    pub create_by: String,
    pub create_at_ms: u64,
}

/// Expand or shrink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Expand,
    Shrink,
}

/// An expand or shrink task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Sonyflake id (above 2^53).
    pub id: u64,
    pub name: String,
    pub action: Action,
    pub cluster: String,
    pub count: u64,
    /// Shrink only: the instances to remove, by inner IP.
    pub ips: Vec<String>,
    /// `INIT`, `RUNNING`, `SUCCESS` or `FAILED`.
    pub status: &'static str,
    pub create_at_ms: u64,
    pub running_at_ms: Option<u64>,
    pub finish_at_ms: Option<u64>,
    pub fail_reason: String,
}

/// A machine a cluster owns (or owned).
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    /// Row number, for usage statistics.
    pub row: u64,
    pub cluster: String,
    pub ip_inner: String,
    /// `RUNNING` or `DELETED`.
    pub status: &'static str,
    pub startup_at_ms: u64,
    pub shutdown_at_ms: Option<u64>,
}

/// One organisation's world.
#[derive(Debug, Default)]
pub struct Org {
    /// Cloud accounts: account key → provider.
    pub accounts: BTreeMap<String, String>,
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub groups: Vec<SecurityGroup>,
    pub clusters: Vec<Cluster>,
    pub tasks: Vec<Task>,
    pub instances: Vec<Instance>,
    /// `network_config/sync` calls: (provider, region, account key).
    pub syncs: Vec<(String, String, String)>,
}

/// The whole server.
#[derive(Debug, Default)]
pub struct State {
    pub orgs: BTreeMap<u64, Org>,
    /// Id counter for resource ids.
    pub next_id: u64,
    /// Sonyflake sequence within one 10 ms slot.
    pub task_seq: u64,
}

impl State {
    /// A fresh number for ids.
    pub fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
