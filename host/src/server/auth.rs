//! API keys: every request but `/healthz` carries `Authorization: Bearer <key>`.
//!
//! The store holds only key hashes; verified keys are cached here for a few seconds so the hot
//! path does not query the database on every request. Revoking or rotating a key through this
//! broker clears the cache at once; other brokers sharing the database notice within the TTL.
//!
//! Invalid keys are cached too (briefly, bounded), and failed authentications are rate-limited
//! per client address, so a stream of made-up `cbk_…` keys costs neither a query each nor
//! unbounded memory.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};
use broker_store::{Principal, Store, StoreError};
use sha2::{Digest, Sha256};

/// Most cached keys; the cache is emptied when full (keys are few, this only bounds memory).
const MAX_CACHED: usize = 10_000;

/// Most cached invalid keys: made-up keys are unlimited in number, so expired ones are dropped
/// when the cache is full, and all of them if that is not enough.
const MAX_REJECTED: usize = 10_000;

/// Most client addresses whose failures are tracked; beyond it, addresses whose budget is full
/// again are forgotten first.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing API key: send `Authorization: Bearer <key>`")]
    Missing,
    /// The key is unknown or revoked (deliberately not told apart).
    #[error("invalid API key")]
    Invalid,
    /// The client's address failed to authenticate too often.
    #[error("too many failed authentications from this address; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the address may try again.
        retry_after_secs: u64,
    },
    /// The store could not be read. The detail is for the log, never for the client.
    #[error("the key store is unavailable")]
    Store(#[source] StoreError),
}

/// The client address of a request, from the `ConnectInfo` the server attaches; `None` when the
/// server did not attach one (all such requests then share one failure budget).
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Verifies API keys against the store, with a short cache.
pub struct Authenticator {
    store: Store,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// Digests of keys the store refused, with when.
    rejected: Mutex<HashMap<[u8; 32], Instant>>,
    failures: Mutex<FailureBudget>,
}

