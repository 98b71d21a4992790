//! The plugin runtime: loads components, and runs each request in a fresh sandboxed instance.
//!
//! Wiring, in order: one [`wasmtime::Engine`] (`engine.rs`) and one `Linker` with WASI and the
//! broker's capabilities; per plugin, a compiled component (cached on disk, `cache.rs`), its
//! validated manifest (`manifest.rs`) and a pre-instantiated [`ProviderPre`]; per request, a new
//! `Store` with memory limits, an epoch-based CPU deadline and a wall-clock timeout
//! (`call`), dropped when the request ends, so no state survives it.

mod cache;
mod engine;
pub mod manifest;
mod registry;
mod slots;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

pub use cache::{ComponentCache, Origin};
pub use manifest::{Manifest, render_error};
pub use registry::Registry;
pub use slots::{Pending, QueueTicket, Slot};

use crate::bindings::ProviderPre;
use crate::bindings::handler::{Request, Response};
use crate::capabilities::redact::Redactor;
use crate::capabilities::signed_http::{Egress, HostPattern, UpstreamMap};
use crate::capabilities::{
    self, CallControl, Cancelled, HostState, PluginEnv, RequestState, Services,
};
use crate::config::{Limits, PluginLimits};
use crate::metrics::{Limit, Metrics, PluginCounters, TrapKind};

/// A plugin ready to serve: compiled, type-checked against the world, manifest validated.
pub struct LoadedPlugin {
    /// The validated manifest.
    pub manifest: Manifest,
    /// Where the component came from (file path), for messages.
    pub source: String,
    /// SHA-256 of the component bytes.
    pub sha256: String,
    /// Whether the compiled code came from the on-disk cache.
    pub origin: Origin,
    /// Pre-instantiated component: imports resolved once, instantiated per request.
    pre: ProviderPre<HostState>,
    env: Arc<PluginEnv>,
}

impl LoadedPlugin {
    /// Its limits in force (the broker's, with the operator's overrides for it).
    pub fn limits(&self) -> &Limits {
        &self.env.limits
    }
}

/// One version of a plugin this broker has loaded (`GET /admin/plugins`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionRecord {
    /// The manifest's version.
    pub version: String,
    /// SHA-256 of the component bytes.
    pub sha256: String,
    /// Where it came from (a file path, or `upload`).
    pub source: String,
    /// When it was loaded (RFC 3339, UTC).
    pub loaded_at: String,
    /// Whether it is the version serving now.
    pub active: bool,
}

/// Whether [`Runtime::install`] may replace a loaded plugin of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// Refuse when the name is taken (loading a directory).
    New,
    /// Replace the plugin of the same name; requests in flight finish on the old one.
    Replace,
}

/// Why a call produced no plugin response.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The guest used more CPU time than allowed.
    #[error("the plugin exceeded its CPU time limit of {0:?}")]
    CpuLimit(Duration),
    /// The whole call took longer than allowed.
    #[error("the plugin did not answer within the wall-clock limit of {0:?}")]
    WallTimeout(Duration),
    /// The guest tried to grow its memory beyond the cap.
    #[error("the plugin exceeded its memory limit of {0} MiB")]
    MemoryLimit(u64),
    /// The guest crashed (a Rust panic is a trap too).
    #[error("the plugin crashed: {0}")]
    Trap(String),
    /// The plugin's response body was larger than allowed.
    #[error("the plugin's response ({0} bytes) exceeds the limit of {1} bytes")]
    ResponseTooLarge(usize, usize),
    /// Every instance slot stayed busy for the whole queue wait (`limits.queue_wait_ms`).
    #[error("the broker is at capacity; try again")]
    Busy,
    /// The queue for instance slots is full (`limits.queue_requests` or `limits.queue_bytes`).
    #[error("the broker is at capacity and its queue is full; try again")]
    QueueFull,
    /// The guest overflowed its stack (e.g. unbounded recursion).
    #[error("the plugin overflowed its stack")]
    StackOverflow,
    /// The operation was cancelled; the call stopped at a host call.
    #[error("the operation was cancelled; the call stopped before its next host call")]
    Cancelled,
}

