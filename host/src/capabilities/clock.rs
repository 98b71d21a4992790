//! The `clock` capability: wall-clock time and sleeping, behind a swappable [`HostClock`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::HostState;
use crate::bindings::clock;

/// A sleep in progress.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of time. The system clock in production; a virtual clock in tests, so flows that
/// poll a cloud for minutes run in milliseconds.
pub trait HostClock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl HostClock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock whose time only moves when someone sleeps: `sleep` returns at once and advances it.
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Default)]
pub struct VirtualClock {
    now_ms: std::sync::atomic::AtomicU64,
}

#[cfg(any(test, feature = "test-support"))]
impl VirtualClock {
    /// A virtual clock starting at `start_ms` since the Unix epoch.
    pub fn starting_at(start_ms: u64) -> Self {
        Self {
            now_ms: start_ms.into(),
        }
    }

    /// Moves time forward by `ms`, as if something slept that long.
    pub fn advance_ms(&self, ms: u64) {
        self.now_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "test-support"))]
impl HostClock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.now_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        Box::pin(tokio::task::yield_now())
    }
}

/// The simulators read the same virtual time, so a resource the plugin polls for changes state
/// as the plugin sleeps.
#[cfg(any(test, feature = "test-support"))]
impl broker_sim::SimClock for VirtualClock {
    fn now_ms(&self) -> u64 {
        HostClock::now_ms(self)
    }
}

impl clock::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        self.request.control.check()?;
        Ok(self.services.clock.now_ms())
    }

    async fn sleep_ms(&mut self, ms: u64) -> wasmtime::Result<()> {
        self.request.control.check()?;
        let started = Instant::now();
        // The wall-clock limit around the whole call bounds this; no separate cap needed. A
        // cancel ends the sleep at once: nothing upstream is in flight during a sleep.
        let control = self.request.control.clone();
        tokio::select! {
            () = self.services.clock.sleep(Duration::from_millis(ms)) => {}
            () = control.cancelled() => {}
        }
        self.charge_host_time(started);
        self.request.control.check()
    }

    async fn remaining_ms(&mut self) -> wasmtime::Result<u64> {
        self.request.control.check()?;
        Ok(
            u64::try_from(self.request.remaining(&self.plugin.limits).as_millis())
                .unwrap_or(u64::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_sleep_advances_time_without_waiting() {
        let clock = VirtualClock::starting_at(1_000);
        let wall = Instant::now();
        clock.sleep(Duration::from_secs(3_600)).await;
        assert_eq!(clock.now_ms(), 1_000 + 3_600_000);
        assert!(wall.elapsed() < Duration::from_secs(1));
    }
}
