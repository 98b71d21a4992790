//! The `cache` capability: small values a plugin keeps between requests (a login token), scoped
//! to the plugin and the calling tenant, bounded in count and size, expiring by the host clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::HostState;
use crate::bindings::cache::{self, CacheError};

/// One stored value.
struct Entry {
    value: Vec<u8>,
    expires_at_ms: u64,
}

/// The entries of one plugin for one tenant.
type Partition = HashMap<String, Entry>;

/// Every plugin's cache, by (plugin, tenant). In memory: lost at restart, not shared between
/// brokers — a cache, never the only copy of anything.
#[derive(Default)]
pub struct PluginCache {
    partitions: Mutex<HashMap<(String, String), Partition>>,
    /// Woken on every store and delete, for `wait`.
    changed: Notify,
}

impl PluginCache {
    /// The live value under `key`, if any.
    pub fn get(&self, plugin: &str, tenant: &str, key: &str, now_ms: u64) -> Option<Vec<u8>> {
        let partitions = self.partitions.lock().expect("cache lock");
        partitions
            .get(&(plugin.to_owned(), tenant.to_owned()))?
            .get(key)
            .filter(|entry| entry.expires_at_ms > now_ms)
            .map(|entry| entry.value.clone())
    }

    /// Stores `value` under `key` until `now_ms + ttl_ms`, within the limits: a value of at most
    /// `max_value_bytes`, at most `max_entries` live entries per partition (expired ones are
    /// dropped to make room).
    pub fn set(
        &self,
        (plugin, tenant): (&str, &str),
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
        now_ms: u64,
        limits: (u32, usize),
    ) -> Result<(), CacheError> {
        self.insert(
            (plugin, tenant),
            key,
            value,
            (ttl_ms, now_ms),
            limits,
            false,
        )
        .map(|_| ())
    }

    /// Like [`Self::set`], but stores nothing when `key` holds a live value; `Ok(true)` if it
    /// stored.
    pub fn add(
        &self,
        (plugin, tenant): (&str, &str),
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
        now_ms: u64,
        limits: (u32, usize),
    ) -> Result<bool, CacheError> {
        self.insert((plugin, tenant), key, value, (ttl_ms, now_ms), limits, true)
    }

    fn insert(
        &self,
        (plugin, tenant): (&str, &str),
        key: String,
        value: Vec<u8>,
        (ttl_ms, now_ms): (u64, u64),
        (max_entries, max_value_bytes): (u32, usize),
        only_if_absent: bool,
    ) -> Result<bool, CacheError> {
        if value.len() > max_value_bytes {
            return Err(CacheError::TooLarge(max_value_bytes as u64));
        }
        let mut partitions = self.partitions.lock().expect("cache lock");
        let partition = partitions
            .entry((plugin.to_owned(), tenant.to_owned()))
            .or_default();
        if only_if_absent
            && partition
                .get(&key)
                .is_some_and(|e| e.expires_at_ms > now_ms)
        {
            return Ok(false);
        }
        if !partition.contains_key(&key) && partition.len() >= max_entries as usize {
            partition.retain(|_, entry| entry.expires_at_ms > now_ms);
            if partition.len() >= max_entries as usize {
                return Err(CacheError::Full(max_entries));
            }
        }
        partition.insert(
            key,
            Entry {
                value,
                expires_at_ms: now_ms.saturating_add(ttl_ms),
            },
        );
        drop(partitions);
        self.changed.notify_waiters();
        Ok(true)
    }

    /// Removes `key`.
    pub fn delete(&self, plugin: &str, tenant: &str, key: &str) {
        let mut partitions = self.partitions.lock().expect("cache lock");
        if let Some(partition) = partitions.get_mut(&(plugin.to_owned(), tenant.to_owned())) {
            partition.remove(key);
        }
        drop(partitions);
        self.changed.notify_waiters();
    }

    /// The live value under `key`; if there is none, waits up to `timeout` for the next store
    /// or delete anywhere in the cache and looks once more.
    pub async fn wait(
        &self,
        (plugin, tenant): (&str, &str),
        key: &str,
        timeout: Duration,
        now_ms: impl Fn() -> u64,
    ) -> Option<Vec<u8>> {
        // Registered before the look, so a store between the look and the wait is not missed.
        let changed = self.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if let Some(value) = self.get(plugin, tenant, key, now_ms()) {
            return Some(value);
        }
        let _ = tokio::time::timeout(timeout, changed).await;
        self.get(plugin, tenant, key, now_ms())
    }
}

