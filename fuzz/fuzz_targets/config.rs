//! The configuration loader (`host/src/config.rs`): the TOML file and the `--upstream` /
//! `--plugin-setting` flag syntaxes.
//!
//! Input: a TOML document; each of its lines is also tried as a flag value. Invariants: no
//! input panics the loader; a flag value that is accepted is stored under its trimmed key; for a
//! configuration `validate` accepts, every derived value the broker computes at start (durations,
//! per-plugin limits, memory in bytes, settings as text) is computed without overflow.

#![no_main]

use broker_fuzz::config::Config;
use libfuzzer_sys::fuzz_target;

fn check_usable(config: &Config) {
    let mut all = vec![config.limits.clone()];
    all.extend(
        config
            .plugin_limits
            .values()
            .map(|p| p.apply(&config.limits)),
    );
    for limits in &all {
        let _ = (
            limits.compile(),
            limits.cpu(),
            limits.wall(),
            limits.epoch_tick(),
        );
        let _ = (limits.auth_cache(), limits.upstream_timeout());
        assert!(
            limits.memory_mib.checked_mul(1 << 20).is_some(),
            "memory_mib {} accepted but not representable in bytes",
            limits.memory_mib
        );
    }
    for plugin in config.plugin_settings.keys() {
        let _ = config.settings_for(plugin);
    }
    let _ = (config.cache_dir(), config.secrets_key_file());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut config = toml::from_str::<Config>(text).unwrap_or_default();
    if config.validate().is_ok() {
        check_usable(&config);
    }
    for line in text.lines().take(16) {
        if config.add_upstream(line).is_ok() {
            let (host, url) = line.split_once('=').expect("accepted specs have `=`");
            assert_eq!(
                config.upstreams.get(&host.trim().to_ascii_lowercase()),
                Some(&url.trim().to_owned())
            );
        }
        if config.add_plugin_setting(line).is_ok() {
            let (key, _) = line.split_once('=').expect("accepted specs have `=`");
            let (plugin, name) = key.split_once('.').expect("accepted specs have `.`");
            assert!(config.settings_for(plugin.trim()).contains_key(name.trim()));
        }
    }
    if config.validate().is_ok() {
        check_usable(&config);
    }
});
