//! The built-in cloud simulators of the zero-setup default: started with the broker, with every
//! cloud API host a plugin may declare mapped to them (an explicit operator mapping wins).

use std::collections::BTreeMap;

use std::sync::Arc;

use broker_sim::{
    AliyunSim, AliyunSimConfig, SimClock, SystemSimClock, TencentSim, TencentSimConfig,
};

/// The simulators started by the broker.
pub struct Simulators {
    /// Tencent Cloud API 3.0 (all `*.tencentcloudapi.com` services).
    pub tencent: TencentSim,
    /// Alibaba Cloud RPC APIs (all `*.aliyuncs.com` products).
    pub aliyun: AliyunSim,
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
                clock: Arc::clone(&clock),
                ..TencentSimConfig::default()
            })
            .await?,
            aliyun: AliyunSim::spawn(AliyunSimConfig {
                clock,
                ..AliyunSimConfig::default()
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
    }

    /// One line for the log: which simulator listens where.
    pub fn describe(&self) -> String {
        format!(
            "tencentcloudapi.com → {}, aliyuncs.com → {}",
            self.tencent.url(),
            self.aliyun.url()
        )
    }
}
