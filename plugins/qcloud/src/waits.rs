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

/// Every wait, in the order the manifest declares them.
pub const ALL: &[WaitSettings] = &[VM, NAT_GATEWAY, PEERING_CONNECTION];
