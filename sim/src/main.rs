//! Run a simulator by hand: `cargo run -p broker-sim -- tencent|aliyun|cds [127.0.0.1:9100]`.
//!
//! It accepts the demo key pairs (`broker_sim::DEMO_CREDENTIALS`), so the spec's example requests
//! work verbatim. Logs go to stderr; set `RUST_LOG=broker_sim=debug` to see every request.

use std::net::SocketAddr;

use broker_sim::cds::run_cds;
use broker_sim::{AliyunSimConfig, CdsSimConfig, TencentSimConfig, run_aliyun, run_tencent};

/// Where the simulator listens unless an address is given.
const DEFAULT_LISTEN: &str = "127.0.0.1:9100";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let usage = "usage: broker-sim tencent|aliyun|cds [LISTEN_ADDR]";
    match args.next().as_deref() {
        Some("tencent") => {
            let listen: SocketAddr = args.next().as_deref().unwrap_or(DEFAULT_LISTEN).parse()?;
            run_tencent(listen, TencentSimConfig::default()).await?;
            Ok(())
        }
        Some("cds") => {
            let listen: SocketAddr = args.next().as_deref().unwrap_or(DEFAULT_LISTEN).parse()?;
            run_cds(listen, CdsSimConfig::default()).await?;
            Ok(())
        }
        Some("aliyun") => {
            let listen: SocketAddr = args.next().as_deref().unwrap_or(DEFAULT_LISTEN).parse()?;
            run_aliyun(listen, AliyunSimConfig::default()).await?;
            Ok(())
        }
        _ => anyhow::bail!(usage),
    }
}
