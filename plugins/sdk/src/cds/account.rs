//! Which credential `provider_params` names: inline keys or a stored account.

use super::{PROVIDER, UPSTREAM_HOST, api_host};
use crate::{CdsParams, Credential, ErrorMessage, ProviderParams};

/// A credential to sign with, and the region to default `RegionId` to.
#[derive(Debug)]
pub struct Account {
    /// The key pair (inline) or the stored account's handle.
    pub credential: Credential,
    /// `Region` of `provider_params`, else the stored account's default region.
    pub region: Option<String>,
    /// The API host: `Endpoint` of `provider_params`, else the stored account's endpoint, else
    /// the default host.
    pub host: &'static str,
}

impl Account {
    /// The region, or an error naming `Region` as missing.
    pub fn require_region(&self) -> Result<&str, ErrorMessage> {
        self.region.as_deref().ok_or_else(|| {
            ErrorMessage::new(
                "provider_params is missing `Region` (and the stored account has no default region)",
            )
        })
    }
}

/// How `provider_params` names its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSource {
    /// `Region=...;AccessKeyId=...;AccessKeySecret=...`.
    Inline(CdsParams),
    /// A stored account: the whole text is its name, or `Account=<name>[;Region=...]`.
    Stored {
        /// The account's name.
        name: String,
        /// `Region`, if given.
        region: Option<String>,
    },
}

impl AccountSource {
    /// Parse `provider_params` (pure).
    pub fn parse(provider_params: &str) -> Result<Self, ErrorMessage> {
        let text = provider_params.trim();
        if text.is_empty() {
            return Err(ErrorMessage::new("provider_params is empty"));
        }
        if !text.contains('=') {
            return Ok(AccountSource::Stored {
                name: text.to_owned(),
                region: None,
            });
        }
        let params = ProviderParams::parse(text)?;
        match params.get("Account").filter(|a| !a.is_empty()) {
            Some(name) => Ok(AccountSource::Stored {
                name: name.to_owned(),
                region: params
                    .get("Region")
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            }),
            None => Ok(AccountSource::Inline(CdsParams::from_params(&params)?)),
        }
    }
}

/// The `Endpoint` of `provider_params`, if it has one (pure).
pub fn endpoint_param(provider_params: &str) -> Result<Option<&'static str>, ErrorMessage> {
    if !provider_params.contains('=') {
        return Ok(None);
    }
    match ProviderParams::parse(provider_params.trim())?.get("Endpoint") {
        Some(text) if !text.is_empty() => Ok(Some(api_host(text)?)),
        _ => Ok(None),
    }
}

/// Open the credential `provider_params` names (see [`AccountSource`]) and pick the API host
/// (see [`Account::host`]).
pub fn open_account(provider_params: &str) -> Result<Account, ErrorMessage> {
    let endpoint = endpoint_param(provider_params)?;
    match AccountSource::parse(provider_params)? {
        AccountSource::Inline(params) => Ok(Account {
            credential: params.credential(),
            region: params.region().map(str::to_owned),
            host: endpoint.unwrap_or(UPSTREAM_HOST),
        }),
        AccountSource::Stored { name, region } => {
            let (credential, account) = crate::lookup_account(PROVIDER, &name).map_err(|e| {
                ErrorMessage::new(match e {
                    crate::LookupError::NotFound(_) => {
                        format!(
                            "no Capital Online account named `{name}` is stored for this tenant"
                        )
                    }
                    crate::LookupError::Unavailable(why) => {
                        format!("the account store is unavailable: {why}")
                    }
                })
            })?;
            let host = match (endpoint, account.endpoint.as_deref()) {
                (Some(host), _) => host,
                (None, Some(stored)) if !stored.trim().is_empty() => api_host(stored)?,
                (None, _) => UPSTREAM_HOST,
            };
            Ok(Account {
                credential,
                region: region.or(account.default_region),
                host,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_params_name_inline_keys_or_a_stored_account() {
        assert_eq!(
            AccountSource::parse(" prod-account ").unwrap(),
            AccountSource::Stored {
                name: "prod-account".into(),
                region: None
            }
        );
        assert_eq!(
            AccountSource::parse("Account=prod;Region=CN_Beijing_A").unwrap(),
            AccountSource::Stored {
                name: "prod".into(),
                region: Some("CN_Beijing_A".into())
            }
        );
        assert!(matches!(
            AccountSource::parse("Region=CN_Beijing_A;AccessKeyId=AK;AccessKeySecret=x").unwrap(),
            AccountSource::Inline(_)
        ));
        assert_eq!(
            AccountSource::parse("Region=r;AccessKeyId=AK")
                .unwrap_err()
                .as_str(),
            "provider_params is missing `AccessKeySecret`"
        );
        assert!(AccountSource::parse("  ").is_err());
        assert_eq!(endpoint_param("prod").unwrap(), None);
        assert_eq!(
            endpoint_param("Account=prod;Endpoint=cdsapi-asia.capitalonline.net").unwrap(),
            Some("cdsapi-asia.capitalonline.net")
        );
        assert!(endpoint_param("AccessKeyId=a;AccessKeySecret=b;Endpoint=example.com").is_err());
    }
}
