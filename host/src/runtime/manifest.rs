//! Validation of what a plugin's `manifest()` returns.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bindings::handler;
use crate::capabilities::signed_http::HostPattern;

/// Path prefixes the broker serves itself; no plugin may claim them.
const RESERVED_PREFIXES: &[&str] = &["/healthz", "/v1/plugins", "/admin", "/metrics"];

/// A validated manifest, in the host's own types.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Route prefixes it serves.
    pub route_prefixes: Vec<String>,
    /// Operations it offers.
    pub operations: Vec<Operation>,
    /// Upstream hosts it may call.
    pub upstream_hosts: Vec<String>,
    /// Error envelope template (not listed).
    #[serde(skip)]
    pub error_template: String,
    /// Operator settings it declares.
    pub settings: Vec<Setting>,
}

/// One declared operator setting, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// Setting name.
    pub name: String,
    /// Description for operators.
    pub summary: String,
    /// The declared default.
    pub default: String,
    /// The value in force: the operator's, else the default (filled in by the runtime).
    pub value: String,
}

/// One operation, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Description.
    pub summary: String,
}

impl Manifest {
    /// Checks a manifest; the error says what is wrong and what was expected.
    pub fn validate(m: handler::Manifest) -> Result<(Self, Vec<HostPattern>), String> {
        if !is_kebab_name(&m.name) {
            return Err(format!(
                "name `{}` must be 1-64 lower-case letters, digits or `-`, starting with a letter",
                m.name
            ));
        }
        if !is_semver(&m.version) {
            return Err(format!(
                "version `{}` is not a semantic version (MAJOR.MINOR.PATCH, e.g. `1.4.2`)",
                m.version
            ));
        }
        if m.route_prefixes.is_empty() {
            return Err("route-prefixes is empty: the plugin would never be called".into());
        }
        for prefix in &m.route_prefixes {
            if !(prefix.len() >= 3 && prefix.starts_with('/') && prefix.ends_with('/'))
                || prefix.contains("//")
            {
                return Err(format!(
                    "route prefix `{prefix}` must start and end with `/` (e.g. `/v1/{}/`)",
                    m.name
                ));
            }
            if let Some(reserved) = RESERVED_PREFIXES
                .iter()
                .find(|r| prefix.starts_with(*r) || r.starts_with(prefix.trim_end_matches('/')))
            {
                return Err(format!(
                    "route prefix `{prefix}` overlaps the broker's own `{reserved}`"
                ));
            }
        }
        let hosts = m
            .upstream_hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        let probe = render_error(&m.error_template, "probe \"quoted\" message");
        if serde_json::from_str::<serde_json::Value>(&probe).is_err() {
            return Err(format!(
                "error-template is not JSON once `{{{{message}}}}` is filled in: {}",
                m.error_template
            ));
        }
        let mut settings: Vec<Setting> = Vec::with_capacity(m.settings.len());
        for setting in m.settings {
            if !is_kebab_name(&setting.name) {
                return Err(format!(
                    "setting name `{}` must be 1-64 lower-case letters, digits or `-`, starting with a letter",
                    setting.name
                ));
            }
            if settings.iter().any(|s| s.name == setting.name) {
                return Err(format!("setting `{}` is declared twice", setting.name));
            }
            settings.push(Setting {
                name: setting.name,
                summary: setting.summary,
                value: setting.default_value.clone(),
                default: setting.default_value,
            });
        }
        let operations = m
            .operations
            .into_iter()
            .map(|op| Operation {
                method: op.method.as_str().to_string(),
                path: op.path,
                summary: op.summary,
            })
            .collect();
        Ok((
            Self {
                name: m.name,
                version: m.version,
                route_prefixes: m.route_prefixes,
                operations,
                upstream_hosts: m.upstream_hosts,
                error_template: m.error_template,
                settings,
            },
            hosts,
        ))
    }

    /// Applies the operator's values to the declared settings and returns the values in force
    /// by name. A name the plugin does not declare is an error: a typo must not go unnoticed.
    pub fn apply_settings(
        &mut self,
        operator: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, String> {
        for (name, value) in operator {
            let Some(setting) = self.settings.iter_mut().find(|s| &s.name == name) else {
                let declared: Vec<&str> = self.settings.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "the operator set `{name}`, which plugin `{}` does not declare (it declares: {})",
                    self.name,
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ));
            };
            setting.value.clone_from(value);
        }
        Ok(self
            .settings
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect())
    }
}