impl CallError {
    /// Counts this failure in the plugin's counters.
    fn count(&self, counters: &PluginCounters) {
        match self {
            Self::CpuLimit(_) => counters.trapped(TrapKind::Deadline),
            Self::MemoryLimit(_) => counters.trapped(TrapKind::Memory),
            Self::StackOverflow => counters.trapped(TrapKind::Stack),
            Self::Trap(_) => counters.trapped(TrapKind::Other),
            Self::WallTimeout(_) => counters.limit_hit(Limit::WallTime),
            Self::ResponseTooLarge(..) => counters.limit_hit(Limit::ResponseBytes),
            Self::Busy => counters.limit_hit(Limit::Capacity),
            Self::QueueFull => counters.limit_hit(Limit::Queue),
            // A client's choice, not a sandbox limit.
            Self::Cancelled => {}
        }
    }

    /// The `Retry-After` seconds for failures that pass with time (capacity).
    pub fn retry_after(&self) -> Option<u64> {
        matches!(self, Self::Busy | Self::QueueFull).then_some(1)
    }
}

/// Which export to call.
enum Export {
    Manifest,
    Handle(Request),
}

/// What the export returned.
enum Answer {
    Manifest(crate::bindings::handler::Manifest),
    Handle(Response),
}

/// The runtime: engine, linker, loaded plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    services: Arc<Services>,
    upstreams: Arc<UpstreamMap>,
    metrics: Metrics,
    /// Every version loaded, by plugin name, oldest first.
    history: std::sync::Mutex<BTreeMap<String, Vec<VersionRecord>>>,
    /// One compilation at a time: an upload must not take every core from the requests.
    compiles: Semaphore,
    /// The operator's plugin settings, by plugin name.
    settings: BTreeMap<String, BTreeMap<String, String>>,
    /// The operator's per-plugin limits, by plugin name.
    plugin_limits: BTreeMap<String, PluginLimits>,
    cache: ComponentCache,
    registry: RwLock<Arc<Registry>>,
    slots: Arc<slots::Slots>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// Creates the engine, the linker and the epoch ticker. `settings` and `plugin_limits` hold
    /// the operator's per-plugin settings and limits, by plugin name.
    pub fn new(
        services: Services,
        upstreams: UpstreamMap,
        (settings, plugin_limits): (
            BTreeMap<String, BTreeMap<String, String>>,
            BTreeMap<String, PluginLimits>,
        ),
        cache_dir: &Path,
    ) -> anyhow::Result<Self> {
        let engine = engine::build(&services.limits)?;
        let mut linker = Linker::new(&engine);
        capabilities::add_to_linker(&mut linker)?;
        let ticker = engine::EpochTicker::start(&engine, services.limits.epoch_tick());
        Ok(Self {
            slots: slots::Slots::new(&services.limits),
            engine,
            linker,
            services: Arc::new(services),
            upstreams: Arc::new(upstreams),
            metrics: Metrics::default(),
            history: Default::default(),
            compiles: Semaphore::new(1),
            settings,
            plugin_limits,
            cache: ComponentCache::new(cache_dir)?,
            registry: RwLock::new(Arc::new(Registry::default())),
            _ticker: ticker,
        })
    }

    /// The sandbox counters of every plugin loaded so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The current plugin set (a snapshot: requests in flight keep the set they started with).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().expect("registry lock").clone()
    }

    /// Loads every `*.wasm` in `dir`, in name order. A plugin that fails to load or collides
    /// with one already loaded is refused with an error log; the others still load. Returns
    /// the refusals.
    pub async fn load_dir(&self, dir: &Path) -> anyhow::Result<Vec<String>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading plugin directory {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        files.sort();
        let mut refused = Vec::new();
        for file in files {
            if let Err(e) = self.load_file(&file).await {
                let message = format!("{e:#}");
                tracing::error!(plugin_file = %file.display(), "plugin refused: {message}");
                refused.push(message);
            }
        }
        Ok(refused)
    }

    /// Loads one component file and adds it to the registry.
    pub async fn load_file(&self, file: &Path) -> anyhow::Result<Arc<LoadedPlugin>> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let plugin = self.prepare(&bytes, file.display().to_string()).await?;
        let plugin = Arc::new(plugin);
        self.install(plugin.clone(), Install::New)
            .map_err(anyhow::Error::msg)?;
        Ok(plugin)
    }

    /// Compiles (or loads from cache), type-checks and introspects a component without adding
    /// it to the registry: the first half of an upload.
    pub async fn prepare(&self, bytes: &[u8], source: String) -> anyhow::Result<LoadedPlugin> {
        let started = Instant::now();
        let sha256 = ComponentCache::content_hash(bytes);
        let (component, origin) = {
            let _permit = self.compiles.acquire().await?;
            let (engine, cache, bytes) = (self.engine.clone(), self.cache.clone(), bytes.to_vec());
            let limit = self.services.limits.compile();
            // Off the async workers, and bounded: Cranelift cannot be interrupted, so a compile
            // that overruns finishes in the background and its result is dropped.
            let compile = tokio::task::spawn_blocking(move || cache.load(&engine, &bytes));
            match tokio::time::timeout(limit, compile).await {
                Ok(joined) => joined?
                    .with_context(|| format!("{source} is not a valid WebAssembly component"))?,
                Err(_) => anyhow::bail!(
                    "{source}: compiling took longer than the limit of {} s (limits.compile_secs)",
                    limit.as_secs()
                ),
            }
        };
        let pre = self.pre_instantiate(&component, &source)?;

        // Ask the plugin who it is, in a throwaway instance with the usual limits.
        let probe_env = Arc::new(PluginEnv {
            name: format!("(loading {source})"),
            egress: Egress::new(Vec::new(), self.upstreams.clone()),
            settings: BTreeMap::new(),
            // Not registered: the plugin's name is not known until it answers.
            counters: Arc::default(),
            limits: Arc::new(self.services.limits.clone()),
        });
        let _slot = self.slots.acquire().await.map_err(|_| {
            anyhow::anyhow!("{source}: no instance slot freed up to ask for its manifest")
        })?;
        let wire = match self
            .sandboxed(
                &pre,
                probe_env,
                RequestState::new("load".into(), "broker".into(), Redactor::default()),
                Export::Manifest,
            )
            .await
        {
            Ok(Answer::Manifest(m)) => m,
            Ok(Answer::Handle(_)) => unreachable!("asked for the manifest"),
            Err(e) => anyhow::bail!("{source}: calling manifest() failed: {e}"),
        };
        let (mut manifest, hosts) = Manifest::validate(wire)
            .map_err(|e| anyhow::anyhow!("{source}: invalid manifest: {e}"))?;
        let operator = self
            .settings
            .get(&manifest.name)
            .cloned()
            .unwrap_or_default();
        let settings = manifest
            .apply_settings(&operator)
            .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        let overrides = self
            .plugin_limits
            .get(&manifest.name)
            .cloned()
            .unwrap_or_default();
        let hosts = match &overrides.egress_hosts {
            None => hosts,
            Some(allowed) => narrow_egress(&manifest.name, &hosts, allowed)
                .map_err(|e| anyhow::anyhow!("{source}: {e}"))?,
        };
        let limits = Arc::new(overrides.apply(&self.services.limits));
        tracing::info!(
            plugin = %manifest.name,
            version = %manifest.version,
            file = %source,
            sha256 = %&sha256[..16],
            cache = match origin { Origin::Cache => "hit: loaded from cache, not recompiled", Origin::Compiled => "miss: compiled and cached" },
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin loaded"
        );
        let env = Arc::new(PluginEnv {
            name: manifest.name.clone(),
            egress: Egress::new(hosts, self.upstreams.clone()),
            settings,
            counters: self.metrics.plugin(&manifest.name),
            limits,
        });
        Ok(LoadedPlugin {
            manifest,
            source,
            sha256,
            origin,
            pre,
            env,
        })
    }

    /// Makes `plugin` serve: a new registry snapshot with it (and, for [`Install::Replace`],
    /// without the plugin of the same name) is swapped in at once. Requests in flight keep the
    /// snapshot they started with, so they finish on the old version. Returns the plugin it
    /// replaced. Refused (nothing changes) when the name is taken and `mode` is
    /// [`Install::New`], or a route prefix collides with another plugin.
    pub fn install(
        &self,
        plugin: Arc<LoadedPlugin>,
        mode: Install,
    ) -> Result<Option<Arc<LoadedPlugin>>, String> {
        let name = plugin.manifest.name.clone();
        let mut guard = self.registry.write().expect("registry lock");
        let mut next = Registry::default();
        let mut replaced = None;
        for existing in guard.plugins() {
            if mode == Install::Replace && existing.manifest.name == name {
                replaced = Some(existing.clone());
                continue;
            }
            next.add(existing.clone())?;
        }
        next.add(plugin.clone())?;
        *guard = Arc::new(next);
        drop(guard);
        let mut history = self.history.lock().expect("history lock");
        let versions = history.entry(name).or_default();
        for old in versions.iter_mut() {
            old.active = false;
        }
        versions.push(VersionRecord {
            version: plugin.manifest.version.clone(),
            sha256: plugin.sha256.clone(),
            source: plugin.source.clone(),
            loaded_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            active: true,
        });
        Ok(replaced)
    }

    /// Stops serving the plugin `name` (requests in flight finish); returns it, if it was loaded.
    pub fn remove(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        let mut guard = self.registry.write().expect("registry lock");
        let removed = guard
            .plugins()
            .iter()
            .find(|p| p.manifest.name == name)
            .cloned()?;
        let mut next = Registry::default();
        for existing in guard.plugins().iter().filter(|p| p.manifest.name != name) {
            next.add(existing.clone())
                .expect("a subset of a valid registry is valid");
        }
        *guard = Arc::new(next);
        drop(guard);
        if let Some(versions) = self.history.lock().expect("history lock").get_mut(name) {
            for old in versions.iter_mut() {
                old.active = false;
            }
        }
        Some(removed)
    }

    /// Every version loaded since start, by plugin name, oldest first.
    pub fn versions(&self) -> BTreeMap<String, Vec<VersionRecord>> {
        self.history.lock().expect("history lock").clone()
    }

    /// Resolves the component's imports against the linker and checks its exports: this is
    /// where a component that does not implement the `provider` world is refused.
    fn pre_instantiate(
        &self,
        component: &Component,
        source: &str,
    ) -> anyhow::Result<ProviderPre<HostState>> {
        let context = || {
            format!(
                "{source} does not implement the world cloud-broker:plugin/provider@{}",
                env!("CARGO_PKG_VERSION")
            )
        };
        // A plugin built against another version of the WIT package gets that said plainly,
        // instead of a list of unresolved imports.
        let ty = component.component_type();
        let names: Vec<String> = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .chain(ty.exports(&self.engine).map(|(name, _)| name.to_owned()))
            .collect();
        if let Some(theirs) = names
            .iter()
            .filter_map(|n| n.strip_prefix("cloud-broker:plugin/")?.split_once('@'))
            .map(|(_, version)| version)
            .find(|version| !crate::bindings::wit_version_compatible(version))
        {
            anyhow::bail!(
                "{source} was built against cloud-broker:plugin@{theirs}; this broker implements \
                 @{ours}, which is not compatible (rebuild the plugin against {ours})",
                ours = crate::bindings::WIT_PACKAGE_VERSION
            );
        }
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", context()))?;
        // `{:#}`: the error chain on one line; `{:?}` would add a backtrace (RUST_BACKTRACE),
        // and this text is answered to the uploading client.
        ProviderPre::new(pre).map_err(|e| anyhow::anyhow!("{}: {e:#}", context()))
    }

    /// Handles one request in a fresh instance of `plugin`; the secrets of its body are masked in
    /// every log line.
    pub async fn call(
        &self,
        plugin: &LoadedPlugin,
        request: Request,
    ) -> Result<Response, CallError> {
        let redactor = Redactor::from_request_body(&request.body);
        self.call_with(plugin, request, redactor).await
    }

    /// [`Runtime::call`] with the body's secrets already collected (a caller that parsed the body
    /// for its own needs does it once).
    pub async fn call_with(
        &self,
        plugin: &LoadedPlugin,
        request: Request,
        redactor: Redactor,
    ) -> Result<Response, CallError> {
        let ticket = self.queue(plugin, request.body.len())?;
        let slot = self.slot(plugin, ticket).await?;
        self.call_in(slot, plugin, request, redactor).await
    }

    /// A place in the queue for an instance slot, for a request of `bytes` body bytes; taken
    /// before the body is read, so a full queue refuses at once and bounds buffered bodies.
    pub fn queue(&self, plugin: &LoadedPlugin, bytes: usize) -> Result<QueueTicket, CallError> {
        self.slots.enqueue(bytes).map_err(|_| {
            let error = CallError::QueueFull;
            error.count(&plugin.env.counters);
            error
        })
    }

    /// Waits (at most `limits.queue_wait_ms`) for an instance slot; gives the queue place back.
    pub async fn slot(
        &self,
        plugin: &LoadedPlugin,
        ticket: QueueTicket,
    ) -> Result<Slot, CallError> {
        self.slots.take(ticket).await.map_err(|_| {
            let error = CallError::Busy;
            error.count(&plugin.env.counters);
            error
        })
    }

    /// What waits for instance slots now, and how many instances run.
    pub fn occupancy(&self) -> (Pending, usize) {
        let max = self.services.limits.max_instances as usize;
        (self.slots.pending(), self.slots.busy(max))
    }

    /// [`Runtime::call_with`] in a slot the caller already holds.
    pub async fn call_in(
        &self,
        slot: Slot,
        plugin: &LoadedPlugin,
        request: Request,
        redactor: Redactor,
    ) -> Result<Response, CallError> {
        self.call_controlled(slot, plugin, request, redactor, Arc::default())
            .await
    }

    /// [`Runtime::call_in`] under `control`: the caller can cancel the call and read the
    /// upstream calls it made.
    pub async fn call_controlled(
        &self,
        slot: Slot,
        plugin: &LoadedPlugin,
        request: Request,
        redactor: Redactor,
        control: Arc<CallControl>,
    ) -> Result<Response, CallError> {
        // Held until the instance is dropped, at the end of this call.
        let _slot = slot;
        let mut state =
            RequestState::new(request.request_id.clone(), request.tenant.clone(), redactor);
        state.control = control;
        let response = match self
            .sandboxed(
                &plugin.pre,
                plugin.env.clone(),
                state,
                Export::Handle(request),
            )
            .await?
        {
            Answer::Handle(response) => response,
            Answer::Manifest(_) => unreachable!("asked to handle a request"),
        };
        let max = plugin.env.limits.response_bytes;
        if response.body.len() > max {
            let error = CallError::ResponseTooLarge(response.body.len(), max);
            error.count(&plugin.env.counters);
            return Err(error);
        }
        Ok(response)
    }

    /// Calls one export in a fresh instance under every limit, then drops the instance. The
    /// caller holds an instance slot; the wall-clock limit starts here, not while waiting for it.
    async fn sandboxed(
        &self,
        pre: &ProviderPre<HostState>,
        env: Arc<PluginEnv>,
        request: RequestState,
        export: Export,
    ) -> Result<Answer, CallError> {
        let limits = env.limits.clone();
        let wall = limits.wall();
        let counters = env.counters.clone();
        let work = async {
            let name = env.name.clone();
            let state = HostState::new(self.services.clone(), env, request);
            let mut store = Store::new(&self.engine, state);
            store.limiter(|state| &mut state.limits);
            counters.instantiated();
            let cpu = limits.cpu();
            // The deadline fires every tick while the guest runs; it yields to the executor so
            // a spinning guest cannot hog a worker thread, and interrupts once the guest's own
            // running time (wall time minus time waiting in host calls) exceeds the CPU limit.
            // The yield is tokio's, which reschedules the guest only after the worker has polled
            // the I/O driver: with a plain wake, workers kept busy by spinning guests looked for
            // I/O only every 61 turns, and other requests waited hundreds of ms (bench (c)).
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |ctx| {
                if ctx.data().request.guest_time() >= cpu {
                    Ok(UpdateDeadline::Interrupt)
                } else {
                    Ok(UpdateDeadline::YieldCustom(
                        1,
                        Box::pin(tokio::task::yield_now()),
                    ))
                }
            });
            let result = async {
                let instance = pre.instantiate_async(&mut store).await?;
                let handler = instance.cloud_broker_plugin_handler();
                match export {
                    Export::Manifest => handler
                        .call_get_manifest(&mut store)
                        .await
                        .map(Answer::Manifest),
                    Export::Handle(request) => handler
                        .call_handle(&mut store, &request)
                        .await
                        .map(Answer::Handle),
                }
            }
            .await;
            let dropped = store.data().request.log_dropped;
            if dropped > 0 {
                tracing::warn!(plugin = %name, request_id = %store.data().request.request_id, dropped, "plugin log lines dropped over budget");
            }
            let memory_refused = store.data().limits.memory_refused();
            result.map_err(|e| classify(e, &limits, memory_refused))
        };
        let result = tokio::time::timeout(wall, work)
            .await
            .unwrap_or(Err(CallError::WallTimeout(wall)));
        if let Err(error) = &result {
            error.count(&counters);
        }
        result
    }
}

