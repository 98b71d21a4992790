//! Request signers for the cloud APIs the broker talks to.
//!
//! Every function here is pure: no I/O, no clock, no randomness. The caller supplies the
//! timestamp, nonce and credentials, so a signature can be reproduced byte for byte from the
//! official test vectors (see the tests at the bottom of this file and
//! `testdata/sign_vectors.json`).
//!
//! * [`tc3`] — Tencent Cloud API 3.0, `TC3-HMAC-SHA256`.
//! * [`tencent_v1`] — legacy Tencent signature v1 (`HmacSHA1` / `HmacSHA256`).
//! * [`aliyun_rpc`] — Alibaba Cloud RPC-style APIs, signature version 1.0 (`HMAC-SHA1`).
//! * [`cds`] — Capital Online: Aliyun RPC canonicalisation, but keyed with the bare secret.

pub mod aliyun_rpc;
pub mod cds;
pub mod tc3;
pub mod tencent_v1;

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Everything except the RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` per RFC 3986: unreserved characters are kept, every other byte of the
/// UTF-8 encoding becomes `%XX` with upper-case hex (so a space is `%20`, never `+`, and `*` is
/// `%2A`). This is the encoding Alibaba-style signatures require; `application/x-www-form-urlencoded`
/// encoders differ on exactly these characters and would break the signature.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// HMAC-SHA1 of `data` under `key` (20 raw bytes). Used by Aliyun RPC, CDS and Tencent v1.
pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `data` under `key` (32 raw bytes). Used by TC3 and Tencent v1 `HmacSHA256`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex SHA-256 of `data`, as TC3 uses for the payload and canonical request hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sign_vectors.json"
    ));

    fn doc() -> Value {
        serde_json::from_str(VECTORS).expect("sign_vectors.json parses")
    }

    fn s<'a>(v: &'a Value, key: &str) -> &'a str {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("missing string field {key:?} in {v}"))
    }

    /// The `params` object of a vector as owned pairs (JSON object order, which is irrelevant
    /// because every signer sorts).
    fn params(inputs: &Value) -> Vec<(String, String)> {
        inputs["params"]
            .as_object()
            .expect("params is an object")
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().expect("param value is a string").to_owned(),
                )
            })
            .collect()
    }

    fn reversed(p: &[(String, String)]) -> Vec<(String, String)> {
        p.iter().rev().cloned().collect()
    }

    /// Compares every `expected` field of `vector` against `actual(name)`; an expected field the
    /// test does not know about is a failure, so a new field cannot be skipped silently.
    fn check_expected(vector: &Value, actual: impl Fn(&str) -> Option<String>) {
        let id = s(vector, "id");
        let expected = vector["expected"]
            .as_object()
            .expect("expected is an object");
        assert!(!expected.is_empty(), "{id}: no expected fields");
        for (field, want) in expected {
            let want = want.as_str().expect("expected values are strings");
            let got =
                actual(field).unwrap_or_else(|| panic!("{id}: unknown expected field {field:?}"));
            assert_eq!(got, want, "{id}: field {field}");
        }
    }

    fn check_tc3(v: &Value) {
        let i = &v["inputs"];
        let signed = s(i, "signed_headers");
        // Mixed-case names and a padded value: the signer must normalise them.
        let mut headers = vec![
            ("Content-Type", s(i, "content_type")),
            ("Host", s(i, "host")),
        ];
        for name in signed.split(';') {
            match name {
                "content-type" | "host" => {}
                // Sent as "DescribeInstances" on the wire; the signer lower-cases the value.
                "x-tc-action" => headers.push(("X-TC-Action", s(i, "action"))),
                other => panic!("{}: unsupported signed header {other}", s(v, "id")),
            }
        }
        let padded_host = format!("  {} ", s(i, "host"));
        headers[1].1 = &padded_host;
        let req = tc3::Tc3Request {
            method: s(i, "method"),
            canonical_uri: s(i, "uri"),
            canonical_query: s(i, "query"),
            headers: &headers,
            payload: s(i, "payload").as_bytes(),
            service: s(i, "service"),
            timestamp: i["timestamp"].as_i64().expect("timestamp"),
            secret_id: s(i, "secret_id"),
            secret_key: s(i, "secret_key"),
        };
        let sig = tc3::sign(&req);
        assert_eq!(sig.signed_headers, signed, "{}", s(v, "id"));
        let date = sig.credential_scope.split('/').next().unwrap().to_owned();
        let (k_date, k_service, k_signing) = tc3::derived_keys(req.secret_key, &date, req.service);
        check_expected(v, |field| {
            Some(match field {
                "hashed_payload" => sig.hashed_payload.clone(),
                "canonical_request" => sig.canonical_request.clone(),
                "hashed_canonical_request" => sig.hashed_canonical_request.clone(),
                "credential_scope" => sig.credential_scope.clone(),
                "string_to_sign" => sig.string_to_sign.clone(),
                "signature" => sig.signature.clone(),
                "authorization" => sig.authorization.clone(),
                "secret_date_hex" => hex::encode(k_date),
                "secret_service_hex" => hex::encode(k_service),
                "secret_signing_hex" => hex::encode(k_signing),
                _ => return None,
            })
        });
    }

    fn check_tencent_v1(v: &Value, alg: tencent_v1::Method) {
        let i = &v["inputs"];
        assert_eq!(
            s(i, "signature_method"),
            alg.as_param(),
            "{}: scheme and signature_method disagree",
            s(v, "id")
        );
        let p = params(i);
        let (method, host, path, key) = (
            s(i, "method"),
            s(i, "host"),
            s(i, "path"),
            s(i, "secret_key"),
        );
        let sts = tencent_v1::string_to_sign(method, host, path, &p);
        let sig = tencent_v1::sign(method, host, path, &p, key, alg);
        assert_eq!(
            sig,
            tencent_v1::sign(method, host, path, &reversed(&p), key, alg)
        );
        check_expected(v, |field| {
            Some(match field {
                "string_to_sign" => sts.clone(),
                "signature" => sig.clone(),
                _ => return None,
            })
        });
    }

    fn check_aliyun_rpc(v: &Value) {
        let i = &v["inputs"];
        let secret = s(i, "access_key_secret");
        // Informational input: the HMAC key really is secret + "&".
        assert_eq!(s(i, "hmac_key"), format!("{secret}&"));
        let p = params(i);
        let method = s(i, "method");
        let cq = aliyun_rpc::canonical_query(&p);
        let sts = aliyun_rpc::string_to_sign(method, &p);
        let sig = aliyun_rpc::sign(method, &p, secret);
        assert_eq!(sig, aliyun_rpc::sign(method, &reversed(&p), secret));
        check_expected(v, |field| {
            Some(match field {
                "canonicalized_query_string" => cq.clone(),
                "string_to_sign" => sts.clone(),
                "signature" => sig.clone(),
                _ => return None,
            })
        });
    }

    /// Every entry of `vectors`, dispatched on `scheme`; an unknown scheme fails.
    #[test]
    fn official_vectors() {
        let doc = doc();
        let vectors = doc["vectors"].as_array().expect("vectors is an array");
        assert!(!vectors.is_empty());
        let mut checked = 0;
        for v in vectors {
            match s(v, "scheme") {
                "TC3-HMAC-SHA256" => check_tc3(v),
                "tencent-v1 (HmacSHA1)" => check_tencent_v1(v, tencent_v1::Method::HmacSha1),
                "tencent-v1 (HmacSHA256)" => check_tencent_v1(v, tencent_v1::Method::HmacSha256),
                "aliyun-rpc HMAC-SHA1 v1.0" => check_aliyun_rpc(v),
                other => panic!("{}: unknown scheme {other:?}", s(v, "id")),
            }
            checked += 1;
        }
        assert_eq!(checked, vectors.len());
    }

    /// The derived (non-official) CDS vector: bare-secret key matches the official SDKs, and the
    /// doc-prose key (secret + "&") gives the other published value.
    #[test]
    fn cds_derived_vector() {
        let doc = doc();
        let cds_doc = &doc["cds"];
        assert!(
            cds_doc["official_vector"].is_null(),
            "an official CDS vector appeared: test it"
        );
        let v = &cds_doc["derived_vector_not_official"];
        let i = &v["inputs"];
        let p = params(i);
        let (method, secret) = (s(i, "method"), s(i, "access_key_secret"));
        let sts = cds::string_to_sign(method, &p);
        let bare = cds::sign(method, &p, secret);
        let amp = aliyun_rpc::sign(method, &p, secret);
        assert_ne!(bare, amp);
        check_expected(v, |field| {
            Some(match field {
                "string_to_sign" => sts.clone(),
                "signature_key_bare_secret(official CDS SDKs)" => bare.clone(),
                "signature_key_secret_plus_amp(CDS doc prose)" => amp.clone(),
                _ => return None,
            })
        });
        // The path (/ccs) is not part of the string to sign: it is always "%2F".
        assert_eq!(s(i, "path"), "/ccs");
        assert!(sts.starts_with("GET&%2F&"));
    }

    /// The doc examples the vector file rejects are indeed not reproducible as printed.
    #[test]
    fn rejected_examples_are_not_reproduced() {
        let doc = doc();
        let rejected = doc["rejected_doc_examples"].as_array().expect("array");
        assert_eq!(
            rejected.len(),
            2,
            "new rejected example: add a check for it"
        );

        // Tencent API 3.0 page signed with v1 after swapping in EXAMPLE keys.
        let p: Vec<(String, String)> = [
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Limit", "20"),
            ("Nonce", "11886"),
            ("Offset", "0"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
            ("Timestamp", "1465185768"),
            ("Version", "2017-03-12"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (host, path, key) = (
            "cvm.tencentcloudapi.com",
            "/",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        );
        assert_eq!(
            tencent_v1::string_to_sign("GET", host, path, &p),
            "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12"
        );
        let sig = tencent_v1::sign("GET", host, path, &p, key, tencent_v1::Method::HmacSha1);
        assert_eq!(s(&rejected[0], "claimed"), "v9MVG3fopp/gCsLSZ4gMFeYGgDU=");
        assert_ne!(sig, "v9MVG3fopp/gCsLSZ4gMFeYGgDU=");
        assert_eq!(sig, "EliP9YW3pW28FpsEdkXt/+WcGeI=");

        // Aliyun DescribeDedicatedHosts page printing the DescribeRegions signature.
        let claimed = s(&rejected[1], "claimed");
        assert!(claimed.starts_with("OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D"));
        let mut p: Vec<(String, String)> = [
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeDedicatedHosts"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-xxxx-xxxx-xxxx-xxxxxxxxx"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let printed = "OLeaidS1JvxuMvnyHOwuJ+uX5qY=";
        assert_eq!(percent_encode(printed), "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D");
        assert_ne!(aliyun_rpc::sign("GET", &p, "testsecret"), printed);
        // ... whereas the DescribeRegions request with the real nonce does give it.
        p[3].1 = "DescribeRegions".into();
        p[5].1 = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf".into();
        assert_eq!(aliyun_rpc::sign("GET", &p, "testsecret"), printed);
    }

    #[test]
    fn percent_encoding_is_rfc3986() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("~"), "~");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("+/=:&"), "%2B%2F%3D%3A%26");
        assert_eq!(percent_encode("Az09-_.~"), "Az09-_.~");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("%"), "%25");
    }

    #[test]
    fn aliyun_canonical_query_encodes_keys_and_values() {
        let p = vec![
            ("b key".to_owned(), "v*1~".to_owned()),
            ("A".to_owned(), "x y".to_owned()),
        ];
        assert_eq!(aliyun_rpc::canonical_query(&p), "A=x%20y&b%20key=v%2A1~");
        assert_eq!(
            aliyun_rpc::string_to_sign("POST", &p),
            "POST&%2F&A%3Dx%2520y%26b%2520key%3Dv%252A1~"
        );
        // CDS reuses the same canonicalisation.
        assert_eq!(cds::canonical_query(&p), aliyun_rpc::canonical_query(&p));
    }

    #[test]
    fn tencent_v1_sorts_by_plain_byte_order_with_raw_values() {
        let p = vec![
            ("alpha".to_owned(), "a b/c".to_owned()),
            ("Zeta".to_owned(), "1".to_owned()),
        ];
        assert_eq!(
            tencent_v1::string_to_sign("GET", "h.example", "/p", &p),
            "GETh.example/p?Zeta=1&alpha=a b/c"
        );
    }

    #[test]
    fn tc3_canonicalises_headers() {
        let headers = [
            ("X-TC-Action", " DescribeZones "),
            ("Host", "cvm.tencentcloudapi.com"),
            ("Content-Type", "application/json"),
        ];
        let req = tc3::Tc3Request {
            method: "POST",
            canonical_uri: "/",
            canonical_query: "",
            headers: &headers,
            payload: b"{}",
            service: "cvm",
            timestamp: 0,
            secret_id: "id",
            secret_key: "s3cr3t-key",
        };
        let sig = tc3::sign(&req);
        assert_eq!(sig.signed_headers, "content-type;host;x-tc-action");
        assert!(sig.canonical_request.contains(
            "\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\nx-tc-action:describezones\n\n"
        ));
        assert_eq!(sig.credential_scope, "1970-01-01/cvm/tc3_request");
        assert!(
            !format!("{req:?}").contains("key\""),
            "Debug must not print the secret"
        );
    }

    #[test]
    fn tc3_date_matches_time_crate() {
        use time::OffsetDateTime;
        use time::macros::format_description;
        let fmt = format_description!("[year]-[month]-[day]");
        let mut ts: i64 = -5_000_000_000;
        while ts < 20_000_000_000 {
            for t in [ts, ts + 86_399, ts - 1] {
                let want = OffsetDateTime::from_unix_timestamp(t)
                    .unwrap()
                    .format(&fmt)
                    .unwrap();
                assert_eq!(tc3::utc_date(t), want, "timestamp {t}");
            }
            ts += 86_400 * 37 + 4_321;
        }
        assert_eq!(tc3::utc_date(1_551_113_065), "2019-02-25");
        assert_eq!(tc3::utc_date(951_782_400), "2000-02-29");
        // Total for any input (no panic, no overflow).
        let _ = tc3::utc_date(i64::MIN);
        let _ = tc3::utc_date(i64::MAX);
    }
}
