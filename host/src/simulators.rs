//! The built-in cloud simulators of the zero-setup default: started with the broker, with every
//! cloud API host a plugin may declare mapped to them (an explicit operator mapping wins).

use std::collections::BTreeMap;
use std::sync::Arc;

use broker_sim::{
    AliyunSim, AliyunSimConfig, BridgxSim, BridgxSimConfig, CdsSim, CdsSimConfig, SimClock,
    SystemSimClock, TencentSim, TencentSimConfig,
};

/// The host of the demo BridgX server: register a `bridgx` account with endpoint
/// `http://bridgx.sim.internal` (user `root`, password `123456`) and the broker sends its
/// requests to the built-in BridgX simulator.
pub const BRIDGX_DEMO_HOST: &str = "bridgx.sim.internal";

/// The simulators started by the broker.
pub struct Simulators {
    /// Tencent Cloud API 3.0 (all `*.tencentcloudapi.com` services).
    pub tencent: TencentSim,
    /// Alibaba Cloud RPC APIs (all `*.aliyuncs.com` products).
    pub aliyun: AliyunSim,
    /// A BridgX server, reached through accounts whose endpoint is [`BRIDGX_DEMO_HOST`].
    pub bridgx: BridgxSim,
    /// Capital Online (`cdsapi[-asia|-us].capitalonline.net`, `api.capitalonline.net`).
    pub cds: CdsSim,
}

impl Simulators {
    /// Starts every simulator on a loopback port, with resource transitions in real time.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_clock(Arc::new(SystemSimClock)).await
    }

    /// Starts every simulator on a loopback port; resources change state (an instance boots, …)
    /// as `clock` says. Tests pass the broker's virtual clock.
    pub async fn start_with_clock(clock: Arc<dyn SimClock>) -> anyhow::Result<Self> {
        Ok(Self {
            tencent: TencentSim::spawn(TencentSimConfig {
                clock: clock.clone(),
                ..TencentSimConfig::default()
            })
            .await?,
            aliyun: AliyunSim::spawn(AliyunSimConfig {
                clock: clock.clone(),
                ..AliyunSimConfig::default()
            })
            .await?,
            bridgx: BridgxSim::spawn(BridgxSimConfig {
                clock: clock.clone(),
                ..BridgxSimConfig::default()
            })
            .await?,
            cds: CdsSim::spawn(CdsSimConfig {
                clock,
                ..CdsSimConfig::default()
            })
            .await?,
        })
    }

    /// Maps the cloud API hosts to the simulators, unless the operator mapped them already.
    pub fn map_upstreams(&self, upstreams: &mut BTreeMap<String, String>) {
        upstreams
            .entry("*.tencentcloudapi.com".into())
            .or_insert_with(|| self.tencent.url());
        upstreams
            .entry("*.aliyuncs.com".into())
            .or_insert_with(|| self.aliyun.url());
        upstreams
            .entry(BRIDGX_DEMO_HOST.into())
            .or_insert_with(|| self.bridgx.url());
        for host in [
            "cdsapi.capitalonline.net",
            "cdsapi-asia.capitalonline.net",
            "cdsapi-us.capitalonline.net",
            "api.capitalonline.net",
        ] {
            upstreams
                .entry(host.into())
                .or_insert_with(|| self.cds.url());
        }
    }

    /// One line for the log: which simulator listens where.
    pub fn describe(&self) -> String {
        format!(
            "tencentcloudapi.com → {}, aliyuncs.com → {}, capitalonline.net → {}, {BRIDGX_DEMO_HOST} → {}",
            self.tencent.url(),
            self.aliyun.url(),
            self.cds.url(),
            self.bridgx.url()
        )
    }
}
