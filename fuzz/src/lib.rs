//! The host's pure parsing modules, compiled here from their own source files.
//!
//! The `broker` crate links wasmtime and cranelift and builds every plugin component in its build
//! script; compiling that with sanitizer and coverage instrumentation for each CI run would cost
//! more than the whole fuzz budget. The modules fuzzed here need none of it (serde, toml, url,
//! hashes), so they are included by path: the code under test is the host's, byte for byte, and a
//! change to it is fuzzed without any copy to keep in sync. The crate paths those modules name
//! (`crate::bindings::handler`, `crate::capabilities::signed_http::HostPattern`) are provided
//! below; a new `crate::` import in one of them fails this build, which CI runs.

#![allow(dead_code, reason = "only the parsing entry points are fuzzed")]
#![allow(missing_docs, reason = "host modules compiled outside their crate")]

#[path = "../../host/src/config.rs"]
pub mod config;

#[path = "../../host/src/capabilities/redact.rs"]
pub mod redact;

#[path = "../../host/src/capabilities/signed_http/sign/mod.rs"]
pub mod sign;

#[path = "../../host/src/capabilities/signed_http/egress.rs"]
pub mod egress;

#[path = "../../host/src/runtime/manifest.rs"]
pub mod manifest;

/// The paths `manifest.rs` imports, as in the host crate.
pub mod capabilities {
    pub mod signed_http {
        pub use crate::egress::HostPattern;
    }
}

/// The WIT records `manifest.rs` validates (`wit/handler.wit`), as wasmtime's `bindgen!` names
/// them in the host, with `Arbitrary` so the fuzzer builds them field by field.
pub mod bindings {
    pub mod handler {
        use arbitrary::Arbitrary;

        /// `handler.manifest`.
        #[derive(Debug, Clone, Arbitrary)]
        pub struct Manifest {
            pub name: String,
            pub version: String,
            pub route_prefixes: Vec<String>,
            pub operations: Vec<Operation>,
            pub upstream_hosts: Vec<String>,
            pub error_template: String,
            pub settings: Vec<Setting>,
        }

        /// `handler.operation`.
        #[derive(Debug, Clone, Arbitrary)]
        pub struct Operation {
            pub method: Method,
            pub path: String,
            pub summary: String,
        }

        /// `handler.setting`.
        #[derive(Debug, Clone, Arbitrary)]
        pub struct Setting {
            pub name: String,
            pub summary: String,
            pub default_value: String,
        }

        /// `types.method`.
        #[derive(Debug, Clone, Copy, Arbitrary)]
        pub enum Method {
            Get,
            Head,
            Post,
            Put,
            Patch,
            Delete,
            Options,
        }

        impl Method {
            /// As `host/src/bindings.rs` writes it.
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
    }
}
