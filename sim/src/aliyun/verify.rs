//! Server-side check of Alibaba Cloud RPC signatures (`SignatureVersion=1.0`, `HMAC-SHA1`).
//!
//! Written independently of the broker's signer (`host/…/sign/aliyun_rpc.rs`) so that one cannot
//! hide a bug in the other; both are checked against `testdata/sign_vectors.json`.
//!
//! ```text
//! CanonicalizedQueryString = sort(encode(k) "=" encode(v) for every parameter but Signature) joined by "&"
//! StringToSign             = Method "&" encode("/") "&" encode(CanonicalizedQueryString)
//! Signature                = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//! ```
//!
//! `encode` is RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~` becomes `%XX`.
//!
//! The checks run in Alibaba's order, each with its own error: mandatory parameters
//! (`MissingParameter`), `Timestamp` format and freshness (`InvalidTimeStamp.Format`,
//! `InvalidTimeStamp.Expired`), the key (`InvalidAccessKeyId.NotFound`), the signature
//! (`SignatureDoesNotMatch`), and last the nonce (`SignatureNonceUsed`), which is remembered
//! only once a request verified, so a forged request cannot burn a client's nonce.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use super::error::AliError;
use crate::SimCredential;

/// Parameters every signed RPC request carries.
pub const REQUIRED: &[&str] = &[
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
];

/// RFC 3986 percent-encoding as Alibaba specifies it (space → `%20`, `~` kept).
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

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `k=v&…` pairs of a query string or form body, decoded, in order.
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The canonicalised query string of `params`, `Signature` left out.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `Method&%2F&encode(canonical query)`.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    )
}

/// base64(HMAC-SHA1(`secret` + "&", `string_to_sign`)).
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Nonces seen recently, with the Unix second they were seen; Alibaba remembers them for
/// [`NONCE_TTL_SECS`].
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: HashMap<String, i64>,
}

/// How long a nonce stays used, in seconds (Alibaba: 15 minutes).
pub const NONCE_TTL_SECS: i64 = 900;

impl NonceCache {
    /// Records `nonce` at `now`; false if it was already used within the TTL.
    fn insert(&mut self, nonce: &str, now: i64) -> bool {
        self.seen.retain(|_, at| now - *at < NONCE_TTL_SECS);
        if self.seen.contains_key(nonce) {
            return false;
        }
        self.seen.insert(nonce.to_owned(), now);
        true
    }
}

/// The value of `key` in `params`, if present.
pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Verifies a request's signature and freshness; returns the caller's `AccessKeyId`.
pub fn verify(
    method: &str,
    params: &[(String, String)],
    credentials: &[SimCredential],
    now: i64,
    max_skew_secs: i64,
    nonces: &mut NonceCache,
) -> Result<String, AliError> {
    for key in REQUIRED {
        if param(params, key).is_none_or(str::is_empty) {
            return Err(AliError::missing_parameter(key));
        }
    }
    let value = |key| param(params, key).unwrap_or_default();
    if value("SignatureMethod") != "HMAC-SHA1" {
        return Err(AliError::invalid_parameter(
            "SignatureMethod",
            "Only HMAC-SHA1 is supported.",
        ));
    }
    if value("SignatureVersion") != "1.0" {
        return Err(AliError::invalid_parameter(
            "SignatureVersion",
            "Only 1.0 is supported.",
        ));
    }
    let timestamp = parse_timestamp(value("Timestamp")).ok_or_else(AliError::timestamp_format)?;
    if (now - timestamp).abs() > max_skew_secs {
        return Err(AliError::timestamp_expired());
    }
    let key_id = value("AccessKeyId");
    // A key id may be listed with more than one secret (the demo placeholder keys are): any
    // of them verifies.
    let secrets: Vec<&str> = credentials
        .iter()
        .filter(|c| c.secret_id == key_id)
        .map(|c| c.secret_key.as_str())
        .collect();
    if secrets.is_empty() {
        return Err(AliError::access_key_not_found());
    }
    let to_sign = string_to_sign(method, params);
    let given = value("Signature").as_bytes();
    if !secrets
        .iter()
        .any(|secret| constant_time_eq(signature(secret, &to_sign).as_bytes(), given))
    {
        return Err(AliError::signature_does_not_match(&to_sign));
    }
    if !nonces.insert(value("SignatureNonce"), now) {
        return Err(AliError::nonce_used());
    }
    Ok(key_id.to_owned())
}

