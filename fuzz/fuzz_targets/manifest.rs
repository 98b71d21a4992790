//! Manifest validation (`host/src/runtime/manifest.rs`) of what a plugin's `manifest()` returns.
//!
//! Invariants: an accepted manifest has a kebab-case name, route prefixes that start and end
//! with `/` and avoid the broker's own, unique settings, and host patterns that match what they
//! declare; its error template is JSON for every message, not only the probe the validator uses.

#![no_main]

use arbitrary::Arbitrary;
use broker_fuzz::bindings::handler;
use broker_fuzz::egress::HostPattern;
use broker_fuzz::manifest::{Manifest, render_error};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Case {
    manifest: handler::Manifest,
    /// Real values for the fields checked first, so the fuzzer gets past those checks.
    valid_head: bool,
    /// One of the plugins' templates instead of the fuzzed one.
    template: Option<u8>,
    message: String,
}

const TEMPLATES: &[&str] = &[
    broker_sdk::WECUBE_ERROR_TEMPLATE,
    broker_sdk::ALICLOUD_ERROR_TEMPLATE,
    broker_sdk::TENCENT_ERROR_TEMPLATE,
    broker_sdk::BRIDGX_ERROR_TEMPLATE,
];

fuzz_target!(|case: Case| {
    let mut m = case.manifest;
    if case.valid_head {
        m.name = "fuzzed".to_owned();
        m.version = "0.1.0".to_owned();
        m.route_prefixes.push("/v1/fuzzed/".to_owned());
    }
    if let Some(i) = case.template {
        m.error_template = TEMPLATES[usize::from(i) % TEMPLATES.len()].to_owned();
    }
    let declared_hosts = m.upstream_hosts.clone();
    let declared_settings = m.settings.len();
    let Ok((valid, hosts)) = Manifest::validate(m) else {
        return;
    };
    assert!(!valid.name.is_empty() && valid.name.len() <= 64);
    assert!(valid.name.starts_with(|c: char| c.is_ascii_lowercase()));
    assert!(!valid.route_prefixes.is_empty());
    for prefix in &valid.route_prefixes {
        assert!(prefix.starts_with('/') && prefix.ends_with('/') && !prefix.contains("//"));
        for own in ["/healthz", "/v1/plugins", "/admin", "/metrics"] {
            assert!(!prefix.starts_with(own), "{prefix} claims {own}");
        }
    }
    assert_eq!(valid.settings.len(), declared_settings);
    for (i, s) in valid.settings.iter().enumerate() {
        assert!(valid.settings[..i].iter().all(|t| t.name != s.name));
        assert_eq!(s.value, s.default);
    }
    assert_eq!(hosts.len(), declared_hosts.len());
    for (pattern, declared) in hosts.iter().zip(&declared_hosts) {
        assert_eq!(HostPattern::parse(declared).as_ref(), Ok(pattern));
        assert!(pattern.covers(pattern));
        let host = declared.trim().to_ascii_lowercase();
        match host.strip_prefix("*.") {
            Some(suffix) => {
                assert!(pattern.matches(&format!("a.{suffix}")));
                assert!(!pattern.matches(suffix));
            }
            None => assert!(pattern.matches(&host)),
        }
    }
    let rendered = render_error(&valid.error_template, &case.message);
    assert!(
        serde_json::from_str::<serde_json::Value>(&rendered).is_ok(),
        "template {:?} is not JSON with message {:?}: {rendered}",
        valid.error_template,
        case.message
    );
});
