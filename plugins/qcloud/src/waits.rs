//! Every wait of the qcloud routes, with the operator settings that bound it (declared in the
//! manifest; `[plugin_settings.qcloud]` overrides the defaults).

use broker_sdk::settings::WaitSettings;

/// `vm/create`, `vm/terminate`, `vm/start`, `vm/stop` wait for the instance to settle.
pub const VM: WaitSettings =
    WaitSettings::new("vm", "a vm route waits for the instance to settle", 600, 5);

/// `nat-gateway/create` waits until the gateway is `AVAILABLE`; `nat-gateway/terminate` until
/// it is gone.
pub const NAT_GATEWAY: WaitSettings = WaitSettings::new(
    "nat-gateway",
    "a nat-gateway route waits for the gateway to be available or gone",
    600,
    5,
);

/// `peering-connection/create` waits until the connection is `ACTIVE`;
/// `peering-connection/terminate` until it is gone (cross-region links take a while both ways).
pub const PEERING_CONNECTION: WaitSettings = WaitSettings::new(
    "peering-connection",
    "a peering-connection route waits for the connection to be active or gone",
    600,
    5,
);

/// `storage/create` and `storage/terminate` wait for the disk to be created, attached, detached.
pub const STORAGE: WaitSettings = WaitSettings::new(
    "storage",
    "a storage route waits for the disk to settle",
    300,
    5,
);

/// `mysql-vm/create` and `mysql-vm/terminate` wait for the instance to run or be isolated.
pub const MYSQL: WaitSettings = WaitSettings::new(
    "mysql",
    "a mysql-vm route waits for the instance to run or be isolated",
    600,
    10,
);

/// `mysql-vm/restart` waits for the restart's asynchronous request to finish.
pub const MYSQL_RESTART: WaitSettings = WaitSettings::new(
    "mysql-restart",
    "a mysql-vm restart waits for its asynchronous request",
    300,
    10,
);

/// `mariadb/create` waits for the instance to be created, then initialised.
pub const MARIADB: WaitSettings = WaitSettings::new(
    "mariadb",
    "a mariadb create waits for the instance to be created and initialised",
    600,
    10,
);

/// `redis/create` waits for the instances to run.
pub const REDIS: WaitSettings = WaitSettings::new(
    "redis",
    "a redis create waits for the instances to run",
    600,
    10,
);

// Each default stays below the broker's default wall-clock limit of a call (900 s), so a slow
// cloud ends in this plugin's timeout message rather than the broker's limit.

/// Every wait, in the order the manifest declares them.
pub const ALL: &[WaitSettings] = &[
    VM,
    NAT_GATEWAY,
    PEERING_CONNECTION,
    STORAGE,
    MYSQL,
    MYSQL_RESTART,
    MARIADB,
    REDIS,
];
