//! The operator's configuration: defaults, overridden by a TOML file, overridden by environment
//! variables and command-line flags (see `main.rs`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Where `cargo build` installed the provider plugins shipped with the broker.
pub const BUILTIN_PLUGIN_DIR: &str = env!("BROKER_BUILTIN_PLUGIN_DIR");

/// Everything the broker needs to run. `Default` is the embedded, zero-setup configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Directory of plugin components (`*.wasm`) loaded at start.
    pub plugin_dir: PathBuf,
    /// Directory for the broker's own files: the embedded SQLite database, the secrets key, the
    /// keys created on first start, and (by default) the compiled-component cache.
    pub data_dir: PathBuf,
    /// Directory for the compiled-component cache [default: `<data_dir>/cache`].
    pub cache_dir: Option<PathBuf>,
    /// The state store: `postgres://…` to share tenants, accounts and audit between brokers,
    /// `sqlite://…` for a file of your choice [default: `<data_dir>/broker.db`].
    pub database: Option<String>,
    /// File holding the 32-byte AES-256-GCM key that encrypts stored cloud secrets
    /// [default: `<data_dir>/secrets.key`, created on first start]. The environment variable
    /// `BROKER_SECRETS_KEY` (base64) takes precedence.
    pub secrets_key_file: Option<PathBuf>,
    /// Start the built-in cloud simulators and send every cloud API call to them.
    /// On by default so the broker works with no cloud account; set `false` for real clouds.
    pub simulators: bool,
    /// Operator mapping of upstream hosts declared by plugins to other base URLs, e.g.
    /// `"vpc.tencentcloudapi.com" = "https://vpc.internal.example"`. A key `*.example.com`
    /// maps every subdomain. Mapped destinations are trusted (loopback and private addresses
    /// are allowed there).
    pub upstreams: BTreeMap<String, String>,
    /// Sandbox and traffic limits.
    pub limits: Limits,
    /// Operator values for the settings plugins declare, per plugin name, e.g.
    /// `[plugin_settings.qcloud]` `vm-create-timeout-secs = 1200`. A plugin whose table names a
    /// setting it does not declare is refused at load.
    pub plugin_settings: BTreeMap<String, BTreeMap<String, SettingValue>>,
    /// The operator's limits for one plugin, by plugin name: `[plugin_limits.alicloud]`
    /// `wall_secs = 1800`. Unset fields keep the broker-wide `[limits]`.
    pub plugin_limits: BTreeMap<String, PluginLimits>,
}

/// Per-plugin overrides of [`Limits`], and a narrower egress list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory of one instance, in MiB (at most the broker-wide `memory_mib`, which sizes
    /// the instance pool).
    pub memory_mib: Option<u64>,
    /// Guest CPU time per request, in ms.
    pub cpu_ms: Option<u64>,
    /// Wall-clock time per request, in seconds.
    pub wall_secs: Option<u64>,
    /// Upstream calls per request.
    pub host_calls: Option<u32>,
    /// Default and maximum timeout of one upstream call, in seconds.
    pub upstream_timeout_secs: Option<u64>,
    /// Largest response body, in bytes.
    pub response_bytes: Option<usize>,
    /// Log lines per request.
    pub log_lines: Option<u32>,
    /// Log bytes per request.
    pub log_bytes: Option<usize>,
    /// The hosts the plugin may reach: each must be one its manifest declares (or a narrower
    /// pattern of one); unset means every declared host.
    pub egress_hosts: Option<Vec<String>>,
}

impl PluginLimits {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: &Limits) -> Limits {
        let mut limits = base.clone();
        if let Some(v) = self.memory_mib {
            limits.memory_mib = v;
        }
        if let Some(v) = self.cpu_ms {
            limits.cpu_ms = v;
        }
        if let Some(v) = self.wall_secs {
            limits.wall_secs = v;
        }
        if let Some(v) = self.host_calls {
            limits.host_calls = v;
        }
        if let Some(v) = self.upstream_timeout_secs {
            limits.upstream_timeout_secs = v;
        }
        if let Some(v) = self.response_bytes {
            limits.response_bytes = v;
        }
        if let Some(v) = self.log_lines {
            limits.log_lines = v;
        }
        if let Some(v) = self.log_bytes {
            limits.log_bytes = v;
        }
        limits
    }
}

