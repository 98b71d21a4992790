//! The `signed-http` capability: the only egress a plugin has.
//!
//! For each `send` the host: counts the call against the request's budget; checks the URL
//! against the plugin's declared hosts and applies the operator's mapping (`egress.rs`); signs
//! the request with the credential, which never leaves the host (`signing.rs`, `sign/`); sends
//! it with a timeout, refusing forbidden resolved addresses, and caps the response size
//! (`client.rs`).

mod client;
mod egress;
pub mod sign;
mod signing;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use broker_store::UpstreamCall;
use url::Url;
use wasmtime::component::Resource;

pub use client::HttpClient;
pub use egress::{Egress, HostPattern, UpstreamMap, forbidden_address};

use super::HostState;
use super::credentials::CredentialEntry;
use crate::bindings::signed_http::{self, HttpError, IncomingResponse, OutgoingRequest, Signing};
use crate::metrics::Limit;

/// Real time kept back from an upstream call's timeout when the call's wall-clock limit is
/// near, so the plugin can still answer.
const UPSTREAM_RESERVE: Duration = Duration::from_millis(500);

impl signed_http::Host for HostState {
    async fn send(
        &mut self,
        request: OutgoingRequest,
        signing: Signing,
        credential: Option<Resource<CredentialEntry>>,
    ) -> wasmtime::Result<Result<IncomingResponse, HttpError>> {
        self.request.control.check()?;
        let services = self.services.clone();
        let limits = self.plugin.limits.clone();
        if self.request.host_calls >= limits.host_calls {
            tracing::warn!(
                plugin = %self.plugin.name,
                request_id = %self.request.request_id,
                error.type = "host_call_budget_exceeded",
                "plugin spent its budget of {} upstream calls", limits.host_calls
            );
            self.plugin.counters.limit_hit(Limit::HostCalls);
            return Ok(Err(HttpError::BudgetExhausted));
        }
        self.request.host_calls += 1;

        let credential = match credential {
            Some(handle) => Some(self.table().get(&handle)?.clone()),
            None => None,
        };
        let prepared = match self.prepare(request.clone(), &signing, credential.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                if let HttpError::Denied(why) = &e {
                    self.plugin.counters.egress_denied();
                    tracing::warn!(
                        plugin = %self.plugin.name,
                        request_id = %self.request.request_id,
                        error.type = "egress_denied",
                        "upstream request refused: {why}"
                    );
                }
                return Ok(Err(e));
            }
        };

        let (dest, method, headers, body) = prepared;
        // Recorded before sending, so a cancel's answer lists a call that is in flight.
        self.request
            .control
            .record_upstream(upstream_call(&request.url, &dest.url, &headers))?;
        let timeout = request
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(limits.upstream_timeout())
            .min(limits.upstream_timeout())
            // Never past the call's own wall-clock limit: the plugin gets a `timeout` it can
            // report for this input instead of the whole call being cut off.
            .min(
                self.request
                    .remaining(&limits)
                    .saturating_sub(UPSTREAM_RESERVE),
            )
            .max(Duration::from_millis(1));
        let started = Instant::now();
        let result = services
            .http
            .send(
                &dest,
                method,
                headers,
                body,
                timeout,
                limits.upstream_response_bytes,
            )
            .await;
        self.charge_host_time(started);
        if let Err(HttpError::Denied(why)) = &result {
            // Refused after DNS: the name resolved to a forbidden address.
            self.plugin.counters.egress_denied();
            tracing::warn!(
                plugin = %self.plugin.name,
                request_id = %self.request.request_id,
                error.type = "egress_denied",
                "upstream request refused: {why}"
            );
        }
        tracing::debug!(
            plugin = %self.plugin.name,
            request_id = %self.request.request_id,
            host = dest.url.host_str().unwrap_or_default(),
            status = result.as_ref().map(|r| r.status).unwrap_or_default(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream call"
        );
        Ok(result)
    }
}

/// The upstream call as an operation records it: the host the plugin named, and the API
/// action where the signing scheme carries one (Tencent's `X-TC-Action` header, the `Action`
/// query parameter of Alibaba RPC and Capital Online).
fn upstream_call(named: &str, sent: &Url, headers: &[(String, String)]) -> UpstreamCall {
    let host = Url::parse(named)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| sent.host_str().unwrap_or_default().to_string());
    let action = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-tc-action"))
        .map(|(_, value)| value.clone())
        .or_else(|| {
            sent.query_pairs()
                .find(|(name, _)| name == "Action")
                .map(|(_, value)| value.into_owned())
        });
    UpstreamCall { host, action }
}

type Ready = (
    egress::Destination,
    reqwest::Method,
    Vec<(String, String)>,
    Vec<u8>,
);

impl HostState {
    /// Validates, routes and signs a request; nothing is sent yet.
    fn prepare(
        &self,
        mut request: OutgoingRequest,
        signing: &Signing,
        credential: Option<&CredentialEntry>,
    ) -> Result<Ready, HttpError> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| HttpError::InvalidRequest(format!("bad URL `{}`: {e}", request.url)))?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.drain(..));
        }
        let dest = self
            .plugin
            .egress
            .route(&url, &self.request.account_hosts)
            .map_err(HttpError::Denied)?;
        if matches!(signing, Signing::Bearer | Signing::JsonLogin(_))
            && let Some(credential) = credential
        {
            credential
                .may_disclose_to(url.host_str().unwrap_or_default())
                .map_err(HttpError::Denied)?;
        }
        for header in &request.headers {
            let name = header.name.to_ascii_lowercase();
            if matches!(name.as_str(), "host" | "authorization" | "content-length")
                || name.starts_with("x-tc-")
            {
                return Err(HttpError::InvalidRequest(format!(
                    "header `{}` is set by the host and may not be given",
                    header.name
                )));
            }
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(&header.value).is_err()
            {
                return Err(HttpError::InvalidRequest(format!(
                    "invalid header `{}`",
                    header.name
                )));
            }
        }
        let method = request.method.as_str();
        let mut prepared = signing::Prepared {
            url: dest.url.clone(),
            method: method.to_string(),
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let nonce = uuid::Uuid::new_v4().to_string();
        signing::apply(signing, credential, &mut prepared, now, &nonce)
            .map_err(HttpError::InvalidRequest)?;
        let dest = egress::Destination {
            url: prepared.url,
            mapped: dest.mapped,
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("standard method");
        Ok((dest, method, prepared.headers, prepared.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_call_names_the_declared_host_and_the_action_of_either_scheme() {
        let sent = Url::parse("http://127.0.0.1:9/?Action=CreateVpc&Version=1").unwrap();
        let rpc = upstream_call("https://ecs.aliyuncs.com/", &sent, &[]);
        assert_eq!(rpc.host, "ecs.aliyuncs.com");
        assert_eq!(rpc.action.as_deref(), Some("CreateVpc"));

        let tc3 = upstream_call(
            "https://vpc.tencentcloudapi.com/",
            &Url::parse("http://127.0.0.1:9/").unwrap(),
            &[("X-TC-Action".into(), "DescribeVpcs".into())],
        );
        assert_eq!(tc3.host, "vpc.tencentcloudapi.com");
        assert_eq!(tc3.action.as_deref(), Some("DescribeVpcs"));

        let bearer = upstream_call("not a url", &Url::parse("http://bridgx:1/x").unwrap(), &[]);
        assert_eq!((bearer.host.as_str(), bearer.action), ("bridgx", None));
    }
}
