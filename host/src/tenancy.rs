//! Per-tenant policy at the door: which plugins a tenant may call, how many of its requests may
//! run at once, and how many it may start per minute.
//!
//! Policies live in the store and are cached for a few seconds (a change made through this
//! broker's admin API applies at once). Concurrency and rate are counted per broker instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker_store::{Policy, Store, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// The policy could not be read.
    #[error("tenant policy unavailable: {0}")]
    Store(#[from] StoreError),
}

impl Refusal {
    /// The `Retry-After` seconds for refusals that pass with time.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyConcurrent { .. } => Some(1),
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Held while an admitted request runs; releases the tenant's concurrency slot when dropped.
pub struct Admission {
    _slot: Option<OwnedSemaphorePermit>,
}

/// Cached policy and live counters of one tenant.
struct TenantState {
    policy: Policy,
    fetched: Instant,
    slots: Option<Arc<Semaphore>>,
    bucket: Option<TokenBucket>,
}

/// The gate every plugin request passes.
pub struct Gate {
    store: Store,
    ttl: Duration,
    tenants: Mutex<HashMap<String, TenantState>>,
}

impl Gate {
    /// A gate reading policies from `store`, caching them for `ttl`.
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Admits a request of `tenant` to `plugin`, or says why not.
    pub async fn admit(&self, tenant: &str, plugin: &str) -> Result<Admission, Refusal> {
        let fresh = self
            .tenants
            .lock()
            .expect("gate lock")
            .get(tenant)
            .is_some_and(|t| t.fetched.elapsed() < self.ttl);
        if !fresh {
            let policy = self.store.policy(tenant).await?;
            self.install(tenant, policy);
        }
        let mut tenants = self.tenants.lock().expect("gate lock");
        let state = tenants.get_mut(tenant).expect("installed above");
        if let Some(allowed) = &state.policy.allowed_plugins
            && !allowed.iter().any(|p| p == plugin)
        {
            return Err(Refusal::PluginNotAllowed {
                tenant: tenant.into(),
                plugin: plugin.into(),
            });
        }
        let slot =
            match &state.slots {
                Some(slots) => Some(slots.clone().try_acquire_owned().map_err(|_| {
                    Refusal::TooManyConcurrent {
                        tenant: tenant.into(),
                        limit: state.policy.max_concurrent.unwrap_or_default(),
                    }
                })?),
                None => None,
            };
        if let Some(bucket) = &mut state.bucket
            && let Err(wait) = bucket.take(Instant::now())
        {
            return Err(Refusal::RateLimited {
                tenant: tenant.into(),
                limit: bucket.per_minute,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        Ok(Admission { _slot: slot })
    }

    /// Forgets a tenant's cached policy (after it was changed or the tenant deleted).
    pub fn invalidate(&self, tenant: &str) {
        self.tenants.lock().expect("gate lock").remove(tenant);
    }

    /// Stores a freshly read policy, keeping counters whose limits did not change (so a cache
    /// refresh neither frees running slots nor refills the bucket).
    fn install(&self, tenant: &str, policy: Policy) {
        let mut tenants = self.tenants.lock().expect("gate lock");
        let previous = tenants.remove(tenant);
        let (slots, bucket) = match previous {
            Some(old) => (
                if old.policy.max_concurrent == policy.max_concurrent {
                    old.slots
                } else {
                    new_slots(&policy)
                },
                if old.policy.rate_per_minute == policy.rate_per_minute {
                    old.bucket
                } else {
                    new_bucket(&policy)
                },
            ),
            None => (new_slots(&policy), new_bucket(&policy)),
        };
        tenants.insert(
            tenant.to_string(),
            TenantState {
                policy,
                fetched: Instant::now(),
                slots,
                bucket,
            },
        );
    }
}

fn new_slots(policy: &Policy) -> Option<Arc<Semaphore>> {
    policy
        .max_concurrent
        .map(|n| Arc::new(Semaphore::new(n as usize)))
}

fn new_bucket(policy: &Policy) -> Option<TokenBucket> {
    policy.rate_per_minute.map(TokenBucket::new)
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

    #[test]
    fn a_zero_rate_refuses_for_a_minute() {
        let mut bucket = TokenBucket::new(0);
        assert_eq!(bucket.take(Instant::now()), Err(Duration::from_secs(60)));
    }
}
