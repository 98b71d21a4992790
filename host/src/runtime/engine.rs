//! The one wasmtime `Engine`: component model, epoch interruption driven by one ticker thread,
//! and the pooling allocator sized from the operator's limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::Limits;

/// Builds the engine. Falls back to on-demand allocation (with a warning) when the machine
/// cannot reserve the pool's virtual memory, e.g. under a tight `ulimit -v`.
pub fn build(limits: &Limits) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    let slots = limits.max_instances;
    // A Rust wasip2 component instantiates a handful of core modules (program, WASI adapter,
    // shims), each with at most one memory and table: size the pool for that.
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_memory_size(usize::try_from(limits.memory_mib << 20).unwrap_or(usize::MAX))
        // Keep a little of each slot resident so the next instance does not page-fault on it.
        .linear_memory_keep_resident(64 << 10)
        .table_keep_resident(16 << 10);
    match Engine::new(&base_config().allocation_strategy(InstanceAllocationStrategy::Pooling(pool))) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "pooling allocator unavailable; falling back to on-demand instance allocation"
            );
            Ok(Engine::new(&base_config())?)
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true);
    config
}

/// Increments the engine's epoch every `tick` on one thread (never one per request); stops
/// when dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread.
    pub fn start(engine: &Engine, tick: std::time::Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawn epoch ticker thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
