//! Capital Online (首云, CDS) API client over `signed-http` (the host signs with the `cds`
//! scheme: HMAC-SHA1 over the query, keyed with the bare AccessKeySecret).
//!
//! * [`call`] sends one action: a GET action's parameters go into the signed query, a POST
//!   action's into a JSON body with only `Action` and `Version` (plus the common parameters the
//!   host adds) in the query. [`parse_response`] is the pure part: success codes are compared
//!   case-insensitively (`Success`, `success`, `OK`; also `0000`).
//! * [`wait_task`] (module `task`) polls `DescribeTask` until `FINISH` or `ERROR` (reference
//!   §1.5): the first look after a short delay (an immediate one fails on the real API), then
//!   every interval, tolerating a bounded number of transient errors.
//! * [`open_account`] (module `account`) turns `provider_params` into a credential: inline keys,
//!   or the name of an account the operator stored for the calling tenant (whose secret never
//!   enters the plugin).
//!
//! Plugin logic takes `&impl CdsApi` so it can be unit-tested natively with a fake.

mod account;
mod task;

use std::fmt;

use serde_json::{Map, Value};

use crate::http::{RequestBuilder, describe_http_error, send};
use crate::{Credential, ErrorMessage, Method, Signing};

pub use account::{Account, AccountSource, endpoint_param, open_account};
pub use task::{TaskError, TaskInfo, TaskWait, task_id, wait_task};

/// The API version every action is called with.
pub const API_VERSION: &str = "2019-08-08";
/// The default API host of every product the broker uses (`/ccs`, `/network`, `/billing`, ...).
pub const UPSTREAM_HOST: &str = "cdsapi.capitalonline.net";
/// Every API host: the default and the regional ones (APAC; US and Europe), which serve the
/// same paths (reference §1.2). `Endpoint` in `provider_params` picks one.
pub const UPSTREAM_HOSTS: &[&str] = &[
    UPSTREAM_HOST,
    "cdsapi-asia.capitalonline.net",
    "cdsapi-us.capitalonline.net",
];
/// Per-call timeout asked of the host (the official Go SDK uses 20 s; creates answer slowly).
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;
/// The provider name of stored Capital Online accounts.
pub const PROVIDER: &str = "cds";

/// Why a Capital Online call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CdsError {
    /// The API answered with an error `Code`.
    Api {
        /// HTTP status of the answer.
        status: u16,
        /// Error code, e.g. `InstanceNotFound`.
        code: String,
        /// Error message from the API.
        message: String,
        /// `RequestId` (may be empty).
        request_id: String,
        /// The whole answer, for callers that pass it on.
        body: Value,
    },
    /// The request was not sent or got no response.
    Http(String),
    /// The answer was not a JSON object with a `Code`.
    BadResponse {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong (never the body).
        reason: String,
    },
}

impl CdsError {
    /// The API error code, if the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CdsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when a retry may succeed: no answer, a broken answer, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            CdsError::Api { status, .. } => *status >= 500,
            CdsError::Http(_) | CdsError::BadResponse { .. } => true,
        }
    }

    /// True when the API says the resource does not exist (`InstanceNotFound`, `...NotFound`).
    pub fn is_not_found(&self) -> bool {
        self.code()
            .is_some_and(|c| c.split('.').any(|part| part.ends_with("NotFound")))
    }
}

impl fmt::Display for CdsError {
    /// `[CdsError] Code=..., Message=..., RequestId=...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CdsError::Api {
                code,
                message,
                request_id,
                ..
            } => write!(
                f,
                "[CdsError] Code={code}, Message={message}, RequestId={request_id}"
            ),
            CdsError::Http(why) => {
                write!(
                    f,
                    "[CdsError] Code=ClientError.NetworkError, Message={why}, RequestId="
                )
            }
            CdsError::BadResponse { status, reason } => write!(
                f,
                "[CdsError] Code=ClientError.ParseJsonError, Message=HTTP {status}: {reason}, RequestId="
            ),
        }
    }
}

impl std::error::Error for CdsError {}

impl From<CdsError> for ErrorMessage {
    fn from(error: CdsError) -> Self {
        ErrorMessage::new(error.to_string())
    }
}

/// Something that can call Capital Online actions: the real [`Client`] or a test fake.
pub trait CdsApi {
    /// Call `action` of product `product` (`ccs`, `network`, ...) with `method` and `params`;
    /// the whole JSON answer on success.
    fn call(
        &self,
        method: Method,
        product: &str,
        action: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, CdsError>;
}

/// A client bound to one credential.
#[derive(Debug)]
pub struct Client<'a> {
    credential: &'a Credential,
    host: &'a str,
}

impl<'a> Client<'a> {
    /// A client signing with `credential`, calling the default host.
    pub fn new(credential: &'a Credential) -> Self {
        Self::with_host(credential, UPSTREAM_HOST)
    }

    /// A client signing with `credential`, calling `host` (one of [`UPSTREAM_HOSTS`]).
    pub fn with_host(credential: &'a Credential, host: &'a str) -> Self {
        Self { credential, host }
    }
}

impl CdsApi for Client<'_> {
    fn call(
        &self,
        method: Method,
        product: &str,
        action: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, CdsError> {
        call(self.credential, self.host, method, product, action, params)
    }
}

/// `https://{host}/{product}/`.
pub fn endpoint(host: &str, product: &str) -> String {
    format!("https://{host}/{product}/")
}

