//! Legacy Tencent Cloud signature v1 (`HmacSHA1` / `HmacSHA256`), used by API 2.0
//! (`*.api.qcloud.com/v2/index.php`) and still accepted by API 3.0 endpoints.
//!
//! ```text
//! StringToSign = METHOD + host + path + "?" + sorted(k "=" v) joined by "&"
//! Signature    = base64(HMAC-SHAx(SecretKey, StringToSign))
//! ```
//!
//! Values are the raw (not URL-encoded) parameter values; the signature (and all values) are
//! URL-encoded only when the query string / form body is sent. When `SignatureMethod` is sent
//! it is one of the signed parameters. Keys must already be in wire form: Tencent requires
//! `_` in parameter names to be written as `.` (e.g. `Placement.Zone`), and the signer signs
//! the names as given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{hmac_sha1, hmac_sha256};

/// The HMAC used for the signature; selected by the `SignatureMethod` parameter
/// (absent means `HmacSHA1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `HmacSHA1` (the default when no `SignatureMethod` parameter is sent).
    HmacSha1,
    /// `HmacSHA256`.
    HmacSha256,
}

impl Method {
    /// The value of the `SignatureMethod` request parameter for this method.
    pub fn as_param(self) -> &'static str {
        match self {
            Method::HmacSha1 => "HmacSHA1",
            Method::HmacSha256 => "HmacSHA256",
        }
    }
}

/// The string to sign: `method + host + path + "?" + k=v&...`, params sorted by key in plain
/// byte order (so upper-case keys sort before lower-case ones; ties by value), raw values.
/// `params` must not include `Signature`.
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let query = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}{host}{path}?{query}")
}

/// Base64 signature of the request under `secret_key` with `alg`. The caller must send
/// `SignatureMethod=HmacSHA256` (included in `params`) when using [`Method::HmacSha256`].
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
    secret_key: &str,
    alg: Method,
) -> String {
    let s = string_to_sign(method, host, path, params);
    let key = secret_key.as_bytes();
    match alg {
        Method::HmacSha1 => STANDARD.encode(hmac_sha1(key, s.as_bytes())),
        Method::HmacSha256 => STANDARD.encode(hmac_sha256(key, s.as_bytes())),
    }
}
