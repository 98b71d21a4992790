//! Every wait of the plugin: how often it looks and how long it keeps looking.
//!
//! All waits sleep on the host's `clock` capability (virtual time in tests). The original polled
//! every 5 s with a 15-minute timer for everything; the values below keep its interval and set
//! each timeout to what the operation needs. The lead connects them to operator settings later.

/// How often and how long one wait polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Time between two looks, ms.
    pub interval_ms: u64,
    /// Give up after this much clock time, ms.
    pub timeout_ms: u64,
}

/// The original's poll interval (`PluginTimer`: 5 s).
pub const INTERVAL_MS: u64 = 5_000;

/// The original's timeout for every wait (`PluginTimer`: 15 minutes).
pub const ORIGINAL_TIMEOUT_MS: u64 = 15 * 60_000;

/// A VPC becomes `Available` after `CreateVpc`.
pub const VPC_AVAILABLE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A vSwitch becomes `Available` after `CreateVSwitch`.
pub const VSWITCH_AVAILABLE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A route table becomes `Available` after `CreateRouteTable`.
pub const ROUTE_TABLE_AVAILABLE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A deleted network resource (VPC, vSwitch, route table) disappears from its describe.
pub const NETWORK_GONE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A new instance leaves `Pending` (it is then `Stopped`, ready for `StartInstance`).
pub const VM_CREATED: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 10 * 60_000,
};

/// An instance becomes `Running` after `StartInstance`.
pub const VM_RUNNING: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 10 * 60_000,
};

/// An instance becomes `Stopped` after `StopInstance`.
pub const VM_STOPPED: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 10 * 60_000,
};

/// A deleted instance disappears from `DescribeInstances`.
pub const VM_GONE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};

/// A new NAT gateway becomes `Available`.
pub const NAT_AVAILABLE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A deleted NAT gateway disappears.
pub const NAT_GONE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// An SNAT entry leaves `Pending`/`Modifying`, or disappears after a delete.
pub const SNAT_ENTRY: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// An EIP leaves `Associating`/`Unassociating`.
pub const EIP_ASSOCIATION: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A new CEN becomes `Active`; a deleted one disappears; an attached network becomes `Attached`
/// or, detached, disappears.
pub const CEN: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A disk becomes `Available` (created, detached) or `In_use` (attached).
pub const DISK: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// A Cloud Assistant command (format and mount, unmount) finishes on the instance.
pub const COMMAND: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 10 * 60_000,
};

/// A new RDS instance becomes `Running` (the original's 15-minute timer: creates are slow).
pub const RDS_RUNNING: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};

/// A new RDS account becomes `Available`.
pub const RDS_ACCOUNT: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: 5 * 60_000,
};

/// An RDS backup job finishes.
pub const RDS_BACKUP: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};

/// A deleted RDS instance disappears.
pub const RDS_GONE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};

/// A new Redis instance becomes `Normal`.
pub const REDIS_NORMAL: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};

/// A deleted Redis instance disappears.
pub const REDIS_GONE: Wait = Wait {
    interval_ms: INTERVAL_MS,
    timeout_ms: ORIGINAL_TIMEOUT_MS,
};
