//! Cloud accounts: per-tenant provider credentials. The secret is AES-256-GCM encrypted at rest
//! and leaves the store only through [`Store::account_secret`].

use time::OffsetDateTime;

use crate::{Result, Secret, Store, StoreError, from_millis, now, to_millis, with_pool};

const MAX_FIELD: usize = 256;

// Create or full update. Resolves the tenant in the same statement (0 rows = unknown tenant).
// created_at survives an update; every other column is replaced.
const UPSERT: &str = "INSERT INTO accounts (tenant_id, provider, name, secret_id, default_region, \
     endpoint, username, secret, created_at, updated_at) \
     SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $9 FROM tenants WHERE name = $1 \
     ON CONFLICT (tenant_id, provider, name) DO UPDATE SET secret_id = excluded.secret_id, \
     default_region = excluded.default_region, endpoint = excluded.endpoint, \
     username = excluded.username, secret = excluded.secret, updated_at = excluded.updated_at \
     RETURNING created_at";
const COLUMNS: &str = "t.name, a.provider, a.name, a.secret_id, a.default_region, a.endpoint, \
     a.username, a.created_at, a.updated_at";
const FROM: &str = "FROM accounts a JOIN tenants t ON t.id = a.tenant_id";
const DELETE: &str = "DELETE FROM accounts WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1) \
     AND provider = $2 AND name = $3";

fn list_sql() -> String {
    format!("SELECT {COLUMNS} {FROM} WHERE t.name = $1 ORDER BY a.provider, a.name")
}
fn get_sql() -> String {
    format!("SELECT {COLUMNS} {FROM} WHERE t.name = $1 AND a.provider = $2 AND a.name = $3")
}
/// The newest sealed secrets, for [`Store::check_secrets_key`].
const SAMPLE_SQL: &str = "SELECT t.name, a.provider, a.name, a.secret FROM accounts a \
     JOIN tenants t ON t.id = a.tenant_id ORDER BY a.updated_at DESC LIMIT 8";
const COUNT_SQL: &str = "SELECT COUNT(*) FROM accounts";

fn secret_sql() -> String {
    format!(
        "SELECT {COLUMNS}, a.secret {FROM} WHERE t.name = $1 AND a.provider = $2 AND a.name = $3"
    )
}

/// A stored cloud account, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Owning tenant's name.
    pub tenant: String,
    /// Provider plugin name, e.g. `qcloud`, `bridgx`.
    pub provider: String,
    /// The account's name within tenant and provider, e.g. a ClusterUuid.
    pub name: String,
    /// Public half of the credential (SecretId / AccessKeyId), if the provider has one.
    pub secret_id: Option<String>,
    /// Region used when a request names none.
    pub default_region: Option<String>,
    /// Upstream endpoint override, e.g. the BridgX server URL.
    pub endpoint: Option<String>,
    /// User name, for providers that log in (BridgX).
    pub username: Option<String>,
    /// When the account was first stored.
    pub created_at: OffsetDateTime,
    /// When it was last replaced by [`Store::put_account`].
    pub updated_at: OffsetDateTime,
}

/// Input of [`Store::put_account`]: the account's fields plus its secret.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Provider plugin name (no `/`).
    pub provider: String,
    /// Account name within tenant and provider.
    pub name: String,
    /// See [`Account::secret_id`].
    pub secret_id: Option<String>,
    /// See [`Account::default_region`].
    pub default_region: Option<String>,
    /// See [`Account::endpoint`].
    pub endpoint: Option<String>,
    /// See [`Account::username`].
    pub username: Option<String>,
    /// Secret key or password; encrypted before it reaches the database.
    pub secret: Secret,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
type SecretRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Vec<u8>,
);

fn from_row(r: Row) -> Account {
    Account {
        tenant: r.0,
        provider: r.1,
        name: r.2,
        secret_id: r.3,
        default_region: r.4,
        endpoint: r.5,
        username: r.6,
        created_at: from_millis(r.7),
        updated_at: from_millis(r.8),
    }
}

/// The AAD binding a ciphertext to its row, so a ciphertext copied to another account (or
/// tenant) does not decrypt. Unambiguous because tenant and provider cannot contain `/`.
fn aad(tenant: &str, provider: &str, name: &str) -> String {
    format!("{tenant}/{provider}/{name}")
}

fn validate(account: &NewAccount) -> Result<()> {
    let provider = &account.provider;
    if provider.is_empty() || provider.len() > 64 || provider.contains('/') {
        return Err(StoreError::Invalid(format!(
            "provider {provider:?} must be 1-64 characters without '/'"
        )));
    }
    if account.name.is_empty() || account.name.len() > MAX_FIELD {
        return Err(StoreError::Invalid(format!(
            "account name must be 1-{MAX_FIELD} characters"
        )));
    }
    let fields = [
        &account.secret_id,
        &account.default_region,
        &account.endpoint,
        &account.username,
    ];
    if fields
        .iter()
        .any(|f| f.as_ref().is_some_and(|v| v.len() > 2048))
    {
        return Err(StoreError::Invalid(
            "account field longer than 2048 bytes".into(),
        ));
    }
    Ok(())
}