/// One operator setting value. TOML strings, integers, floats and booleans are accepted; plugins
/// receive them as text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// `"text"`
    Text(String),
    /// `42`
    Integer(i64),
    /// `1.5`
    Float(f64),
    /// `true`
    Bool(bool),
}

impl std::fmt::Display for SettingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(v) => f.write_str(v),
            Self::Integer(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            plugin_dir: PathBuf::from(BUILTIN_PLUGIN_DIR),
            data_dir: PathBuf::from("data"),
            cache_dir: None,
            database: None,
            secrets_key_file: None,
            simulators: true,
            upstreams: BTreeMap::new(),
            limits: Limits::default(),
            plugin_settings: BTreeMap::new(),
            plugin_limits: BTreeMap::new(),
        }
    }
}

/// Limits on every plugin call. All are per request unless said otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory one instance may use, in MiB.
    pub memory_mib: u64,
    /// CPU time the guest may spend running (time inside host calls does not count), in ms.
    pub cpu_ms: u64,
    /// Wall-clock time for the whole call, including upstream requests and sleeps, in seconds.
    /// Long on purpose: creates poll the cloud until resources are ready.
    pub wall_secs: u64,
    /// How often the epoch ticks (the granularity of the CPU limit), in ms.
    pub epoch_tick_ms: u64,
    /// Instances that may run at once (size of the pooling allocator).
    pub max_instances: u32,
    /// Largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// Largest response body a plugin may return, in bytes.
    pub response_bytes: usize,
    /// Upstream calls (`signed-http.send`) one request may make.
    pub host_calls: u32,
    /// Default and maximum timeout of one upstream call, in seconds.
    pub upstream_timeout_secs: u64,
    /// Largest upstream response body handed to a plugin, in bytes.
    pub upstream_response_bytes: usize,
    /// Log lines one request may write.
    pub log_lines: u32,
    /// Log bytes one request may write (message and fields).
    pub log_bytes: usize,
    /// How long a verified API key or a tenant policy is cached, in seconds. A key revoked or a
    /// policy changed on another broker takes effect there within this time (at once on the
    /// broker that made the change).
    pub auth_cache_secs: u64,
    /// Entries one plugin may keep in its `cache` per tenant.
    pub cache_entries: u32,
    /// Largest value a plugin may store in its `cache`, in bytes.
    pub cache_value_bytes: usize,
    /// Longest a component may take to compile (at start or on upload), in seconds.
    pub compile_secs: u64,
    /// Largest component an admin may upload (`PUT /admin/plugins/{name}`), in bytes.
    pub plugin_upload_bytes: usize,
    /// Requests of one tenant that may run at once when its policy sets no `max_concurrent`, so
    /// one key cannot take every instance slot [default: half of `max_instances`, at least 1].
    pub tenant_concurrency: Option<u32>,
    /// Requests that may wait for an instance slot (broker-wide); beyond it, 503 at once.
    pub queue_requests: u32,
    /// Request-body bytes the waiting requests may hold (broker-wide); beyond it, 503 at once.
    /// Reserved from `Content-Length` before the body is read.
    pub queue_bytes: usize,
    /// Longest a request waits for an instance slot, in ms (apart from `wall_secs`, which
    /// starts once the instance runs); then 503.
    pub queue_wait_ms: u64,
    /// Failed authentications one client address may make per minute (IPv6: per /64); beyond
    /// it, 429 until its budget refills. 0 turns the limit off (e.g. behind a proxy that hides
    /// client addresses).
    pub auth_failures_per_minute: u32,
    /// Longest a client may take to send a request's line and headers, from their first byte,
    /// in seconds; then the connection is closed (a slowloris client holds nothing for long).
    pub header_read_secs: u64,
    /// Longest a client may take to send a request's body, from the end of its headers, in
    /// seconds; then the request is answered 408. Raise it for large uploads on slow links.
    pub body_read_secs: u64,
    /// Longest a connection may stay open with no request in flight, in seconds.
    pub idle_secs: u64,
    /// Connections served at once; beyond it new ones wait (in the listen backlog) until one
    /// closes. Keep it well below the process's file-descriptor limit.
    pub max_connections: u32,
    /// At shutdown, longest to wait for requests in flight before closing their connections,
    /// in seconds.
    pub drain_secs: u64,
    /// Answer a plugin call only after its audit row has committed (what that survives: the
    /// `audit` module doc). `false` answers once the row is queued; a crash loses queued rows.
    pub audit_durable: bool,
    /// Audit rows older than this many days are purged (at start, then hourly); 0 keeps all.
    pub audit_retention_days: u32,
    /// Refused requests (401, 403, 429, ...) are written as one summary row per tenant or
    /// client address, plugin and outcome, with a count, every this many seconds.
    pub audit_refusal_secs: u64,
    /// Operations of one tenant that may be open (running) at once on this broker; beyond it,
    /// 429. Counts sync and async calls alike.
    pub operations_open_per_tenant: u32,
    /// Finished operations (with their stored answers) are purged after this many days (at
    /// start, then hourly); 0 keeps them forever.
    pub operations_retention_days: u32,
    /// An `Idempotency-Key` attaches retries to its operation for at least this many hours
    /// (values below 24 count as 24), and at most as long as the operation is kept.
    pub idempotency_key_hours: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            cpu_ms: 2_000,
            wall_secs: 900,
            epoch_tick_ms: 10,
            max_instances: 256,
            body_bytes: 4 << 20,
            response_bytes: 8 << 20,
            host_calls: 2_000,
            upstream_timeout_secs: 60,
            upstream_response_bytes: 8 << 20,
            log_lines: 1_000,
            log_bytes: 256 << 10,
            auth_cache_secs: 5,
            cache_entries: 256,
            cache_value_bytes: 64 << 10,
            compile_secs: 120,
            plugin_upload_bytes: 64 << 20,
            tenant_concurrency: None,
            queue_requests: 512,
            queue_bytes: 64 << 20,
            queue_wait_ms: 10_000,
            auth_failures_per_minute: 60,
            header_read_secs: 10,
            body_read_secs: 60,
            idle_secs: 30,
            max_connections: 512,
            drain_secs: 30,
            audit_durable: true,
            audit_retention_days: 90,
            audit_refusal_secs: 60,
            operations_open_per_tenant: 1_000,
            operations_retention_days: 7,
            idempotency_key_hours: 24,
        }
    }
}

