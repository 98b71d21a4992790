//! The TopHCS envelope of the `/v1/tencent/compute/...` API (`shared/spec/tencent-compute-api.md`).
//!
//! Request: one JSON object per call (no batch). Response, success and failure alike:
//!
//! ```json
//! {"scode": 0, "desc": "", "message": "success", "message_cn": "成功", "stack": null, "data": {}}
//! ```
//!
//! `scode` 0 is success; any other value is a [`Failure`] whose `message` says in English and
//! `message_cn` in Chinese what went wrong, with `data` `null`. The codes follow the platform's
//! own (`10000` server error, `10001` parameter error) plus three for the broker's cases; see the
//! `SCODE_*` constants. Field readers ([`Fields`]) give bilingual parameter errors.

use serde_json::{Map, Value, json};

use crate::Response;
use crate::http::json_response;
use crate::tencent::TencentError;

/// Success.
pub const SCODE_OK: i64 = 0;
/// The broker failed on its own (the platform's "Manager server error"); also the manifest's
/// error template, used when the plugin trapped or broke a limit.
pub const SCODE_SERVER: i64 = 10000;
/// The request body is malformed or a parameter is missing or of the wrong type (the
/// platform's "Parse parameter error").
pub const SCODE_PARAMETER: i64 = 10001;
/// The cloud API refused the call or could not be reached; the message carries its error
/// code and request id.
pub const SCODE_UPSTREAM: i64 = 10002;
/// The caller may not act for the tenant it named, or sent what it must not (credentials).
pub const SCODE_FORBIDDEN: i64 = 10003;
/// The named cluster (stored account), route or resource does not exist.
pub const SCODE_NOT_FOUND: i64 = 10004;

/// The manifest `error-template` for plugins answering in this envelope.
pub const TENCENT_ERROR_TEMPLATE: &str = r#"{"scode":10000,"desc":"","message":"{{message}}","message_cn":"服务内部错误：{{message}}","stack":null,"data":null}"#;

/// A failed call: what the client gets instead of `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Non-zero `scode` (one of the `SCODE_*` constants).
    pub scode: i64,
    /// HTTP status of the answer.
    pub status: u16,
    /// What went wrong, in English.
    pub message: String,
    /// What went wrong, in Chinese.
    pub message_cn: String,
}

impl Failure {
    /// A failure with every field given.
    pub fn new(
        scode: i64,
        status: u16,
        message: impl Into<String>,
        message_cn: impl Into<String>,
    ) -> Self {
        Self {
            scode,
            status,
            message: message.into(),
            message_cn: message_cn.into(),
        }
    }

    /// A bad parameter or body: [`SCODE_PARAMETER`], HTTP 400.
    pub fn parameter(message: impl Into<String>, message_cn: impl Into<String>) -> Self {
        Self::new(SCODE_PARAMETER, 400, message, message_cn)
    }

    /// A refusal: [`SCODE_FORBIDDEN`], HTTP 403.
    pub fn forbidden(message: impl Into<String>, message_cn: impl Into<String>) -> Self {
        Self::new(SCODE_FORBIDDEN, 403, message, message_cn)
    }

    /// Something named does not exist: [`SCODE_NOT_FOUND`], HTTP 404.
    pub fn not_found(message: impl Into<String>, message_cn: impl Into<String>) -> Self {
        Self::new(SCODE_NOT_FOUND, 404, message, message_cn)
    }

    /// A broker-side failure: [`SCODE_SERVER`], HTTP 500.
    pub fn server(message: impl Into<String>, message_cn: impl Into<String>) -> Self {
        Self::new(SCODE_SERVER, 500, message, message_cn)
    }

    /// A failed Tencent Cloud API call `action`: [`SCODE_UPSTREAM`]; HTTP 404 when the API
    /// says the resource does not exist, 502 otherwise (a refused signature included:
    /// `AuthFailure.SecretIdNotFound` is the broker's account, not the client's resource). Both
    /// messages carry the API's error code, message and request id.
    pub fn upstream(action: &str, error: &TencentError) -> Self {
        let auth = error.code().is_some_and(|c| c.starts_with("AuthFailure"));
        let status = if error.is_not_found() && !auth {
            404
        } else {
            502
        };
        Self::new(
            SCODE_UPSTREAM,
            status,
            format!("Tencent Cloud API {action} failed: {error}"),
            format!("腾讯云 API {action} 调用失败：{error}"),
        )
    }
}

/// The whole answer body for `scode`, messages and `data`.
pub fn body(scode: i64, message: &str, message_cn: &str, data: Value) -> Value {
    json!({
        "scode": scode,
        "desc": "",
        "message": message,
        "message_cn": message_cn,
        "stack": null,
        "data": data,
    })
}

/// HTTP 200 with `scode` 0 and `data`.
pub fn success(data: Value) -> Response {
    json_response(200, &body(SCODE_OK, "success", "成功", data))
}

