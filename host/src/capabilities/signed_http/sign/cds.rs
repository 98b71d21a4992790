//! Capital Online (CDS) API signature.
//!
//! Same canonicalisation and string to sign as Alibaba Cloud RPC v1.0
//! (`METHOD&%2F&percentEncode(canonical query)`, see [`super::aliyun_rpc`]), HMAC-SHA1, base64,
//! but keyed with the **bare** AccessKeySecret. Only the query-string parameters are signed:
//! a POST JSON body is not covered by the signature. The request path (e.g. `/ccs`) is not
//! signed either; the string to sign always contains `%2F`.

use super::aliyun_rpc;

/// Canonical query string; identical to [`aliyun_rpc::canonical_query`].
pub fn canonical_query(params: &[(String, String)]) -> String {
    aliyun_rpc::canonical_query(params)
}

/// String to sign; identical to [`aliyun_rpc::string_to_sign`].
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    aliyun_rpc::string_to_sign(method, params)
}

/// Base64 HMAC-SHA1 signature of the query `params`, keyed with the bare `access_key_secret`.
pub fn sign(method: &str, params: &[(String, String)], access_key_secret: &str) -> String {
    // CDS's prose says the key is secret + "&" (as for Aliyun), but the doc's own sample code
    // and every official CDS client (cds-python-sdk, cds-gic-sdk-go, openapi-go-demo) sign with
    // the bare secret, so that is what the server accepts.
    aliyun_rpc::sign_with_key(
        access_key_secret.as_bytes(),
        &string_to_sign(method, params),
    )
}