fn not_found(tenant: &str, provider: &str, name: &str) -> StoreError {
    StoreError::NotFound(format!("account {:?}", aad(tenant, provider, name)))
}

impl Store {
    /// Creates the account or replaces all its fields and secret (keyed by tenant, provider,
    /// name). The secret is sealed with a fresh nonce on every write.
    pub async fn put_account(&self, tenant: &str, account: NewAccount) -> Result<Account> {
        crate::tenants::validate_name(tenant).map_err(|_| crate::tenants::not_found(tenant))?;
        validate(&account)?;
        let NewAccount {
            provider,
            name,
            secret_id,
            default_region,
            endpoint,
            username,
            secret,
        } = account;
        let sealed = self
            .secrets
            .seal(&aad(tenant, &provider, &name), secret.expose().as_bytes())?;
        let at = now();
        let created: Option<(i64,)> = with_pool!(self, pool => sqlx::query_as(UPSERT)
            .bind(tenant).bind(&provider).bind(&name).bind(&secret_id).bind(&default_region)
            .bind(&endpoint).bind(&username).bind(&sealed).bind(to_millis(at))
            .fetch_optional(pool).await)?;
        let (created,) = created.ok_or_else(|| crate::tenants::not_found(tenant))?;
        Ok(Account {
            tenant: tenant.to_owned(),
            provider,
            name,
            secret_id,
            default_region,
            endpoint,
            username,
            created_at: from_millis(created),
            updated_at: at,
        })
    }

    /// The tenant's accounts (no secrets), ordered by provider and name.
    pub async fn list_accounts(&self, tenant: &str) -> Result<Vec<Account>> {
        let sql = list_sql();
        let rows: Vec<Row> =
            with_pool!(self, pool => sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await)?;
        if rows.is_empty() {
            self.tenant_id(tenant).await?; // NotFound for an unknown tenant
        }
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// One account without its secret, or [`StoreError::NotFound`].
    pub async fn get_account(&self, tenant: &str, provider: &str, name: &str) -> Result<Account> {
        let sql = get_sql();
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(tenant).bind(provider).bind(name).fetch_optional(pool).await)?;
        row.map(from_row)
            .ok_or_else(|| not_found(tenant, provider, name))
    }

    /// Deletes one account, or [`StoreError::NotFound`].
    pub async fn delete_account(&self, tenant: &str, provider: &str, name: &str) -> Result<()> {
        let done = with_pool!(self, pool => sqlx::query(DELETE)
            .bind(tenant).bind(provider).bind(name).execute(pool).await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(not_found(tenant, provider, name));
        }
        Ok(())
    }

    /// The account with its decrypted secret: the only way a secret leaves the store, meant for
    /// the host's request signer. Fails with [`StoreError::Crypto`] if the store's key is not the
    /// one that sealed it or the stored value was altered or moved.
    pub async fn account_secret(
        &self,
        tenant: &str,
        provider: &str,
        name: &str,
    ) -> Result<(Account, Secret)> {
        let sql = secret_sql();
        let row: Option<SecretRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(tenant).bind(provider).bind(name).fetch_optional(pool).await)?;
        let r = row.ok_or_else(|| not_found(tenant, provider, name))?;
        let plain = self.secrets.open(&aad(&r.0, &r.1, &r.2), &r.9)?;
        let secret = String::from_utf8(plain)
            .map_err(|_| StoreError::Crypto("stored secret is not UTF-8".into()))?;
        let account = from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8));
        Ok((account, Secret::new(secret)))
    }

    /// Checks that this store's secrets key opens the stored secrets, so a broker started with
    /// a lost or different key is stopped at once instead of failing every request that signs.
    ///
    /// Tries the newest few sealed secrets and succeeds if any opens (one row altered by hand
    /// must not stop the broker), or if there are none. Fails with [`StoreError::Crypto`] when
    /// none opens.
    pub async fn check_secrets_key(&self) -> Result<()> {
        let sample: Vec<(String, String, String, Vec<u8>)> =
            with_pool!(self, pool => sqlx::query_as(SAMPLE_SQL).fetch_all(pool).await)?;
        let opens = |(tenant, provider, name, blob): &(String, String, String, Vec<u8>)| {
            self.secrets
                .open(&aad(tenant, provider, name), blob)
                .is_ok()
        };
        if sample.is_empty() || sample.iter().any(opens) {
            return Ok(());
        }
        let total: i64 =
            with_pool!(self, pool => sqlx::query_scalar(COUNT_SQL).fetch_one(pool).await)?;
        let (tenant, provider, name, _) = &sample[0];
        Err(StoreError::Crypto(format!(
            "the secrets key does not open the stored account secrets ({total} accounts, e.g. \
             {}): they were sealed with another key",
            aad(tenant, provider, name)
        )))
    }
}
