//! Every wait of the qcloud routes, with the operator settings that bound it (declared in the
//! manifest; `[plugin_settings.qcloud]` overrides the defaults).

use broker_sdk::settings::WaitSettings;

/// `vm/create`, `vm/terminate`, `vm/start`, `vm/stop` wait for the instance to settle.
pub const VM: WaitSettings =
    WaitSettings::new("vm", "a vm route waits for the instance to settle", 600, 5);

/// Every wait, in the order the manifest declares them.
pub const ALL: &[WaitSettings] = &[VM];
