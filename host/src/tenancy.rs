//! Per-tenant policy at the door: which plugins a tenant may call, how many of its requests may
//! run at once, and how many it may start per minute.
//!
//! Policies live in the store and are cached for a few seconds (a change made through this
//! broker's admin API applies at once). Concurrency and rate are counted per broker instance.
//!
//! The running count of a tenant lives beside its cached policy, not inside it: a cache refresh
//! or a policy write replaces the policy and compares the new limit with the same count, so it
//! neither frees nor forgets the slots of requests still running.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use broker_store::{Policy, Store, StoreError};

/// Why a request is not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The tenant's policy does not list the plugin.
    #[error("tenant `{tenant}` may not call plugin `{plugin}`")]
    PluginNotAllowed {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
    },
    /// Too many of the tenant's requests are running.
    #[error("tenant `{tenant}` already has {limit} requests running; retry later")]
    TooManyConcurrent {
        /// The tenant.
        tenant: String,
        /// Its concurrency limit.
        limit: u32,
    },
    /// The tenant spent its request rate.
    #[error(
        "tenant `{tenant}` exceeded {limit} requests per minute; retry in {retry_after_secs} s"
    )]
    RateLimited {
        /// The tenant.
        tenant: String,
        /// Its rate limit per minute.
        limit: u32,
        /// Seconds until a request will be admitted.
        retry_after_secs: u64,
    },
    /// The tenant does not exist (an admin key acting for an unknown tenant).
    #[error("{0}")]
    UnknownTenant(StoreError),
    /// The policy could not be read. The detail is for the log, never for the client.
    #[error("the tenant's policy could not be read")]
    Store(#[source] StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Self::UnknownTenant(e),
            e => Self::Store(e),
        }
    }
}

impl Refusal {
    /// The `Retry-After` seconds for refusals that pass with time.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyConcurrent { .. } => Some(1),
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            // A locked or restarting database usually recovers within seconds.
            Self::Store(_) => Some(2),
            _ => None,
        }
    }
}

