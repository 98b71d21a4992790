//! Tenants: the unit of isolation. Everything else (keys, accounts, policy) hangs off one.

use time::OffsetDateTime;

use crate::{Result, Store, StoreError, from_millis, now, to_millis, with_pool, with_tx};

const INSERT: &str = "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)";
const SELECT_ALL: &str = "SELECT id, name, created_at FROM tenants ORDER BY name";
const SELECT_BY_NAME: &str = "SELECT id, name, created_at FROM tenants WHERE name = $1";
const SELECT_ID: &str = "SELECT id FROM tenants WHERE name = $1";
// delete_tenant: children first (foreign keys), all in one transaction. Audit rows stay.
const DELETE_KEYS: &str =
    "DELETE FROM api_keys WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1)";
const DELETE_ACCOUNTS: &str =
    "DELETE FROM accounts WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1)";
const DELETE_POLICY: &str =
    "DELETE FROM policies WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1)";
const DELETE_TENANT: &str = "DELETE FROM tenants WHERE name = $1";

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Stable random id (UUID v4), for references that must survive a future rename.
    pub id: String,
    /// The unique name clients and operators use: 1–64 of `[a-z0-9-]`.
    pub name: String,
    /// When it was created (millisecond precision).
    pub created_at: OffsetDateTime,
}

type Row = (String, String, i64);

fn from_row((id, name, created_at): Row) -> Tenant {
    Tenant {
        id,
        name,
        created_at: from_millis(created_at),
    }
}

/// Checks the tenant-name rule; names appear in URLs, logs and the secrets' AAD, hence the
/// small alphabet (no `/`).
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "tenant name {name:?} must be 1-64 characters of a-z, 0-9 and -"
        )))
    }
}

pub(crate) fn not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("tenant {name:?}"))
}

impl Store {
    /// Creates a tenant; a taken name is [`StoreError::Conflict`], a bad one [`StoreError::Invalid`].
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        validate_name(name)?;
        let tenant = Tenant {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            created_at: now(),
        };
        let inserted = with_pool!(self, pool => sqlx::query(INSERT)
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(to_millis(tenant.created_at))
            .execute(pool)
            .await
            .map(drop));
        match inserted {
            Ok(_) => Ok(tenant),
            Err(e) if crate::error::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "tenant {name:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// All tenants, ordered by name.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<Row> =
            with_pool!(self, pool => sqlx::query_as(SELECT_ALL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// One tenant by name, or [`StoreError::NotFound`].
    pub async fn get_tenant(&self, name: &str) -> Result<Tenant> {
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(SELECT_BY_NAME).bind(name).fetch_optional(pool).await)?;
        row.map(from_row).ok_or_else(|| not_found(name))
    }

    /// Deletes a tenant with its API keys, accounts and policy in one transaction (all or
    /// nothing). Its audit rows are kept: they record what happened, not current state.
    pub async fn delete_tenant(&self, name: &str) -> Result<()> {
        with_tx!(self, tx => {
            // The first statement writes, so SQLite holds the write lock for the whole delete.
            for sql in [DELETE_KEYS, DELETE_ACCOUNTS, DELETE_POLICY] {
                sqlx::query(sql).bind(name).execute(&mut *tx).await?;
            }
            let deleted = sqlx::query(DELETE_TENANT).bind(name).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Err(not_found(name)); // drops tx: rollback (nothing was deleted anyway)
            }
        });
        Ok(())
    }

    /// The internal id of tenant `name`, or [`StoreError::NotFound`].
    pub(crate) async fn tenant_id(&self, name: &str) -> Result<String> {
        let id: Option<(String,)> = with_pool!(self, pool => sqlx::query_as(SELECT_ID).bind(name).fetch_optional(pool).await)?;
        id.map(|(id,)| id).ok_or_else(|| not_found(name))
    }
}
