//! Capital Online request signatures, checked the way the real API checks them.
//!
//! Independent of the broker's signer (`host/.../sign/cds.rs`) so a bug in one shows up as a
//! failure in the other; both are checked against the CDS vector of `testdata/sign_vectors.json`.
//!
//! Only the query string is signed: every query parameter except `Signature`, sorted by key,
//! RFC 3986-encoded (`%20` for a space), joined as `k=v&k=v`, and signed as
//! `METHOD&%2F&percentEncode(canonical)` with HMAC-SHA1 keyed with the **bare** AccessKeySecret
//! (the spec's "secret + `&`" sentence is a documentation error). A POST body is not signed.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use time::PrimitiveDateTime;
use time::macros::format_description;

use super::error::CdsError;
use crate::SimCredential;

/// The only `Version` the API answers.
pub const API_VERSION: &str = "2019-08-08";

/// The common parameters every request carries (besides the action's own).
pub const COMMON_PARAMS: &[&str] = &[
    "Action",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
];

/// RFC 3986 encoding: unreserved characters stay, every other byte becomes `%XY` (upper case).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes one query component (`%XY` escapes; `+` is a space, as form decoders read it).
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Splits a raw query string into decoded pairs, in order.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, CdsError> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            match (percent_decode(key), percent_decode(value)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(CdsError::invalid_parameter(
                    "the query string is not valid UTF-8 percent-encoding",
                )),
            }
        })
        .collect()
}

/// `METHOD&%2F&percentEncode(sorted canonical query)`, `Signature` left out.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort();
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", percent_encode(&canonical))
}

/// Base64 HMAC-SHA1 of `string_to_sign`, keyed with the bare `secret`.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `SignatureNonce`s seen, with their request's `Timestamp`, so a replay is refused.
///
/// A nonce only needs remembering while its timestamp is within the accepted skew (an older
/// request fails the timestamp check anyway), so expired ones are dropped as the set grows.
#[derive(Debug, Default)]
pub struct Nonces(HashMap<String, i64>);

impl Nonces {
    /// How many nonces may pile up before expired ones are dropped.
    const PRUNE_AT: usize = 4096;

    /// Remembers `nonce` of a request signed at `timestamp`; false when it was seen before.
    fn remember(&mut self, nonce: &str, timestamp: i64, now: i64, max_skew: i64) -> bool {
        if self.0.len() >= Self::PRUNE_AT {
            self.0.retain(|_, t| (*t - now).abs() <= max_skew);
        }
        self.0.insert(nonce.to_owned(), timestamp).is_none()
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a verified request says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `Action`.
    pub action: String,
    /// The key id that signed it.
    pub access_key_id: String,
    /// The query parameters that are not common parameters (a GET action's own parameters).
    pub business: Vec<(String, String)>,
}

/// The checks of one request, in the order the API makes them.
pub struct Verifier<'a> {
    /// Accepted key pairs.
    pub credentials: &'a [SimCredential],
    /// Largest accepted distance between `Timestamp` and `now_secs`.
    pub max_skew_secs: i64,
    /// The server's real time, Unix seconds.
    pub now_secs: i64,
}

