//! The cloud broker: one HTTP service in front of many cloud providers, each a sandboxed
//! WebAssembly component.
//!
//! * [`config`]: the operator's configuration.
//! * [`bindings`]: the host side of the WIT world in `wit/`.
//! * [`capabilities`]: what plugins may do — `signed-http`, `logging`, `credentials`, `clock`.
//! * [`runtime`]: engine, component cache, plugin loading, a fresh instance per request.
//! * [`server`]: the HTTP API and routing to plugins.
//! * [`simulators`]: the built-in cloud simulators of the zero-setup default.
//!
//! [`Broker`] ties them together.

pub mod bindings;
pub mod capabilities;
pub mod config;
pub mod runtime;
pub mod server;
pub mod simulators;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use capabilities::Services;
use capabilities::clock::{HostClock, SystemClock};
use capabilities::signed_http::{HttpClient, UpstreamMap};
use config::Config;
use runtime::Runtime;
use simulators::Simulators;

/// A running broker: HTTP server, runtime, and (in the default mode) the simulators.
pub struct Broker {
    addr: SocketAddr,
    runtime: Arc<Runtime>,
    simulators: Option<Simulators>,
    refused: Vec<String>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Broker {
    /// Starts a broker with the system clock.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts a broker whose plugins see `clock` (tests pass a virtual clock).
    pub async fn start_with_clock(
        mut config: Config,
        clock: Arc<dyn HostClock>,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let simulators = if config.simulators {
            let sims = Simulators::start().await?;
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
        let upstreams = UpstreamMap::new(&config.upstreams)?;
        let services = Services {
            http: HttpClient::new()?,
            clock,
            limits: config.limits.clone(),
        };
        let runtime = Arc::new(Runtime::new(services, upstreams, &config.cache_dir)?);
        let refused = runtime.load_dir(&config.plugin_dir).await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (set --listen)", config.listen))?;
        let addr = listener.local_addr()?;
        let app = server::app(server::AppState {
            runtime: runtime.clone(),
            body_limit: config.limits.body_bytes,
        });
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

    /// Stops accepting connections, lets requests in flight finish, and returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.server.await??;
        Ok(())
    }
}
