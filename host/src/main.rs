//! `broker`: the command line. `broker serve` runs the broker.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use broker::Broker;
use broker::config::Config;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "broker",
    version,
    about = "Cloud broker: sandboxed Wasm provider plugins behind one HTTP API"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "BROKER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker. Flags override environment variables, which override the config file.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file (see README).
    #[arg(long, env = "BROKER_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BROKER_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory of plugin components (*.wasm) [default: the plugins built with the broker].
    #[arg(long, env = "BROKER_PLUGIN_DIR")]
    plugin_dir: Option<PathBuf>,
    /// Directory for the database, keys and cache [default: data].
    #[arg(long, env = "BROKER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Directory of the compiled-component cache [default: <data-dir>/cache].
    #[arg(long, env = "BROKER_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// State store URL: postgres://… to share state between brokers [default: SQLite in <data-dir>].
    #[arg(long, env = "BROKER_DATABASE")]
    database: Option<String>,
    /// Map an upstream host a plugin declares to another base URL: HOST=URL (repeatable).
    #[arg(long = "upstream", value_name = "HOST=URL")]
    upstreams: Vec<String>,
    /// Set a setting a plugin declares: PLUGIN.NAME=VALUE, e.g. qcloud.vm-create-timeout-secs=1200
    /// (repeatable; `GET /v1/plugins` lists each plugin's settings).
    #[arg(long = "plugin-setting", value_name = "PLUGIN.NAME=VALUE")]
    plugin_settings: Vec<String>,
    /// Start the built-in cloud simulators and send cloud API calls to them [default: true].
    #[arg(long, env = "BROKER_SIMULATORS")]
    simulators: Option<bool>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter);
    if cli.log_format == "json" {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    match cli.command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.plugin_dir {
        config.plugin_dir = dir;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(dir) = args.cache_dir {
        config.cache_dir = Some(dir);
    }
    if let Some(url) = args.database {
        config.database = Some(url);
    }
    if let Some(simulators) = args.simulators {
        config.simulators = simulators;
    }
    for spec in &args.upstreams {
        config.add_upstream(spec)?;
    }
    for spec in &args.plugin_settings {
        config.add_plugin_setting(spec)?;
    }
    broker::server::connections::raise_open_files_limit();
    let drain_secs = config.limits.drain_secs;
    let broker = Broker::start(config).await.context("starting the broker")?;
    let mut signals = Signals::new()?;
    signals.next().await;
    tracing::info!(
        "shutting down: finishing requests in flight (at most {drain_secs} s; \
         a second SIGTERM or Ctrl-C exits at once)"
    );
    // An operator who signals again wants out now, whatever the drain is waiting for.
    tokio::spawn(async move {
        signals.next().await;
        tracing::warn!("second shutdown signal: exiting now, without draining");
        std::process::exit(1);
    });
    broker.shutdown().await
}

/// Ctrl-C (SIGINT), or SIGTERM (what service managers and container runtimes send).
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