/// `2016-02-23T12:46:24Z` → Unix seconds; only UTC ISO 8601 is accepted, as Alibaba does.
fn parse_timestamp(text: &str) -> Option<i64> {
    if !text.ends_with('Z') {
        return None;
    }
    OffsetDateTime::parse(text, &Iso8601::DEFAULT)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sign_vectors.json"
    ));

    fn rpc_vectors() -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).expect("sign_vectors.json is JSON");
        all["vectors"]
            .as_array()
            .expect("`vectors` is an array")
            .iter()
            .filter(|v| v["scheme"] == "aliyun-rpc HMAC-SHA1 v1.0")
            .cloned()
            .collect()
    }

    fn pairs(params: &Value) -> Vec<(String, String)> {
        params
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn every_alibaba_vector_is_reproduced_step_by_step() {
        let vectors = rpc_vectors();
        assert!(vectors.len() >= 3, "the Alibaba vectors are present");
        for v in vectors {
            let (input, expected) = (&v["inputs"], &v["expected"]);
            let params = pairs(&input["params"]);
            let method = input["method"].as_str().unwrap();
            assert_eq!(
                canonical_query(&params),
                expected["canonicalized_query_string"].as_str().unwrap(),
                "{}",
                v["id"]
            );
            let to_sign = string_to_sign(method, &params);
            assert_eq!(to_sign, expected["string_to_sign"].as_str().unwrap());
            assert_eq!(
                signature(input["access_key_secret"].as_str().unwrap(), &to_sign),
                expected["signature"].as_str().unwrap(),
                "{}",
                v["id"]
            );
        }
    }

    /// A signed request for the documented `DescribeDedicatedHosts` example, at `timestamp`.
    fn signed(timestamp: &str, nonce: &str, secret: &str) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce),
            ("SignatureVersion", "1.0"),
            ("Timestamp", timestamp),
            ("Version", "2014-05-26"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let sig = signature(secret, &string_to_sign("GET", &params));
        params.push(("Signature".into(), sig));
        params
    }

    const DOC_TIME: &str = "2023-03-13T08:34:30Z";
    const DOC_NOW: i64 = 1_678_696_470;

    fn creds() -> Vec<SimCredential> {
        vec![SimCredential::new("testid", "testsecret")]
    }

    fn check(
        params: &[(String, String)],
        now: i64,
        nonces: &mut NonceCache,
    ) -> Result<String, String> {
        verify("GET", params, &creds(), now, 900, nonces).map_err(|e| e.code)
    }

    #[test]
    fn the_documented_request_verifies_and_its_signature_matches_the_doc() {
        let params = signed(DOC_TIME, "edb2b34af0af9a6d14deaf7c1a5315eb", "testsecret");
        assert_eq!(
            param(&params, "Signature"),
            Some("9NaGiOspFP5UPcwX8Iwt2YJXXuk=")
        );
        let mut nonces = NonceCache::default();
        assert_eq!(check(&params, DOC_NOW, &mut nonces), Ok("testid".into()));
    }

    #[test]
    fn each_refusal_has_alibabas_code() {
        let mut nonces = NonceCache::default();
        let good = signed(DOC_TIME, "n-1", "testsecret");
        let wrong_key = signed(DOC_TIME, "n-2", "othersecret");
        assert_eq!(
            check(&wrong_key, DOC_NOW, &mut nonces),
            Err("SignatureDoesNotMatch".into())
        );
        let mut tampered = good.clone();
        tampered.push(("VpcId".into(), "vpc-added-after-signing".into()));
        assert_eq!(
            check(&tampered, DOC_NOW, &mut nonces),
            Err("SignatureDoesNotMatch".into())
        );
        let mut unknown = good.clone();
        unknown[0].1 = "nobody".into();
        assert_eq!(
            check(&unknown, DOC_NOW, &mut nonces),
            Err("InvalidAccessKeyId.NotFound".into())
        );
        assert_eq!(
            check(&good, DOC_NOW + 901, &mut nonces),
            Err("InvalidTimeStamp.Expired".into())
        );
        let badly_formatted = signed("13/03/2023 08:34", "n-3", "testsecret");
        assert_eq!(
            check(&badly_formatted, DOC_NOW, &mut nonces),
            Err("InvalidTimeStamp.Format".into())
        );
        let missing: Vec<_> = good
            .iter()
            .filter(|(k, _)| k != "SignatureNonce")
            .cloned()
            .collect();
        let e = verify("GET", &missing, &creds(), DOC_NOW, 900, &mut nonces).unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert!(e.message.contains("\"SignatureNonce\""), "{}", e.message);
        // The forged requests above did not burn the nonce; the good one uses it once.
        assert_eq!(check(&good, DOC_NOW, &mut nonces), Ok("testid".into()));
        assert_eq!(
            check(&good, DOC_NOW, &mut nonces),
            Err("SignatureNonceUsed".into())
        );
    }

    #[test]
    fn percent_coding_follows_rfc_3986_and_round_trips() {
        assert_eq!(percent_encode("a b*~/:é"), "a%20b%2A~%2F%3A%C3%A9");
        assert_eq!(percent_decode("a%20b+c%2A%C3%A9%zz"), "a b c*é%zz");
        assert_eq!(
            parse_pairs("A=1&B=x%3Dy&&C"),
            [
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("C".into(), String::new())
            ]
        );
    }
}
