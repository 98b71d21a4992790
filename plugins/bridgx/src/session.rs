//! A logged-in session with the tenant's BridgX server.
//!
//! The account: the tenant's `bridgx` account named by the `X-Bridgx-Account` header, or
//! `default`. Its endpoint is the server's base URL, its username and password (held by the
//! host) log in: `POST /user/login` signed with `json-login`, so the password never enters the
//! plugin. The JWT is kept in the host's cache (per plugin and tenant) under the account's name
//! until shortly before its `exp`, so a burst of requests logs in once; a token the server
//! refuses (401) is dropped and the request is retried once after a fresh login.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use broker_sdk::http::{RequestBuilder, describe_http_error, send};
use broker_sdk::{
    Credential, HttpError, IncomingResponse, JsonLogin, LookupError, Method, Signing,
    StoredAccount, cache, clock, log, lookup_account, settings,
};
use serde_json::Value;

use crate::Failure;

/// The provider name accounts are stored under.
pub const PROVIDER: &str = "bridgx";
/// The request header naming the account.
pub const ACCOUNT_HEADER: &str = "x-bridgx-account";
/// The account used when the header is absent.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Setting: seconds before a token's `exp` at which it is no longer reused.
pub const TOKEN_MARGIN: &str = "token-margin-secs";
/// Setting: how long a token without a readable `exp` is reused, in seconds.
pub const TOKEN_TTL: &str = "token-ttl-secs";
/// Setting: the timeout of one call to BridgX, in milliseconds.
pub const TIMEOUT: &str = "timeout-ms";

/// How often a request that found the login lock taken waits for the token before it logs in
/// itself (each wait ends at the next cache change or after `timeout-ms`).
const LOGIN_LOCK_ROUNDS: usize = 8;
/// A login lock outlives one login call by this much, so a holder that died frees it.
const LOGIN_LOCK_SLACK_MS: u64 = 5_000;

/// The settings this module reads, for the manifest.
pub fn declare() -> Vec<settings::Setting> {
    vec![
        settings::declare(
            TOKEN_MARGIN,
            "seconds before a BridgX token expires at which the plugin logs in again",
            "60",
        ),
        settings::declare(
            TOKEN_TTL,
            "seconds a BridgX token without a readable `exp` claim is reused",
            "3600",
        ),
        settings::declare(
            TIMEOUT,
            "timeout of one call to BridgX, in milliseconds",
            "30000",
        ),
    ]
}

