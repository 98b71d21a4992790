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
    /// Directory of the compiled-component cache [default: data/cache].
    #[arg(long, env = "BROKER_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Map an upstream host a plugin declares to another base URL: HOST=URL (repeatable).
    #[arg(long = "upstream", value_name = "HOST=URL")]
    upstreams: Vec<String>,
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
    if let Some(dir) = args.cache_dir {
        config.cache_dir = dir;
    }
    if let Some(simulators) = args.simulators {
        config.simulators = simulators;
    }
    for spec in &args.upstreams {
        config.add_upstream(spec)?;
    }
    let broker = Broker::start(config).await.context("starting the broker")?;
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down: finishing requests in flight");
    broker.shutdown().await
}
