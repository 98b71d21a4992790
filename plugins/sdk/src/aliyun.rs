//! Alibaba Cloud RPC API client over `signed-http` (the host signs with RPC signature v1,
//! `HMAC-SHA1`, and adds the common parameters `AccessKeyId`, `SignatureMethod`,
//! `SignatureVersion`, `SignatureNonce`, `Timestamp`, `Format=JSON`).
//!
//! [`Client`] is the import-calling edge; [`parse_response`] is the pure part. Plugin logic
//! should take `&impl AliyunApi` so it can be unit-tested natively with a fake.

use std::fmt;

use serde_json::Value;

use crate::http::{RequestBuilder, describe_http_error, send};
use crate::{Credential, Method, Signing};

/// Per-call timeout asked of the host (the original set a 60 s read timeout).
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;

/// A successful API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AliyunResponse {
    /// `RequestId`.
    pub request_id: String,
    /// The whole JSON object.
    pub body: Value,
}

/// Why an Alibaba API call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AliyunError {
    /// The API answered with `{"Code","Message","RequestId",...}`.
    Api {
        /// Error code, e.g. `InvalidVpcId.NotFound`.
        code: String,
        /// Error message from the API.
        message: String,
        /// `RequestId` (may be empty).
        request_id: String,
    },
    /// The request was not sent or got no response (denied, timeout, transport failure...).
    Http(String),
    /// The response was not a JSON object, or had a non-2xx status without an API error.
    BadResponse {
        /// HTTP status of the response.
        status: u16,
        /// What was wrong with it (never the body itself).
        reason: String,
    },
}

impl AliyunError {
    /// The API error code, if the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AliyunError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the API says the resource does not exist (`InvalidVpcId.NotFound`,
    /// `InvalidDBInstanceId.NotFound`, ...).
    pub fn is_not_found(&self) -> bool {
        self.code()
            .is_some_and(|code| code.split('.').any(|part| part.ends_with("NotFound")))
    }
}

impl fmt::Display for AliyunError {
    /// `AliCloud server error: [Code=..., Message=..., RequestId=...]`, the original's prefix with
    /// every part Alibaba gave.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliyunError::Api {
                code,
                message,
                request_id,
            } => write!(
                f,
                "AliCloud server error: [Code={code}, Message={message}, RequestId={request_id}]"
            ),
            AliyunError::Http(why) => write!(f, "AliCloud client error: [{why}]"),
            AliyunError::BadResponse { status, reason } => write!(
                f,
                "AliCloud client error: [unreadable answer, HTTP {status}: {reason}]"
            ),
        }
    }
}

impl std::error::Error for AliyunError {}

impl From<AliyunError> for crate::ErrorMessage {
    fn from(error: AliyunError) -> Self {
        Self::new(error.to_string())
    }
}

/// Something that can call Alibaba API actions: the real [`Client`] or a test fake.
pub trait AliyunApi {
    /// Call `action` with the API parameters `params` (common ones are added).
    fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<AliyunResponse, AliyunError>;
}

/// A client bound to one credential, endpoint, API version and region.
#[derive(Debug)]
pub struct Client<'a> {
    credential: &'a Credential,
    host: String,
    version: String,
    region: Option<String>,
}

impl<'a> Client<'a> {
    /// A client for the product at `host` (e.g. `vpc.aliyuncs.com`) and API `version`
    /// (e.g. `2016-04-28`); `region` is sent as `RegionId` (none for global products).
    pub fn new(
        credential: &'a Credential,
        host: &str,
        version: &str,
        region: Option<&str>,
    ) -> Self {
        Self {
            credential,
            host: host.to_owned(),
            version: version.to_owned(),
            region: region.map(str::to_owned),
        }
    }
}

impl AliyunApi for Client<'_> {
    fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<AliyunResponse, AliyunError> {
        let mut request = RequestBuilder::new(Method::Post, format!("https://{}/", self.host))
            .query("Action", action)
            .query("Version", &self.version)
            .timeout_ms(DEFAULT_TIMEOUT_MS);
        if let Some(region) = &self.region {
            request = request.query("RegionId", region);
        }
        for (key, value) in params {
            request = request.query(*key, *value);
        }
        let result = send(&request.build(), &Signing::AliyunRpc, Some(self.credential))
            .map_err(|e| AliyunError::Http(describe_http_error(&e)))
            .and_then(|response| parse_response(response.status, &response.body));
        // Action and outcome only: parameters may hold passwords.
        match &result {
            Ok(answer) => crate::log::debug(
                "aliyun call",
                &[
                    ("action", action),
                    ("host", &self.host),
                    ("request_id", &answer.request_id),
                ],
            ),
            Err(error) => crate::log::warn(
                "aliyun call failed",
                &[
                    ("action", action),
                    ("host", &self.host),
                    ("error", &error.to_string()),
                ],
            ),
        }
        result
    }
}

