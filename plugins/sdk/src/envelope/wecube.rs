//! The WeCube plugin envelope.
//!
//! Request: `{"inputs": [{...}, ...]}` (the `inputs` key matched case-insensitively). Each input
//! is handled in order by one handler call; a failing input does not stop the batch. Response:
//!
//! ```json
//! {"result_code": "0", "result_message": "success",
//!  "results": {"outputs": [{"guid": "g1", "error_code": "0", "error_message": "", "id": "vpc-1"}]}}
//! ```
//!
//! `result_code` is `"1"` when any input failed, and `result_message` is then the first error.
//! Every output carries the input's `guid`, `error_code` (`"0"`/`"1"`), `error_message` and, if
//! the input had one, `callbackParameter`; successful outputs add the handler's fields. All output
//! values are strings. A body that cannot be read as a batch gets HTTP 400 with `result_code`
//! `"1"`, the reason in `result_message` and no outputs.

use serde_json::{Map, Value, json};

use crate::Response;
use crate::envelope::ErrorMessage;
use crate::http::json_response;

/// The manifest `error-template` for WeCube plugins: what the broker answers when the plugin
/// trapped or broke a limit.
pub const WECUBE_ERROR_TEMPLATE: &str =
    r#"{"result_code":"1","result_message":"{{message}}","results":{"outputs":[]}}"#;

/// The fields a handler returns for a successful input. Values should be strings; anything
/// else is converted (numbers and booleans to their text, `null` to `""`, arrays and objects to
/// JSON text).
pub type Output = Map<String, Value>;

/// Name of the per-input key that WeCube uses to match outputs to inputs; echoed when present.
pub const CALLBACK_PARAMETER: &str = "callbackParameter";

/// One element of `inputs`: a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    index: usize,
    fields: Map<String, Value>,
}

impl Input {
    /// An input from its fields (for tests and for envelopes built in code).
    pub fn new(index: usize, fields: Map<String, Value>) -> Self {
        Self { index, fields }
    }

    /// Position of this input in `inputs`, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// All fields of the input.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The raw value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The trimmed string field `name`. Absent, `null`, empty or blank gives
    /// `missing required field "name"`; another type gives
    /// `field "name" must be a string, got number`.
    pub fn required_str(&self, name: &str) -> Result<&str, ErrorMessage> {
        self.optional_str(name)?
            .ok_or_else(|| ErrorMessage::new(format!("missing required field \"{name}\"")))
    }

    /// The trimmed string field `name`, or `None` when absent, `null`, empty or blank (WeCube
    /// sends `""` for unset values). Another type is an error, as for [`Input::required_str`].
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, ErrorMessage> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                Ok((!s.is_empty()).then_some(s))
            }
            Some(other) => Err(ErrorMessage::new(format!(
                "field \"{name}\" must be a string, got {}",
                type_name(other)
            ))),
        }
    }

    /// The `guid` to echo: the field as text, or `""` when absent.
    pub fn guid(&self) -> String {
        self.fields.get("guid").map(to_text).unwrap_or_default()
    }
}

/// The JSON type name of `value` as used in error messages (`string`, `number`, ...).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn to_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Read the batch: the body must be a JSON object whose `inputs` key (any letter case) is an
/// array of objects. The error is a message for `result_message`.
pub fn parse_inputs(body: &[u8]) -> Result<Vec<Input>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let Value::Object(top) = value else {
        return Err(format!(
            "request body must be a JSON object with an \"inputs\" array, got {}",
            type_name(&value)
        ));
    };
    let mut matches = top
        .into_iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case("inputs"));
    let (_, inputs) = matches
        .next()
        .ok_or_else(|| "request body has no \"inputs\" array".to_owned())?;
    if matches.next().is_some() {
        return Err("request body has more than one \"inputs\" key".to_owned());
    }
    let Value::Array(inputs) = inputs else {
        return Err(format!(
            "\"inputs\" must be an array, got {}",
            type_name(&inputs)
        ));
    };
    inputs
        .into_iter()
        .enumerate()
        .map(|(index, input)| match input {
            Value::Object(fields) => Ok(Input::new(index, fields)),
            other => Err(format!(
                "inputs[{index}] must be a JSON object, got {}",
                type_name(&other)
            )),
        })
        .collect()
}

/// The error of an input a batch did not start because the request's time was nearly spent.
pub const NOT_ATTEMPTED: &str = "not attempted: the request's time limit was nearly spent by the \
    inputs before it; send this input again";
/// The key names and wording of one WeCube envelope dialect: the qcloud plugin's snake_case
/// ([`SNAKE_CASE`]) or the alicloud plugin's camelCase (`crate::envelope::alicloud::STYLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Top-level code key, e.g. `result_code`.
    pub result_code: &'static str,
    /// Top-level message key, e.g. `result_message`.
    pub result_message: &'static str,
    /// The top-level message when every input succeeded, e.g. `success`.
    pub success_message: &'static str,
    /// Per-output code key, e.g. `error_code`.
    pub error_code: &'static str,
    /// Per-output message key, e.g. `error_message`.
    pub error_message: &'static str,
    /// Whether every output carries `callbackParameter` (`""` when the input had none).
    pub always_callback: bool,
}

