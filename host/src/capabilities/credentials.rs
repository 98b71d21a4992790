//! The `credentials` capability: opaque handles to secrets the plugin signs with but never reads.
//!
//! `lookup` reads the calling tenant's account from the store; its secret goes into the
//! instance's resource table, on the host side, and never into guest memory.

use std::fmt;

use wasmtime::component::Resource;

use super::HostState;
use crate::bindings::credentials;

/// A secret value. Its `Debug` never shows it, so it cannot slip into a log line by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the signers only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a `credential` handle points to in the instance's resource table.
#[derive(Debug, Clone)]
pub struct CredentialEntry {
    /// The public key id (Tencent `SecretId`, Alibaba `AccessKeyId`, ...).
    pub id: String,
    /// The private key or token.
    pub secret: Secret,
    /// Where the secret itself may be sent (schemes that put it on the wire: `bearer`,
    /// `json-login`; the HMAC schemes send only a signature).
    pub clear_text: ClearText,
}

/// Where a credential's secret may travel in clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearText {
    /// An inline credential: it came in the request the plugin read, so it holds nothing back.
    Anywhere,
    /// A stored account: only to the host of the endpoint the operator registered with it
    /// (lower-case), or nowhere when it has none — a plugin must not be able to turn a stored
    /// key into a bearer token for a host of its choosing.
    OnlyTo(Option<String>),
}

impl CredentialEntry {
    /// Whether the secret may be sent in clear text to `host`; the refusal says why.
    pub fn may_disclose_to(&self, host: &str) -> Result<(), String> {
        match &self.clear_text {
            ClearText::Anywhere => Ok(()),
            ClearText::OnlyTo(Some(allowed)) if allowed.eq_ignore_ascii_case(host) => Ok(()),
            ClearText::OnlyTo(Some(allowed)) => Err(format!(
                "a stored account's secret is sent in clear text only to its endpoint's host \
                 `{allowed}`, not to `{host}`"
            )),
            ClearText::OnlyTo(None) => Err(format!(
                "a stored account without an endpoint is only used to sign; its secret is never \
                 sent in clear text (not to `{host}` either)"
            )),
        }
    }
}

impl credentials::Host for HostState {
    async fn lookup(
        &mut self,
        provider: String,
        name: String,
    ) -> wasmtime::Result<
        Result<(Resource<CredentialEntry>, credentials::Account), credentials::LookupError>,
    > {
        self.request.control.check()?;
        let started = std::time::Instant::now();
        let found = self
            .services
            .store
            .account_secret(&self.request.tenant, &provider, &name)
            .await;
        self.charge_host_time(started);
        let (account, secret) = match found {
            Ok(found) => found,
            Err(broker_store::StoreError::NotFound(_)) => {
                return Ok(Err(credentials::LookupError::NotFound(format!(
                    "tenant `{}` has no `{provider}` account named `{name}`",
                    self.request.tenant
                ))));
            }
            Err(e) => {
                tracing::error!(
                    plugin = %self.plugin.name,
                    request_id = %self.request.request_id,
                    error.type = "account_lookup_failed",
                    "account lookup failed: {e}"
                );
                return Ok(Err(credentials::LookupError::Unavailable(
                    "the account store is unavailable".into(),
                )));
            }
        };
        self.request.redactor.add(secret.expose());
        // The operator registered this server for the tenant: this request may reach it.
        let endpoint_host = account
            .endpoint
            .as_deref()
            .and_then(|e| url::Url::parse(e).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        if let Some(host) = &endpoint_host
            && !self.request.account_hosts.contains(host)
        {
            self.request.account_hosts.push(host.clone());
        }
        let key_id = account
            .secret_id
            .clone()
            .or_else(|| account.username.clone());
        let handle = self.table().push(CredentialEntry {
            id: key_id.clone().unwrap_or_default(),
            secret: Secret::new(secret.expose()),
            clear_text: ClearText::OnlyTo(endpoint_host),
        })?;
        Ok(Ok((
            handle,
            credentials::Account {
                provider: account.provider,
                name: account.name,
                key_id,
                default_region: account.default_region,
                endpoint: account.endpoint,
            },
        )))
    }
}

impl credentials::HostCredential for HostState {
    async fn inline(
        &mut self,
        id: String,
        secret: String,
    ) -> wasmtime::Result<Resource<CredentialEntry>> {
        self.request.control.check()?;
        self.request.redactor.add(&secret);
        let entry = CredentialEntry {
            id,
            secret: Secret::new(secret),
            clear_text: ClearText::Anywhere,
        };
        Ok(self.table().push(entry)?)
    }

    async fn id(&mut self, credential: Resource<CredentialEntry>) -> wasmtime::Result<String> {
        self.request.control.check()?;
        Ok(self.table().get(&credential)?.id.clone())
    }

    async fn drop(&mut self, credential: Resource<CredentialEntry>) -> wasmtime::Result<()> {
        self.table().delete(credential)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let entry = CredentialEntry {
            id: "AKID1".into(),
            secret: Secret::new("TOPSECRET"),
            clear_text: ClearText::Anywhere,
        };
        let shown = format!("{entry:?}");
        assert!(shown.contains("AKID1"));
        assert!(!shown.contains("TOPSECRET"));
    }

    #[test]
    fn a_stored_secret_goes_in_clear_text_only_to_its_endpoint() {
        let entry = |clear_text| CredentialEntry {
            id: "u".into(),
            secret: Secret::new("s"),
            clear_text,
        };
        let inline = entry(ClearText::Anywhere);
        assert!(inline.may_disclose_to("anything.example").is_ok());
        let bridgx = entry(ClearText::OnlyTo(Some("bridgx.example".into())));
        assert!(bridgx.may_disclose_to("BRIDGX.example").is_ok());
        let err = bridgx.may_disclose_to("evil.example").unwrap_err();
        assert!(
            err.contains("`bridgx.example`") && err.contains("`evil.example`"),
            "{err}"
        );
        let tencent = entry(ClearText::OnlyTo(None));
        assert!(tencent.may_disclose_to("vpc.tencentcloudapi.com").is_err());
    }
}