impl cache::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        self.request.control.check()?;
        let now = self.services.clock.now_ms();
        Ok(self
            .services
            .cache
            .get(&self.plugin.name, &self.request.tenant, &key, now))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<(), CacheError>> {
        self.request.control.check()?;
        let now = self.services.clock.now_ms();
        let limits = &self.services.limits;
        Ok(self.services.cache.set(
            (&self.plugin.name, &self.request.tenant),
            key,
            value,
            ttl_ms,
            now,
            (limits.cache_entries, limits.cache_value_bytes),
        ))
    }

    async fn add(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<bool, CacheError>> {
        self.request.control.check()?;
        let now = self.services.clock.now_ms();
        let limits = &self.services.limits;
        Ok(self.services.cache.add(
            (&self.plugin.name, &self.request.tenant),
            key,
            value,
            ttl_ms,
            now,
            (limits.cache_entries, limits.cache_value_bytes),
        ))
    }

    async fn wait(&mut self, key: String, timeout_ms: u32) -> wasmtime::Result<Option<Vec<u8>>> {
        self.request.control.check()?;
        let services = self.services.clone();
        let timeout = Duration::from_millis(u64::from(timeout_ms))
            .min(self.plugin.limits.upstream_timeout())
            .min(self.request.remaining(&self.plugin.limits));
        let started = Instant::now();
        let clock = services.clock.clone();
        let control = self.request.control.clone();
        let value = tokio::select! {
            value = services.cache.wait(
                (&self.plugin.name, &self.request.tenant),
                &key,
                timeout,
                || clock.now_ms(),
            ) => value,
            () = control.cancelled() => None,
        };
        self.charge_host_time(started);
        self.request.control.check()?;
        Ok(value)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.request.control.check()?;
        self.services
            .cache
            .delete(&self.plugin.name, &self.request.tenant, &key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: (u32, usize) = (2, 8);

    #[test]
    fn values_expire_and_are_scoped_to_plugin_and_tenant() {
        let cache = PluginCache::default();
        cache
            .set(("p", "t1"), "k".into(), b"v".to_vec(), 100, 1_000, LIMITS)
            .unwrap();
        assert_eq!(cache.get("p", "t1", "k", 1_099), Some(b"v".to_vec()));
        assert_eq!(cache.get("p", "t1", "k", 1_100), None, "expired");
        assert_eq!(cache.get("p", "t2", "k", 1_000), None, "other tenant");
        assert_eq!(cache.get("q", "t1", "k", 1_000), None, "other plugin");
        cache.delete("p", "t1", "k");
        assert_eq!(cache.get("p", "t1", "k", 1_000), None, "deleted");
    }

    #[test]
    fn add_stores_only_when_no_live_value_is_there() {
        let cache = PluginCache::default();
        let add = |now| cache.add(("p", "t"), "lock".into(), b"1".to_vec(), 100, now, LIMITS);
        assert!(add(0).unwrap());
        assert!(!add(50).unwrap(), "held");
        assert!(add(100).unwrap(), "expired locks are free");
        cache.delete("p", "t", "lock");
        assert!(add(100).unwrap(), "deleted locks are free");
    }

    #[tokio::test]
    async fn wait_returns_a_value_stored_meanwhile_or_none_after_the_timeout() {
        let cache = std::sync::Arc::new(PluginCache::default());
        let none = cache
            .wait(("p", "t"), "k", Duration::from_millis(20), || 0)
            .await;
        assert_eq!(none, None);
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .wait(("p", "t"), "k", Duration::from_secs(30), || 0)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        cache
            .set(("p", "t"), "k".into(), b"v".to_vec(), 100, 0, LIMITS)
            .unwrap();
        let started = Instant::now();
        assert_eq!(waiter.await.unwrap(), Some(b"v".to_vec()));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "woken, not timed out"
        );
    }

    #[test]
    fn limits_refuse_large_values_and_a_full_partition_after_dropping_expired_entries() {
        let cache = PluginCache::default();
        let set = |key: &str, value: &[u8], ttl, now| {
            cache.set(("p", "t"), key.into(), value.to_vec(), ttl, now, LIMITS)
        };
        assert!(matches!(
            set("big", b"123456789", 10, 0),
            Err(CacheError::TooLarge(8))
        ));
        set("a", b"1", 10, 0).unwrap();
        set("b", b"2", 100, 0).unwrap();
        set("a", b"replaced", 10, 0).unwrap();
        assert!(matches!(set("c", b"3", 10, 5), Err(CacheError::Full(2))));
        // At 10 ms `a` has expired, which makes room.
        set("c", b"3", 10, 10).unwrap();
        assert_eq!(cache.get("p", "t", "b", 10), Some(b"2".to_vec()));
        assert_eq!(cache.get("p", "t", "c", 10), Some(b"3".to_vec()));
        // Another tenant has its own room.
        cache
            .set(("p", "u"), "a".into(), b"1".to_vec(), 10, 10, LIMITS)
            .unwrap();
    }
}
