//! API keys: how clients authenticate. Admin keys (no tenant) manage the broker; tenant keys act
//! for one tenant.
//!
//! A key is `cbk_` + 32 random bytes in unpadded base64url. Only its SHA-256 (hex) is stored, with
//! a short display prefix. A plain fast hash is enough because the key has 256 bits of entropy:
//! there is nothing to brute-force, unlike a password, so no salt or slow KDF is needed.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{Result, Store, StoreError, from_millis, now, to_millis, with_pool, with_tx};

/// Every key starts with this, so leaked keys are recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "cbk_";
/// Characters of the key body kept as the display prefix.
const DISPLAY_LEN: usize = 8;
const MAX_LABEL: usize = 128;

const INSERT_ADMIN: &str = "INSERT INTO api_keys (id, tenant_id, label, key_hash, prefix, created_at) \
     VALUES ($1, NULL, $2, $3, $4, $5)";
// Resolves the tenant in the same statement, so a concurrently deleted tenant is "0 rows", not a
// foreign-key error.
const INSERT_TENANT: &str = "INSERT INTO api_keys (id, tenant_id, label, key_hash, prefix, created_at) \
     SELECT $1, id, $2, $3, $4, $5 FROM tenants WHERE name = $6";
const AUTHENTICATE: &str = "SELECT k.id, k.revoked_at, k.tenant_id, t.name FROM api_keys k \
     LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1";
const REVOKE: &str = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
const EXISTS: &str = "SELECT revoked_at FROM api_keys WHERE id = $1";
// rotate: revoke the old key (only if still live: two concurrent rotations cannot both win),
// then insert the new one with the same tenant and label.
const ROTATE_REVOKE: &str =
    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";
const ROTATE_INSERT: &str = "INSERT INTO api_keys (id, tenant_id, label, key_hash, prefix, created_at) \
     SELECT $1, tenant_id, label, $2, $3, $4 FROM api_keys WHERE id = $5";
const LIST_ADMIN: &str = "SELECT k.id, NULL, k.label, k.prefix, k.created_at, k.revoked_at \
     FROM api_keys k WHERE k.tenant_id IS NULL ORDER BY k.created_at, k.id";
const LIST_TENANT: &str = "SELECT k.id, t.name, k.label, k.prefix, k.created_at, k.revoked_at \
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.name = $1 \
     ORDER BY k.created_at, k.id";