/// `MAJOR.MINOR.PATCH`, optionally followed by `-pre` and/or `+build` (SemVer 2.0).
fn is_semver(version: &str) -> bool {
    let (core, suffix) = match version.find(['-', '+']) {
        Some(at) => (&version[..at], Some(&version[at + 1..])),
        None => (version, None),
    };
    let numeric = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| numeric(p)) && suffix.is_none_or(|s| !s.is_empty())
}

/// Plugin and setting names: 1-64 lower-case letters, digits or `-`, starting with a letter.
fn is_kebab_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Fills a plugin's error template with `message` (escaped for a JSON string).
pub fn render_error(template: &str, message: &str) -> String {
    let quoted = serde_json::to_string(message).expect("strings serialize");
    template.replace("{{message}}", &quoted[1..quoted.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> handler::Manifest {
        handler::Manifest {
            name: "qcloud".into(),
            version: "0.1.0".into(),
            route_prefixes: vec!["/v1/qcloud/".into()],
            operations: vec![],
            upstream_hosts: vec!["vpc.tencentcloudapi.com".into()],
            error_template: r#"{"result_code":"1","result_message":"{{message}}"}"#.into(),
            settings: vec![handler::Setting {
                name: "wait-timeout-secs".into(),
                summary: "How long a create waits, in seconds.".into(),
                default_value: "600".into(),
            }],
        }
    }

    #[test]
    fn a_good_manifest_passes() {
        let (m, hosts) = Manifest::validate(manifest()).unwrap();
        assert_eq!(m.name, "qcloud");
        assert_eq!(hosts.len(), 1);
    }

    #[test]
    fn bad_manifests_are_refused_with_a_reason() {
        type Mutation = fn(&mut handler::Manifest);
        let cases: Vec<(Mutation, &str)> = vec![
            (|m| m.name = "Bad Name".into(), "name"),
            (
                |m| m.route_prefixes = vec!["v1/x".into()],
                "must start and end",
            ),
            (|m| m.route_prefixes = vec!["/admin/".into()], "overlaps"),
            (|m| m.route_prefixes = vec!["/v1/".into()], "overlaps"),
            (|m| m.route_prefixes.clear(), "empty"),
            (|m| m.version = "1.2".into(), "not a semantic version"),
            (|m| m.version = "one".into(), "not a semantic version"),
            (
                |m| m.upstream_hosts = vec!["not a host".into()],
                "not a host name",
            ),
            (
                |m| m.error_template = "{not json {{message}}".into(),
                "not JSON",
            ),
            (
                |m| m.settings[0].name = "Wait_Timeout".into(),
                "setting name",
            ),
            (|m| m.settings.push(m.settings[0].clone()), "declared twice"),
        ];
        for (mutate, expected) in cases {
            let mut m = manifest();
            mutate(&mut m);
            let err = Manifest::validate(m).unwrap_err();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn operator_settings_override_defaults_and_unknown_names_are_refused() {
        let (mut m, _) = Manifest::validate(manifest()).unwrap();
        let values = m.apply_settings(&BTreeMap::new()).unwrap();
        assert_eq!(values["wait-timeout-secs"], "600");

        let operator = BTreeMap::from([("wait-timeout-secs".to_string(), "30".to_string())]);
        let values = m.apply_settings(&operator).unwrap();
        assert_eq!(values["wait-timeout-secs"], "30");
        assert_eq!(m.settings[0].value, "30");
        assert_eq!(m.settings[0].default, "600");

        let typo = BTreeMap::from([("wait-timeout-sec".to_string(), "30".to_string())]);
        let err = m.apply_settings(&typo).unwrap_err();
        assert!(
            err.contains("`wait-timeout-sec`") && err.contains("declares: wait-timeout-secs"),
            "{err}"
        );
    }

    #[test]
    fn error_messages_are_escaped_into_the_template() {
        let out = render_error(r#"{"msg":"{{message}}"}"#, "a \"b\"\nc");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["msg"], "a \"b\"\nc");
    }
}