impl Verifier<'_> {
    /// Verifies `query` of a `method` request; `nonces` remembers every `SignatureNonce` seen.
    pub fn verify(
        &self,
        method: &str,
        query: &str,
        nonces: &mut Nonces,
    ) -> Result<Verified, CdsError> {
        let params = parse_query(query)?;
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        for key in COMMON_PARAMS {
            if get(key).is_none() {
                return Err(CdsError::missing_parameter(key));
            }
        }
        let value = |key: &str| get(key).unwrap_or_default();
        if value("SignatureMethod") != "HMAC-SHA1" {
            return Err(CdsError::invalid_parameter_value("SignatureMethod"));
        }
        if value("SignatureVersion") != "1.0" {
            return Err(CdsError::invalid_parameter_value("SignatureVersion"));
        }
        if value("Version") != API_VERSION {
            return Err(CdsError::invalid_parameter_value("Version"));
        }
        let timestamp = PrimitiveDateTime::parse(
            value("Timestamp"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
        )
        .map_err(|_| CdsError::invalid_timestamp_format())?
        .assume_utc();
        if (timestamp.unix_timestamp() - self.now_secs).abs() > self.max_skew_secs {
            return Err(CdsError::timestamp_expired());
        }
        let credential = self
            .credentials
            .iter()
            .find(|c| c.secret_id == value("AccessKeyId"))
            .ok_or_else(CdsError::access_key_not_found)?;
        let expected = signature(&credential.secret_key, &string_to_sign(method, &params));
        if expected != value("Signature") {
            return Err(CdsError::signature_mismatch());
        }
        // Only a correctly signed nonce is remembered, so a forged request cannot burn one.
        let fresh = nonces.remember(
            value("SignatureNonce"),
            timestamp.unix_timestamp(),
            self.now_secs,
            self.max_skew_secs,
        );
        if !fresh {
            return Err(CdsError::nonce_used());
        }
        Ok(Verified {
            action: value("Action").to_owned(),
            access_key_id: credential.secret_id.clone(),
            business: params
                .iter()
                .filter(|(k, _)| !COMMON_PARAMS.contains(&k.as_str()) && k != "Format")
                .cloned()
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sign_vectors.json"
    ));

    fn vector() -> Value {
        let all: Value = serde_json::from_str(VECTORS).expect("sign_vectors.json is JSON");
        all["cds"]["derived_vector_not_official"].clone()
    }

    fn vector_params() -> Vec<(String, String)> {
        vector()["inputs"]["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    }

    fn query_of(params: &[(String, String)]) -> String {
        params
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn the_cds_vector_signs_with_the_bare_secret() {
        let v = vector();
        let sts = string_to_sign("GET", &vector_params());
        assert_eq!(sts, v["expected"]["string_to_sign"].as_str().unwrap());
        assert_eq!(
            signature("testsecret", &sts),
            v["expected"]["signature_key_bare_secret(official CDS SDKs)"]
                .as_str()
                .unwrap()
        );
        assert_ne!(
            signature("testsecret&", &sts),
            signature("testsecret", &sts),
            "the doc's secret+& key gives another signature"
        );
    }

    fn verifier(creds: &[SimCredential], now: i64) -> Verifier<'_> {
        Verifier {
            credentials: creds,
            max_skew_secs: 900,
            now_secs: now,
        }
    }

    fn signed(params: &mut Vec<(String, String)>, secret: &str) -> String {
        let sig = signature(secret, &string_to_sign("GET", params));
        params.push(("Signature".into(), sig));
        query_of(params)
    }

    #[test]
    fn the_vector_verifies_once_and_a_replayed_nonce_is_refused() {
        let creds = [SimCredential::new("testid", "testsecret")];
        let now = 1_456_231_584; // 2016-02-23T12:46:24Z
        let mut params = vector_params();
        let query = signed(&mut params, "testsecret");
        let mut nonces = Nonces::default();
        let ok = verifier(&creds, now)
            .verify("GET", &query, &mut nonces)
            .unwrap();
        assert_eq!(ok.action, "DescribeTask");
        assert_eq!(
            ok.business,
            [(
                "TaskId".to_owned(),
                "f9053ea8-fc23-4032-8a7f-01def77b4cc0".to_owned()
            )]
        );
        let replay = verifier(&creds, now)
            .verify("GET", &query, &mut nonces)
            .unwrap_err();
        assert_eq!(replay.code, "SignatureNonceUsed");
    }

    #[test]
    fn wrong_secret_unknown_key_stale_time_and_missing_params_are_refused() {
        let creds = [SimCredential::new("testid", "testsecret")];
        let now = 1_456_231_584;
        let mut nonces = Nonces::default();
        let mut params = vector_params();
        let wrong = signed(&mut params, "testsecret&");
        let e = verifier(&creds, now)
            .verify("GET", &wrong, &mut nonces)
            .unwrap_err();
        assert_eq!((e.status, e.code), (403, "SignatureDoesNotMatch"));
        let e = verifier(&creds, now)
            .verify("POST", &wrong, &mut nonces)
            .unwrap_err();
        assert_eq!(e.code, "SignatureDoesNotMatch", "the method is signed");
        let others = [SimCredential::new("other", "testsecret")];
        let mut params = vector_params();
        let query = signed(&mut params, "testsecret");
        let e = verifier(&others, now)
            .verify("GET", &query, &mut nonces)
            .unwrap_err();
        assert_eq!(e.code, "InvalidAccessKeyId.NotFound");
        let e = verifier(&creds, now + 3600)
            .verify("GET", &query, &mut nonces)
            .unwrap_err();
        assert_eq!(e.code, "InvalidTimeStamp.Expired");
        let mut params = vector_params();
        params.retain(|(k, _)| k != "SignatureNonce");
        let query = signed(&mut params, "testsecret");
        let e = verifier(&creds, now)
            .verify("GET", &query, &mut nonces)
            .unwrap_err();
        assert_eq!(
            (e.code, e.message.contains("SignatureNonce")),
            ("MissingParameter", true)
        );
        assert!(nonces.is_empty(), "refused requests burn no nonce");
    }

    #[test]
    fn expired_nonces_are_forgotten_as_the_set_grows() {
        let mut nonces = Nonces::default();
        for i in 0..Nonces::PRUNE_AT {
            assert!(nonces.remember(&i.to_string(), 0, 0, 900));
        }
        assert!(!nonces.remember("1", 0, 0, 900), "a replay within the skew");
        // An hour later every remembered nonce has expired.
        assert!(nonces.remember("new", 3600, 3600, 900));
        assert_eq!(nonces.len(), 1);
    }

    #[test]
    fn spaces_are_encoded_as_percent_20_and_decoded_back() {
        assert_eq!(percent_encode("a b*~/"), "a%20b%2A~%2F");
        assert_eq!(percent_decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
