//! The alicloud dialect of the WeCube envelope (`shared/reference/wecube.md` §3.3).
//!
//! Request: `{"requestId", "operator", "inputs": [...]}`; only `inputs` is read. Response:
//!
//! ```json
//! {"resultCode": "0", "resultMessage": "Success",
//!  "results": {"outputs": [{"guid": "g1", "callbackParameter": "", "errorCode": "0",
//!                           "errorMessage": "", "vpcId": "vpc-1"}]}}
//! ```
//!
//! Every output carries `guid`, `callbackParameter` (echoed, `""` when absent), `errorCode` and
//! `errorMessage`; the batch goes on past a failing input, and `resultCode` is `"1"` with the
//! first failure's message when any input failed. Parsing and batching are the WeCube envelope's
//! ([`crate::wecube`]); only the key names differ.

use serde_json::Value;

use crate::Response;
use crate::envelope::ErrorMessage;
use crate::http::json_response;
use crate::wecube::{self, Input, Output, Style};

/// The alicloud key names: `resultCode`, `resultMessage` ("Success"), `errorCode`,
/// `errorMessage`, and `callbackParameter` on every output.
pub const STYLE: Style = Style {
    result_code: "resultCode",
    result_message: "resultMessage",
    success_message: "Success",
    error_code: "errorCode",
    error_message: "errorMessage",
    always_callback: true,
};

/// The manifest `error-template` of alicloud plugins (trap or limit hit).
pub const ALICLOUD_ERROR_TEMPLATE: &str =
    r#"{"resultCode":"1","resultMessage":"{{message}}","results":{"outputs":[]}}"#;

/// The envelope of a request that failed as a whole: `resultCode` `"1"`, no outputs.
pub fn error_body(message: &str) -> Value {
    wecube::error_body_in(&STYLE, message)
}

/// A whole-request failure response (unknown route, wrong method, unreadable body...).
pub fn error_response(status: u16, message: &str) -> Response {
    json_response(status, &error_body(message))
}

/// The batch as (HTTP status, body): 400 when the body is not a batch, else 200.
pub fn process<F>(body: &[u8], handler: F) -> (u16, Value)
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    match wecube::parse_inputs(body) {
        Ok(inputs) => (200, wecube::run_batch_in(&STYLE, &inputs, handler)),
        Err(message) => (400, error_body(&message)),
    }
}

/// Handle an alicloud batch request body: [`process`] wrapped in a JSON [`Response`].
pub fn handle_batch<F>(body: &[u8], handler: F) -> Response
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    let (status, body) = process(body, wecube::within_request_time(handler));
    json_response(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn echo(input: &Input) -> Result<Output, ErrorMessage> {
        let mut out = Output::new();
        out.insert("vpcId".into(), input.required_str("vpcName")?.into());
        Ok(out)
    }

    #[test]
    fn outputs_use_camel_case_keys_and_always_echo_the_callback() {
        let body = br#"{"requestId": "r", "operator": "o", "inputs": [
            {"guid": "a", "vpcName": "x", "callbackParameter": "cb"},
            {"guid": "b"},
            {"guid": "c", "vpcName": "y"}
        ]}"#;
        let (status, v) = process(body, echo);
        assert_eq!(status, 200);
        assert_eq!(v["resultCode"], "1");
        assert_eq!(v["resultMessage"], "missing required field \"vpcName\"");
        assert_eq!(
            v["results"]["outputs"],
            json!([
                {"guid": "a", "callbackParameter": "cb", "errorCode": "0", "errorMessage": "", "vpcId": "x"},
                {"guid": "b", "callbackParameter": "", "errorCode": "1", "errorMessage": "missing required field \"vpcName\""},
                {"guid": "c", "callbackParameter": "", "errorCode": "0", "errorMessage": "", "vpcId": "y"}
            ])
        );
        let (_, ok) = process(br#"{"inputs": [{"guid": "a", "vpcName": "x"}]}"#, echo);
        assert_eq!(ok["resultCode"], "0");
        assert_eq!(ok["resultMessage"], "Success");
    }

    #[test]
    fn a_malformed_body_gets_400_in_the_alicloud_envelope() {
        let (status, v) = process(b"{", echo);
        assert_eq!(status, 400);
        assert_eq!(v["resultCode"], "1");
        assert_eq!(v["results"]["outputs"], json!([]));
        let filled = ALICLOUD_ERROR_TEMPLATE.replace("{{message}}", "boom");
        assert_eq!(
            serde_json::from_str::<Value>(&filled).unwrap(),
            error_body("boom")
        );
    }
}
