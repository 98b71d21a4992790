//! Tencent Cloud API 3.0 client over `signed-http` (the host signs with `TC3-HMAC-SHA256`).
//!
//! [`call`] is the import-calling edge; [`parse_response`] is the pure part. Plugin logic should
//! take `&impl TencentApi` so it can be unit-tested natively with a fake.

use std::fmt;

use serde_json::Value;

use crate::http::{RequestBuilder, describe_http_error, send};
use crate::{Credential, Method, Signing, Tc3};

/// Per-call timeout asked of the host (the original SDK's `ReqTimeout` was 60 s).
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;

/// A successful API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TencentResponse {
    /// `Response.RequestId`.
    pub request_id: String,
    /// The whole `Response` object.
    pub body: Value,
}

/// Why a Tencent API call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum TencentError {
    /// The API answered with `Response.Error`.
    Api {
        /// Error code, e.g. `AuthFailure.SignatureFailure`.
        code: String,
        /// Error message from the API.
        message: String,
        /// `Response.RequestId` (may be empty).
        request_id: String,
    },
    /// The request was not sent or got no response (denied, timeout, transport failure...).
    Http(String),
    /// The response was not a JSON `{"Response": {...}}` object, or had a non-2xx status
    /// without an API error in it.
    BadResponse {
        /// HTTP status of the response.
        status: u16,
        /// What was wrong with it (never the body itself).
        reason: String,
    },
}

impl TencentError {
    /// The API error code, if the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TencentError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The request id of an API error; empty for other errors.
    pub fn request_id(&self) -> &str {
        match self {
            TencentError::Api { request_id, .. } => request_id,
            _ => "",
        }
    }

    /// True when the API says the resource does not exist: `ResourceNotFound*`,
    /// `InvalidVpcId.NotFound`, `InvalidParameterValue.SubnetNotFound` and the like.
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|code| {
            code.split('.')
                .any(|part| part.starts_with("ResourceNotFound") || part.ends_with("NotFound"))
        })
    }
}

impl fmt::Display for TencentError {
    /// The format WeCube users know: `[TencentCloudSDKError] Code=..., Message=..., RequestId=...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TencentError::Api {
                code,
                message,
                request_id,
            } => write!(
                f,
                "[TencentCloudSDKError] Code={code}, Message={message}, RequestId={request_id}"
            ),
            TencentError::Http(why) => write!(
                f,
                "[TencentCloudSDKError] Code=ClientError.NetworkError, Message={why}, RequestId="
            ),
            TencentError::BadResponse { status, reason } => write!(
                f,
                "[TencentCloudSDKError] Code=ClientError.ParseJsonError, Message=HTTP {status}: {reason}, RequestId="
            ),
        }
    }
}

impl std::error::Error for TencentError {}

/// Something that can call Tencent API actions: the real [`Client`] or a test fake.
pub trait TencentApi {
    /// Call `action` with the JSON `payload`.
    fn call(&self, action: &str, payload: &Value) -> Result<TencentResponse, TencentError>;
}

/// A client bound to one credential, service, API version and region.
#[derive(Debug)]
pub struct Client<'a> {
    credential: &'a Credential,
    service: String,
    version: String,
    region: Option<String>,
}

impl<'a> Client<'a> {
    /// A client for `service` (e.g. `vpc`) at API `version` (e.g. `2017-03-12`).
    pub fn new(
        credential: &'a Credential,
        service: &str,
        version: &str,
        region: Option<&str>,
    ) -> Self {
        Self {
            credential,
            service: service.to_owned(),
            version: version.to_owned(),
            region: region.map(str::to_owned),
        }
    }
}

impl TencentApi for Client<'_> {
    fn call(&self, action: &str, payload: &Value) -> Result<TencentResponse, TencentError> {
        call(
            self.credential,
            &self.service,
            &self.version,
            action,
            self.region.as_deref(),
            payload,
        )
    }
}

/// The API endpoint of `service`: `https://{service}.tencentcloudapi.com/`.
pub fn endpoint(service: &str) -> String {
    format!("https://{service}.tencentcloudapi.com/")
}

