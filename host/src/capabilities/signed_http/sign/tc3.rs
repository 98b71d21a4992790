//! Tencent Cloud API 3.0 signature, `TC3-HMAC-SHA256`.
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n hex(sha256(payload))
//! StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n
//!                    hex(sha256(CanonicalRequest))
//! SecretDate       = HMAC-SHA256("TC3" + SecretKey, Date)
//! SecretService    = HMAC-SHA256(SecretDate, service)
//! SecretSigning    = HMAC-SHA256(SecretService, "tc3_request")
//! Signature        = hex(HMAC-SHA256(SecretSigning, StringToSign))
//! ```
//!
//! `Date` is the UTC calendar date of `Timestamp`; a request whose `X-TC-Timestamp` and scope
//! date disagree is rejected, so both come from the one timestamp the caller passes.

use std::fmt;

use super::{hmac_sha256, sha256_hex};

/// The signing algorithm name, first token of the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// One request to sign. Borrowed and pure: the caller supplies the timestamp and credentials.
#[derive(Clone, Copy)]
pub struct Tc3Request<'a> {
    /// HTTP method, upper-case (`"POST"`, `"GET"`).
    pub method: &'a str,
    /// Canonical URI; always `"/"` for API 3.0.
    pub canonical_uri: &'a str,
    /// Already-canonical query string (`""` for POST, the exact sent query for GET).
    pub canonical_query: &'a str,
    /// The headers to sign, `(name, value)` exactly as sent. At least `content-type` and
    /// `host`; names must be distinct case-insensitively. The signer lower-cases names and
    /// values, trims values and sorts by name.
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact request body bytes (empty for GET).
    pub payload: &'a [u8],
    /// Service name, the first label of the endpoint host (`"cvm"` for `cvm.tencentcloudapi.com`).
    pub service: &'a str,
    /// Unix time in seconds; must equal the `X-TC-Timestamp` header sent.
    pub timestamp: i64,
    /// SecretId, placed in the credential.
    pub secret_id: &'a str,
    /// SecretKey, only used as HMAC key material.
    pub secret_key: &'a str,
}

impl fmt::Debug for Tc3Request<'_> {
    // Hand-written so a logged request never shows the secret key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tc3Request")
            .field("method", &self.method)
            .field("canonical_uri", &self.canonical_uri)
            .field("canonical_query", &self.canonical_query)
            .field("headers", &self.headers)
            .field("payload_len", &self.payload.len())
            .field("service", &self.service)
            .field("timestamp", &self.timestamp)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The signature and every intermediate string, so a mismatch can be diagnosed step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3Signature {
    /// Hex SHA-256 of the payload (last line of the canonical request).
    pub hashed_payload: String,
    /// The canonical request.
    pub canonical_request: String,
    /// Hex SHA-256 of the canonical request (last line of the string to sign).
    pub hashed_canonical_request: String,
    /// `Date/service/tc3_request`.
    pub credential_scope: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// `;`-joined sorted lower-case names of the signed headers.
    pub signed_headers: String,
    /// Lower-case hex HMAC-SHA256 signature.
    pub signature: String,
    /// Value for the `Authorization` header.
    pub authorization: String,
}

/// Signs `req` with TC3-HMAC-SHA256 and returns the signature with its intermediates.
pub fn sign(req: &Tc3Request<'_>) -> Tc3Signature {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        // Tencent's rule: header key AND value are lower-cased and trimmed. This is why the
        // `X-TC-Action: DescribeInstances` header is signed as `x-tc-action:describeinstances`.
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let hashed_payload = sha256_hex(req.payload);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.canonical_uri,
        req.canonical_query,
        canonical_headers,
        signed_headers,
        hashed_payload
    );
    let hashed_canonical_request = sha256_hex(canonical_request.as_bytes());

    let date = utc_date(req.timestamp);
    let credential_scope = format!("{date}/{}/tc3_request", req.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{credential_scope}\n{hashed_canonical_request}",
        req.timestamp
    );

    let (_, _, secret_signing) = derived_keys(req.secret_key, &date, req.service);
    let signature = hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        req.secret_id
    );

    Tc3Signature {
        hashed_payload,
        canonical_request,
        hashed_canonical_request,
        credential_scope,
        string_to_sign,
        signed_headers,
        signature,
        authorization,
    }
}

/// The TC3 key derivation chain `(SecretDate, SecretService, SecretSigning)` as raw bytes, for
/// `date` in `YYYY-MM-DD` form. Exposed because Tencent publishes these intermediates.
pub fn derived_keys(secret_key: &str, date: &str, service: &str) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    (secret_date, secret_service, secret_signing)
}

/// The UTC calendar date (`YYYY-MM-DD`) of a Unix timestamp in seconds.
///
/// Computed arithmetically (proleptic Gregorian, Hinnant's `civil_from_days`) so it is total
/// over `i64`, cannot fail and needs no clock or time-zone data.
pub fn utc_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of 400-year era, [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of March-based year, [0, 365]
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
