//! Operator settings: tunables a plugin declares in its manifest (with defaults) and reads at
//! request time through the host's `config` capability.
//!
//! The operator overrides them per plugin in the broker's configuration
//! (`[plugin_settings.<plugin>]`, or `--plugin-setting <plugin>.<name>=<value>`); the broker
//! refuses to load a plugin whose configuration names a setting it does not declare.
//!
//! Waits are the common case: [`WaitSettings`] declares a `<name>-timeout-secs` /
//! `<name>-interval-secs` pair and reads it back as a [`Wait`].
//!
//! ```no_run
//! use broker_sdk::settings::WaitSettings;
//!
//! const VM_CREATE: WaitSettings = WaitSettings::new("vm-create", "a VM create waits until the VM runs", 600, 5);
//! // In `manifest()`: `settings: VM_CREATE.declare().into()`;
//! // in a handler: `let wait = VM_CREATE.read()?;` then poll with `wait.timeout_ms`, `wait.interval_ms`.
//! ```

use crate::ErrorMessage;
pub use crate::bindings::exports::cloud_broker::plugin::handler::Setting;

/// The value in force of the declared setting `name` (the operator's, else the declared default);
/// `None` for a name the manifest does not declare.
pub fn get(name: &str) -> Option<String> {
    crate::bindings::cloud_broker::plugin::config::get(name)
}

/// A setting declaration for [`crate::Manifest::settings`].
pub fn declare(name: &str, summary: &str, default_value: &str) -> Setting {
    Setting {
        name: name.to_owned(),
        summary: summary.to_owned(),
        default_value: default_value.to_owned(),
    }
}

/// How long one wait may last and how often it looks, in clock milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Give up after this much clock time.
    pub timeout_ms: u64,
    /// Sleep this long between looks.
    pub interval_ms: u64,
}

/// The two settings of one kind of wait: `<name>-timeout-secs` and `<name>-interval-secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitSettings {
    /// Prefix of both setting names, e.g. `vm-create`.
    pub name: &'static str,
    /// What waits, for the operator's listing, e.g. `a VM create waits until the VM runs`.
    pub what: &'static str,
    /// Default timeout, in seconds.
    pub timeout_secs: u64,
    /// Default interval between looks, in seconds.
    pub interval_secs: u64,
}

impl WaitSettings {
    /// A wait named `name` with its defaults.
    pub const fn new(
        name: &'static str,
        what: &'static str,
        timeout_secs: u64,
        interval_secs: u64,
    ) -> Self {
        Self {
            name,
            what,
            timeout_secs,
            interval_secs,
        }
    }

    /// The name of the timeout setting.
    pub fn timeout_setting(&self) -> String {
        format!("{}-timeout-secs", self.name)
    }

    /// The name of the interval setting.
    pub fn interval_setting(&self) -> String {
        format!("{}-interval-secs", self.name)
    }

    /// The two declarations for the manifest.
    pub fn declare(&self) -> [Setting; 2] {
        [
            declare(
                &self.timeout_setting(),
                &format!("How long {}, in seconds.", self.what),
                &self.timeout_secs.to_string(),
            ),
            declare(
                &self.interval_setting(),
                &format!("How often {} looks, in seconds.", self.what),
                &self.interval_secs.to_string(),
            ),
        ]
    }

    /// The wait in force, read through the host's `config` capability.
    pub fn read(&self) -> Result<Wait, ErrorMessage> {
        self.read_with(get)
    }

    /// The wait in force, from `lookup` (the host's settings in plugins; a map in tests). A
    /// setting that is absent keeps its default; one that is not a positive whole number of
    /// seconds is an error naming it.
    pub fn read_with(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Wait, ErrorMessage> {
        let secs = |name: String, default: u64| -> Result<u64, ErrorMessage> {
            match lookup(&name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(ErrorMessage::new(format!(
                        "the operator setting `{name}` is `{text}`, not a positive whole number of seconds"
                    ))),
                },
            }
        };
        Ok(Wait {
            timeout_ms: secs(self.timeout_setting(), self.timeout_secs)?.saturating_mul(1000),
            interval_ms: secs(self.interval_setting(), self.interval_secs)?.saturating_mul(1000),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const VM: WaitSettings = WaitSettings::new("vm-create", "a VM create waits", 600, 5);

    #[test]
    fn declares_two_settings_with_defaults() {
        let [timeout, interval] = VM.declare();
        assert_eq!(timeout.name, "vm-create-timeout-secs");
        assert_eq!(timeout.default_value, "600");
        assert_eq!(timeout.summary, "How long a VM create waits, in seconds.");
        assert_eq!(interval.name, "vm-create-interval-secs");
        assert_eq!(interval.default_value, "5");
    }

    #[test]
    fn reads_operator_values_or_defaults_and_names_a_bad_value() {
        let values = BTreeMap::from([("vm-create-timeout-secs".to_owned(), " 30 ".to_owned())]);
        let wait = VM.read_with(|n| values.get(n).cloned()).unwrap();
        assert_eq!(
            wait,
            Wait {
                timeout_ms: 30_000,
                interval_ms: 5_000
            }
        );
        for bad in ["0", "-1", "ten", "1.5"] {
            let values = BTreeMap::from([("vm-create-interval-secs".to_owned(), bad.to_owned())]);
            let err = VM.read_with(|n| values.get(n).cloned()).unwrap_err();
            assert!(
                err.as_str().contains("`vm-create-interval-secs`") && err.as_str().contains(bad),
                "{err:?}"
            );
        }
    }
}