/// The qcloud dialect: `result_code`, `result_message` ("success"), `error_code`,
/// `error_message`; `callbackParameter` echoed when present.
pub const SNAKE_CASE: Style = Style {
    result_code: "result_code",
    result_message: "result_message",
    success_message: "success",
    error_code: "error_code",
    error_message: "error_message",
    always_callback: false,
};

/// Run `handler` over `inputs` in order and build the envelope (the HTTP 200 body).
pub fn run_batch<F>(inputs: &[Input], handler: F) -> Value
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    run_batch_in(&SNAKE_CASE, inputs, handler)
}

/// [`run_batch`] in the dialect `style`.
pub fn run_batch_in<F>(style: &Style, inputs: &[Input], handler: F) -> Value
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    let mut first_error: Option<String> = None;
    let outputs: Vec<Value> = inputs
        .iter()
        .map(|input| {
            let result = handler(input);
            let mut output = Map::new();
            match result {
                Ok(fields) => {
                    for (key, value) in fields {
                        output.insert(key, Value::String(to_text(&value)));
                    }
                    output.insert(style.error_code.into(), "0".into());
                    output.insert(style.error_message.into(), "".into());
                }
                Err(message) => {
                    let message = message.into_string();
                    first_error.get_or_insert_with(|| message.clone());
                    output.insert(style.error_code.into(), "1".into());
                    output.insert(style.error_message.into(), message.into());
                }
            }
            output.insert("guid".into(), input.guid().into());
            match input.get(CALLBACK_PARAMETER) {
                Some(callback) => {
                    output.insert(CALLBACK_PARAMETER.into(), to_text(callback).into());
                }
                None if style.always_callback => {
                    output.insert(CALLBACK_PARAMETER.into(), "".into());
                }
                None => {}
            }
            Value::Object(output)
        })
        .collect();
    let (code, message) = match first_error {
        None => ("0", style.success_message.to_owned()),
        Some(message) => ("1", message),
    };
    json!({
        style.result_code: code,
        style.result_message: message,
        "results": {"outputs": outputs},
    })
}

/// The envelope for a request that failed as a whole: `result_code` `"1"`, no outputs.
pub fn error_body(message: &str) -> Value {
    error_body_in(&SNAKE_CASE, message)
}

/// [`error_body`] in the dialect `style`.
pub fn error_body_in(style: &Style, message: &str) -> Value {
    json!({
        style.result_code: "1",
        style.result_message: message,
        "results": {"outputs": []},
    })
}

/// A whole-request failure response (unknown route, wrong method, unreadable body...).
pub fn error_response(status: u16, message: &str) -> Response {
    json_response(status, &error_body(message))
}

/// The batch as (HTTP status, body): 400 with [`error_body`] when the body is not a batch,
/// otherwise 200 with [`run_batch`]'s envelope. Pure, so it is what the tests exercise.
pub fn process<F>(body: &[u8], handler: F) -> (u16, Value)
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    match parse_inputs(body) {
        Ok(inputs) => (200, run_batch(&inputs, handler)),
        Err(message) => (400, error_body(&message)),
    }
}

/// Handle a WeCube batch request body: [`process`] wrapped in a JSON [`Response`].
pub fn handle_batch<F>(body: &[u8], handler: F) -> Response
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    let (status, body) = process(body, within_request_time(handler));
    json_response(status, &body)
}