/// Parse an RPC answer: a JSON object with `RequestId`; a failure carries `Code` and `Message`
/// (an API error wins over the status).
pub fn parse_response(status: u16, body: &[u8]) -> Result<AliyunResponse, AliyunError> {
    let ok = (200..300).contains(&status);
    let bad = |reason: &str| AliyunError::BadResponse {
        status,
        reason: reason.to_owned(),
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) if ok => return Err(bad("body is not a JSON object")),
        Err(_) if ok => return Err(bad("body is not JSON")),
        _ => return Err(bad("unexpected status")),
    };
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let request_id = text("RequestId");
    if value.get("Code").and_then(Value::as_str).is_some()
        && (!ok || value.get("Message").is_some())
    {
        return Err(AliyunError::Api {
            code: text("Code"),
            message: without_string_to_sign(&text("Message")),
            request_id,
        });
    }
    if !ok {
        return Err(bad("unexpected status"));
    }
    Ok(AliyunResponse {
        request_id,
        body: value,
    })
}

/// Alibaba's `SignatureDoesNotMatch` message ends with the server's string to sign, which holds
/// every parameter of the call (passwords included): it is cut off before the message reaches a
/// client or a log.
fn without_string_to_sign(message: &str) -> String {
    match message.find("server string to sign is:") {
        Some(at) => format!("{}(string to sign omitted)", &message[..at]),
        None => message.to_owned(),
    }
}

/// The items of a describe answer's `{"<list>": {"<item>": [...]}}`, empty when absent.
pub fn items<'a>(body: &'a Value, list: &str, item: &str) -> &'a [Value] {
    body.get(list)
        .and_then(|l| l.get(item))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The string field `key` of `value`, `""` when absent.
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_yields_the_request_id_and_the_object() {
        let r = parse_response(200, br#"{"VpcId":"vpc-1","RequestId":"R-1"}"#).unwrap();
        assert_eq!(r.request_id, "R-1");
        assert_eq!(r.body["VpcId"], json!("vpc-1"));
    }

    #[test]
    fn an_alibaba_error_names_code_message_and_request_id() {
        let body = br#"{"RequestId":"R-2","HostId":"vpc.aliyuncs.com","Code":"InvalidVpcId.NotFound","Message":"Specified VPC does not exist.","Recommend":"x"}"#;
        let e = parse_response(404, body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AliCloud server error: [Code=InvalidVpcId.NotFound, Message=Specified VPC does not exist., RequestId=R-2]"
        );
        assert!(e.is_not_found());
        let e = parse_response(
            400,
            br#"{"Code":"SignatureDoesNotMatch","Message":"m","RequestId":"r"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
        assert!(!e.is_not_found());
    }

    #[test]
    fn the_string_to_sign_never_reaches_the_message() {
        let body = br#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&Password%3DSecret1","RequestId":"r"}"#;
        let e = parse_response(400, body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AliCloud server error: [Code=SignatureDoesNotMatch, Message=Specified signature is not matched with our calculation. (string to sign omitted), RequestId=r]"
        );
    }

    #[test]
    fn unreadable_answers_are_bad_responses() {
        assert!(matches!(
            parse_response(200, b"<html>"),
            Err(AliyunError::BadResponse { status: 200, .. })
        ));
        assert!(matches!(
            parse_response(502, b"gateway"),
            Err(AliyunError::BadResponse { status: 502, .. })
        ));
        assert!(matches!(
            parse_response(500, br#"{"RequestId":"r"}"#),
            Err(AliyunError::BadResponse { status: 500, .. })
        ));
    }

    #[test]
    fn items_reads_alibabas_nested_lists() {
        let body = json!({"Vpcs": {"Vpc": [{"VpcId": "a"}]}});
        assert_eq!(items(&body, "Vpcs", "Vpc").len(), 1);
        assert_eq!(text(&items(&body, "Vpcs", "Vpc")[0], "VpcId"), "a");
        assert!(items(&body, "VSwitches", "VSwitch").is_empty());
    }
}
