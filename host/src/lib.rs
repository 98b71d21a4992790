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
//!   the state itself lives in the `broker-store` crate (SQLite or PostgreSQL).
//!
//! [`Broker`] ties them together.

pub mod audit;
pub mod bindings;
pub mod bootstrap;
pub mod capabilities;
pub mod config;
pub mod metrics;
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
    bootstrapped: Option<bootstrap::Bootstrapped>,
    shutdown: oneshot::Sender<()>,
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
        let app = server::app(server::AppState {
            runtime: runtime.clone(),
            body_limit: config.limits.body_bytes,
            plugin_dir: config.plugin_dir.clone(),
            upload_limit: config.limits.plugin_upload_bytes,
            store: store.clone(),
            auth: Arc::new(server::auth::Authenticator::new(
                store.clone(),
                config.limits.auth_cache(),
            )),
            gate: Arc::new(tenancy::Gate::new(
                store.clone(),
                config.limits.auth_cache(),
            )),
            audit: audit.clone(),
        });
        // The client's address (`ConnectInfo`) is recorded in the audit of refused requests.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await
        });
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
            bootstrapped,
            shutdown,
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
    /// rows, and returns. Plugin calls whose client has gone still finish and are audited
    /// before this returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.server.await??;
        drop(self.audit);
        self.audit_tasks.close().await;
        self.store.close().await;
        Ok(())
    }
}

/// Opens the configured store (the data directory's SQLite file by default) with the secrets
/// key from `BROKER_SECRETS_KEY` or the key file (created on first start).
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let secrets = match std::env::var(SECRETS_KEY_ENV) {
        Ok(text) => SecretsKey::from_base64(text.trim())
            .with_context(|| format!("{SECRETS_KEY_ENV} is not a base64 32-byte key"))?,
        Err(_) => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating data directory {}", config.data_dir.display())
            })?;
            SecretsKey::load_or_create(&config.secrets_key_file())?
        }
    };
    let store = match &config.database {
        Some(url) => Store::open(url, secrets).await,
        None => Store::open_in_data_dir(&config.data_dir, secrets).await,
    }
    .context("opening the state store")?;
    tracing::info!(backend = store.backend_name(), "state store ready");
    Ok(store)
}
