//! Values kept between requests through the host's `cache` capability.
//!
//! Every request runs in a fresh instance, so this is the one place a plugin can keep something
//! for the next request — typically a login token. Entries are scoped to the plugin and the
//! calling tenant, expire by the host clock, live in the broker's memory only, and are bounded
//! by the operator (count per plugin and tenant, bytes per value). Treat a miss as normal: the
//! broker may have restarted, or another broker may be serving the request.

pub use crate::bindings::cloud_broker::plugin::cache::CacheError;

/// The value stored under `key` for the calling tenant, if present and not expired.
pub fn get(key: &str) -> Option<Vec<u8>> {
    crate::bindings::cloud_broker::plugin::cache::get(key)
}

/// Stores `value` under `key` for `ttl_ms` milliseconds of host clock time.
pub fn set(key: &str, value: &[u8], ttl_ms: u64) -> Result<(), CacheError> {
    crate::bindings::cloud_broker::plugin::cache::set(key, value, ttl_ms)
}

/// Removes `key` (e.g. a token the server refused).
pub fn delete(key: &str) {
    crate::bindings::cloud_broker::plugin::cache::delete(key)
}

/// Stores `value` under `key` only if no live value is there; `Ok(true)` if it stored it. Use
/// it as a lock around work one request should do for all (a login), with a TTL that frees the
/// lock if its holder dies; delete the key when done.
pub fn add(key: &str, value: &[u8], ttl_ms: u64) -> Result<bool, CacheError> {
    crate::bindings::cloud_broker::plugin::cache::add(key, value, ttl_ms)
}

/// The value under `key`, or, if there is none, the value after the next store or delete of
/// this plugin and tenant, waiting at most `timeout_ms` of real time.
pub fn wait(key: &str, timeout_ms: u32) -> Option<Vec<u8>> {
    crate::bindings::cloud_broker::plugin::cache::wait(key, timeout_ms)
}