impl Limits {
    /// The compile limit as a duration.
    pub fn compile(&self) -> Duration {
        Duration::from_secs(self.compile_secs)
    }

    /// The CPU limit as a duration.
    pub fn cpu(&self) -> Duration {
        Duration::from_millis(self.cpu_ms)
    }
    /// The wall-clock limit as a duration.
    pub fn wall(&self) -> Duration {
        Duration::from_secs(self.wall_secs)
    }
    /// The epoch tick as a duration.
    pub fn epoch_tick(&self) -> Duration {
        Duration::from_millis(self.epoch_tick_ms.max(1))
    }
    /// The key and policy cache lifetime as a duration.
    pub fn auth_cache(&self) -> Duration {
        Duration::from_secs(self.auth_cache_secs)
    }

    /// The longest wait for an instance slot as a duration.
    pub fn queue_wait(&self) -> Duration {
        Duration::from_millis(self.queue_wait_ms)
    }

    /// A tenant's concurrency when its policy sets none: the operator's, or half the slots.
    pub fn tenant_concurrency(&self) -> u32 {
        self.tenant_concurrency
            .unwrap_or((self.max_instances / 2).max(1))
    }

    /// The upstream timeout as a duration.
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs)
    }
}

/// Largest `limits.memory_mib`: plugins are `wasm32` components, whose linear memory stops at
/// 4 GiB.
const MAX_MEMORY_MIB: u64 = 4 << 10;