/// POST `payload` to `https://{service}.tencentcloudapi.com/` as `action`, TC3-signed by the host
/// with `credential`, and parse the answer.
pub fn call(
    credential: &Credential,
    service: &str,
    version: &str,
    action: &str,
    region: Option<&str>,
    payload: &Value,
) -> Result<TencentResponse, TencentError> {
    let request = RequestBuilder::new(Method::Post, endpoint(service))
        .json(payload)
        .timeout_ms(DEFAULT_TIMEOUT_MS)
        .build();
    let signing = Signing::Tc3(Tc3 {
        service: service.to_owned(),
        action: action.to_owned(),
        version: version.to_owned(),
        region: region.map(str::to_owned),
    });
    let response = send(&request, &signing, Some(credential))
        .map_err(|e| TencentError::Http(describe_http_error(&e)))?;
    parse_response(response.status, &response.body)
}

/// Parse an API 3.0 answer: `{"Response": {..., "RequestId": "..."}}`, with `Response.Error`
/// `{Code, Message}` on failure. An API error wins over a non-2xx status.
pub fn parse_response(status: u16, body: &[u8]) -> Result<TencentResponse, TencentError> {
    let bad = |reason: String| TencentError::BadResponse { status, reason };
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) if (200..300).contains(&status) => {
            return Err(bad(format!("body is not JSON ({e})")));
        }
        Err(_) => return Err(bad("unexpected status".to_owned())),
    };
    let Some(Value::Object(response)) = value.get("Response") else {
        return Err(bad(if (200..300).contains(&status) {
            "body has no \"Response\" object".to_owned()
        } else {
            "unexpected status".to_owned()
        }));
    };
    let request_id = response
        .get("RequestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(error) = response.get("Error") {
        let text = |key: &str| {
            error
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        return Err(TencentError::Api {
            code: text("Code"),
            message: text("Message"),
            request_id,
        });
    }
    if !(200..300).contains(&status) {
        return Err(bad("unexpected status".to_owned()));
    }
    Ok(TencentResponse {
        request_id,
        body: Value::Object(response.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_yields_request_id_and_response_object() {
        let body = br#"{"Response":{"Vpc":{"VpcId":"vpc-1"},"RequestId":"r-1"}}"#;
        let r = parse_response(200, body).unwrap();
        assert_eq!(r.request_id, "r-1");
        assert_eq!(r.body["Vpc"]["VpcId"], json!("vpc-1"));
    }

    #[test]
    fn api_error_is_reported_in_the_sdk_format() {
        let body = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad sig"},"RequestId":"r-2"}}"#;
        let e = parse_response(200, body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[TencentCloudSDKError] Code=AuthFailure.SignatureFailure, Message=bad sig, RequestId=r-2"
        );
        assert!(!e.is_not_found());
    }

    #[test]
    fn api_error_wins_over_a_non_2xx_status() {
        let body =
            br#"{"Response":{"Error":{"Code":"ResourceNotFound","Message":"x"},"RequestId":"r"}}"#;
        assert!(parse_response(404, body).unwrap_err().is_not_found());
    }

    #[test]
    fn non_json_and_non_2xx_are_bad_responses() {
        assert!(matches!(
            parse_response(200, b"<html>"),
            Err(TencentError::BadResponse { status: 200, .. })
        ));
        assert!(matches!(
            parse_response(502, b"<html>"),
            Err(TencentError::BadResponse { status: 502, .. })
        ));
        assert!(matches!(
            parse_response(500, br#"{"Response":{"RequestId":"r"}}"#),
            Err(TencentError::BadResponse { status: 500, .. })
        ));
        assert!(matches!(
            parse_response(200, br#"{"other":1}"#),
            Err(TencentError::BadResponse { .. })
        ));
    }

    #[test]
    fn not_found_codes_are_recognised() {
        let api = |code: &str| TencentError::Api {
            code: code.to_owned(),
            message: String::new(),
            request_id: String::new(),
        };
        for code in [
            "ResourceNotFound",
            "ResourceNotFound.Vpc",
            "InvalidVpcId.NotFound",
            "InvalidParameterValue.SubnetNotFound",
        ] {
            assert!(api(code).is_not_found(), "{code}");
        }
        for code in [
            "InvalidParameterValue.Malformed",
            "ResourceInUse",
            "InternalError",
        ] {
            assert!(!api(code).is_not_found(), "{code}");
        }
        assert!(!TencentError::Http("x".into()).is_not_found());
    }
}