/// A newly issued key. `key` is the only copy of the plain text: show it once, then drop it.
#[derive(Clone)]
pub struct IssuedKey {
    /// Key id, for [`Store::revoke_key`] and [`Store::rotate_key`]; not secret.
    pub id: String,
    /// The full key (`cbk_…`), never stored by the broker.
    pub key: String,
    /// First characters after `cbk_`, to tell keys apart in listings.
    pub prefix: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("id", &self.id)
            .field("key", &"***")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Who a valid key belongs to: the answer of [`Store::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An operator key: may manage tenants, keys and accounts of every tenant.
    Admin {
        /// The key that authenticated, for audit.
        key_id: String,
    },
    /// A tenant key: may act for `tenant` only.
    Tenant {
        /// The tenant's name.
        tenant: String,
        /// The key that authenticated, for audit.
        key_id: String,
    },
}

/// A key as listed: everything but the key and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub id: String,
    /// Owning tenant; `None` for an admin key.
    pub tenant: Option<String>,
    /// Free text given at issue time ("ci", "alice's laptop").
    pub label: String,
    /// Display prefix (first characters after `cbk_`).
    pub prefix: String,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it was revoked or rotated away; `None` while it is valid.
    pub revoked_at: Option<OffsetDateTime>,
}

type ListRow = (String, Option<String>, String, String, i64, Option<i64>);

/// A fresh key with its stored form: (key, sha256 hex, display prefix).
fn new_key() -> (String, String, String) {
    // rand's thread RNG is a CSPRNG seeded from the OS.
    let bytes: [u8; 32] = rand::random();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let key = format!("{KEY_PREFIX}{body}");
    (hash(&key), body[..DISPLAY_LEN].to_owned(), key)
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn key_not_found(id: &str) -> StoreError {
    StoreError::NotFound(format!("key {id:?}"))
}

impl Store {
    /// Issues a key for `tenant`, or an admin key when `tenant` is `None`.
    pub async fn issue_key(&self, tenant: Option<&str>, label: &str) -> Result<IssuedKey> {
        if label.chars().count() > MAX_LABEL {
            return Err(StoreError::Invalid(format!(
                "key label is longer than {MAX_LABEL} characters"
            )));
        }
        let (key_hash, prefix, key) = new_key();
        let id = uuid::Uuid::new_v4().to_string();
        let created = to_millis(now());
        let inserted = with_pool!(self, pool => match tenant {
            None => sqlx::query(INSERT_ADMIN)
                .bind(&id).bind(label).bind(&key_hash).bind(&prefix).bind(created)
                .execute(pool).await?.rows_affected(),
            Some(name) => sqlx::query(INSERT_TENANT)
                .bind(&id).bind(label).bind(&key_hash).bind(&prefix).bind(created).bind(name)
                .execute(pool).await?.rows_affected(),
        });
        if inserted == 0 {
            return Err(crate::tenants::not_found(tenant.unwrap_or_default()));
        }
        Ok(IssuedKey { id, key, prefix })
    }

    /// Resolves a presented key to its [`Principal`]. Unknown, malformed and revoked keys all give
    /// the same [`StoreError::Unauthorized`], so a caller learns nothing about which it was.
    pub async fn authenticate(&self, key: &str) -> Result<Principal> {
        if !key.starts_with(KEY_PREFIX) || key.len() > 128 {
            return Err(StoreError::Unauthorized);
        }
        // Looking up by hash needs no constant-time compare: the database compares hashes of the
        // presented key, and timing tells an attacker at most how many leading hash characters of
        // *their guess* match a stored hash, which does not help find a key (SHA-256 preimage).
        type Row = (String, Option<i64>, Option<String>, Option<String>);
        let row: Option<Row> = with_pool!(self, pool =>
            sqlx::query_as(AUTHENTICATE).bind(hash(key)).fetch_optional(pool).await)?;
        // Admin only when the key row itself has no tenant: a tenant key whose tenant row were
        // somehow missing must fail, not fall through to admin.
        match row {
            Some((key_id, None, None, _)) => Ok(Principal::Admin { key_id }),
            Some((key_id, None, Some(_), Some(tenant))) => Ok(Principal::Tenant { tenant, key_id }),
            _ => Err(StoreError::Unauthorized),
        }
    }

    /// Revokes a key at once. Revoking an already revoked key is a no-op; an unknown id is
    /// [`StoreError::NotFound`].
    pub async fn revoke_key(&self, key_id: &str) -> Result<()> {
        let at = to_millis(now());
        let done = with_pool!(self, pool =>
            sqlx::query(REVOKE).bind(at).bind(key_id).execute(pool).await.map(|r| r.rows_affected()))?;
        if done == 0 {
            let exists: Option<(Option<i64>,)> = with_pool!(self, pool =>
                sqlx::query_as(EXISTS).bind(key_id).fetch_optional(pool).await)?;
            if exists.is_none() {
                return Err(key_not_found(key_id));
            }
        }
        Ok(())
    }

    /// Replaces a live key by a new one with the same tenant and label, in one transaction: the
    /// old key stops working exactly when the new one exists. A revoked key cannot be rotated
    /// ([`StoreError::Conflict`]), so a key is rotated at most once.
    pub async fn rotate_key(&self, key_id: &str) -> Result<IssuedKey> {
        let (key_hash, prefix, key) = new_key();
        let id = uuid::Uuid::new_v4().to_string();
        let at = to_millis(now());
        with_tx!(self, tx => {
            let revoked: Option<(String,)> = sqlx::query_as(ROTATE_REVOKE)
                .bind(at).bind(key_id).fetch_optional(&mut *tx).await?;
            if revoked.is_none() {
                let exists: Option<(Option<i64>,)> =
                    sqlx::query_as(EXISTS).bind(key_id).fetch_optional(&mut *tx).await?;
                return Err(match exists {
                    None => key_not_found(key_id),
                    Some(_) => StoreError::Conflict(format!("key {key_id:?} is already revoked")),
                });
            }
            sqlx::query(ROTATE_INSERT)
                .bind(&id).bind(&key_hash).bind(&prefix).bind(at).bind(key_id)
                .execute(&mut *tx).await?;
        });
        Ok(IssuedKey { id, key, prefix })
    }

    /// Keys of `tenant` (or the admin keys when `None`), revoked ones included, oldest first.
    /// Never returns a key or hash: those cannot be recovered, only rotated.
    pub async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyInfo>> {
        let rows: Vec<ListRow> = match tenant {
            None => with_pool!(self, pool => sqlx::query_as(LIST_ADMIN).fetch_all(pool).await)?,
            Some(name) => {
                let rows: Vec<ListRow> = with_pool!(self, pool =>
                    sqlx::query_as(LIST_TENANT).bind(name).fetch_all(pool).await)?;
                if rows.is_empty() {
                    self.tenant_id(name).await?; // NotFound for an unknown tenant
                }
                rows
            }
        };
        Ok(rows
            .into_iter()
            .map(|(id, tenant, label, prefix, created, revoked)| KeyInfo {
                id,
                tenant,
                label,
                prefix,
                created_at: from_millis(created),
                revoked_at: revoked.map(from_millis),
            })
            .collect())
    }
}
