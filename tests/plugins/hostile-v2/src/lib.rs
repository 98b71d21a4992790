//! Test-only plugin: the `hostile` fixture as version 2.0.0 — same name and routes, another
//! build — so the tests can replace a loaded plugin with a new version and tell which one
//! answered (`/v1/hostile/version`).

use broker_sdk::{Manifest, Plugin, Request, Response};

/// The version this build claims.
pub const VERSION: &str = "2.0.0";

/// The plugin type exported to the broker.
pub struct HostileV2;

impl Plugin for HostileV2 {
    fn manifest() -> Manifest {
        hostile::manifest_as(VERSION)
    }

    fn handle(request: Request) -> Response {
        hostile::handle_as(request, VERSION)
    }
}

broker_sdk::export_provider!(HostileV2);