fn setting(name: &str, default: u64) -> u64 {
    settings::get(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// An open account: where the server is and how to log in.
pub struct Session {
    name: String,
    account: StoredAccount,
    credential: Credential,
    base: String,
    timeout_ms: u32,
}

/// How a call ended: BridgX's answer, or a broker-side failure.
pub type Answer = Result<IncomingResponse, Failure>;

impl Session {
    /// Opens the account `name` of the calling tenant.
    pub fn open(name: &str) -> Result<Self, Failure> {
        let (credential, account) = lookup_account(PROVIDER, name).map_err(|e| match e {
            LookupError::NotFound(why) => Failure::new(
                400,
                format!(
                    "no BridgX account `{name}`: {why}; the operator registers one with PUT \
                     /admin/tenants/<tenant>/accounts/bridgx/{name} (endpoint, username, \
                     password), and the `X-Bridgx-Account` header names it (default `default`)"
                ),
            ),
            LookupError::Unavailable(why) => Failure::new(500, format!("account store: {why}")),
        })?;
        let base = account
            .endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                Failure::new(400, format!("the BridgX account `{name}` has no endpoint"))
            })?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            name: name.to_owned(),
            account,
            credential,
            base,
            timeout_ms: u32::try_from(setting(TIMEOUT, 30_000)).unwrap_or(u32::MAX),
        })
    }

    fn cache_key(&self) -> String {
        format!("jwt:{}", self.name)
    }

    fn cached_token(&self) -> Option<String> {
        cache::get(&self.cache_key()).and_then(|t| String::from_utf8(t).ok())
    }

    /// A token, and whether it came from the cache: the cached one; else one login for all
    /// concurrent requests of the tenant (the holder of the login lock logs in, the others wait
    /// for its token; if it fails they try in turn).
    fn token(&self) -> Result<(String, bool), Failure> {
        if let Some(token) = self.cached_token() {
            return Ok((token, true));
        }
        let lock = format!("login:{}", self.name);
        let lock_ttl_ms = u64::from(self.timeout_ms).saturating_add(LOGIN_LOCK_SLACK_MS);
        for _ in 0..LOGIN_LOCK_ROUNDS {
            match cache::add(&lock, b"1", lock_ttl_ms) {
                Ok(true) => {
                    let login = self.login();
                    cache::delete(&lock);
                    return login.map(|token| (token, false));
                }
                Ok(false) => {
                    let token = cache::wait(&self.cache_key(), self.timeout_ms)
                        .and_then(|t| String::from_utf8(t).ok());
                    if let Some(token) = token {
                        return Ok((token, true));
                    }
                }
                Err(_) => break,
            }
        }
        self.login().map(|token| (token, false))
    }

    /// Sends `method /api/v1/<path>` with the session's token: the cached one, else a fresh
    /// login; on 401 with a cached token, logs in again and retries once.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Answer {
        let (token, cached) = self.token()?;
        let answer = self.send_with(&token, method, path, query, body)?;
        if answer.status == 401 && cached {
            log::info(
                "BridgX refused the cached token; logging in again",
                &[("account", &self.name)],
            );
            cache::delete(&self.cache_key());
            let token = self.login()?;
            return self.send_with(&token, method, path, query, body);
        }
        Ok(answer)
    }

    fn send_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Answer {
        let mut request = RequestBuilder::new(method, format!("{}/api/v1/{path}", self.base))
            .timeout_ms(self.timeout_ms);
        for (k, v) in query {
            request = request.query(k.clone(), v.clone());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let user = self.account.key_id.clone().unwrap_or_default();
        let bearer = Credential::inline(&user, token);
        send(&request.build(), &Signing::Bearer, Some(&bearer)).map_err(|e| self.transport(&e))
    }

    /// Logs in and caches the token until shortly before it expires.
    fn login(&self) -> Result<String, Failure> {
        let request = RequestBuilder::new(Method::Post, format!("{}/user/login", self.base))
            .json(&Value::Object(Default::default()))
            .timeout_ms(self.timeout_ms)
            .build();
        let signing = Signing::JsonLogin(JsonLogin {
            user_field: "username".into(),
            password_field: "password".into(),
        });
        let answer =
            send(&request, &signing, Some(&self.credential)).map_err(|e| self.transport(&e))?;
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let token = body["data"]
            .as_str()
            .filter(|_| answer.status == 200 && body["code"] == 200);
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            let why = body["msg"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            log::warn(
                "BridgX login refused",
                &[("account", &self.name), ("reason", &why)],
            );
            return Err(Failure::new(
                401,
                format!(
                    "BridgX refused the login of account `{}` (user `{}`): {why}",
                    self.name,
                    self.account.key_id.as_deref().unwrap_or_default()
                ),
            ));
        };
        log::redact(token);
        log::info("logged in to BridgX", &[("account", &self.name)]);
        let margin_ms = setting(TOKEN_MARGIN, 60).saturating_mul(1000);
        let ttl_ms = match expiry_secs(token) {
            Some(exp) => exp
                .saturating_mul(1000)
                .saturating_sub(clock::now_ms())
                .saturating_sub(margin_ms),
            None => setting(TOKEN_TTL, 3600).saturating_mul(1000),
        };
        if ttl_ms > 0
            && let Err(e) = cache::set(&self.cache_key(), token.as_bytes(), ttl_ms)
        {
            log::warn("BridgX token not cached", &[("reason", &format!("{e:?}"))]);
        }
        Ok(token.to_owned())
    }

    /// A broker-side failure for an `HttpError` talking to BridgX.
    fn transport(&self, error: &HttpError) -> Failure {
        let what = describe_http_error(error);
        match error {
            HttpError::Timeout => Failure::new(
                504,
                format!(
                    "BridgX at {} did not answer within {} ms",
                    self.base, self.timeout_ms
                ),
            ),
            HttpError::Transport(_) => Failure::new(
                502,
                format!("BridgX at {} is unreachable: {what}", self.base),
            ),
            HttpError::Denied(_) => Failure::new(403, format!("BridgX at {}: {what}", self.base)),
            HttpError::ResponseTooLarge(_) => {
                Failure::new(502, format!("BridgX at {}: {what}", self.base))
            }
            HttpError::InvalidRequest(_) | HttpError::BudgetExhausted => {
                Failure::new(500, format!("calling BridgX at {}: {what}", self.base))
            }
        }
    }
}

/// The `exp` claim (Unix seconds) of a JWT, if it has one that can be read.
pub fn expiry_secs(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    claims["exp"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_the_jwt_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"name":"root","exp":1700000000}"#);
        assert_eq!(expiry_secs(&format!("h.{payload}.s")), Some(1_700_000_000));
        assert_eq!(expiry_secs("not-a-jwt"), None);
        let no_exp = URL_SAFE_NO_PAD.encode(br#"{"name":"root"}"#);
        assert_eq!(expiry_secs(&format!("h.{no_exp}.s")), None);
    }
}
