//! Per-tenant policy: which plugins a tenant may call and how hard. The store only keeps it; the
//! host enforces it.

use crate::{Result, Store, StoreError, with_pool};

const UPSERT: &str = "INSERT INTO policies (tenant_id, allowed_plugins, max_concurrent, rate_per_minute) \
     SELECT id, $2, $3, $4 FROM tenants WHERE name = $1 \
     ON CONFLICT (tenant_id) DO UPDATE SET allowed_plugins = excluded.allowed_plugins, \
     max_concurrent = excluded.max_concurrent, rate_per_minute = excluded.rate_per_minute";
const SELECT: &str = "SELECT t.id, p.allowed_plugins, p.max_concurrent, p.rate_per_minute \
     FROM tenants t LEFT JOIN policies p ON p.tenant_id = t.id WHERE t.name = $1";

/// Limits for one tenant. `Default` (all `None`) is unrestricted, and is what a tenant without a
/// stored policy gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// Plugins the tenant may call; `None` = all installed plugins, `Some(vec![])` = none.
    pub allowed_plugins: Option<Vec<String>>,
    /// Most requests of the tenant running at once; `None` = no limit.
    pub max_concurrent: Option<u32>,
    /// Most requests per minute; `None` = no limit.
    pub rate_per_minute: Option<u32>,
}

impl Store {
    /// Replaces the tenant's policy.
    pub async fn set_policy(&self, tenant: &str, policy: &Policy) -> Result<()> {
        let plugins = policy
            .allowed_plugins
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("a list of strings serialises"));
        let done = with_pool!(self, pool => sqlx::query(UPSERT)
            .bind(tenant)
            .bind(&plugins)
            .bind(policy.max_concurrent.map(i64::from))
            .bind(policy.rate_per_minute.map(i64::from))
            .execute(pool).await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(crate::tenants::not_found(tenant));
        }
        Ok(())
    }

    /// The tenant's policy; [`Policy::default`] (unrestricted) if none was set.
    pub async fn policy(&self, tenant: &str) -> Result<Policy> {
        type Row = (String, Option<String>, Option<i64>, Option<i64>);
        let row: Option<Row> = with_pool!(self, pool =>
            sqlx::query_as(SELECT).bind(tenant).fetch_optional(pool).await)?;
        let (_, plugins, max_concurrent, rate) =
            row.ok_or_else(|| crate::tenants::not_found(tenant))?;
        let corrupt =
            |what: &str| StoreError::Invalid(format!("stored policy of {tenant:?}: bad {what}"));
        Ok(Policy {
            allowed_plugins: plugins
                .map(|p| serde_json::from_str(&p).map_err(|_| corrupt("allowed_plugins")))
                .transpose()?,
            max_concurrent: max_concurrent
                .map(|v| u32::try_from(v).map_err(|_| corrupt("max_concurrent")))
                .transpose()?,
            rate_per_minute: rate
                .map(|v| u32::try_from(v).map_err(|_| corrupt("rate_per_minute")))
                .transpose()?,
        })
    }
}
