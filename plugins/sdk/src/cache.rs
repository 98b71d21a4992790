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
