//! Every wait of the plugin: how often it looks and how long it keeps looking, as operator
//! settings (declared in the manifest; `[plugin_settings.alicloud]` overrides the defaults).
//!
//! All waits sleep on the host's `clock` capability (virtual time in tests). The original polled
//! every 5 s with a 15-minute timer for everything; these keep its interval and give each family
//! the time its operations need. RDS and Redis creates are slow: their 840 s default stays just
//! inside the broker's default wall-clock limit (900 s); raise both to wait longer.

pub use broker_sdk::settings::WaitSettings;

/// VPCs, vSwitches and route tables becoming `Available`, or gone after a delete.
pub const NETWORK: WaitSettings = WaitSettings::new(
    "network",
    "a vpc, vswitch or route-table route waits for the resource to be available or gone",
    300,
    5,
);
/// Instances: created (leaving `Pending`), `Running`, `Stopped`, gone.
pub const VM: WaitSettings =
    WaitSettings::new("vm", "a vm route waits for the instance to settle", 600, 5);
/// NAT gateways (`Available`, gone) and SNAT entries (leaving `Pending`/`Modifying`, gone).
pub const NAT: WaitSettings = WaitSettings::new(
    "nat",
    "a nat or snat_entry route waits for the gateway or entry to settle",
    300,
    5,
);
/// An EIP leaving `Associating`/`Unassociating`.
pub const EIP: WaitSettings = WaitSettings::new(
    "eip",
    "an eip route waits for the association to settle",
    300,
    5,
);
/// CENs (`Active`, gone) and their attachments (`Attached`, gone).
pub const CEN: WaitSettings = WaitSettings::new(
    "cen",
    "a cen route waits for the CEN or attachment to settle",
    300,
    5,
);
/// Disks becoming `Available` (created, detached) or `In_use` (attached), or gone.
pub const DISK: WaitSettings =
    WaitSettings::new("disk", "a disk route waits for the disk to settle", 300, 5);
/// A Cloud Assistant command (format and mount, unmount) finishing on the instance.
pub const COMMAND: WaitSettings = WaitSettings::new(
    "command",
    "a disk route waits for its Cloud Assistant command to finish",
    600,
    5,
);
/// RDS instances (`Running`, gone), accounts (`Available`) and backups (finished).
pub const RDS: WaitSettings = WaitSettings::new(
    "rds",
    "an rds route waits for the instance, account or backup",
    840,
    5,
);
/// Redis instances (`Normal`, gone).
pub const REDIS: WaitSettings = WaitSettings::new(
    "redis",
    "a redis route waits for the instance to be normal or gone",
    840,
    5,
);

/// Every wait, in the order the manifest declares them.
pub const ALL: &[WaitSettings] = &[NETWORK, VM, NAT, EIP, CEN, DISK, COMMAND, RDS, REDIS];

// What each step waits for, by family.
/// A VPC becomes `Available` after `CreateVpc`.
pub const VPC_AVAILABLE: WaitSettings = NETWORK;
/// A vSwitch becomes `Available` after `CreateVSwitch`.
pub const VSWITCH_AVAILABLE: WaitSettings = NETWORK;
/// A route table becomes `Available` after `CreateRouteTable`.
pub const ROUTE_TABLE_AVAILABLE: WaitSettings = NETWORK;
/// A deleted network resource (VPC, vSwitch, route table) disappears from its describe.
pub const NETWORK_GONE: WaitSettings = NETWORK;
/// A new instance leaves `Pending` (it is then `Stopped`, ready for `StartInstance`).
pub const VM_CREATED: WaitSettings = VM;
/// An instance becomes `Running` after `StartInstance`.
pub const VM_RUNNING: WaitSettings = VM;
/// An instance becomes `Stopped` after `StopInstance`.
pub const VM_STOPPED: WaitSettings = VM;
/// A deleted instance disappears from `DescribeInstances`.
pub const VM_GONE: WaitSettings = VM;
/// A new NAT gateway becomes `Available`.
pub const NAT_AVAILABLE: WaitSettings = NAT;
/// A deleted NAT gateway disappears.
pub const NAT_GONE: WaitSettings = NAT;
/// An SNAT entry leaves `Pending`/`Modifying`, or disappears after a delete.
pub const SNAT_ENTRY: WaitSettings = NAT;
/// An EIP leaves `Associating`/`Unassociating`.
pub const EIP_ASSOCIATION: WaitSettings = EIP;
/// A new RDS instance becomes `Running`.
pub const RDS_RUNNING: WaitSettings = RDS;
/// A new RDS account becomes `Available`.
pub const RDS_ACCOUNT: WaitSettings = RDS;
/// An RDS backup job finishes.
pub const RDS_BACKUP: WaitSettings = RDS;
/// A deleted RDS instance disappears.
pub const RDS_GONE: WaitSettings = RDS;
/// A new Redis instance becomes `Normal`.
pub const REDIS_NORMAL: WaitSettings = REDIS;
/// A deleted Redis instance disappears.
pub const REDIS_GONE: WaitSettings = REDIS;
