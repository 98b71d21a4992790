//! Alibaba Cloud RPC API errors, in Alibaba's own JSON shape and HTTP status.
//!
//! A failed call answers a non-2xx status with
//! `{"RequestId","HostId","Code","Message","Recommend"}`; the codes and messages are the ones
//! Alibaba's gateway and products use.

use serde_json::{Value, json};

/// One client-visible API error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliError {
    /// HTTP status (400 for bad input, 403 for refused, 404 for unknown ids and keys).
    pub status: u16,
    /// Alibaba's error code, e.g. `SignatureDoesNotMatch`.
    pub code: String,
    /// The human-readable message.
    pub message: String,
}

impl AliError {
    /// An error with any status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A mandatory parameter is absent or empty.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// A parameter has a value the action cannot use.
    pub fn invalid_parameter(name: &str, why: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid. {why}"),
        )
    }

    /// `AccessKeyId` is not a known key.
    pub fn access_key_not_found() -> Self {
        Self::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// The signature differs from the server's; like Alibaba, the message shows the server's
    /// string to sign (it contains no secret) so a client can find its mistake.
    pub fn signature_does_not_match(string_to_sign: &str) -> Self {
        Self::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        )
    }

    /// The `SignatureNonce` was seen before (a replay).
    pub fn nonce_used() -> Self {
        Self::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// `Timestamp` is too far from the server clock.
    pub fn timestamp_expired() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )
    }

    /// `Timestamp` is not `yyyy-MM-ddTHH:mm:ssZ`.
    pub fn timestamp_format() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    }

    /// The product has no such action.
    pub fn unknown_action(action: &str) -> Self {
        Self::new(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method. Action={action}"
            ),
        )
    }

    /// No simulated product answers this `Version`.
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            400,
            "InvalidVersion",
            format!("Specified parameter Version is not valid. Version={version}"),
        )
    }

    /// A resource id that does not exist, e.g. `InvalidVpcId.NotFound`.
    pub fn not_found(code: &str, what: &str) -> Self {
        Self::new(404, code, format!("Specified {what} does not exist."))
    }

    /// The resource is in a state the action does not allow.
    pub fn incorrect_status(code: &str, what: &str) -> Self {
        Self::new(
            400,
            code,
            format!("The current status of the {what} does not support this operation."),
        )
    }

    /// The resource still has dependents, e.g. `DependencyViolation.VSwitch`.
    pub fn dependency(code: &str, what: &str) -> Self {
        Self::new(400, code, format!("Specified object has dependent {what}."))
    }

    /// The JSON body Alibaba answers with.
    pub fn to_body(&self, request_id: &str, host_id: &str) -> Value {
        json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}", self.code),
        })
    }
}