/// The operator's `egress_hosts` for plugin `name`, each of which must be covered by a host the
/// plugin declared: the operator narrows, never widens.
fn narrow_egress(
    name: &str,
    declared: &[HostPattern],
    allowed: &[String],
) -> Result<Vec<HostPattern>, String> {
    allowed
        .iter()
        .map(|host| {
            let pattern = HostPattern::parse(host)?;
            if declared.iter().any(|d| d.covers(&pattern)) {
                Ok(pattern)
            } else {
                Err(format!(
                    "plugin_limits.{name}.egress_hosts allows `{host}`, which the plugin does not \
                     declare; an operator can only narrow a plugin's hosts"
                ))
            }
        })
        .collect()
}

/// Names the limit a failed call ran into. `memory_refused` is the limiter's record that it
/// refused a memory grow: whatever trap followed (wasmtime's grow failure, or the guest's
/// allocator aborting on a failed grow), the cause is the memory cap.
fn classify(error: wasmtime::Error, limits: &Limits, memory_refused: bool) -> CallError {
    if error.downcast_ref::<Cancelled>().is_some() {
        return CallError::Cancelled;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::CpuLimit(limits.cpu()),
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        _ if memory_refused => CallError::MemoryLimit(limits.memory_mib),
        Some(trap) => CallError::Trap(format!("wasm trap: {trap}")),
        None => CallError::Trap(format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limit_comes_from_the_limiter_flag_not_the_text() {
        let limits = Limits::default();
        let worded = || wasmtime::Error::msg("guest said: memory grow limit reached");
        assert!(matches!(
            classify(worded(), &limits, false),
            CallError::Trap(_)
        ));
        assert!(matches!(
            classify(wasmtime::Error::msg("forcing a failure"), &limits, true),
            CallError::MemoryLimit(m) if m == limits.memory_mib
        ));
        assert!(matches!(
            classify(
                wasmtime::Error::new(Trap::UnreachableCodeReached),
                &limits,
                true
            ),
            CallError::MemoryLimit(_)
        ));
        assert!(matches!(
            classify(wasmtime::Error::new(Trap::Interrupt), &limits, true),
            CallError::CpuLimit(_)
        ));
    }
}
