//! Structured logging into the broker's log.
//!
//! The host stamps every line with the plugin, tenant and request id, and redacts every secret it
//! knows about (credentials, secrets in the request). Still: log actions, ids and outcomes, never
//! parameters. Natively (unit tests) lines go to stderr instead of the host.

pub use crate::bindings::cloud_broker::plugin::logging::{Field, Level};

/// Write one line at `level` with `(key, value)` fields.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    #[cfg(target_family = "wasm")]
    {
        let fields: Vec<Field> = fields
            .iter()
            .map(|(key, value)| Field {
                key: (*key).to_owned(),
                value: (*value).to_owned(),
            })
            .collect();
        crate::bindings::cloud_broker::plugin::logging::log(level, message, &fields);
    }
    #[cfg(not(target_family = "wasm"))]
    eprintln!("[{level:?}] {message} {fields:?}");
}

/// Log at [`Level::Trace`].
pub fn trace(message: &str, fields: &[(&str, &str)]) {
    log(Level::Trace, message, fields);
}

/// Log at [`Level::Debug`].
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields);
}

/// Log at [`Level::Info`].
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields);
}

/// Log at [`Level::Warn`].
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields);
}

/// Log at [`Level::Error`].
pub fn error(message: &str, fields: &[(&str, &str)]) {
    log(Level::Error, message, fields);
}

/// Mark `value` as secret: the host masks it in every later log line of this request. Use it
/// for secrets the host cannot see in the request, such as a generated password.
pub fn redact(value: &str) {
    #[cfg(target_family = "wasm")]
    crate::bindings::cloud_broker::plugin::logging::redact(value);
    #[cfg(not(target_family = "wasm"))]
    let _ = value;
}