/// The API host named by `text` (a host name or an `https://` URL of one), if it is one of
/// [`UPSTREAM_HOSTS`].
pub fn api_host(text: &str) -> Result<&'static str, ErrorMessage> {
    let host = text
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    UPSTREAM_HOSTS
        .iter()
        .copied()
        .find(|h| h.eq_ignore_ascii_case(host))
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "`{host}` is not a Capital Online API host (one of {})",
                UPSTREAM_HOSTS.join(", ")
            ))
        })
}

/// A GET parameter's query text: strings as they are, numbers and booleans as text, a list of
/// scalars comma-separated (`InstanceIds=a,b`), anything else as JSON text.
pub fn query_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            items.iter().map(query_value).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// Build the request of one action (the pure part of [`call`]).
pub fn build_request(
    host: &str,
    method: Method,
    product: &str,
    action: &str,
    params: &Map<String, Value>,
) -> crate::OutgoingRequest {
    let mut request = RequestBuilder::new(method, endpoint(host, product))
        .query("Action", action)
        .query("Version", API_VERSION)
        .timeout_ms(DEFAULT_TIMEOUT_MS);
    if method == Method::Get {
        for (key, value) in params {
            request = request.query(key, query_value(value));
        }
    } else {
        request = request.json(&Value::Object(params.clone()));
    }
    request.build()
}

/// Send `action` signed by the host with `credential`, and parse the answer.
pub fn call(
    credential: &Credential,
    host: &str,
    method: Method,
    product: &str,
    action: &str,
    params: &Map<String, Value>,
) -> Result<Value, CdsError> {
    let request = build_request(host, method, product, action, params);
    let response = send(&request, &Signing::Cds, Some(credential))
        .map_err(|e| CdsError::Http(describe_http_error(&e)))?;
    parse_response(response.status, &response.body)
}

/// True for the success codes the API uses: `Success`, `success`, `OK` (any case), and the
/// `0000` the spec's `DescribeSecurityGroups` table shows.
pub fn is_success_code(code: &str) -> bool {
    code.eq_ignore_ascii_case("success") || code.eq_ignore_ascii_case("ok") || code == "0000"
}

/// Parse an answer: a JSON object whose `Code` is a success code (and HTTP 2xx) is success;
/// any other `Code` is [`CdsError::Api`].
pub fn parse_response(status: u16, body: &[u8]) -> Result<Value, CdsError> {
    let bad = |reason: &str| CdsError::BadResponse {
        status,
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        bad(if (200..300).contains(&status) {
            "body is not JSON"
        } else {
            "unexpected status"
        })
    })?;
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if !value.is_object() || value.get("Code").is_none() {
        return Err(bad("body has no \"Code\""));
    }
    let code = text("Code");
    if is_success_code(&code) && (200..300).contains(&status) {
        return Ok(value);
    }
    let message = match text("Message") {
        m if m.is_empty() => text("Msg"),
        m => m,
    };
    Err(CdsError::Api {
        status,
        code,
        message,
        request_id: text("RequestId"),
        body: value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn success_codes_compare_case_insensitively() {
        for code in ["Success", "success", "SUCCESS", "OK", "ok", "0000"] {
            let body = json!({"Code": code, "Data": {}}).to_string();
            assert!(parse_response(200, body.as_bytes()).is_ok(), "{code}");
        }
        let e = parse_response(
            400,
            br#"{"Code":"InstanceNotFound","Message":"gone","RequestId":"r-1"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "[CdsError] Code=InstanceNotFound, Message=gone, RequestId=r-1"
        );
        assert!(e.is_not_found() && !e.is_transient());
        assert!(matches!(
            parse_response(502, b"<html>"),
            Err(CdsError::BadResponse { status: 502, .. })
        ));
        assert!(parse_response(200, br#"{"Data":1}"#).is_err());
        assert!(
            parse_response(500, br#"{"Code":"Success"}"#)
                .unwrap_err()
                .is_transient()
        );
    }

    #[test]
    fn get_parameters_go_to_the_query_and_post_parameters_to_the_body() {
        let params: Map<String, Value> = serde_json::from_value(
            json!({"InstanceIds": ["a", "b"], "Qos": 20, "Data": [{"k": 1}]}),
        )
        .unwrap();
        let get = build_request(UPSTREAM_HOST, Method::Get, "network", "X", &params);
        assert_eq!(get.url, "https://cdsapi.capitalonline.net/network/");
        assert!(get.body.is_empty());
        let query: Vec<(&str, &str)> = get
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            query,
            [
                ("Action", "X"),
                ("Version", "2019-08-08"),
                ("Data", r#"[{"k":1}]"#),
                ("InstanceIds", "a,b"),
                ("Qos", "20"),
            ]
        );
        assert_eq!(
            api_host("https://CDSAPI-US.capitalonline.net/").unwrap(),
            "cdsapi-us.capitalonline.net"
        );
        assert!(
            api_host("evil.example")
                .unwrap_err()
                .as_str()
                .starts_with("`evil.example` is not a Capital Online API host")
        );
        let post = build_request(
            "cdsapi-us.capitalonline.net",
            Method::Post,
            "ccs",
            "Y",
            &params,
        );
        assert_eq!(post.url, "https://cdsapi-us.capitalonline.net/ccs/");
        assert_eq!(post.query.len(), 2, "only Action and Version");
        let body: Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(body, Value::Object(params));
    }
}
