//! API keys: every request but `/healthz` carries `Authorization: Bearer <key>`.
//!
//! The store holds only key hashes; verified keys are cached here for a few seconds so the hot
//! path does not query the database on every request. Revoking or rotating a key through this
//! broker clears the cache at once; other brokers sharing the database notice within the TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use broker_store::{Principal, Store, StoreError};
use sha2::{Digest, Sha256};

/// Most cached keys; the cache is emptied when full (keys are few, this only bounds memory).
const MAX_CACHED: usize = 10_000;

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing API key: send `Authorization: Bearer <key>`")]
    Missing,
    /// The key is unknown or revoked (deliberately not told apart).
    #[error("invalid API key")]
    Invalid,
    /// The store could not be read.
    #[error("the key store is unavailable: {0}")]
    Store(StoreError),
}

/// Verifies API keys against the store, with a short cache.
pub struct Authenticator {
    store: Store,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Authenticator {
    /// An authenticator over `store`, caching verified keys for `ttl`.
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The principal behind the request's bearer key.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let key = bearer(headers).ok_or(AuthError::Missing)?;
        // The cache is keyed by a hash so plain keys are not kept in memory longer than needed.
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if let Some((principal, at)) = self.cache.lock().expect("auth cache lock").get(&digest)
            && at.elapsed() < self.ttl
        {
            return Ok(principal.clone());
        }
        let principal = match self.store.authenticate(key).await {
            Ok(principal) => principal,
            Err(StoreError::Unauthorized) => return Err(AuthError::Invalid),
            Err(e) => return Err(AuthError::Store(e)),
        };
        let mut cache = self.cache.lock().expect("auth cache lock");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(digest, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// Drops every cached key (after a key was revoked or rotated, or a tenant deleted).
    pub fn forget_all(&self) {
        self.cache.lock().expect("auth cache lock").clear();
    }
}

/// The key of an `Authorization: Bearer <key>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_keys_are_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "bearer  cbk_x ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("cbk_x"));
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
