//! Tencent Cloud API 3.0 errors, in Tencent's own envelope.
//!
//! API 3.0 answers every request with HTTP 200; a failure is
//! `{"Response":{"Error":{"Code":"...","Message":"..."},"RequestId":"<uuid>"}}`. Codes are the
//! ones Tencent uses (common codes plus the product's own `InvalidParameterValue.*` sub-codes);
//! messages follow Tencent's wording where it is known.

use serde_json::{Value, json};

/// One client-visible API error: a Tencent error code and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcError {
    /// Tencent's error code, e.g. `AuthFailure.SignatureFailure`.
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl TcError {
    /// An error with any code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `Authorization` header is missing or cannot be parsed.
    pub fn invalid_authorization(reason: &str) -> Self {
        Self::new(
            "AuthFailure.InvalidAuthorization",
            format!("The `Authorization` header is invalid: {reason}."),
        )
    }

    /// The `SecretId` in the credential scope is not a known key.
    pub fn secret_id_not_found() -> Self {
        Self::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )
    }

    /// `X-TC-Timestamp` is too far from the server's clock.
    pub fn signature_expire() -> Self {
        Self::new(
            "AuthFailure.SignatureExpire",
            "The signature is expired, please request again.",
        )
    }

    /// The signature does not match the one the server computes.
    pub fn signature_failure() -> Self {
        Self::new(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    }

    /// The action does not exist in the service.
    pub fn invalid_action() -> Self {
        Self::new(
            "InvalidAction",
            "The request `Action` is invalid or not found.",
        )
    }

    /// The service has no such API version.
    pub fn no_such_version(service: &str, version: &str) -> Self {
        Self::new(
            "NoSuchVersion",
            format!("The requested version `{version}` of service `{service}` does not exist."),
        )
    }

    /// A required parameter (body field or `X-TC-*` header) is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request is missing a required parameter `{name}`."),
        )
    }

    /// A parameter has the wrong JSON type.
    pub fn parameter_type(name: &str) -> Self {
        Self::new(
            "InvalidParameter",
            format!("Parameter `{name}` type error."),
        )
    }

    /// A body field the action does not define.
    pub fn unknown_parameter(name: &str) -> Self {
        Self::new(
            "UnknownParameter",
            format!("The parameter `{name}` is not recognized."),
        )
    }

    /// A value that does not have the required shape (an id, a CIDR block, ...).
    pub fn malformed(name: &str, value: &str) -> Self {
        Self::new(
            "InvalidParameterValue.Malformed",
            format!("The value `{value}` of parameter `{name}` is malformed."),
        )
    }

    /// A well-formed value outside the allowed range.
    pub fn out_of_range(name: &str, value: &str, allowed: &str) -> Self {
        Self::new(
            "InvalidParameterValue.Range",
            format!("The value `{value}` of parameter `{name}` is out of range: {allowed}."),
        )
    }

    /// The resource named in the request does not exist.
    pub fn resource_not_found() -> Self {
        Self::new("ResourceNotFound", "The specified resource does not exist.")
    }

    /// `X-TC-Region` is not a region the product is offered in.
    pub fn unsupported_region() -> Self {
        Self::new(
            "UnsupportedRegion",
            "The action does not support this region.",
        )
    }

    /// The answer body for this error.
    pub(crate) fn to_body(&self, request_id: &str) -> Value {
        json!({
            "Response": {
                "Error": { "Code": self.code, "Message": self.message },
                "RequestId": request_id,
            }
        })
    }
}

/// The answer body for a successful call: `fields` (a JSON object) plus `RequestId`.
pub(crate) fn success_body(mut fields: Value, request_id: &str) -> Value {
    if let Value::Object(map) = &mut fields {
        map.insert("RequestId".into(), request_id.into());
    }
    json!({ "Response": fields })
}
