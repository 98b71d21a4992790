//! WeCube parameter strings: `provider_params` (qcloud, cds), `identityParams` and
//! `cloudParams` (alicloud).
//!
//! The fuzzer builds the strings from entries whose values all carry a marker character that
//! keys and junk never contain. Invariants: no error message and no `Debug` output shows a value
//! (values may be secrets; `Debug` may show the public ones it names, never the secret); a parsed
//! string renders back (`k=v;...`) into one that parses to the same entries.

#![no_main]

use arbitrary::Arbitrary;
use broker_sdk::{AliyunParams, CdsParams, ProviderParams, TencentParams};
use libfuzzer_sys::fuzz_target;

/// Carried by every value; never in a key or in junk.
const MARK: char = '\u{7f}';

/// Keys the parsers look for, so the fuzzer reaches past "missing key" quickly.
const KNOWN: &[&str] = &[
    "Region",
    "AvailableZone",
    "SecretID",
    "SecretId",
    "SecretKey",
    "AccessKeyId",
    "AccessKeySecret",
    "accessKeyId",
    "secret",
    "regionId",
];

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Part {
    /// `key=value`, with padding around either side.
    Pair { key: Key, value: String, pad: u8 },
    /// Anything without `=`.
    Junk(String),
}

#[derive(Arbitrary, Debug)]
struct Strings {
    first: Vec<Part>,
    second: Vec<Part>,
    trailing_separator: bool,
}

fn render(parts: &[Part], trailing: bool) -> String {
    let mut text: Vec<String> = parts
        .iter()
        .map(|part| match part {
            Part::Pair { key, value, pad } => {
                let key = match key {
                    Key::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_owned(),
                    Key::Other(k) => k.replace(MARK, ""),
                };
                // A `;` in a value would start a new entry whose value is unmarked.
                let value = format!("{MARK}{}", value.replace(';', ""));
                let pad = " \t".repeat(usize::from(*pad % 3));
                format!("{pad}{key}{pad}={pad}{value}{pad}")
            }
            Part::Junk(junk) => junk.replace(['=', MARK], ""),
        })
        .collect();
    if trailing {
        text.push(String::new());
    }
    text.join(";")
}

fn assert_hidden(shown: &str) {
    assert!(!shown.contains(MARK), "a value leaked: {shown:?}");
}

/// `params` written back as `k=v;...`.
fn render_parsed(params: &ProviderParams) -> String {
    params
        .keys()
        .map(|k| format!("{k}={}", params.get(k).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(";")
}

fuzz_target!(|strings: Strings| {
    let first = render(&strings.first, strings.trailing_separator);
    let second = render(&strings.second, false);

    match ProviderParams::parse_labeled(&first, "identityParams") {
        Ok(params) => {
            assert_hidden(&format!("{params:?}"));
            let again = ProviderParams::parse_labeled(&render_parsed(&params), "identityParams")
                .expect("a rendered string parses");
            assert_eq!(again, params);
            for key in params.keys() {
                let value = params.get(key).expect("listed keys have values");
                assert_eq!(value.trim(), value);
                assert!(!key.is_empty() && key.trim() == key && !key.contains(['=', ';']));
            }
        }
        Err(e) => assert_hidden(e.message()),
    }

    match TencentParams::parse(&first) {
        Ok(tencent) => {
            let secret = ProviderParams::parse(&first).unwrap();
            let secret = secret.get("SecretKey").unwrap();
            let shown = format!("{tencent:?}");
            let public = [
                tencent.region(),
                tencent.zone().unwrap_or_default(),
                tencent.secret_id(),
            ];
            assert!(
                !shown.contains(secret) || public.iter().any(|p| p.contains(secret)),
                "the secret key leaked: {shown:?}"
            );
        }
        Err(e) => assert_hidden(e.message()),
    }

    match CdsParams::parse(&first) {
        Ok(cds) => {
            let secret = ProviderParams::parse(&first).unwrap();
            let secret = secret.get("AccessKeySecret").unwrap();
            let shown = format!("{cds:?}");
            let public = [cds.region().unwrap_or_default(), cds.access_key_id()];
            assert!(
                !shown.contains(secret) || public.iter().any(|p| p.contains(secret)),
                "the secret leaked: {shown:?}"
            );
        }
        Err(e) => assert_hidden(e.message()),
    }

    match AliyunParams::parse(&first, &second) {
        Ok(aliyun) => {
            let secret = ProviderParams::parse(&first).unwrap();
            let secret = secret.get("secret").unwrap();
            let shown = format!("{aliyun:?}");
            let public = [aliyun.region(), aliyun.access_key_id()];
            assert!(
                !shown.contains(secret) || public.iter().any(|p| p.contains(secret)),
                "the secret leaked: {shown:?}"
            );
        }
        Err(e) => assert_hidden(e.message()),
    }
});
