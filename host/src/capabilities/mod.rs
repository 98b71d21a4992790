//! The capabilities the broker grants a plugin instance, one module per WIT interface.
//!
//! [`HostState`] is the `T` of every `Store<T>`: built fresh for each request from three layers
//! of state: engine-wide [`Services`], per-plugin [`PluginEnv`] and per-request [`RequestState`].

pub mod cache;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod logging;
pub mod redact;
pub mod signed_http;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::Provider;
use crate::config::Limits;
use clock::HostClock;
use redact::Redactor;
use signed_http::{Egress, HttpClient};

/// Most resources (credential handles) one instance may hold at once.
const MAX_RESOURCES: usize = 1_000;

/// Engine-wide services shared by every instance.
pub struct Services {
    /// Outbound HTTP client (connection pools, address policy).
    pub http: HttpClient,
    /// Time source for `clock` (virtual in tests).
    pub clock: Arc<dyn HostClock>,
    /// The operator's limits.
    pub limits: Limits,
    /// The account store behind `credentials.lookup`.
    pub store: broker_store::Store,
    /// What plugins keep between requests (`cache`).
    pub cache: cache::PluginCache,
}

/// What the host knows about one loaded plugin, shared by all its instances.
pub struct PluginEnv {
    /// The plugin's manifest name.
    pub name: String,
    /// Where the plugin may send requests.
    pub egress: Egress,
    /// The values in force of the settings it declares (operator's, else defaults).
    pub settings: std::collections::BTreeMap<String, String>,
    /// Its sandbox counters (`/metrics`).
    pub counters: Arc<crate::metrics::PluginCounters>,
    /// Its limits: the broker-wide ones with the operator's overrides for this plugin.
    pub limits: Arc<Limits>,
}

/// Per-request identity and budgets.
pub struct RequestState {
    /// The request id (also in every log line).
    pub request_id: String,
    /// The calling tenant.
    pub tenant: String,
    /// Secret values to scrub from every log line of this request.
    pub redactor: Redactor,
    /// Log lines written so far.
    pub log_lines: u32,
    /// Log bytes written so far.
    pub log_bytes: usize,
    /// Log lines dropped because the budget was spent.
    pub log_dropped: u32,
    /// Upstream calls made so far.
    pub host_calls: u32,
    /// When the instance started running.
    pub started: Instant,
    /// Time spent waiting in host calls (upstream I/O, sleeps): not guest CPU time.
    pub host_time: Duration,
    /// Hosts of the `endpoint`s of stored accounts this request looked up: `signed-http` may
    /// reach them although no manifest declares them (the operator registered them).
    pub account_hosts: Vec<String>,
    /// Cancellation and the record of upstream calls, shared with the operation running this
    /// request (see [`CallControl`]).
    pub control: Arc<CallControl>,
}

/// The error a host call returns once the request's operation is cancelled: it traps the
/// guest, so the call stops before doing anything more.
#[derive(Debug, thiserror::Error)]
#[error("the operation was cancelled")]
pub struct Cancelled;

/// What the broker can do to a running call from outside: cancel it, and know which upstream
/// calls it has made. Every host call checks [`CallControl::check`] first, so a cancelled call
/// stops before its next host call; a sleep in progress ends at once.
#[derive(Debug)]
pub struct CallControl {
    cancel: tokio::sync::watch::Sender<bool>,
    /// Upstream calls made; the lock also orders a cancel against a call being sent, so the
    /// list [`CallControl::cancel`] returns is complete.
    upstream: Mutex<Vec<broker_store::UpstreamCall>>,
}

impl Default for CallControl {
    fn default() -> Self {
        Self {
            cancel: tokio::sync::watch::Sender::new(false),
            upstream: Mutex::new(Vec::new()),
        }
    }
}

