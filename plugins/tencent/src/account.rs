//! Whose account a request uses: the body's `TenantUuid` must be the caller's tenant, and its
//! `ClusterUuid` names a `tencent` account the operator registered for that tenant.
//!
//! Credentials are never accepted in the body: the secret stays in the broker's account store
//! and the plugin signs with an opaque handle ([`open`]).

use broker_sdk::envelope::tencent::{Failure, Fields};
use broker_sdk::{Credential, LookupError, lookup_account};

/// The provider name stored accounts are registered under.
pub const PROVIDER: &str = "tencent";

/// Top-level body fields that would carry credentials, compared after lower-casing and dropping
/// `_` and `-` (so `SecretKey`, `secret_key` and `secret-key` all match).
const CREDENTIAL_FIELDS: &[&str] = &[
    "secretid",
    "secretkey",
    "secret",
    "token",
    "sessiontoken",
    "accesskeyid",
    "accesskeysecret",
    "providerparams",
    "credential",
    "credentials",
];

/// The tenant, cluster and region a request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The tenant (equal to the caller's).
    pub tenant: String,
    /// The stored account's name (`ClusterUuid`).
    pub cluster: String,
    /// The Tencent region (`Region`).
    pub region: String,
}

/// Checks the body against the calling tenant: no credentials, `TenantUuid` the caller's own
/// (403 otherwise), `ClusterUuid` and `Region` present.
pub fn scope(fields: &Fields, caller_tenant: &str) -> Result<Scope, Failure> {
    if let Some(name) = fields.map().keys().find(|k| is_credential_field(k)) {
        return Err(Failure::forbidden(
            format!(
                "credentials are not accepted in the request body (field `{name}`): register the \
                 account with the broker and name it with `ClusterUuid`"
            ),
            format!(
                "请求体中不接受凭据（参数 `{name}`）：请在代理中注册账号，并通过 `ClusterUuid` 引用"
            ),
        ));
    }
    let tenant = fields.required_str("TenantUuid")?;
    if tenant != caller_tenant {
        return Err(Failure::forbidden(
            format!(
                "`TenantUuid` `{tenant}` is not the caller's tenant `{caller_tenant}`: a tenant key \
                 acts only for its own tenant (an admin key names the tenant in `X-Broker-Tenant`)"
            ),
            format!(
                "`TenantUuid` `{tenant}` 不是调用者所属租户 `{caller_tenant}`：租户密钥只能操作本租户\
                 （管理员密钥须通过 `X-Broker-Tenant` 指定租户）"
            ),
        ));
    }
    Ok(Scope {
        tenant: tenant.to_owned(),
        cluster: fields.required_str("ClusterUuid")?.to_owned(),
        region: fields.required_str("Region")?.to_owned(),
    })
}

fn is_credential_field(name: &str) -> bool {
    let normal: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    CREDENTIAL_FIELDS.contains(&normal.as_str())
}

/// Opens the scope's stored account: a credential handle the host signs with.
pub fn open(scope: &Scope) -> Result<Credential, Failure> {
    lookup_account(PROVIDER, &scope.cluster)
        .map(|(credential, _account)| credential)
        .map_err(|error| lookup_failure(scope, &error))
}

/// The answer for a failed account lookup: 404 for an unknown cluster (another tenant's
/// accounts are unknown too), 500 when the store cannot be read.
pub fn lookup_failure(scope: &Scope, error: &LookupError) -> Failure {
    let Scope {
        tenant, cluster, ..
    } = scope;
    match error {
        LookupError::NotFound(_) => Failure::not_found(
            format!(
                "cluster `{cluster}` is not registered for tenant `{tenant}` (no `{PROVIDER}` \
                 account with that name)"
            ),
            format!("租户 `{tenant}` 下不存在集群 `{cluster}`（未注册该名称的 `{PROVIDER}` 账号）"),
        ),
        LookupError::Unavailable(why) => Failure::server(
            format!("the account store is unavailable: {why}"),
            format!("账号存储不可用：{why}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_sdk::envelope::tencent::{SCODE_FORBIDDEN, SCODE_NOT_FOUND, SCODE_PARAMETER};
    use serde_json::{Value, json};

    fn fields(value: Value) -> Fields {
        Fields::parse(value.to_string().as_bytes()).unwrap()
    }

    fn body() -> Value {
        json!({"Region": "ap-guangzhou", "TenantUuid": "system", "ClusterUuid": "c-1"})
    }

    #[test]
    fn the_callers_own_tenant_gives_the_scope() {
        assert_eq!(
            scope(&fields(body()), "system").unwrap(),
            Scope {
                tenant: "system".into(),
                cluster: "c-1".into(),
                region: "ap-guangzhou".into()
            }
        );
    }

    #[test]
    fn another_tenant_is_refused_with_403() {
        let f = scope(&fields(body()), "acme").unwrap_err();
        assert_eq!((f.scode, f.status), (SCODE_FORBIDDEN, 403));
        assert!(f.message.contains("`system`") && f.message.contains("`acme`"));
        assert!(f.message_cn.contains("租户"));
    }

    #[test]
    fn credentials_in_the_body_are_refused_in_any_spelling() {
        for key in [
            "SecretKey",
            "secret_id",
            "SECRET-KEY",
            "provider_params",
            "Token",
        ] {
            let mut b = body();
            b[key] = json!("x");
            let f = scope(&fields(b), "system").unwrap_err();
            assert_eq!((f.scode, f.status), (SCODE_FORBIDDEN, 403), "{key}");
            assert!(f.message.contains(key), "{}", f.message);
        }
    }

    #[test]
    fn tenant_cluster_and_region_are_required() {
        for key in ["TenantUuid", "ClusterUuid", "Region"] {
            let mut b = body();
            b.as_object_mut().unwrap().remove(key);
            let f = scope(&fields(b), "system").unwrap_err();
            assert_eq!(f.scode, SCODE_PARAMETER, "{key}");
            assert_eq!(f.message, format!("missing required field `{key}`"));
        }
        let mut b = body();
        b["Region"] = json!(7);
        assert_eq!(
            scope(&fields(b), "system").unwrap_err().message,
            "field `Region` must be a string, got number"
        );
    }

    #[test]
    fn an_unknown_cluster_is_404_naming_tenant_and_cluster() {
        let s = scope(&fields(body()), "system").unwrap();
        let f = lookup_failure(&s, &LookupError::NotFound("x".into()));
        assert_eq!((f.scode, f.status), (SCODE_NOT_FOUND, 404));
        assert!(f.message.contains("`c-1`") && f.message.contains("`system`"));
        assert!(f.message_cn.contains("不存在集群"));
        assert_eq!(
            lookup_failure(&s, &LookupError::Unavailable("db".into())).status,
            500
        );
    }
}