impl Config {
    /// Where compiled components are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cache"))
    }

    /// Where the secrets key file is.
    pub fn secrets_key_file(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets.key"))
    }

    /// Reads a TOML configuration file; keys absent from it keep their defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// Adds one `HOST=URL` upstream mapping (the `--upstream` flag's syntax).
    pub fn add_upstream(&mut self, spec: &str) -> anyhow::Result<()> {
        let Some((host, url)) = spec.split_once('=') else {
            bail!("upstream mapping `{spec}` must look like HOST=URL");
        };
        self.upstreams
            .insert(host.trim().to_ascii_lowercase(), url.trim().to_string());
        Ok(())
    }

    /// Adds one `PLUGIN.NAME=VALUE` plugin setting (the `--plugin-setting` flag's syntax).
    pub fn add_plugin_setting(&mut self, spec: &str) -> anyhow::Result<()> {
        let parsed = spec
            .split_once('=')
            .and_then(|(key, value)| Some((key.split_once('.')?, value)));
        let Some(((plugin, name), value)) = parsed else {
            bail!("plugin setting `{spec}` must look like PLUGIN.NAME=VALUE");
        };
        self.plugin_settings
            .entry(plugin.trim().to_string())
            .or_default()
            .insert(
                name.trim().to_string(),
                SettingValue::Text(value.to_string()),
            );
        Ok(())
    }

    /// The operator's settings for one plugin, as text.
    pub fn settings_for(&self, plugin: &str) -> BTreeMap<String, String> {
        self.plugin_settings
            .get(plugin)
            .map(|settings| {
                settings
                    .iter()
                    .map(|(name, value)| (name.clone(), value.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        let l = &self.limits;
        for (name, value) in [
            ("limits.memory_mib", l.memory_mib),
            ("limits.cpu_ms", l.cpu_ms),
            ("limits.wall_secs", l.wall_secs),
            ("limits.max_instances", u64::from(l.max_instances)),
            ("limits.upstream_timeout_secs", l.upstream_timeout_secs),
            ("limits.compile_secs", l.compile_secs),
            ("limits.queue_wait_ms", l.queue_wait_ms),
            (
                "limits.tenant_concurrency",
                l.tenant_concurrency.map_or(1, u64::from),
            ),
            ("limits.header_read_secs", l.header_read_secs),
            ("limits.body_read_secs", l.body_read_secs),
            ("limits.idle_secs", l.idle_secs),
            ("limits.max_connections", u64::from(l.max_connections)),
            (
                "limits.operations_open_per_tenant",
                u64::from(l.operations_open_per_tenant),
            ),
        ] {
            if value == 0 {
                bail!("{name} must be greater than 0");
            }
        }
        // The sandbox sizes memory as `memory_mib << 20`, which would silently wrap past this.
        if l.memory_mib > MAX_MEMORY_MIB {
            bail!(
                "limits.memory_mib ({}) exceeds {MAX_MEMORY_MIB}: a plugin's 32-bit linear memory \
                 cannot grow beyond 4 GiB",
                l.memory_mib
            );
        }
        for (plugin, overrides) in &self.plugin_limits {
            for (name, value) in [
                ("memory_mib", overrides.memory_mib),
                ("cpu_ms", overrides.cpu_ms),
                ("wall_secs", overrides.wall_secs),
                ("upstream_timeout_secs", overrides.upstream_timeout_secs),
            ] {
                if value == Some(0) {
                    bail!("plugin_limits.{plugin}.{name} must be greater than 0");
                }
            }
            if let Some(memory) = overrides.memory_mib
                && memory > l.memory_mib
            {
                bail!(
                    "plugin_limits.{plugin}.memory_mib ({memory}) exceeds limits.memory_mib ({}), \
                     which sizes every instance slot; raise that instead",
                    l.memory_mib
                );
            }
        }
        for (host, url) in &self.upstreams {
            let parsed = url::Url::parse(url)
                .with_context(|| format!("upstream mapping for `{host}`: `{url}` is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("upstream mapping for `{host}`: `{url}` must be http:// or https://");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_only_the_keys_it_names() {
        let config: Config = toml::from_str(
            "listen = \"0.0.0.0:9000\"\n[limits]\ncpu_ms = 50\n[upstreams]\n\"vpc.tencentcloudapi.com\" = \"http://127.0.0.1:1\"\n",
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.cpu_ms, 50);
        assert_eq!(config.limits.memory_mib, Limits::default().memory_mib);
        assert!(config.simulators);
        config.validate().unwrap();
    }

    #[test]
    fn a_tenants_default_share_is_half_the_slots_and_zero_limits_are_refused() {
        let limits = |text: &str| toml::from_str::<Config>(&format!("[limits]\n{text}")).unwrap();
        assert_eq!(limits("max_instances = 8").limits.tenant_concurrency(), 4);
        assert_eq!(limits("max_instances = 1").limits.tenant_concurrency(), 1);
        let set = limits("max_instances = 8\ntenant_concurrency = 8");
        assert_eq!(set.limits.tenant_concurrency(), 8);
        for zero in ["tenant_concurrency = 0", "queue_wait_ms = 0"] {
            assert!(limits(zero).validate().is_err(), "{zero}");
        }
    }

    #[test]
    fn connection_limits_have_defaults_and_must_be_positive() {
        let config: Config = toml::from_str("[limits]\nidle_secs = 5\ndrain_secs = 0\n").unwrap();
        assert_eq!(config.limits.idle_secs, 5);
        assert_eq!(config.limits.header_read_secs, 10);
        config.validate().unwrap();
        for key in [
            "header_read_secs",
            "body_read_secs",
            "idle_secs",
            "max_connections",
        ] {
            let config: Config = toml::from_str(&format!("[limits]\n{key} = 0\n")).unwrap();
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn memory_beyond_a_32_bit_linear_memory_is_refused() {
        let mut config = Config::default();
        config.limits.memory_mib = MAX_MEMORY_MIB;
        config.validate().unwrap();
        // 2^44 + 1 MiB wrapped to a 1 MiB sandbox when shifted into bytes.
        config.limits.memory_mib = (1 << 44) + 1;
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("limits.memory_mib"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Config>("listne = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn upstream_flag_needs_host_and_url() {
        let mut config = Config::default();
        assert!(config.add_upstream("no-equals-sign").is_err());
        config
            .add_upstream("VPC.tencentcloudapi.com=http://127.0.0.1:9")
            .unwrap();
        assert_eq!(
            config.upstreams["vpc.tencentcloudapi.com"],
            "http://127.0.0.1:9"
        );
        config.upstreams.insert("x".into(), "ftp://x".into());
        assert!(config.validate().is_err());
    }

    #[test]
    fn plugin_limits_override_only_what_they_name_and_are_checked() {
        let config: Config = toml::from_str(
            "[limits]\nmemory_mib = 64\n[plugin_limits.alicloud]\nwall_secs = 1800\nhost_calls = 9\negress_hosts = [\"ecs.aliyuncs.com\"]\n",
        )
        .unwrap();
        config.validate().unwrap();
        let alicloud = config.plugin_limits["alicloud"].apply(&config.limits);
        assert_eq!((alicloud.wall_secs, alicloud.host_calls), (1800, 9));
        assert_eq!(alicloud.cpu_ms, config.limits.cpu_ms);
        for bad in [
            "[plugin_limits.x]\nmemory_mib = 65\n",
            "[plugin_limits.x]\ncpu_ms = 0\n",
        ] {
            let mut text = String::from("[limits]\nmemory_mib = 64\n");
            text.push_str(bad);
            let config: Config = toml::from_str(&text).unwrap();
            assert!(config.validate().is_err(), "{bad}");
        }
        assert!(toml::from_str::<Config>("[plugin_limits.x]\nmemroy_mib = 1\n").is_err());
    }

    #[test]
    fn plugin_settings_come_from_toml_and_flags_as_text() {
        let mut config: Config = toml::from_str(
            "[plugin_settings.qcloud]\n\"vm-create-timeout-secs\" = 1200\nregion-hint = \"ap-guangzhou\"\nverbose = true\n",
        )
        .unwrap();
        config
            .add_plugin_setting("qcloud.nat-create-timeout-secs=30")
            .unwrap();
        config.add_plugin_setting("cds.a=b=c").unwrap();
        let qcloud = config.settings_for("qcloud");
        assert_eq!(qcloud["vm-create-timeout-secs"], "1200");
        assert_eq!(qcloud["region-hint"], "ap-guangzhou");
        assert_eq!(qcloud["verbose"], "true");
        assert_eq!(qcloud["nat-create-timeout-secs"], "30");
        assert_eq!(config.settings_for("cds")["a"], "b=c");
        assert!(config.settings_for("bridgx").is_empty());
        for bad in ["no-equals", "nodot=1"] {
            assert!(config.add_plugin_setting(bad).is_err(), "{bad}");
        }
        assert!(toml::from_str::<Config>("[plugin_settings.q]\nx = [1]\n").is_err());
    }
}
