//! Starting a broker for a test, calling it, and capturing its logs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use broker::Broker;
use broker::capabilities::clock::VirtualClock;
use broker::config::{BUILTIN_PLUGIN_DIR, Config, Limits, PluginLimits, SettingValue};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

/// The hostile test plugin (built by `build.rs`).
pub const HOSTILE: &str = env!("FIXTURE_HOSTILE");
/// The hostile fixture again, as version 2.0.0 (for replacing a plugin live).
pub const HOSTILE_V2: &str = env!("FIXTURE_HOSTILE_V2");

/// Path of a provider plugin built with the broker.
pub fn provider(name: &str) -> PathBuf {
    Path::new(BUILTIN_PLUGIN_DIR).join(format!("{name}.wasm"))
}

/// The compiled-component cache shared by all tests, so each component compiles once.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// A broker started for one test, with its own plugin and data directories.
pub struct TestBroker {
    pub broker: Broker,
    pub client: reqwest::Client,
    /// The `default` tenant's key, created on first start.
    pub tenant_key: String,
    /// The admin key, created on first start.
    pub admin_key: String,
    _plugin_dir: tempfile::TempDir,
    _data_dir: tempfile::TempDir,
}

/// What a test wants from its broker.
pub struct Setup {
    pub plugins: Vec<PathBuf>,
    pub limits: Limits,
    pub cache_dir: PathBuf,
    /// `None`: the embedded SQLite store in the test's data directory.
    pub database: Option<String>,
    /// `None`: a key file in the test's data directory. Brokers sharing a database share this.
    pub secrets_key_file: Option<PathBuf>,
    /// `Some`: plugins and the built-in simulators share this virtual clock (sleeps take no
    /// real time, simulated resources change state as it moves). `None`: the system clock.
    pub clock: Option<Arc<VirtualClock>>,
    /// The operator's plugin settings (`[plugin_settings.<plugin>]`).
    pub plugin_settings: BTreeMap<String, BTreeMap<String, SettingValue>>,
    /// The operator's per-plugin limits (`[plugin_limits.<plugin>]`).
    pub plugin_limits: BTreeMap<String, PluginLimits>,
    /// The operator's upstream mapping (host → base URL), besides the simulators'.
    pub upstreams: BTreeMap<String, String>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            plugins: vec![provider("qcloud"), PathBuf::from(HOSTILE)],
            limits: Limits {
                wall_secs: 20,
                ..Limits::default()
            },
            cache_dir: shared_cache(),
            database: None,
            secrets_key_file: None,
            clock: None,
            plugin_settings: BTreeMap::new(),
            plugin_limits: BTreeMap::new(),
            upstreams: BTreeMap::new(),
        }
    }
}

impl TestBroker {
    /// A broker with qcloud and the hostile fixture, default limits, built-in simulators.
    pub async fn start() -> Self {
        Self::with(Setup::default()).await
    }

    /// A broker as `setup` says.
    pub async fn with(setup: Setup) -> Self {
        capture_logs();
        let plugin_dir = tempfile::tempdir().unwrap();
        for plugin in &setup.plugins {
            let name = plugin.file_name().unwrap();
            std::fs::copy(plugin, plugin_dir.path().join(name)).unwrap();
        }
        let data_dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            plugin_dir: plugin_dir.path().to_path_buf(),
            data_dir: data_dir.path().to_path_buf(),
            cache_dir: Some(setup.cache_dir),
            database: setup.database,
            secrets_key_file: setup.secrets_key_file,
            limits: setup.limits,
            plugin_settings: setup.plugin_settings,
            plugin_limits: setup.plugin_limits,
            upstreams: setup.upstreams,
            ..Config::default()
        };
        let broker = match setup.clock {
            Some(clock) => Broker::start_with_virtual_clock(config, clock).await,
            None => Broker::start(config).await,
        }
        .expect("broker starts");
        let read_key = |file: &str| {
            std::fs::read_to_string(data_dir.path().join(file))
                .map(|k| k.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            tenant_key: read_key(broker::bootstrap::TENANT_KEY_FILE),
            admin_key: read_key(broker::bootstrap::ADMIN_KEY_FILE),
            broker,
            client: reqwest::Client::new(),
            _plugin_dir: plugin_dir,
            _data_dir: data_dir,
        }
    }

    /// Sends a request with `key` (if any); returns status, headers and the JSON answer
    /// (`null` for an empty body).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.broker.url()));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("broker answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("answer to {path} is not JSON ({e}): {text}"))
        };
        (status, headers, json)
    }

    /// The broker's plugin directory.
    pub fn plugin_dir(&self) -> &Path {
        self._plugin_dir.path()
    }

    /// Shuts the broker down as SIGTERM does; returns its data directory, kept for inspection.
    pub async fn shutdown(self) -> tempfile::TempDir {
        self.broker.shutdown().await.expect("clean shutdown");
        self._data_dir
    }

    /// The broker's data directory.
    pub fn data_dir(&self) -> &Path {
        self._data_dir.path()
    }

    /// An admin API call with the admin key.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, _, json) = self.call(method, path, Some(&self.admin_key), body).await;
        (status, json)
    }

    /// Creates a tenant through the admin API; returns its first key.
    pub async fn new_tenant(&self, name: &str) -> String {
        let (status, answer) = self
            .admin(
                reqwest::Method::POST,
                "/admin/tenants",
                Some(&serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        answer["key"]["key"].as_str().unwrap().to_string()
    }

    /// POSTs a raw body; returns status and JSON answer.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.broker.url()))
            .bearer_auth(&self.tenant_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("broker answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("answer to {path} is not JSON ({e}): {text}"));
        (status, json)
    }

    /// POSTs JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    /// GETs a path; returns status and JSON answer.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.broker.url()))
            .bearer_auth(&self.tenant_key)
            .send()
            .await
            .expect("broker answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    /// The BridgX simulator behind this broker.
    pub fn bridgx(&self) -> &broker_sim::BridgxSim {
        &self.broker.simulators().expect("simulators are on").bridgx
    }

    /// The Tencent simulator behind this broker.
    pub fn tencent(&self) -> &broker_sim::TencentSim {
        &self.broker.simulators().expect("simulators are on").tencent
    }

    /// The Alibaba Cloud simulator behind this broker.
    pub fn aliyun(&self) -> &broker_sim::AliyunSim {
        &self.broker.simulators().expect("simulators are on").aliyun
    }
}

/// `provider_params` with the simulator's demo credentials (the spec examples' placeholders).
pub const DEMO_PARAMS: &str = "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID={$your_SecretID};SecretKey={$your_SecretKey}";

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Installs (once) a subscriber that records every log line of every test at TRACE for the
/// broker's own targets, so tests can assert on what was (not) logged.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(
                "info,broker=trace,plugin=trace,broker_sim=trace",
            ))
            .with_writer(move || LogWriter(writer.clone()))
            .with_ansi(false)
            .init();
        buffer
    });
}

/// Everything logged so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.get().expect("capture_logs was called").lock().unwrap())
        .into_owned()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
