//! The single host-side binding of the `provider` world (`wit/`).
//!
//! Imports are async (signed HTTP and sleep await I/O) and trappable (a host failure such as a
//! broken resource handle kills the instance instead of being handed to the guest). The
//! `credential` resource is backed by [`crate::capabilities::credentials::CredentialEntry`].

#![expect(missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "provider",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "cloud-broker:plugin/credentials.credential": crate::capabilities::credentials::CredentialEntry,
    },
});

/// The version of the WIT package `cloud-broker:plugin` this broker implements (`wit/world.wit`).
pub const WIT_PACKAGE_VERSION: &str = "0.1.0";

/// Whether a plugin built against WIT package version `theirs` can run here: semver-compatible
/// with [`WIT_PACKAGE_VERSION`] (same major version; for `0.x`, same minor version).
pub fn wit_version_compatible(theirs: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split(['.', '-', '+']);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(theirs), parts(WIT_PACKAGE_VERSION)) {
        (Some((0, minor)), Some((0, ours))) => minor == ours,
        (Some((major, _)), Some((ours, _))) => major == ours,
        _ => false,
    }
}

pub use cloud_broker::plugin::{cache, clock, config, credentials, logging, signed_http, types};
pub use exports::cloud_broker::plugin::handler;

impl types::Method {
    /// The method's name as HTTP writes it, e.g. `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_constant_matches_the_wit_package() {
        let world = include_str!("../../wit/world.wit");
        assert!(
            world.contains(&format!(
                "package cloud-broker:plugin@{WIT_PACKAGE_VERSION};"
            )),
            "update WIT_PACKAGE_VERSION"
        );
    }

    #[test]
    fn compatible_versions_follow_semver() {
        assert!(wit_version_compatible("0.1.0"));
        assert!(wit_version_compatible("0.1.7"));
        assert!(!wit_version_compatible("0.2.0"));
        assert!(!wit_version_compatible("1.1.0"));
        assert!(!wit_version_compatible("garbage"));
    }
}
