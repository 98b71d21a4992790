//! The single `wit_bindgen::generate!` expansion of the `provider` world.
//!
//! Plugin authors use the names re-exported from the crate root instead of these paths; the
//! module is public only because the export macro must reach it from the plugin's crate.

wit_bindgen::generate!({
    path: "../../wit",
    world: "provider",
    pub_export_macro: true,
    export_macro_name: "__export_provider_world",
    default_bindings_module: "broker_sdk::bindings",
});
