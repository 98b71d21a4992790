//! The one wasmtime `Engine`: component model, epoch interruption driven by one ticker thread,
//! and the pooling allocator sized from the operator's limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::Limits;

/// Slots returned to the pool per decommit batch.
const DECOMMIT_BATCH: usize = 32;

/// Bytes of each linear memory and table kept resident between instances when dirty pages can
/// be found with PAGEMAP_SCAN: a Rust plugin's stack, data and first heap pages fit (its data
/// starts at 1 MiB). At most `max_unused_warm_slots` (100) slots stay warm, so this bounds the
/// extra resident memory to about 200 MiB, and only pages a request really touched count.
const KEEP_RESIDENT_WITH_PAGEMAP: usize = 2 << 20;

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
        // Return slots in batches: one (process_)madvise for many instances, not one each.
        .decommit_batch_size(DECOMMIT_BATCH);
    // Resetting a used slot for the next instance. With Linux's PAGEMAP_SCAN (6.7+) wasmtime
    // resets only the pages the guest dirtied, in place, so they stay resident and the next
    // request takes no page faults: measured 0 faults and ~9 µs per request instead of 4 faults
    // and ~14 µs (`cargo bench -p broker-e2e`). Without the ioctl, keeping memory resident means
    // memset-ing all of it on every reset, which costs more than the faults it saves.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_WITH_PAGEMAP)
            .table_keep_resident(KEEP_RESIDENT_WITH_PAGEMAP);
    }
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
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
        .memory_init_cow(true)
        // The world uses no component-model-async features: leaving them off keeps their
        // per-store state and call machinery off the per-request path, and out of the guest's
        // reach.
        .concurrency_support(false);
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
