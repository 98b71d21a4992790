//! Request/response envelopes of the APIs plugins reimplement.
//!
//! Each submodule parses its API's batch body, runs a handler per input and writes the answer in
//! that API's shape, including for whole-body errors.

pub mod alicloud;
pub mod bridgx;
pub mod tencent;
pub mod wecube;

use std::fmt;

/// A per-input failure message, written into the envelope's error field as is.
///
/// Build it from a `String`/`&str`, or with `?` from [`crate::TencentError`],
/// [`crate::ParamsError`] or [`crate::password::PasswordError`]. It must never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage(String);

impl ErrorMessage {
    /// A message from any text.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The message text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ErrorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for ErrorMessage {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for ErrorMessage {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<crate::TencentError> for ErrorMessage {
    fn from(error: crate::TencentError) -> Self {
        Self(error.to_string())
    }
}

impl From<crate::ParamsError> for ErrorMessage {
    fn from(error: crate::ParamsError) -> Self {
        Self(error.to_string())
    }
}

impl From<crate::password::PasswordError> for ErrorMessage {
    fn from(error: crate::password::PasswordError) -> Self {
        Self(error.to_string())
    }
}
