//! The outbound HTTP client: connection pools, the resolved-address check, timeouts and the
//! response size cap.

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::egress::{Destination, forbidden_address};
use crate::bindings::signed_http::{HttpError, IncomingResponse};
use crate::bindings::types::Header;

/// Shared outbound clients. Redirects are never followed: a redirect could lead anywhere, and
/// the cloud APIs the broker fronts do not use them; the plugin sees the 3xx instead.
#[derive(Clone)]
pub struct HttpClient {
    /// For operator-mapped destinations (trusted: simulators, private endpoints).
    mapped: reqwest::Client,
    /// For everything else: resolved addresses are checked before connecting.
    guarded: reqwest::Client,
}

impl HttpClient {
    /// Builds both clients.
    pub fn new() -> anyhow::Result<Self> {
        let base = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(Duration::from_secs(60))
                .user_agent(concat!("cloud-broker/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Self {
            mapped: base().build()?,
            guarded: base().dns_resolver(Arc::new(CheckedResolver)).build()?,
        })
    }

    /// Sends a prepared request and reads at most `max_body` bytes of the answer.
    pub async fn send(
        &self,
        dest: &Destination,
        method: reqwest::Method,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<IncomingResponse, HttpError> {
        let client = if dest.mapped {
            &self.mapped
        } else {
            &self.guarded
        };
        let mut request = client.request(method, dest.url.clone()).timeout(timeout);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let exchange = async {
            let mut response = request.body(body).send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| Header {
                    name: name.as_str().to_string(),
                    value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > max_body {
                    return Err(HttpError::ResponseTooLarge(max_body as u64));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(IncomingResponse {
                status,
                headers,
                body,
            })
        };
        // reqwest's timeout covers the body too, but keep one outer bound for certainty.
        tokio::time::timeout(timeout + Duration::from_millis(100), exchange)
            .await
            .unwrap_or(Err(HttpError::Timeout))
    }
}

fn classify(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        return HttpError::Timeout;
    }
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(denied) = e.downcast_ref::<AddressDenied>() {
            return HttpError::Denied(denied.to_string());
        }
        source = e.source();
    }
    let mut causes = String::new();
    let mut source = error.source();
    while let Some(e) = source {
        causes.push_str(": ");
        causes.push_str(&e.to_string());
        source = e.source();
    }
    HttpError::Transport(format!("{}{causes}", error.without_url()))
}

/// The resolved address of a name was refused by the address policy.
#[derive(Debug)]
struct AddressDenied {
    name: String,
    addr: std::net::IpAddr,
    why: &'static str,
}

impl fmt::Display for AddressDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` resolves to {}, {}", self.name, self.addr, self.why)
    }
}

impl StdError for AddressDenied {}

/// Resolves with the system resolver, then refuses the name if any address is forbidden
/// (refusing all of them, rather than filtering, so a mixed answer cannot be used to probe).
struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                if let Some(why) = forbidden_address(addr.ip()) {
                    return Err(Box::new(AddressDenied {
                        name: host,
                        addr: addr.ip(),
                        why,
                    }) as Box<dyn StdError + Send + Sync>);
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