/// Locks `mutex`; nothing panics while these locks are held and each update is one step, so a
/// poisoned lock still guards consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Authenticator {
    /// An authenticator over `store`, caching verified and invalid keys for `ttl`, allowing each
    /// client address `failures_per_minute` failed authentications (0: unlimited).
    pub fn new(store: Store, ttl: Duration, failures_per_minute: u32) -> Self {
        Self {
            store,
            ttl,
            cache: Mutex::new(HashMap::new()),
            rejected: Mutex::new(HashMap::new()),
            failures: Mutex::new(FailureBudget::new(failures_per_minute)),
        }
    }

    /// The principal behind the request's bearer key; `peer` is the client's address.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let key = bearer(headers).ok_or(AuthError::Missing)?;
        // The cache is keyed by a hash so plain keys are not kept in memory longer than needed.
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if let Some((principal, at)) = lock(&self.cache).get(&digest)
            && at.elapsed() < self.ttl
        {
            return Ok(principal.clone());
        }
        let address = bucket_address(peer);
        if let Some(wait) = lock(&self.failures).blocked(address, Instant::now()) {
            return Err(AuthError::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        let known_bad = lock(&self.rejected)
            .get(&digest)
            .is_some_and(|at| at.elapsed() < self.ttl);
        if known_bad {
            lock(&self.failures).failed(address, Instant::now());
            return Err(AuthError::Invalid);
        }
        let principal = match self.store.authenticate(key).await {
            Ok(principal) => principal,
            Err(StoreError::Unauthorized) => {
                self.remember_rejected(digest);
                lock(&self.failures).failed(address, Instant::now());
                return Err(AuthError::Invalid);
            }
            Err(e) => return Err(AuthError::Store(e)),
        };
        let mut cache = lock(&self.cache);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(digest, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    fn remember_rejected(&self, digest: [u8; 32]) {
        let mut rejected = lock(&self.rejected);
        if rejected.len() >= MAX_REJECTED {
            rejected.retain(|_, at| at.elapsed() < self.ttl);
            if rejected.len() >= MAX_REJECTED {
                rejected.clear();
            }
        }
        rejected.insert(digest, Instant::now());
    }

    /// Drops every cached key (after a key was revoked or rotated, or a tenant deleted).
    pub fn forget_all(&self) {
        lock(&self.cache).clear();
        lock(&self.rejected).clear();
    }
}

/// The address whose budget a client spends: IPv6 clients by /64 (one host usually holds a
/// whole /64); unknown clients share the unspecified address.
fn bucket_address(peer: Option<IpAddr>) -> IpAddr {
    match peer {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        Some(v4) => v4,
    }
}

/// Failed authentications per address: a token bucket of `per_minute` failures, refilled
/// continuously; an address with no token left is refused before its key is looked up.
struct FailureBudget {
    per_minute: u32,
    addresses: HashMap<IpAddr, (f64, Instant)>,
}

impl FailureBudget {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            addresses: HashMap::new(),
        }
    }

    fn rate_per_sec(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// The tokens `address` has at `now`.
    fn tokens(&self, address: IpAddr, now: Instant) -> f64 {
        let full = f64::from(self.per_minute);
        self.addresses.get(&address).map_or(full, |(tokens, at)| {
            let elapsed = now.saturating_duration_since(*at).as_secs_f64();
            (tokens + elapsed * self.rate_per_sec()).min(full)
        })
    }

    /// How long `address` must wait, if it spent its budget.
    fn blocked(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        if self.per_minute == 0 {
            return None;
        }
        let tokens = self.tokens(address, now);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / self.rate_per_sec()))
    }

    /// Spends one failure of `address`.
    fn failed(&mut self, address: IpAddr, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let tokens = (self.tokens(address, now) - 1.0).max(0.0);
        if self.addresses.len() >= MAX_TRACKED_ADDRESSES && !self.addresses.contains_key(&address) {
            let full = f64::from(self.per_minute);
            let rate = self.rate_per_sec();
            self.addresses.retain(|_, (t, at)| {
                *t + now.saturating_duration_since(*at).as_secs_f64() * rate < full
            });
            if self.addresses.len() >= MAX_TRACKED_ADDRESSES {
                self.addresses.clear();
            }
        }
        self.addresses.insert(address, (tokens, now));
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

    #[test]
    fn an_address_is_blocked_after_its_failures_and_recovers_over_time() {
        let start = Instant::now();
        let mut budget = FailureBudget::new(3);
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        for _ in 0..3 {
            assert_eq!(budget.blocked(a, start), None);
            budget.failed(a, start);
        }
        let wait = budget.blocked(a, start).unwrap();
        assert!((19.0..=21.0).contains(&wait.as_secs_f64()), "{wait:?}");
        assert_eq!(
            budget.blocked(b, start),
            None,
            "other addresses are not affected"
        );
        assert_eq!(budget.blocked(a, start + Duration::from_secs(21)), None);
        assert_eq!(
            FailureBudget::new(0).blocked(a, start),
            None,
            "0 turns it off"
        );
    }

    #[test]
    fn tracked_addresses_are_bounded() {
        let now = Instant::now();
        let mut budget = FailureBudget::new(10);
        for n in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            budget.failed(IpAddr::V4(Ipv4Addr::from(n)), now);
        }
        assert!(budget.addresses.len() <= MAX_TRACKED_ADDRESSES);
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64_and_unknown_clients_share_one() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket_address(Some(one)), bucket_address(Some(two)));
        assert_ne!(bucket_address(Some(one)), bucket_address(Some(other)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            bucket_address(Some(mapped)),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(bucket_address(None), bucket_address(None));
    }

    async fn authenticator(failures_per_minute: u32) -> (Authenticator, Store) {
        let store = Store::open(
            "sqlite::memory:",
            broker_store::SecretsKey::from_bytes([3; 32]),
        )
        .await
        .unwrap();
        let auth = Authenticator::new(store.clone(), Duration::from_secs(60), failures_per_minute);
        (auth, store)
    }

    fn with_key(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn an_invalid_key_is_looked_up_once_then_answered_from_the_cache() {
        let (auth, store) = authenticator(0).await;
        let bad = with_key("cbk_made-up");
        assert!(matches!(
            auth.authenticate(&bad, None).await,
            Err(AuthError::Invalid)
        ));
        // With the store gone, only a cached answer can still say "invalid".
        store.close().await;
        assert!(matches!(
            auth.authenticate(&bad, None).await,
            Err(AuthError::Invalid)
        ));
        let other = auth.authenticate(&with_key("cbk_other"), None).await;
        assert!(matches!(other, Err(AuthError::Store(_))), "{other:?}");
        assert_eq!(
            other.unwrap_err().to_string(),
            "the key store is unavailable"
        );
    }

    #[tokio::test]
    async fn failed_authentications_are_throttled_per_address_but_cached_keys_pass() {
        let (auth, store) = authenticator(2).await;
        store.create_tenant("t").await.unwrap();
        let good = with_key(&store.issue_key(Some("t"), "k").await.unwrap().key);
        let peer = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)));
        auth.authenticate(&good, peer).await.unwrap();
        for n in 0..2 {
            let bad = with_key(&format!("cbk_bad{n}"));
            assert!(matches!(
                auth.authenticate(&bad, peer).await,
                Err(AuthError::Invalid)
            ));
        }
        let throttled = auth.authenticate(&with_key("cbk_bad9"), peer).await;
        assert!(
            matches!(
                throttled,
                Err(AuthError::Throttled {
                    retry_after_secs: 30
                })
            ),
            "{throttled:?}"
        );
        assert!(
            auth.authenticate(&good, peer).await.is_ok(),
            "a verified key still passes"
        );
        let elsewhere = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)));
        assert!(matches!(
            auth.authenticate(&with_key("cbk_bad9"), elsewhere).await,
            Err(AuthError::Invalid)
        ));
    }
}
