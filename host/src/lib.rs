//! The cloud broker: one HTTP service in front of many cloud providers, each a sandboxed
//! WebAssembly component.
//!
//! * [`config`]: the operator's configuration.
//! * [`bindings`]: the host side of the WIT world in `wit/`.
//! * [`capabilities`]: what plugins may do — `signed-http`, `logging`, `credentials`, `clock`.
//! * [`runtime`]: engine, component cache, plugin loading, a fresh instance per request.
//! * [`server`]: the HTTP API and routing to plugins.
//! * [`simulators`]: the built-in cloud simulators of the zero-setup default.
//! * [`tenancy`], [`audit`], [`bootstrap`]: per-tenant policy, the audit writer, first-start keys;
//! * [`operations`]: every plugin call as an operation (async mode, idempotency keys, cancel);
//!   the state itself lives in the `broker-store` crate (SQLite or PostgreSQL).
//!
//! [`Broker`] ties them together.

pub mod audit;
pub mod bindings;
pub mod bootstrap;
pub mod capabilities;
pub mod config;
pub mod metrics;
pub mod operations;
pub mod runtime;
pub mod server;
pub mod simulators;
pub mod tenancy;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use audit::{AuditLog, AuditSettings, AuditTasks};
use broker_store::{SecretsKey, Store};
use capabilities::Services;
use capabilities::clock::{HostClock, SystemClock};
use capabilities::signed_http::{HttpClient, UpstreamMap};
use config::Config;
use runtime::Runtime;
use simulators::Simulators;

/// Environment variable with the base64 secrets key; wins over the key file.
pub const SECRETS_KEY_ENV: &str = "BROKER_SECRETS_KEY";

/// A running broker: HTTP server, runtime, and (in the default mode) the simulators.
pub struct Broker {
    addr: SocketAddr,
    runtime: Arc<Runtime>,
    simulators: Option<Simulators>,
    refused: Vec<String>,
    store: Store,
    audit: Arc<AuditLog>,
    audit_tasks: AuditTasks,
    /// Releases old idempotency keys and purges old operations.
    operations_task: JoinHandle<()>,
    bootstrapped: Option<bootstrap::Bootstrapped>,
    shutdown: oneshot::Sender<()>,
    /// Tells plugin calls still running at the drain deadline to stop (see [`Broker::shutdown`]).
    abandon: tokio::sync::watch::Sender<bool>,
    /// How long shutdown waits for requests in flight.
    drain: std::time::Duration,
    server: JoinHandle<std::io::Result<()>>,
}

impl Broker {
    /// Starts a broker with the system clock.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts a broker whose plugins see `clock`; the built-in simulators use real time.
    pub async fn start_with_clock(
        config: Config,
        clock: Arc<dyn HostClock>,
    ) -> anyhow::Result<Self> {
        Self::start_with_clocks(config, clock, Arc::new(broker_sim::SystemSimClock)).await
    }

