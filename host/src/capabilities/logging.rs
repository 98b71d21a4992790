//! The `logging` capability: plugin log lines into the broker's `tracing` output, with the
//! plugin, tenant and request id attached, secrets masked, and a per-request volume budget.

use std::fmt::Write as _;

use super::HostState;
use crate::bindings::logging::{self, Field, Level};

/// Longest message or field value kept; the rest is cut (a budget, not an error).
const MAX_VALUE_CHARS: usize = 4_096;

impl logging::Host for HostState {
    async fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<Field>,
    ) -> wasmtime::Result<()> {
        self.request.control.check()?;
        let limits = self.plugin.limits.clone();
        let size = message.len()
            + fields
                .iter()
                .map(|f| f.key.len() + f.value.len())
                .sum::<usize>();
        let request = &mut self.request;
        if request.log_lines >= limits.log_lines || request.log_bytes + size > limits.log_bytes {
            if request.log_dropped == 0 {
                self.plugin
                    .counters
                    .limit_hit(crate::metrics::Limit::LogBudget);
                tracing::warn!(
                    plugin = %self.plugin.name,
                    tenant = %request.tenant,
                    request_id = %request.request_id,
                    error.type = "log_budget_exceeded",
                    "plugin log budget spent ({} lines, {} bytes); further lines of this request are dropped",
                    limits.log_lines,
                    limits.log_bytes,
                );
            }
            request.log_dropped += 1;
            return Ok(());
        }
        request.log_lines += 1;
        request.log_bytes += size;

        let message = clean(&request.redactor, &message);
        let mut rendered = String::new();
        for field in &fields {
            let key: String = field
                .key
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .take(64)
                .collect();
            let value = if super::redact::Redactor::is_secret_key(&key) {
                super::redact::MASK.to_string()
            } else {
                clean(&request.redactor, &field.value)
            };
            let _ = write!(
                rendered,
                "{}{key}={value:?}",
                if rendered.is_empty() { "" } else { " " }
            );
        }

        let plugin = self.plugin.name.as_str();
        let (tenant, request_id) = (request.tenant.as_str(), request.request_id.as_str());
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(target: "plugin", $level, plugin, tenant, request_id, fields = %rendered, "{message}")
            };
        }
        match level {
            Level::Trace => emit!(tracing::Level::TRACE),
            Level::Debug => emit!(tracing::Level::DEBUG),
            Level::Info => emit!(tracing::Level::INFO),
            Level::Warn => emit!(tracing::Level::WARN),
            Level::Error => emit!(tracing::Level::ERROR),
        }
        Ok(())
    }

    async fn redact(&mut self, value: String) -> wasmtime::Result<()> {
        self.request.control.check()?;
        self.request.redactor.add(&value);
        Ok(())
    }
}

/// Masks the request's secrets, then cuts to [`MAX_VALUE_CHARS`]. In this order: a cut made
/// first could split a secret so that the redactor no longer recognises its kept prefix.
fn clean(redactor: &super::redact::Redactor, text: &str) -> String {
    truncate(&redactor.redact(text)).to_owned()
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::redact::{MASK, Redactor};

    #[test]
    fn a_secret_straddling_the_cut_leaks_no_prefix() {
        let secret = "SuperSecretValue123";
        let mut redactor = Redactor::default();
        redactor.add(secret);
        // The secret starts 5 characters before the cut: truncating first would keep `Super`.
        let line = format!("{}{secret} tail", "x".repeat(MAX_VALUE_CHARS - 5));
        let cleaned = clean(&redactor, &line);
        assert!(!cleaned.contains("Super"), "secret prefix leaked");
        let kept = format!("{}{MASK}", "x".repeat(MAX_VALUE_CHARS - 5));
        assert!(
            cleaned.starts_with(&kept),
            "the mask is kept before the cut"
        );
        assert_eq!(cleaned.chars().count(), MAX_VALUE_CHARS);
    }

    #[test]
    fn short_lines_are_only_redacted() {
        let mut redactor = Redactor::default();
        redactor.add("hunter2hunter2");
        assert_eq!(
            clean(&redactor, "pw=hunter2hunter2 ok"),
            format!("pw={MASK} ok")
        );
    }
}
