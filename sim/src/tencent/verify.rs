//! Server-side check of Tencent Cloud `TC3-HMAC-SHA256` signatures.
//!
//! Written independently of the broker's signer (`host/…/sign/tc3.rs`) so that one cannot hide a
//! bug in the other; both are checked against `testdata/sign_vectors.json`.
//!
//! The algorithm, as Tencent documents it ("Signature v3"):
//!
//! ```text
//! CanonicalRequest = Method \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! CanonicalHeaders = for each name in SignedHeaders: lower(name) ":" lower(trim(value)) "\n"
//! StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/Service/tc3_request \n hex(sha256(CanonicalRequest))
//! SecretDate       = HMAC("TC3" + SecretKey, Date);  SecretService = HMAC(SecretDate, Service)
//! SecretSigning    = HMAC(SecretService, "tc3_request");  Signature = hex(HMAC(SecretSigning, StringToSign))
//! ```
//!
//! Header *values* are lower-cased too: the published vector with `x-tc-action` signs
//! `x-tc-action:describeinstances`. `Date` is the UTC date of `X-TC-Timestamp`; a scope whose date
//! differs (the classic "signed with the local date" bug) fails as a signature mismatch.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::TcError;
use crate::SimCredential;

/// The only algorithm API 3.0 accepts in the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The parts of `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The key id, first part of `Credential`.
    pub secret_id: &'a str,
    /// `YYYY-MM-DD` from the credential scope.
    pub date: &'a str,
    /// The service (`vpc`, `cvm`, …) from the credential scope.
    pub service: &'a str,
    /// `;`-separated lower-case header names.
    pub signed_headers: &'a str,
    /// 64 lower-case hex digits.
    pub signature: &'a str,
}

/// Parse an `Authorization` header value; the error says what is wrong with it.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, TcError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| TcError::invalid_authorization("the algorithm must be TC3-HMAC-SHA256"))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| TcError::invalid_authorization("expected `key=value` parts"))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(TcError::invalid_authorization("unexpected part")),
        };
        if slot.replace(val).is_some() {
            return Err(TcError::invalid_authorization("repeated part"));
        }
    }
    let credential = credential.ok_or_else(|| TcError::invalid_authorization("no Credential"))?;
    let signed_headers =
        signed_headers.ok_or_else(|| TcError::invalid_authorization("no SignedHeaders"))?;
    let signature = signature.ok_or_else(|| TcError::invalid_authorization("no Signature"))?;

    // `SecretId/Date/Service/tc3_request`, split from the right so the id is whatever is left.
    let mut scope = credential.rsplitn(4, '/');
    let (terminator, service, date, secret_id) =
        (scope.next(), scope.next(), scope.next(), scope.next());
    let (Some("tc3_request"), Some(service), Some(date), Some(secret_id)) =
        (terminator, service, date, secret_id)
    else {
        return Err(TcError::invalid_authorization(
            "Credential must be SecretId/Date/Service/tc3_request",
        ));
    };
    if secret_id.is_empty() || service.is_empty() || !is_date(date) {
        return Err(TcError::invalid_authorization("bad credential scope"));
    }
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(TcError::invalid_authorization(
            "Signature must be 64 lower-case hex digits",
        ));
    }
    if signed_headers.is_empty()
        || signed_headers
            .split(';')
            .any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(TcError::invalid_authorization("bad SignedHeaders"));
    }
    Ok(Authorization {
        secret_id,
        date,
        service,
        signed_headers,
        signature,
    })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// hex(sha256(data)).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request; `header(name)` returns the request's value for a lower-case name.
pub fn canonical_request<'h>(
    method: &str,
    uri: &str,
    query: &str,
    signed_headers: &str,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> String {
    let mut headers = String::new();
    for name in signed_headers.split(';') {
        let value = header(name).unwrap_or("").trim().to_ascii_lowercase();
        headers.push_str(&format!("{name}:{value}\n"));
    }
    format!(
        "{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{}",
        sha256_hex(body)
    )
}

