//! The `cache` capability: small values a plugin keeps between requests (a login token), scoped
//! to the plugin and the calling tenant, bounded in count and size, expiring by the host clock.

use std::collections::HashMap;
use std::sync::Mutex;

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
        (max_entries, max_value_bytes): (u32, usize),
    ) -> Result<(), CacheError> {
        if value.len() > max_value_bytes {
            return Err(CacheError::TooLarge(max_value_bytes as u64));
        }
        let mut partitions = self.partitions.lock().expect("cache lock");
        let partition = partitions
            .entry((plugin.to_owned(), tenant.to_owned()))
            .or_default();
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
        Ok(())
    }

    /// Removes `key`.
    pub fn delete(&self, plugin: &str, tenant: &str, key: &str) {
        let mut partitions = self.partitions.lock().expect("cache lock");
        if let Some(partition) = partitions.get_mut(&(plugin.to_owned(), tenant.to_owned())) {
            partition.remove(key);
        }
    }
}

impl cache::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
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

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
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
