//! Capital Online API errors, in Capital Online's own format.
//!
//! A failure is an HTTP error status (400, 403, 404, 409, 500) with
//! `{"Code":"<code>","Message":"<message>","RequestId":"<uuid>"}`; the codes are the ones the
//! spec's error tables and the PaaS docs list (`InstanceNotFound`, `IncorrectInstanceStatus`,
//! `MissingParameter`, ...).

use serde_json::{Value, json};

/// One client-visible API error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdsError {
    /// HTTP status of the answer.
    pub status: u16,
    /// Capital Online's error code, e.g. `InstanceNotFound`.
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl CdsError {
    /// An error with any status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A required parameter is absent.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// A parameter has a value the API does not accept.
    pub fn invalid_parameter_value(name: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid."),
        )
    }

    /// The request itself is malformed.
    pub fn invalid_parameter(reason: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The request is not valid: {reason}."),
        )
    }

    /// `Timestamp` is not `yyyy-MM-ddTHH:mm:ssZ`.
    pub fn invalid_timestamp_format() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    }

    /// `Timestamp` is too far from the server's clock.
    pub fn timestamp_expired() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )
    }

    /// The `AccessKeyId` is not a known key.
    pub fn access_key_not_found() -> Self {
        Self::new(
            403,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// The signature does not match the one the server computes.
    pub fn signature_mismatch() -> Self {
        Self::new(
            403,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        )
    }

    /// `SignatureNonce` was used before.
    pub fn nonce_used() -> Self {
        Self::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// No such action under this product path.
    pub fn invalid_action(action: &str, product: &str) -> Self {
        Self::new(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api \"{action}\" is not found under /{product}, please check your url and method."
            ),
        )
    }

    /// The action exists but not with this HTTP method.
    pub fn unsupported_method(action: &str, method: &str) -> Self {
        Self::new(
            400,
            "UnsupportedHTTPMethod",
            format!("The action \"{action}\" does not support the HTTP method {method}."),
        )
    }

    /// A resource id names nothing (`<Kind>NotFound`).
    pub fn not_found(code: &'static str, what: &str, id: &str) -> Self {
        Self::new(
            400,
            code,
            format!("The specified {what} \"{id}\" does not exist."),
        )
    }

    /// The resource's state does not allow the operation.
    pub fn incorrect_status(code: &'static str) -> Self {
        Self::new(
            403,
            code,
            "The current status of the resource does not support this operation.",
        )
    }

    /// The resource is still used by another.
    pub fn in_use(what: &str) -> Self {
        Self::new(409, "ResourceInUse", format!("The {what} is in use."))
    }

    /// The answer body.
    pub fn to_body(&self, request_id: &str) -> Value {
        json!({"Code": self.code, "Message": self.message, "RequestId": request_id})
    }
}