    /// Starts a broker whose plugins and built-in simulators share the virtual `clock`: a plugin
    /// that sleeps while polling moves simulated time, so a 20 s boot takes no real time.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn start_with_virtual_clock(
        config: Config,
        clock: Arc<capabilities::clock::VirtualClock>,
    ) -> anyhow::Result<Self> {
        Self::start_with_clocks(config, clock.clone(), clock).await
    }

    async fn start_with_clocks(
        mut config: Config,
        clock: Arc<dyn HostClock>,
        sim_clock: Arc<dyn broker_sim::SimClock>,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let simulators = if config.simulators {
            let sims = Simulators::start_with_clock(sim_clock).await?;
            sims.map_upstreams(&mut config.upstreams);
            tracing::warn!(
                "SIMULATOR MODE: cloud API calls go to the built-in simulators ({}), not to real clouds. \
                 Set `simulators = false` (or --simulators=false) to call real cloud APIs.",
                sims.describe()
            );
            Some(sims)
        } else {
            None
        };
        let store = open_store(&config).await?;
        let bootstrapped = bootstrap::ensure_keys(&store, &config.data_dir).await?;
        if let Some(b) = &bootstrapped {
            tracing::warn!(
                "first start: created an admin key ({}) and tenant `{}` with a key ({}); \
                 send them as `Authorization: Bearer <key>`",
                b.admin_key_file.display(),
                bootstrap::DEFAULT_TENANT,
                b.tenant_key_file.display(),
            );
        }
        let upstreams = UpstreamMap::new(&config.upstreams)?;
        let services = Services {
            http: HttpClient::new()?,
            clock,
            limits: config.limits.clone(),
            store: store.clone(),
            cache: Default::default(),
        };
        let settings = config
            .plugin_settings
            .keys()
            .map(|plugin| (plugin.clone(), config.settings_for(plugin)))
            .collect();
        let runtime = Arc::new(Runtime::new(
            services,
            upstreams,
            (settings, config.plugin_limits.clone()),
            &config.cache_dir(),
        )?);
        let refused = runtime.load_dir(&config.plugin_dir).await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (set --listen)", config.listen))?;
        let addr = listener.local_addr()?;
        let (audit, audit_tasks) =
            AuditLog::start(store.clone(), AuditSettings::from_limits(&config.limits));
        operations::fail_unfinished_at_start(&store)
            .await
            .context("marking the operations cut off by the last stop as failed")?;
        let (operations, operations_task) = operations::Operations::start(
            store.clone(),
            operations::OperationSettings::from_limits(&config.limits),
        );
        let (abandon, abandon_rx) = tokio::sync::watch::channel(false);
        let app = server::app(server::AppState {
            runtime: runtime.clone(),
            body_limit: config.limits.body_bytes,
            plugin_dir: config.plugin_dir.clone(),
            upload_limit: config.limits.plugin_upload_bytes,
            store: store.clone(),
            auth: Arc::new(server::auth::Authenticator::new(
                store.clone(),
                config.limits.auth_cache(),
                config.limits.auth_failures_per_minute,
            )),
            gate: Arc::new(tenancy::Gate::new(
                store.clone(),
                config.limits.auth_cache(),
                Some(config.limits.tenant_concurrency()),
            )),
            audit: audit.clone(),
            abandon: abandon_rx,
            operations,
        });
        let (shutdown, signal) = oneshot::channel::<()>();
        let connection_limits = server::connections::ConnectionLimits::from(&config.limits);
        server::connections::check_open_files_budget(connection_limits.max_connections);
        let drain = connection_limits.drain;
        let server = tokio::spawn(server::connections::serve(
            listener,
            app,
            connection_limits,
            signal,
        ));
        tracing::info!(
            plugins = runtime.registry().plugins().len(),
            "broker listening on http://{addr}"
        );
        Ok(Self {
            addr,
            runtime,
            simulators,
            refused,
            store,
            audit,
            audit_tasks,
            operations_task,
            bootstrapped,
            shutdown,
            abandon,
            drain,
            server,
        })
    }

    /// The address the HTTP API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The runtime (for embedding and tests).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The built-in simulators, when running in the default mode.
    pub fn simulators(&self) -> Option<&Simulators> {
        self.simulators.as_ref()
    }

    /// The plugins refused at start, with the reasons.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where the first start wrote its keys, if this start was the first.
    pub fn bootstrapped(&self) -> Option<&bootstrap::Bootstrapped> {
        self.bootstrapped.as_ref()
    }

    /// Stops accepting connections, lets requests in flight finish, writes the queued audit
    /// rows, and returns — within `limits.drain_secs`: then it drops the connections left, and
    /// plugin calls still running (their clients may have gone already) stop and are answered
    /// and audited as interrupted, so shutdown never waits on a plugin's wall limit.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + self.drain;
        let _ = self.shutdown.send(());
        self.server.await??;
        drop(self.audit);
        let close = self.audit_tasks.close();
        tokio::pin!(close);
        tokio::select! {
            () = &mut close => {}
            () = tokio::time::sleep_until(deadline) => {
                let _ = self.abandon.send(true);
                close.await;
            }
        }
        self.operations_task.abort();
        self.store.close().await;
        Ok(())
    }
}

/// Opens the configured store (the data directory's SQLite file by default) with the secrets
/// key from `BROKER_SECRETS_KEY` or the key file (created on first start), and refuses to go
/// on when that key cannot open the secrets already stored (a lost or replaced key file, or a
/// broker joining a shared store with another key): every signed request would fail later.
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    broker_store::files::create_private_dir(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    if let Some(mode) = broker_store::files::loose_mode(&config.data_dir) {
        tracing::warn!(
            data_dir = %config.data_dir.display(),
            "the data directory has mode {mode:o}: other local users can list it; \
             `chmod 700` it (the broker's own files in it are 0600)"
        );
    }
    let key_file = config.secrets_key_file();
    let (secrets, created_key) = match std::env::var(SECRETS_KEY_ENV) {
        Ok(text) => (
            SecretsKey::from_base64(text.trim())
                .with_context(|| format!("{SECRETS_KEY_ENV} is not a base64 32-byte key"))?,
            false,
        ),
        Err(_) => {
            let existed = key_file.exists();
            (SecretsKey::load_or_create(&key_file)?, !existed)
        }
    };
    let store = match &config.database {
        Some(url) => Store::open(url, secrets).await,
        None => Store::open_in_data_dir(&config.data_dir, secrets).await,
    }
    .context("opening the state store")?;
    if let Err(e) = store.check_secrets_key().await {
        store.close().await;
        let source = if std::env::var_os(SECRETS_KEY_ENV).is_some() {
            format!("the key in {SECRETS_KEY_ENV}")
        } else if created_key {
            // Removed so the next start does not take this fresh key for the right one.
            let _ = std::fs::remove_file(&key_file);
            format!(
                "a new key, because the key file {} was missing",
                key_file.display()
            )
        } else {
            format!("the key file {}", key_file.display())
        };
        anyhow::bail!(
            "refusing to start: {e}. This broker used {source}. Restore the original key file \
             ({}) or set {SECRETS_KEY_ENV} to the original key (base64); every broker sharing \
             a store needs the same key. If the key is lost for good, delete the stored \
             accounts (`DELETE FROM accounts;` in the store) and add them again after start.",
            key_file.display()
        );
    }
    tracing::info!(backend = store.backend_name(), "state store ready");
    Ok(store)
}
