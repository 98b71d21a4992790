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