/// Held while an admitted request runs; gives the tenant's concurrency slot back when dropped.
#[must_use = "the request counts as running only while its admission is held"]
pub struct Admission {
    running: Arc<AtomicU32>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Cached policy and live counters of one tenant. Entries live as long as the broker (one per
/// tenant that made a request, a few hundred bytes): dropping one while requests run would
/// forget their slots.
#[derive(Default)]
struct TenantState {
    /// The policy last read from the store; once set, only ever replaced.
    policy: Option<Policy>,
    /// When `policy` was read; `None` once invalidated, so the next admission reads it again.
    fetched: Option<Instant>,
    /// Bumped by every invalidation: a read that started before one must not be cached as fresh.
    generation: u64,
    /// Requests of the tenant admitted and not finished. Incremented only under the gate's lock,
    /// so check-then-increment is atomic; decremented lock-free when an [`Admission`] drops.
    running: Arc<AtomicU32>,
    bucket: Option<TokenBucket>,
}

impl TenantState {
    fn is_fresh(&self, ttl: Duration) -> bool {
        self.policy.is_some() && self.fetched.is_some_and(|at| at.elapsed() < ttl)
    }

    /// Takes a policy read from the store when `generation` was current. The rate bucket is
    /// kept while the rate is unchanged (a refresh must not refill it); the running count is
    /// always kept.
    fn install(&mut self, policy: Policy, generation: u64) {
        let same_rate = self
            .policy
            .as_ref()
            .is_some_and(|old| old.rate_per_minute == policy.rate_per_minute);
        if !same_rate {
            self.bucket = policy.rate_per_minute.map(TokenBucket::new);
        }
        // Invalidated while the read was in flight: use it for this request, read again next.
        self.fetched = (generation == self.generation).then(Instant::now);
        self.policy = Some(policy);
    }

    /// The admission decision, under the gate's lock.
    fn admit(
        &mut self,
        tenant: &str,
        plugin: &str,
        default_concurrency: Option<u32>,
    ) -> Result<Admission, Refusal> {
        let Some(policy) = &self.policy else {
            // Unreachable in practice (a policy is installed before the first decision and
            // never removed); refused rather than panicking under the lock.
            return Err(Refusal::Store(StoreError::Invalid(
                "no policy was read for the tenant".into(),
            )));
        };
        if let Some(allowed) = &policy.allowed_plugins
            && !allowed.iter().any(|p| p == plugin)
        {
            return Err(Refusal::PluginNotAllowed {
                tenant: tenant.into(),
                plugin: plugin.into(),
            });
        }
        if let Some(limit) = policy.max_concurrent.or(default_concurrency)
            && self.running.load(Ordering::Acquire) >= limit
        {
            return Err(Refusal::TooManyConcurrent {
                tenant: tenant.into(),
                limit,
            });
        }
        if let Some(bucket) = &mut self.bucket
            && let Err(wait) = bucket.take(Instant::now())
        {
            return Err(Refusal::RateLimited {
                tenant: tenant.into(),
                limit: bucket.per_minute,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        self.running.fetch_add(1, Ordering::AcqRel);
        Ok(Admission {
            running: self.running.clone(),
        })
    }
}

/// Why the gate cannot serve (the readiness check).
#[derive(Debug, thiserror::Error)]
#[error("the tenant gate's lock stayed busy for {0:?}")]
pub struct GateBusy(Duration);

/// The gate every plugin request passes.
pub struct Gate {
    store: Store,
    ttl: Duration,
    default_concurrency: Option<u32>,
    tenants: Mutex<HashMap<String, TenantState>>,
}

impl Gate {
    /// A gate reading policies from `store`, caching them for `ttl`. A tenant whose policy sets
    /// no `max_concurrent` may run `default_concurrency` requests at once (`None`: no limit).
    pub fn new(store: Store, ttl: Duration, default_concurrency: Option<u32>) -> Self {
        Self {
            store,
            ttl,
            default_concurrency,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant map. Nothing panics while holding the lock and every update is a single step,
    /// so a poisoned lock (a bug elsewhere) still guards a consistent map: recover, never
    /// propagate the panic to every later request.
    fn tenants(&self) -> MutexGuard<'_, HashMap<String, TenantState>> {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a request of `tenant` to `plugin`, or says why not.
    pub async fn admit(&self, tenant: &str, plugin: &str) -> Result<Admission, Refusal> {
        let stale_since = {
            let tenants = self.tenants();
            match tenants.get(tenant) {
                Some(state) if state.is_fresh(self.ttl) => None,
                Some(state) => Some(state.generation),
                None => Some(0),
            }
        };
        // Read outside the lock (it awaits); decide inside one critical section.
        let fetched = match stale_since {
            Some(generation) => Some((self.store.policy(tenant).await?, generation)),
            None => None,
        };
        let mut tenants = self.tenants();
        let state = tenants.entry(tenant.to_string()).or_default();
        if let Some((policy, generation)) = fetched {
            state.install(policy, generation);
        }
        state.admit(tenant, plugin, self.default_concurrency)
    }

    /// Marks a tenant's cached policy stale (after it was changed or the tenant deleted): the
    /// next admission reads it again. Its running count is kept.
    pub fn invalidate(&self, tenant: &str) {
        if let Some(state) = self.tenants().get_mut(tenant) {
            state.fetched = None;
            state.generation += 1;
        }
    }

    /// Requests of `tenant` admitted and still running.
    pub fn running(&self, tenant: &str) -> u32 {
        self.tenants()
            .get(tenant)
            .map_or(0, |s| s.running.load(Ordering::Acquire))
    }

    /// Readiness: the gate's lock can be taken within a short bound.
    pub async fn probe(&self) -> Result<(), GateBusy> {
        const TRIES: u32 = 20;
        const PAUSE: Duration = Duration::from_millis(5);
        for _ in 0..TRIES {
            // A poisoned lock is usable (see `tenants`); only a held one is not.
            let busy = matches!(self.tenants.try_lock(), Err(TryLockError::WouldBlock));
            if !busy {
                return Ok(());
            }
            tokio::time::sleep(PAUSE).await;
        }
        Err(GateBusy(PAUSE * TRIES))
    }
}

/// A token bucket: `per_minute` tokens, refilled continuously; a burst may use them all.
#[derive(Debug)]
struct TokenBucket {
    per_minute: u32,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            tokens: f64::from(per_minute),
            updated: Instant::now(),
        }
    }

    /// Takes one token, or returns how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let rate_per_sec = f64::from(self.per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate_per_sec).min(f64::from(self.per_minute));
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if rate_per_sec > 0.0 {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate_per_sec))
        } else {
            Err(Duration::from_secs(60))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_refills_over_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2);
        bucket.updated = start;
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        let wait = bucket.take(start).unwrap_err();
        assert!((29.0..=31.0).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(bucket.take(start + Duration::from_secs(31)).is_ok());
    }

    async fn gate_with(policy: Policy) -> (Gate, Store) {
        let store = Store::open(
            "sqlite::memory:",
            broker_store::SecretsKey::from_bytes([7; 32]),
        )
        .await
        .unwrap();
        store.create_tenant("t").await.unwrap();
        store.set_policy("t", &policy).await.unwrap();
        (
            Gate::new(store.clone(), Duration::from_secs(60), None),
            store,
        )
    }

    fn concurrency(n: u32) -> Policy {
        Policy {
            max_concurrent: Some(n),
            ..Policy::default()
        }
    }

    async fn change_policy(gate: &Gate, store: &Store, policy: Policy) {
        store.set_policy("t", &policy).await.unwrap();
        gate.invalidate("t");
    }

    #[tokio::test]
    async fn a_policy_change_neither_frees_nor_forgets_running_slots() {
        let (gate, store) = gate_with(concurrency(2)).await;
        let mut held = vec![
            gate.admit("t", "p").await.unwrap(),
            gate.admit("t", "p").await.unwrap(),
        ];
        assert!(matches!(
            gate.admit("t", "p").await,
            Err(Refusal::TooManyConcurrent { limit: 2, .. })
        ));
        // Raising the limit by one admits exactly one more: the two running still count.
        change_policy(&gate, &store, concurrency(3)).await;
        held.push(gate.admit("t", "p").await.unwrap());
        assert!(gate.admit("t", "p").await.is_err());
        // The same policy written again (a refresh) frees nothing.
        change_policy(&gate, &store, concurrency(3)).await;
        assert!(gate.admit("t", "p").await.is_err());
        // Lowering it below the running count admits nothing until enough finish.
        change_policy(&gate, &store, concurrency(1)).await;
        held.truncate(1);
        assert_eq!(gate.running("t"), 1);
        assert!(gate.admit("t", "p").await.is_err());
        held.clear();
        let _one = gate.admit("t", "p").await.unwrap();
        assert_eq!(gate.running("t"), 1);
    }

    #[tokio::test]
    async fn concurrency_is_never_exceeded_while_the_policy_is_rewritten() {
        let (gate, store) = gate_with(concurrency(4)).await;
        let gate = Arc::new(gate);
        let peak = Arc::new(AtomicU32::new(0));
        let now = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (gate, peak, now) = (gate.clone(), peak.clone(), now.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    if let Ok(admission) = gate.admit("t", "p").await {
                        let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(inside, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        now.fetch_sub(1, Ordering::SeqCst);
                        drop(admission);
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        for round in 0..40 {
            // Alternates between two limits; the smaller one bounds the peak from the start.
            let limit = if round % 2 == 0 { 4 } else { 3 };
            change_policy(&gate, &store, concurrency(limit)).await;
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (2..=4).contains(&peak),
            "requests overlapped, within the limit: {peak}"
        );
        assert_eq!(gate.running("t"), 0);
    }

    #[tokio::test]
    async fn a_tenant_without_a_limit_gets_the_default_share() {
        let (_, store) = gate_with(Policy::default()).await;
        let gate = Gate::new(store, Duration::from_secs(60), Some(1));
        let _first = gate.admit("t", "p").await.unwrap();
        assert!(matches!(
            gate.admit("t", "p").await,
            Err(Refusal::TooManyConcurrent { limit: 1, .. })
        ));
    }

    #[tokio::test]
    async fn an_unknown_tenant_is_told_apart_from_a_store_failure() {
        let (gate, store) = gate_with(Policy::default()).await;
        assert!(matches!(
            gate.admit("nobody", "p").await,
            Err(Refusal::UnknownTenant(_))
        ));
        store.close().await;
        let refusal = gate.admit("other", "p").await.err().unwrap();
        assert!(matches!(refusal, Refusal::Store(_)));
        assert!(!refusal.to_string().contains("pool"), "{refusal}");
        assert!(gate.probe().await.is_ok());
    }

    #[test]
    fn a_zero_rate_refuses_for_a_minute() {
        let mut bucket = TokenBucket::new(0);
        assert_eq!(bucket.take(Instant::now()), Err(Duration::from_secs(60)));
    }
}