impl CallControl {
    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<broker_store::UpstreamCall>> {
        self.upstream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the call; returns the upstream calls it made (none is sent after this returns).
    pub fn cancel(&self) -> Vec<broker_store::UpstreamCall> {
        let calls = self.calls();
        self.cancel.send_replace(true);
        calls.clone()
    }

    /// Whether the call was cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// `Err(Cancelled)` (a trap) once the call is cancelled.
    pub fn check(&self) -> wasmtime::Result<()> {
        match self.is_cancelled() {
            true => Err(wasmtime::Error::new(Cancelled)),
            false => Ok(()),
        }
    }

    /// The upstream calls made so far.
    pub fn upstream_calls(&self) -> Vec<broker_store::UpstreamCall> {
        self.calls().clone()
    }

    /// Records an upstream call about to be sent, unless the call was cancelled meanwhile.
    pub fn record_upstream(&self, call: broker_store::UpstreamCall) -> wasmtime::Result<()> {
        let mut calls = self.calls();
        self.check()?;
        if calls.len() < broker_store::MAX_UPSTREAM_CALLS {
            calls.push(call);
        }
        Ok(())
    }

    /// Resolves once the call is cancelled.
    pub async fn cancelled(&self) {
        let mut cancelled = self.cancel.subscribe();
        // `Err` only when the sender is gone, and `self` holds it.
        let _ = cancelled.wait_for(|c| *c).await;
    }
}

impl RequestState {
    /// A fresh request state; `redactor` holds the secrets found in the request.
    pub fn new(request_id: String, tenant: String, redactor: Redactor) -> Self {
        Self {
            request_id,
            tenant,
            redactor,
            log_lines: 0,
            log_bytes: 0,
            log_dropped: 0,
            host_calls: 0,
            started: Instant::now(),
            host_time: Duration::ZERO,
            account_hosts: Vec::new(),
            control: Arc::default(),
        }
    }

    /// Real time left before the wall-clock limit stops the call.
    pub fn remaining(&self, limits: &Limits) -> Duration {
        limits.wall().saturating_sub(self.started.elapsed())
    }

    /// Time the guest has spent running (wall time minus time waiting in host calls).
    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }
}

/// The data of every `Store`: one per request, dropped with the instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and table limits for the instance.
    pub limits: GuestLimiter,
    /// Engine-wide services.
    pub services: Arc<Services>,
    /// The plugin being called.
    pub plugin: Arc<PluginEnv>,
    /// This request's identity and budgets.
    pub request: RequestState,
}

impl HostState {
    /// Builds the state for one instance. WASI is linked only because Rust's `std` imports it:
    /// no files, no environment, no sockets, no inherited stdio.
    pub fn new(services: Arc<Services>, plugin: Arc<PluginEnv>, request: RequestState) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let limits = GuestLimiter::new(
            StoreLimitsBuilder::new()
                .memory_size(usize::try_from(plugin.limits.memory_mib << 20).unwrap_or(usize::MAX))
                .instances(64)
                .tables(64)
                .memories(16)
                .trap_on_grow_failure(true)
                .build(),
        );
        Self {
            wasi: WasiCtx::builder().build(),
            table,
            limits,
            services,
            plugin,
            request,
        }
    }

    /// Records time spent waiting outside the guest so it is not charged as guest CPU.
    pub(crate) fn charge_host_time(&mut self, since: Instant) {
        self.request.host_time += since.elapsed();
    }
}

/// wasmtime's [`StoreLimits`], plus a record of whether it refused a memory grow: the runtime
/// names a memory-limit failure from this flag, not from the wording of wasmtime's error text.
pub struct GuestLimiter {
    inner: StoreLimits,
    memory_refused: bool,
}

impl GuestLimiter {
    /// Wraps `inner`; nothing refused yet.
    pub fn new(inner: StoreLimits) -> Self {
        Self {
            inner,
            memory_refused: false,
        }
    }

    /// Whether a linear memory grow was refused for being over the cap.
    pub fn memory_refused(&self) -> bool {
        self.memory_refused
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        // `Err` (trap on grow failure) and `Ok(false)` (grow returns -1) are both refusals.
        if !matches!(allowed, Ok(true)) {
            self.memory_refused = true;
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

/// Adds WASI (for Rust `std`) and the broker's capabilities to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    Provider::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    Ok(())
}

impl crate::bindings::types::Host for HostState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_memory_grow_is_recorded() {
        let mut limiter = GuestLimiter::new(
            StoreLimitsBuilder::new()
                .memory_size(1 << 20)
                .trap_on_grow_failure(true)
                .build(),
        );
        assert!(limiter.memory_growing(0, 1 << 16, None).unwrap());
        assert!(
            !limiter.memory_refused(),
            "a grow within the cap is no refusal"
        );
        assert!(limiter.memory_growing(1 << 16, 2 << 20, None).is_err());
        assert!(limiter.memory_refused());

        // Without trap-on-failure the grow just fails (the guest sees -1): still a refusal.
        let mut quiet = GuestLimiter::new(StoreLimitsBuilder::new().memory_size(1 << 20).build());
        assert!(!quiet.memory_growing(0, 2 << 20, None).unwrap());
        assert!(quiet.memory_refused());
    }
}
