//! The log redactor (`host/src/capabilities/redact.rs`).
//!
//! The fuzzer gives a request body, extra secrets (credentials a plugin wraps) and log text; the
//! target writes every secret the redactor is documented to catch (values of secret-named JSON
//! fields, `key=value` pairs with a secret key inside strings, added secrets; 4 to 4,096 bytes)
//! into the log line, between the fuzzed pieces. Invariant: no secret survives redaction.
//!
//! Input (UTF-8, so spec examples are seeds): `body NUL added SOH added ... NUL piece SOH piece ...`.

#![no_main]

use broker_fuzz::redact::Redactor;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Case<'a> {
    body: &'a str,
    added: Vec<&'a str>,
    pieces: Vec<&'a str>,
}

impl<'a> Case<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(data).ok()?;
        let mut sections = text.splitn(3, '\0');
        let body = sections.next().unwrap_or_default();
        let list = |s: Option<&'a str>| s.map(|s| s.split('\u{1}').collect()).unwrap_or_default();
        Some(Self {
            body,
            added: list(sections.next()),
            pieces: list(sections.next()),
        })
    }
}

/// The secrets of `value` as the redactor's documentation describes them.
fn documented_secrets(key: Option<&str>, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                documented_secrets(Some(k), v, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                documented_secrets(key, item, out);
            }
        }
        Value::String(s) => {
            if key.is_some_and(Redactor::is_secret_key) {
                out.push(s.clone());
            }
            if s.contains('=') {
                for pair in s.split([';', '&']) {
                    if let Some((k, v)) = pair.split_once('=')
                        && Redactor::is_secret_key(k.trim())
                    {
                        out.push(v.trim().to_owned());
                    }
                }
            }
        }
        Value::Number(n) if key.is_some_and(Redactor::is_secret_key) => out.push(n.to_string()),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data) else {
        return;
    };
    let mut redactor = Redactor::from_request_body(case.body.as_bytes());
    let mut secrets = Vec::new();
    if let Ok(body) = serde_json::from_str::<Value>(case.body) {
        documented_secrets(None, &body, &mut secrets);
    }
    for secret in &case.added {
        redactor.add(secret);
        secrets.push((*secret).to_owned());
    }
    secrets.retain(|s| (4..=4096).contains(&s.len()));
    secrets.sort();
    secrets.dedup();
    if secrets.len() > 1024 {
        // Past the per-request cap on secrets, by design.
        return;
    }
    let mut line = String::new();
    for (i, piece) in case.pieces.iter().enumerate() {
        line.push_str(piece);
        if let Some(secret) = secrets.get(i % secrets.len().max(1)) {
            line.push_str(secret);
        }
    }
    line.extend(secrets.iter().map(String::as_str));
    let out = redactor.redact(&line);
    for secret in &secrets {
        assert!(
            !out.contains(secret.as_str()),
            "secret {secret:?} survived: {out:?}"
        );
    }
});
