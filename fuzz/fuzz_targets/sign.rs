//! The signers' canonicalisation (`host/src/capabilities/signed_http/sign`).
//!
//! Invariants: RFC 3986 percent-encoding keeps exactly the unreserved characters and decodes
//! back to its input; an Aliyun/CDS canonical query is sorted and decodes back to the same
//! parameters (parse → render → parse); the string to sign decodes back to the canonical query;
//! signatures are deterministic and of the documented length; TC3's canonical request lists the
//! sorted, lower-cased headers and its date is the UTC calendar date of the timestamp.

#![no_main]

use arbitrary::Arbitrary;
use broker_fuzz::sign::{aliyun_rpc, cds, percent_encode, tc3, tencent_v1};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

#[derive(Arbitrary, Debug)]
struct Case {
    method: String,
    params: Vec<(String, String)>,
    secret: String,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    payload: Vec<u8>,
    service: String,
    timestamp: i64,
}

fn decode(s: &str) -> String {
    percent_decode_str(s)
        .decode_utf8()
        .expect("percent-encoded UTF-8 decodes")
        .into_owned()
}

/// Parses a canonical query back into (key, value) pairs, checking its shape on the way.
fn parse_canonical(query: &str) -> Vec<(String, String)> {
    if query.is_empty() {
        return Vec::new();
    }
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("every pair has `=`");
            for part in [k, v] {
                assert!(
                    part.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
                    "{part:?} is not RFC 3986-encoded"
                );
            }
            (decode(k), decode(v))
        })
        .collect()
}

fuzz_target!(|case: Case| {
    for (k, v) in &case.params {
        for s in [k, v] {
            let encoded = percent_encode(s);
            assert_eq!(&decode(&encoded), s);
        }
    }

    let canonical = aliyun_rpc::canonical_query(&case.params);
    let encoded_pairs: Vec<&str> = if canonical.is_empty() {
        Vec::new()
    } else {
        canonical.split('&').collect()
    };
    assert!(encoded_pairs.windows(2).all(|w| {
        let key = |p: &str| p.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()));
        key(w[0]) <= key(w[1])
    }));
    let mut parsed = parse_canonical(&canonical);
    let mut given = case.params.clone();
    parsed.sort();
    given.sort();
    assert_eq!(
        parsed, given,
        "the canonical query lost or changed a parameter"
    );
    assert_eq!(cds::canonical_query(&case.params), canonical);

    let to_sign = aliyun_rpc::string_to_sign(&case.method, &case.params);
    let prefix = format!("{}&%2F&", case.method);
    let rest = to_sign.strip_prefix(&prefix).expect("METHOD&%2F& prefix");
    assert_eq!(decode(rest), canonical);

    let signature = aliyun_rpc::sign(&case.method, &case.params, &case.secret);
    assert_eq!(signature.len(), 28, "base64 of 20 bytes");
    assert_eq!(
        signature,
        aliyun_rpc::sign(&case.method, &case.params, &case.secret)
    );
    assert_eq!(
        cds::sign(&case.method, &case.params, &case.secret).len(),
        28
    );

    let v1 = tencent_v1::string_to_sign(&case.method, &case.host, &case.path, &case.params);
    assert!(v1.starts_with(&format!("{}{}{}?", case.method, case.host, case.path)));
    for alg in [tencent_v1::Method::HmacSha1, tencent_v1::Method::HmacSha256] {
        let sig = tencent_v1::sign(
            &case.method,
            &case.host,
            &case.path,
            &case.params,
            &case.secret,
            alg,
        );
        assert_eq!(
            sig.len(),
            if alg == tencent_v1::Method::HmacSha1 {
                28
            } else {
                44
            }
        );
    }

    let headers: Vec<(&str, &str)> = case
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = tc3::Tc3Request {
        method: &case.method,
        canonical_uri: &case.path,
        canonical_query: &canonical,
        headers: &headers,
        payload: &case.payload,
        service: &case.service,
        timestamp: case.timestamp,
        secret_id: &case.host,
        secret_key: &case.secret,
    };
    let signed = tc3::sign(&request);
    assert_eq!(signed.signature.len(), 64);
    assert_eq!(signed, tc3::sign(&request));
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.trim().to_ascii_lowercase())
        .collect();
    names.sort();
    assert_eq!(signed.signed_headers, names.join(";"));
    assert!(
        signed
            .canonical_request
            .starts_with(&format!("{}\n{}\n{}\n", case.method, case.path, canonical))
    );

    let date = tc3::utc_date(case.timestamp);
    if let Ok(at) = time::OffsetDateTime::from_unix_timestamp(case.timestamp) {
        let d = at.date();
        let expected = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        assert_eq!(date, expected, "timestamp {}", case.timestamp);
    }
});
