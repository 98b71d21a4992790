//! BridgX's envelope (`shared/spec/bridgx-api.md`): every answer is `{"code", "msg", "data"}`
//! with the HTTP status equal to `code` (200 on success, 400/401/500 on errors, as BridgX's
//! `response.MkResponse` writes it). The broker's own errors use the same shape.

use serde_json::{Value, json};

use crate::Response;
use crate::http::json_response;

/// The manifest `error-template` for plugins answering in this envelope.
pub const BRIDGX_ERROR_TEMPLATE: &str = r#"{"code":500,"msg":"{{message}}","data":null}"#;

/// An answer with HTTP status `code` and body `{code, msg, data}`.
pub fn reply(code: u16, msg: &str, data: Value) -> Response {
    json_response(code, &json!({"code": code, "msg": msg, "data": data}))
}

/// An error answer: `data` is `null`.
pub fn error(code: u16, msg: &str) -> Response {
    reply(code, msg, Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_code_as_status_and_null_data() {
        let r = error(400, "param_invalid: missing account_key");
        assert_eq!(r.status, 400);
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"code": 400, "msg": "param_invalid: missing account_key", "data": null})
        );
        let filled = BRIDGX_ERROR_TEMPLATE.replace("{{message}}", "trap");
        assert_eq!(serde_json::from_str::<Value>(&filled).unwrap()["code"], 500);
    }
}
