//! Alibaba Cloud RPC-style API signature, `SignatureVersion=1.0`, `SignatureMethod=HMAC-SHA1`.
//!
//! ```text
//! CanonicalizedQueryString = sorted(percentEncode(k) "=" percentEncode(v)) joined by "&"
//! StringToSign = METHOD "&" percentEncode("/") "&" percentEncode(CanonicalizedQueryString)
//! Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//! ```
//!
//! The parameters are all request parameters (common + API-specific) except `Signature`
//! itself, which the caller appends afterwards (percent-encoded).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{hmac_sha1, percent_encode};

/// Canonicalised query string: each key and value percent-encoded per RFC 3986, pairs sorted
/// by encoded key (byte order; ties by encoded value), `k=v` joined by `&`.
/// Also usable verbatim as the query string sent on the wire (before `&Signature=`).
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string to sign: `METHOD&%2F&percentEncode(canonical_query(params))`.
/// The path is always `/` (encoded `%2F`), whatever path the request is sent to.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    )
}

/// Base64 signature of `params` for `method`, keyed with `access_key_secret + "&"`.
pub fn sign(method: &str, params: &[(String, String)], access_key_secret: &str) -> String {
    // The "&" is the separator before an (always empty) token secret, per Aliyun's spec.
    sign_with_key(
        format!("{access_key_secret}&").as_bytes(),
        &string_to_sign(method, params),
    )
}

/// Base64 of HMAC-SHA1(`key`, `string_to_sign`); shared with the CDS signer, which differs only
/// in the key.
pub(super) fn sign_with_key(key: &[u8], string_to_sign: &str) -> String {
    STANDARD.encode(hmac_sha1(key, string_to_sign.as_bytes()))
}
