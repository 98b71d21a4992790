//! Scrubbing secrets out of log lines.
//!
//! The broker does not trust plugins to keep secrets out of their logs. For every request it
//! collects the secret values that arrived with it (JSON fields such as `SecretKey`, `password`,
//! `seed`, `token`, and `key=value` pairs inside strings such as WeCube's `provider_params`) plus
//! every credential the plugin wraps, and replaces each occurrence in every log line.

use std::borrow::Cow;

use serde_json::Value;

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// Shorter values are not treated as secrets: masking every `a` would make logs unreadable and
/// a one- to three-character secret protects nothing.
const MIN_SECRET_LEN: usize = 4;

/// Most secrets one request may register, and the longest one kept: a hostile plugin calling
/// `redact` in a loop must not grow host memory without bound (nor make every line slow).
const MAX_SECRETS: usize = 1_024;
const MAX_SECRET_LEN: usize = 4_096;

/// Masking passes over one line before the whole line is masked (see [`Redactor::redact`]): one
/// pass masks, a second finds nothing in every case but secrets that contain the mask.
const MAX_PASSES: usize = 4;

/// The set of secret values of one request.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects the secrets in a request body (nothing if it is not JSON).
    pub fn from_request_body(body: &[u8]) -> Self {
        Self::from_json(serde_json::from_slice::<Value>(body).ok().as_ref())
    }

    /// [`Redactor::from_request_body`] for a body already parsed (`None`: not JSON).
    pub fn from_json(body: Option<&Value>) -> Self {
        let mut redactor = Self::default();
        if let Some(value) = body {
            redactor.collect(None, value);
        }
        redactor
    }

    /// Adds one secret value.
    pub fn add(&mut self, secret: &str) {
        if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len())
            && self.secrets.len() < MAX_SECRETS
            && !self.secrets.iter().any(|s| s == secret)
        {
            self.secrets.push(secret.to_string());
            // Longest first, so a secret that contains another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Whether `key` names a secret field (case- and punctuation-insensitive).
    pub fn is_secret_key(key: &str) -> bool {
        let key: String = key
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        // Ids (`SecretId`, `AccessKeyId`) are public halves of a key pair.
        if key.ends_with("id") {
            return false;
        }
        [
            "secret",
            "password",
            "passwd",
            "pwd",
            "seed",
            "token",
            "privatekey",
            "credential",
        ]
        .iter()
        .any(|word| key.contains(word))
    }

    /// `text` with every secret replaced by [`MASK`].
    ///
    /// A secret that contains the mask (`a***b`) can be formed by masking another one
    /// (`a` `cccc` `b`), so masking repeats until no secret is left. A hostile plugin could nest
    /// such secrets to make that quadratic; after [`MAX_PASSES`] the whole line is masked instead.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for _ in 0..MAX_PASSES {
            let mut masked = false;
            for secret in &self.secrets {
                if out.contains(secret.as_str()) {
                    out = Cow::Owned(out.replace(secret.as_str(), MASK));
                    masked = true;
                }
            }
            if !masked {
                return out;
            }
        }
        if self.secrets.iter().any(|s| out.contains(s.as_str())) {
            Cow::Borrowed(MASK)
        } else {
            out
        }
    }

    fn collect(&mut self, key: Option<&str>, value: &Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.collect(Some(k), v);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.collect(key, item);
                }
            }
            Value::String(s) => {
                if key.is_some_and(Self::is_secret_key) {
                    self.add(s);
                }
                self.collect_pairs(s);
            }
            Value::Number(n) if key.is_some_and(Self::is_secret_key) => self.add(&n.to_string()),
            _ => {}
        }
    }

    /// `k=v;k=v` strings (WeCube `provider_params`, `identityParams`) and `k=v&k=v` strings.
    fn collect_pairs(&mut self, s: &str) {
        if !s.contains('=') {
            return;
        }
        for pair in s.split([';', '&']) {
            if let Some((k, v)) = pair.split_once('=')
                && Self::is_secret_key(k.trim())
            {
                self.add(v.trim());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_provider_params_and_fields_are_masked() {
        let body = br#"{"inputs":[{"guid":"g1","seed":"seedvalue1",
            "provider_params":"Region=ap-shanghai;SecretID=AKIDpublic;SecretKey=KEY=WITH=EQUALS",
            "password":"hunter22"}]}"#;
        let r = Redactor::from_request_body(body);
        let line = "calling with KEY=WITH=EQUALS and hunter22 seed=seedvalue1 id=AKIDpublic";
        let out = r.redact(line);
        assert_eq!(out, "calling with *** and *** seed=*** id=AKIDpublic");
    }

    #[test]
    fn short_values_and_ids_are_not_secrets() {
        let mut r = Redactor::default();
        r.add("abc");
        assert_eq!(r.redact("abc"), "abc");
        assert!(!Redactor::is_secret_key("SecretId"));
        assert!(!Redactor::is_secret_key("accessKeyId"));
        assert!(Redactor::is_secret_key("SecretKey"));
        assert!(Redactor::is_secret_key("accountPassword"));
        assert!(Redactor::is_secret_key("api_secret"));
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let mut r = Redactor::default();
        r.add("abcd");
        r.add("abcdefgh");
        assert_eq!(r.redact("x abcdefgh y abcd"), "x *** y ***");
    }

    #[test]
    fn non_json_bodies_yield_no_secrets() {
        let r = Redactor::from_request_body(b"not json SecretKey=zzzz");
        assert_eq!(r.redact("zzzz"), "zzzz");
    }

    #[test]
    fn masking_cannot_join_the_text_around_a_mask_into_a_secret() {
        let mut r = Redactor::default();
        r.add("a***b");
        r.add("cccc");
        // Masking `cccc` turns `accccb` into `a***b`, itself a secret.
        let out = r.redact("x accccb y");
        assert_eq!(out, "x *** y");
    }

    #[test]
    fn secrets_nested_past_the_pass_limit_mask_the_whole_line() {
        let mut r = Redactor::default();
        r.add("a***b");
        r.add("cccc");
        let line = format!(
            "{}cccc{}",
            "a".repeat(MAX_PASSES + 1),
            "b".repeat(MAX_PASSES + 1)
        );
        assert_eq!(r.redact(&line), MASK);
        // Lines without secrets are borrowed, untouched.
        assert!(matches!(r.redact("plain"), Cow::Borrowed("plain")));
    }
}