/// The failure's status with its `scode`, messages and `data: null`.
pub fn failure(failure: &Failure) -> Response {
    json_response(
        failure.status,
        &body(
            failure.scode,
            &failure.message,
            &failure.message_cn,
            Value::Null,
        ),
    )
}

/// The JSON type name of `value`, for error messages: (English, Chinese).
fn type_name(value: &Value) -> (&'static str, &'static str) {
    match value {
        Value::Null => ("null", "空值"),
        Value::Bool(_) => ("boolean", "布尔值"),
        Value::Number(_) => ("number", "数字"),
        Value::String(_) => ("string", "字符串"),
        Value::Array(_) => ("array", "数组"),
        Value::Object(_) => ("object", "对象"),
    }
}

/// The top-level fields of a request body, read with bilingual parameter errors.
///
/// A JSON `null` counts as absent. Strings are trimmed, and an empty string counts as absent
/// for optional strings (clients send `""` for unset values, e.g. `Fuzzy`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    /// Parse a request body, which must be a JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, Failure> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self { map }),
            Ok(other) => {
                let (en, cn) = type_name(&other);
                Err(Failure::parameter(
                    format!("the request body must be a JSON object, got {en}"),
                    format!("请求体必须是 JSON 对象，实际为{cn}"),
                ))
            }
            Err(e) => Err(Failure::parameter(
                format!("the request body is not valid JSON: {e}"),
                format!("请求体不是合法的 JSON：{e}"),
            )),
        }
    }

    /// Fields from a map (for tests and handlers that build bodies in code).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// Every field.
    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The raw value of `name`, if present and not `null`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether `name` is present and not `null`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn missing(name: &str) -> Failure {
        Failure::parameter(
            format!("missing required field `{name}`"),
            format!("缺少必填参数 `{name}`"),
        )
    }

    fn wrong_type(name: &str, want: (&str, &str), got: &Value) -> Failure {
        let (got_en, got_cn) = type_name(got);
        Failure::parameter(
            format!("field `{name}` must be {}, got {got_en}", want.0),
            format!("参数 `{name}` 必须是{}，实际为{got_cn}", want.1),
        )
    }

    /// The trimmed string `name`, or `None` when absent or blank.
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
            Some(other) => Err(Self::wrong_type(name, ("a string", "字符串"), other)),
        }
    }

    /// The trimmed, non-blank string `name`.
    pub fn required_str(&self, name: &str) -> Result<&str, Failure> {
        self.optional_str(name)?.ok_or_else(|| Self::missing(name))
    }

    /// The array of strings `name` (each trimmed and non-blank), or `None` when absent. An
    /// empty array is an error: every list the API takes names at least one thing.
    pub fn optional_str_list(&self, name: &str) -> Result<Option<Vec<String>>, Failure> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let want = ("an array of strings", "字符串数组");
        let items = value
            .as_array()
            .ok_or_else(|| Self::wrong_type(name, want, value))?;
        if items.is_empty() {
            return Err(Failure::parameter(
                format!("field `{name}` must not be empty"),
                format!("参数 `{name}` 不能为空"),
            ));
        }
        items
            .iter()
            .map(|item| match item.as_str().map(str::trim) {
                Some(s) if !s.is_empty() => Ok(s.to_owned()),
                _ => Err(Self::wrong_type(name, want, value)),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// The non-empty array of strings `name`.
    pub fn required_str_list(&self, name: &str) -> Result<Vec<String>, Failure> {
        self.optional_str_list(name)?
            .ok_or_else(|| Self::missing(name))
    }

    /// The object `name`, or `None` when absent.
    pub fn optional_object(&self, name: &str) -> Result<Option<&Map<String, Value>>, Failure> {
        self.get(name)
            .map(|v| {
                v.as_object()
                    .ok_or_else(|| Self::wrong_type(name, ("an object", "对象"), v))
            })
            .transpose()
    }

    /// The object `name`.
    pub fn required_object(&self, name: &str) -> Result<&Map<String, Value>, Failure> {
        self.optional_object(name)?
            .ok_or_else(|| Self::missing(name))
    }

    /// The array of objects `name`, or `None` when absent.
    pub fn optional_object_list(&self, name: &str) -> Result<Option<&Vec<Value>>, Failure> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let want = ("an array of objects", "对象数组");
        match value.as_array() {
            Some(items) if items.iter().all(Value::is_object) => Ok(Some(items)),
            _ => Err(Self::wrong_type(name, want, value)),
        }
    }

    /// The non-negative integer `name` (a JSON number or a decimal string), or `None`.
    pub fn optional_uint(&self, name: &str) -> Result<Option<u64>, Failure> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| Self::wrong_type(name, ("a non-negative integer", "非负整数"), value))
    }

    /// The boolean `name` (`true`/`false` or the strings `"true"`/`"false"`), or `None`.
    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(Self::wrong_type(name, ("a boolean", "布尔值"), other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Value) -> Fields {
        Fields::parse(value.to_string().as_bytes()).unwrap()
    }

    fn answer(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn success_has_the_spec_shape() {
        let r = success(json!({}));
        assert_eq!(r.status, 200);
        assert_eq!(
            answer(&r),
            json!({"scode": 0, "desc": "", "message": "success", "message_cn": "成功",
                "stack": null, "data": {}})
        );
    }

    #[test]
    fn failures_keep_their_code_status_and_both_messages() {
        let r = failure(&Failure::forbidden("no", "不"));
        assert_eq!(r.status, 403);
        assert_eq!(
            answer(&r),
            json!({"scode": SCODE_FORBIDDEN, "desc": "", "message": "no", "message_cn": "不",
                "stack": null, "data": null})
        );
    }

    #[test]
    fn the_error_template_is_the_envelope_with_a_placeholder() {
        let text = TENCENT_ERROR_TEMPLATE.replace("{{message}}", "boom");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["scode"], SCODE_SERVER);
        assert_eq!(v["message"], "boom");
        assert!(v["message_cn"].as_str().unwrap().contains("boom"));
    }

    #[test]
    fn upstream_failures_carry_code_and_request_id_in_both_languages() {
        let error = TencentError::Api {
            code: "InvalidInstanceId.NotFound".into(),
            message: "gone".into(),
            request_id: "req-1".into(),
        };
        let f = Failure::upstream("StartInstances", &error);
        assert_eq!((f.scode, f.status), (SCODE_UPSTREAM, 404));
        for text in [&f.message, &f.message_cn] {
            assert!(text.contains("InvalidInstanceId.NotFound"), "{text}");
            assert!(text.contains("RequestId=req-1"), "{text}");
        }
        assert!(f.message_cn.contains("调用失败"));
        let auth = TencentError::Api {
            code: "AuthFailure.SecretIdNotFound".into(),
            message: "m".into(),
            request_id: "r".into(),
        };
        assert_eq!(Failure::upstream("X", &auth).status, 502);
        let other = TencentError::Http("timeout".into());
        assert_eq!(Failure::upstream("X", &other).status, 502);
    }

    #[test]
    fn bodies_must_be_json_objects() {
        for (body, en) in [
            (&b"{not json"[..], "not valid JSON"),
            (b"[1]", "got array"),
            (b"", "not valid JSON"),
        ] {
            let f = Fields::parse(body).unwrap_err();
            assert_eq!((f.scode, f.status), (SCODE_PARAMETER, 400));
            assert!(f.message.contains(en), "{}", f.message);
            assert!(f.message_cn.contains("请求体"), "{}", f.message_cn);
        }
    }

    #[test]
    fn strings_are_required_trimmed_and_type_checked() {
        let f = fields(json!({"a": " x ", "b": "  ", "c": 3, "d": null}));
        assert_eq!(f.required_str("a").unwrap(), "x");
        assert_eq!(f.optional_str("b").unwrap(), None);
        assert_eq!(f.optional_str("d").unwrap(), None);
        let missing = f.required_str("b").unwrap_err();
        assert_eq!(missing.message, "missing required field `b`");
        assert_eq!(missing.message_cn, "缺少必填参数 `b`");
        let typed = f.required_str("c").unwrap_err();
        assert_eq!(typed.message, "field `c` must be a string, got number");
        assert_eq!(typed.message_cn, "参数 `c` 必须是字符串，实际为数字");
    }

    #[test]
    fn lists_objects_numbers_and_booleans_are_type_checked() {
        let f = fields(json!({
            "ids": ["a", "b"], "empty": [], "mixed": ["a", 1], "obj": {"k": 1},
            "objs": [{"k": 1}], "n": 5, "ns": "7", "neg": -1, "t": true, "ts": "false"
        }));
        assert_eq!(f.required_str_list("ids").unwrap(), ["a", "b"]);
        assert!(f.required_str_list("empty").is_err());
        assert!(f.required_str_list("mixed").is_err());
        assert!(f.required_str_list("obj").is_err());
        assert_eq!(f.required_object("obj").unwrap()["k"], 1);
        assert!(f.required_object("ids").is_err());
        assert_eq!(f.optional_object_list("objs").unwrap().unwrap().len(), 1);
        assert!(f.optional_object_list("ids").is_err());
        assert_eq!(f.optional_uint("n").unwrap(), Some(5));
        assert_eq!(f.optional_uint("ns").unwrap(), Some(7));
        assert!(f.optional_uint("neg").is_err());
        assert_eq!(f.optional_bool("t").unwrap(), Some(true));
        assert_eq!(f.optional_bool("ts").unwrap(), Some(false));
        assert!(f.optional_bool("n").is_err());
        assert_eq!(f.optional_uint("absent").unwrap(), None);
    }
}