/// `handler`, except that an input met with the request's time nearly spent is answered as
/// [`NOT_ATTEMPTED`]: started, it could be cut off by the broker's limit with every output lost;
/// this way the outputs so far are returned.
pub fn within_request_time<F>(handler: F) -> impl Fn(&Input) -> Result<Output, ErrorMessage>
where
    F: Fn(&Input) -> Result<Output, ErrorMessage>,
{
    move |input| {
        if crate::clock::request_time_nearly_spent() {
            return Err(ErrorMessage::new(NOT_ATTEMPTED));
        }
        handler(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_name(input: &Input) -> Result<Output, ErrorMessage> {
        let mut out = Output::new();
        out.insert("name".into(), input.required_str("name")?.into());
        Ok(out)
    }

    #[test]
    fn the_inputs_key_matches_in_any_letter_case() {
        for key in ["inputs", "Inputs", "INPUTS"] {
            let body = format!(r#"{{"{key}": [{{"guid": "g", "name": "n"}}]}}"#);
            let (status, v) = process(body.as_bytes(), echo_name);
            assert_eq!(status, 200, "{key}");
            assert_eq!(v["result_code"], "0");
            assert_eq!(v["result_message"], "success");
            assert_eq!(
                v["results"]["outputs"],
                json!([{"guid": "g", "error_code": "0", "error_message": "", "name": "n"}])
            );
        }
    }

    #[test]
    fn a_failing_input_does_not_stop_the_batch_and_the_first_error_is_reported() {
        let body = br#"{"inputs": [
            {"guid": "a", "name": "x"},
            {"guid": "b"},
            {"guid": "c", "name": 5},
            {"guid": "d", "name": "y", "callbackParameter": "cb-d"}
        ]}"#;
        let (status, v) = process(body, echo_name);
        assert_eq!(status, 200);
        assert_eq!(v["result_code"], "1");
        assert_eq!(v["result_message"], "missing required field \"name\"");
        let outputs = v["results"]["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 4);
        assert_eq!(outputs[0]["error_code"], "0");
        assert_eq!(
            outputs[1],
            json!({"guid": "b", "error_code": "1", "error_message": "missing required field \"name\""})
        );
        assert_eq!(
            outputs[2]["error_message"],
            "field \"name\" must be a string, got number"
        );
        assert_eq!(
            outputs[3],
            json!({"guid": "d", "error_code": "0", "error_message": "", "name": "y", "callbackParameter": "cb-d"})
        );
    }

    #[test]
    fn every_output_value_is_a_string_and_the_input_guid_wins() {
        let inputs = vec![Input::new(
            0,
            json!({"guid": "g", "callbackParameter": 7})
                .as_object()
                .unwrap()
                .clone(),
        )];
        let v = run_batch(&inputs, |_| {
            let mut out = Output::new();
            out.insert("n".into(), json!(3));
            out.insert("b".into(), json!(true));
            out.insert("z".into(), Value::Null);
            out.insert("guid".into(), json!("other"));
            Ok(out)
        });
        assert_eq!(
            v["results"]["outputs"][0],
            json!({"guid": "g", "callbackParameter": "7", "error_code": "0", "error_message": "", "n": "3", "b": "true", "z": ""})
        );
    }

    #[test]
    fn an_empty_batch_succeeds_with_no_outputs() {
        let (status, v) = process(br#"{"inputs": []}"#, echo_name);
        assert_eq!(status, 200);
        assert_eq!(
            v,
            json!({"result_code": "0", "result_message": "success", "results": {"outputs": []}})
        );
    }

    #[test]
    fn malformed_bodies_get_400_and_the_error_envelope() {
        let cases: [(&[u8], &str); 7] = [
            (
                b"",
                "request body is not valid JSON: EOF while parsing a value at line 1 column 0",
            ),
            (
                b"nope",
                "request body is not valid JSON: expected ident at line 1 column 2",
            ),
            (
                b"[1]",
                "request body must be a JSON object with an \"inputs\" array, got array",
            ),
            (
                br#"{"outputs": []}"#,
                "request body has no \"inputs\" array",
            ),
            (
                br#"{"inputs": {"guid": "g"}}"#,
                "\"inputs\" must be an array, got object",
            ),
            (
                br#"{"inputs": [{"guid": "g"}, "x"]}"#,
                "inputs[1] must be a JSON object, got string",
            ),
            (
                br#"{"inputs": [], "Inputs": []}"#,
                "request body has more than one \"inputs\" key",
            ),
        ];
        for (body, message) in cases {
            let (status, v) = process(body, echo_name);
            assert_eq!(status, 400, "{message}");
            assert_eq!(v, error_body(message));
            assert_eq!(v["result_code"], "1");
            assert_eq!(v["results"]["outputs"], json!([]));
        }
        let (_, v) = process(b"{x", echo_name);
        assert!(
            v["result_message"]
                .as_str()
                .unwrap()
                .starts_with("request body is not valid JSON: ")
        );
    }

    #[test]
    fn field_helpers_distinguish_missing_blank_and_wrong_types() {
        let input = Input::new(
            0,
            json!({"s": " v ", "e": "", "b": "  ", "n": null, "num": 1, "arr": [], "obj": {}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(input.required_str("s").unwrap(), "v");
        for name in ["e", "b", "n", "absent"] {
            assert_eq!(
                input.required_str(name).unwrap_err().as_str(),
                format!("missing required field \"{name}\"")
            );
            assert_eq!(input.optional_str(name).unwrap(), None);
        }
        assert_eq!(
            input.optional_str("num").unwrap_err().as_str(),
            "field \"num\" must be a string, got number"
        );
        assert_eq!(
            input.required_str("arr").unwrap_err().as_str(),
            "field \"arr\" must be a string, got array"
        );
        assert_eq!(
            input.required_str("obj").unwrap_err().as_str(),
            "field \"obj\" must be a string, got object"
        );
        assert_eq!(input.guid(), "");
    }

    #[test]
    fn the_error_template_is_the_error_body_with_a_placeholder() {
        let filled = WECUBE_ERROR_TEMPLATE.replace("{{message}}", "boom");
        let v: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(v, error_body("boom"));
    }
}