/// `Date/Service/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/tc3_request")
}

/// The string to sign.
pub fn string_to_sign(timestamp: i64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The derived keys `[SecretDate, SecretService, SecretSigning]`.
pub fn derived_keys(secret_key: &str, date: &str, service: &str) -> [[u8; 32]; 3] {
    let secret_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac(&secret_date, service.as_bytes());
    let secret_signing = hmac(&secret_service, b"tc3_request");
    [secret_date, secret_service, secret_signing]
}

/// hex(HMAC(SecretSigning, StringToSign)).
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let [_, _, signing] = derived_keys(secret_key, date, service);
    hex::encode(hmac(&signing, string_to_sign.as_bytes()))
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp, as the credential scope must carry it.
pub fn utc_date(timestamp: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(timestamp)
        .ok()?
        .format(format_description!("[year]-[month]-[day]"))
        .ok()
}

/// What a verified request proved.
#[derive(Debug)]
pub struct Verified {
    /// The key id that signed it.
    pub secret_id: String,
    /// The service from the credential scope.
    pub service: String,
}

/// The request facts the check needs.
pub struct SignedRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path (API 3.0 always uses `/`).
    pub uri: &'a str,
    /// The raw query string, empty for POST.
    pub query: &'a str,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
}

/// Check a request as Tencent does, in Tencent's order: `Authorization` syntax, timestamp, key id,
/// signed-header set, signature.
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: &[SimCredential],
    now: i64,
    max_clock_skew_secs: i64,
) -> Result<Verified, TcError> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let auth = header("authorization").ok_or_else(|| TcError::invalid_authorization("missing"))?;
    let auth = parse_authorization(auth)?;

    let timestamp =
        header("x-tc-timestamp").ok_or_else(|| TcError::missing_parameter("Timestamp"))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| TcError::parameter_type("Timestamp"))?;
    if (now - timestamp).abs() > max_clock_skew_secs {
        return Err(TcError::signature_expire());
    }

    let credential = credentials
        .iter()
        .find(|c| c.secret_id == auth.secret_id)
        .ok_or_else(TcError::secret_id_not_found)?;

    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"content-type") || !signed.contains(&"host") {
        return Err(TcError::invalid_authorization(
            "SignedHeaders must include content-type and host",
        ));
    }

    if utc_date(timestamp).as_deref() != Some(auth.date) {
        return Err(TcError::signature_failure());
    }
    let canonical = canonical_request(
        request.method,
        request.uri,
        request.query,
        auth.signed_headers,
        header,
        request.body,
    );
    let to_sign = string_to_sign(
        timestamp,
        &credential_scope(auth.date, auth.service),
        &canonical,
    );
    let expected = signature(&credential.secret_key, auth.date, auth.service, &to_sign);
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(TcError::signature_failure());
    }
    Ok(Verified {
        secret_id: auth.secret_id.to_owned(),
        service: auth.service.to_owned(),
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sign_vectors.json"
    ));

    fn tc3_vectors() -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).expect("sign_vectors.json is JSON");
        all["vectors"]
            .as_array()
            .expect("`vectors` is an array")
            .iter()
            .filter(|v| v["scheme"] == ALGORITHM)
            .cloned()
            .collect()
    }

    fn s<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("`{key}` is a string"))
    }

    fn headers_of(input: &Value) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_str(s(input, "content_type")).unwrap(),
        );
        headers.insert("host", HeaderValue::from_str(s(input, "host")).unwrap());
        headers.insert(
            "x-tc-action",
            HeaderValue::from_str(s(input, "action")).unwrap(),
        );
        headers.insert(
            "x-tc-version",
            HeaderValue::from_str(s(input, "version")).unwrap(),
        );
        headers.insert(
            "x-tc-region",
            HeaderValue::from_str(s(input, "region")).unwrap(),
        );
        headers
    }

    #[test]
    fn every_tc3_vector_is_reproduced_step_by_step() {
        let vectors = tc3_vectors();
        assert!(
            vectors.len() >= 3,
            "expected the TC3 vectors, found {}",
            vectors.len()
        );
        for v in &vectors {
            let (id, input, want) = (s(v, "id"), &v["inputs"], &v["expected"]);
            let headers = headers_of(input);
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let payload = s(input, "payload").as_bytes();
            let timestamp = input["timestamp"].as_i64().unwrap();
            let (date, service) = (utc_date(timestamp).unwrap(), s(input, "service"));

            assert_eq!(
                sha256_hex(payload),
                s(want, "hashed_payload"),
                "{id}: hashed payload"
            );
            let canonical = canonical_request(
                s(input, "method"),
                s(input, "uri"),
                s(input, "query"),
                s(input, "signed_headers"),
                header,
                payload,
            );
            assert_eq!(
                canonical,
                s(want, "canonical_request"),
                "{id}: canonical request"
            );
            assert_eq!(
                sha256_hex(canonical.as_bytes()),
                s(want, "hashed_canonical_request"),
                "{id}: hashed canonical request"
            );
            let scope = credential_scope(&date, service);
            assert_eq!(scope, s(want, "credential_scope"), "{id}: scope");
            let to_sign = string_to_sign(timestamp, &scope, &canonical);
            assert_eq!(to_sign, s(want, "string_to_sign"), "{id}: string to sign");
            let secret_key = s(input, "secret_key");
            let sig = signature(secret_key, &date, service, &to_sign);
            assert_eq!(sig, s(want, "signature"), "{id}: signature");
            let keys = derived_keys(secret_key, &date, service);
            for (i, name) in [
                "secret_date_hex",
                "secret_service_hex",
                "secret_signing_hex",
            ]
            .iter()
            .enumerate()
            {
                if let Some(expected) = want[name].as_str() {
                    assert_eq!(hex::encode(keys[i]), expected, "{id}: {name}");
                }
            }

            // The whole server-side check accepts the published Authorization header …
            let mut headers = headers.clone();
            headers.insert(
                "authorization",
                HeaderValue::from_str(s(want, "authorization")).unwrap(),
            );
            headers.insert("x-tc-timestamp", HeaderValue::from(timestamp));
            let creds = [SimCredential::new(s(input, "secret_id"), secret_key)];
            let request = SignedRequest {
                method: "POST",
                uri: "/",
                query: "",
                headers: &headers,
                body: payload,
            };
            let verified = verify(&request, &creds, timestamp + 10, 300)
                .unwrap_or_else(|e| panic!("{id}: {e:?}"));
            assert_eq!(
                (verified.secret_id.as_str(), verified.service.as_str()),
                (s(input, "secret_id"), service)
            );

            // … and rejects it once the body changes.
            let tampered = SignedRequest {
                body: b"{}",
                ..request
            };
            assert_eq!(
                verify(&tampered, &creds, timestamp, 300).unwrap_err().code,
                "AuthFailure.SignatureFailure"
            );
        }
    }

    #[test]
    fn authorization_header_parts_are_parsed() {
        let auth = parse_authorization(
            "TC3-HMAC-SHA256 Credential={$your_SecretID}/2019-02-25/vpc/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        )
        .unwrap();
        assert_eq!(auth.secret_id, "{$your_SecretID}");
        assert_eq!(
            (auth.date, auth.service, auth.signed_headers),
            ("2019-02-25", "vpc", "content-type;host")
        );
    }

    #[test]
    fn garbled_authorization_headers_are_rejected() {
        for bad in [
            "",
            "TC3-HMAC-SHA1 Credential=a/2019-02-25/vpc/tc3_request, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=a/2019-02-25/vpc, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
            "TC3-HMAC-SHA256 Credential=a/2019-02-25/vpc/tc3_request, SignedHeaders=content-type;host, Signature=xyz",
            "TC3-HMAC-SHA256 Credential=a/2019-02-25/vpc/tc3_request, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        ] {
            assert_eq!(
                parse_authorization(bad).unwrap_err().code,
                "AuthFailure.InvalidAuthorization",
                "{bad}"
            );
        }
    }
}
