//! Stateful simulators of the upstream cloud APIs the broker talks to.
//!
//! Each simulator is a real HTTP server on loopback that checks request signatures exactly as the
//! real cloud does (a wrong signature gets the provider's own error code), keeps state across calls
//! (create → describe → delete), and can inject faults (latency, HTTP 500, broken JSON, hangs).
//!
//! [`AliyunSim`] simulates Alibaba Cloud's RPC APIs (signature v1, `HMAC-SHA1`; see [`aliyun`]).
//! [`TencentSim`], Tencent Cloud API 3.0 (`TC3-HMAC-SHA256`) with the VPC
//! product (VPCs, subnets, route tables and routes, security groups) and the CVM product
//! (instances, whose state changes follow a [`SimClock`]). Start it on a free port,
//! point the broker's upstream mapping at [`TencentSim::url`]:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use broker_sim::{TencentSim, TencentSimConfig};
//! let sim = TencentSim::spawn(TencentSimConfig::default()).await?;
//! println!("vpc.tencentcloudapi.com -> {}", sim.url());
//! # Ok(()) }
//! ```
//!
//! [`BridgxSim`] is a BridgX server's developer API (JWT login, clusters, networks, expand and
//! shrink tasks in simulated time, instances and usage).
//!
//! [`CdsSim`] simulates Capital Online (all 48 actions of `shared/spec/cds-api.md` plus
//! `StartInstance`, with tasks that finish in [`SimClock`] time); see [`cds`].
//!
//! Operators can poke a running simulator with `curl` through the fault endpoint described in
//! [`faults`].

pub mod aliyun;
pub mod bridgx;
pub mod cds;
pub mod faults;
pub mod server;
pub mod tencent;

use std::fmt;

pub use aliyun::{AliyunSim, AliyunSimConfig, run_aliyun};
pub use bridgx::{BridgxSim, BridgxSimConfig};
pub use cds::{CdsSim, CdsSimConfig};
pub use faults::{FaultKind, Faults};
pub use tencent::{DEMO_CREDENTIALS, TencentSim, TencentSimConfig, run_tencent};

/// The time source of simulated resource transitions (an instance boots 20 s after
/// `RunInstances`, …). The system clock by default; tests share a virtual clock with the broker
/// so polling flows run in simulated time. Signature timestamps are always checked against real
/// time.
pub trait SimClock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemSimClock;

impl SimClock for SystemSimClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualSimClock {
    now_ms: std::sync::atomic::AtomicU64,
}

impl ManualSimClock {
    /// A clock reading `start_ms`.
    pub fn starting_at(start_ms: u64) -> Self {
        Self {
            now_ms: start_ms.into(),
        }
    }

    /// Moves the clock `ms` forward.
    pub fn advance_ms(&self, ms: u64) {
        self.now_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl SimClock for ManualSimClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One API key pair a simulator accepts.
///
/// `Debug` never prints the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct SimCredential {
    /// The public key id (Tencent: `SecretId`).
    pub secret_id: String,
    /// The signing secret (Tencent: `SecretKey`).
    pub secret_key: String,
}

impl SimCredential {
    /// A key pair from its two halves.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
        }
    }
}

impl fmt::Debug for SimCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCredential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}
