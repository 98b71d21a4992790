//! Capital Online (首云, CDS) API client over `signed-http` (the host signs with the `cds`
//! scheme: HMAC-SHA1 over the query, keyed with the bare AccessKeySecret).
//!
//! * [`call`] sends one action: a GET action's parameters go into the signed query, a POST
//!   action's into a JSON body with only `Action` and `Version` (plus the common parameters the
//!   host adds) in the query. [`parse_response`] is the pure part: success codes are compared
//!   case-insensitively (`Success`, `success`, `OK`).
//! * [`wait_task`] polls `DescribeTask` until `FINISH` or `ERROR` (reference §1.5): the first
//!   look after a short delay (an immediate one fails on the real API), then every interval,
//!   tolerating a bounded number of transient errors.
//! * [`open_account`] turns `provider_params` into a credential: inline keys, or the name of an
//!   account the operator stored for the calling tenant (whose secret never enters the plugin).
//!
//! Plugin logic takes `&impl CdsApi` so it can be unit-tested natively with a fake.

use std::fmt;

use serde_json::{Map, Value};

use crate::clock::{Clock, Poll, PollError, poll_until};
use crate::http::{RequestBuilder, describe_http_error, send};
use crate::{CdsParams, Credential, ErrorMessage, Method, ProviderParams, Signing};

/// The API version every action is called with.
pub const API_VERSION: &str = "2019-08-08";
/// The API host of every product the broker uses (`/ccs`, `/network`, `/billing`, ...).
pub const UPSTREAM_HOST: &str = "cdsapi.capitalonline.net";
/// Per-call timeout asked of the host (the official Go SDK uses 20 s; creates answer slowly).
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;
/// The provider name of stored Capital Online accounts.
pub const PROVIDER: &str = "cds";

/// Why a Capital Online call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CdsError {
    /// The API answered with an error `Code`.
    Api {
        /// HTTP status of the answer.
        status: u16,
        /// Error code, e.g. `InstanceNotFound`.
        code: String,
        /// Error message from the API.
        message: String,
        /// `RequestId` (may be empty).
        request_id: String,
        /// The whole answer, for callers that pass it on.
        body: Value,
    },
    /// The request was not sent or got no response.
    Http(String),
    /// The answer was not a JSON object with a `Code`.
    BadResponse {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong (never the body).
        reason: String,
    },
}

impl CdsError {
    /// The API error code, if the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CdsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when a retry may succeed: no answer, a broken answer, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            CdsError::Api { status, .. } => *status >= 500,
            CdsError::Http(_) | CdsError::BadResponse { .. } => true,
        }
    }

    /// True when the API says the resource does not exist (`InstanceNotFound`, `...NotFound`).
    pub fn is_not_found(&self) -> bool {
        self.code()
            .is_some_and(|c| c.split('.').any(|part| part.ends_with("NotFound")))
    }
}

impl fmt::Display for CdsError {
    /// `[CdsError] Code=..., Message=..., RequestId=...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CdsError::Api {
                code,
                message,
                request_id,
                ..
            } => write!(
                f,
                "[CdsError] Code={code}, Message={message}, RequestId={request_id}"
            ),
            CdsError::Http(why) => {
                write!(
                    f,
                    "[CdsError] Code=ClientError.NetworkError, Message={why}, RequestId="
                )
            }
            CdsError::BadResponse { status, reason } => write!(
                f,
                "[CdsError] Code=ClientError.ParseJsonError, Message=HTTP {status}: {reason}, RequestId="
            ),
        }
    }
}

impl std::error::Error for CdsError {}

impl From<CdsError> for ErrorMessage {
    fn from(error: CdsError) -> Self {
        ErrorMessage::new(error.to_string())
    }
}

/// Something that can call Capital Online actions: the real [`Client`] or a test fake.
pub trait CdsApi {
    /// Call `action` of product `product` (`ccs`, `network`, ...) with `method` and `params`;
    /// the whole JSON answer on success.
    fn call(
        &self,
        method: Method,
        product: &str,
        action: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, CdsError>;
}

/// A client bound to one credential.
#[derive(Debug)]
pub struct Client<'a> {
    credential: &'a Credential,
}

impl<'a> Client<'a> {
    /// A client signing with `credential`.
    pub fn new(credential: &'a Credential) -> Self {
        Self { credential }
    }
}

impl CdsApi for Client<'_> {
    fn call(
        &self,
        method: Method,
        product: &str,
        action: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, CdsError> {
        call(self.credential, method, product, action, params)
    }
}

/// `https://cdsapi.capitalonline.net/{product}/`.
pub fn endpoint(product: &str) -> String {
    format!("https://{UPSTREAM_HOST}/{product}/")
}

/// A GET parameter's query text: strings as they are, numbers and booleans as text, a list of
/// scalars comma-separated (`InstanceIds=a,b`), anything else as JSON text.
pub fn query_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            items.iter().map(query_value).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// Build the request of one action (the pure part of [`call`]).
pub fn build_request(
    method: Method,
    product: &str,
    action: &str,
    params: &Map<String, Value>,
) -> crate::OutgoingRequest {
    let mut request = RequestBuilder::new(method, endpoint(product))
        .query("Action", action)
        .query("Version", API_VERSION)
        .timeout_ms(DEFAULT_TIMEOUT_MS);
    if method == Method::Get {
        for (key, value) in params {
            request = request.query(key, query_value(value));
        }
    } else {
        request = request.json(&Value::Object(params.clone()));
    }
    request.build()
}

/// Send `action` signed by the host with `credential`, and parse the answer.
pub fn call(
    credential: &Credential,
    method: Method,
    product: &str,
    action: &str,
    params: &Map<String, Value>,
) -> Result<Value, CdsError> {
    let request = build_request(method, product, action, params);
    let response = send(&request, &Signing::Cds, Some(credential))
        .map_err(|e| CdsError::Http(describe_http_error(&e)))?;
    parse_response(response.status, &response.body)
}

/// True for the success codes the API uses: `Success`, `success`, `OK` (any case), and the
/// `0000` the spec's `DescribeSecurityGroups` table shows.
pub fn is_success_code(code: &str) -> bool {
    code.eq_ignore_ascii_case("success") || code.eq_ignore_ascii_case("ok") || code == "0000"
}

/// Parse an answer: a JSON object whose `Code` is a success code (and HTTP 2xx) is success;
/// any other `Code` is [`CdsError::Api`].
pub fn parse_response(status: u16, body: &[u8]) -> Result<Value, CdsError> {
    let bad = |reason: &str| CdsError::BadResponse {
        status,
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        bad(if (200..300).contains(&status) {
            "body is not JSON"
        } else {
            "unexpected status"
        })
    })?;
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if !value.is_object() || value.get("Code").is_none() {
        return Err(bad("body has no \"Code\""));
    }
    let code = text("Code");
    if is_success_code(&code) && (200..300).contains(&status) {
        return Ok(value);
    }
    let message = match text("Message") {
        m if m.is_empty() => text("Msg"),
        m => m,
    };
    Err(CdsError::Api {
        status,
        code,
        message,
        request_id: text("RequestId"),
        body: value,
    })
}

/// The `TaskId` of an answer, if it started a task (`""` means it did not).
pub fn task_id(answer: &Value) -> Option<String> {
    match answer.get("TaskId").or_else(|| answer.get("TaskID")) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// What `DescribeTask` said about a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// `TaskId`.
    pub task_id: String,
    /// `NEW`, `DOING`, `FINISH` or `ERROR` (upper-cased).
    pub status: String,
    /// `ResourceIds`, or `[ResourceId]` when only that is given.
    pub resource_ids: Vec<String>,
    /// `TaskType`.
    pub task_type: String,
}

impl TaskInfo {
    /// Read a `DescribeTask` answer.
    pub fn from_answer(task_id: &str, answer: &Value) -> Self {
        let data = answer.get("Data").unwrap_or(&Value::Null);
        let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
        let mut resource_ids: Vec<String> = data
            .get("ResourceIds")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if resource_ids.is_empty() && !text("ResourceId").is_empty() {
            resource_ids.push(text("ResourceId").to_owned());
        }
        Self {
            task_id: task_id.to_owned(),
            status: text("Status").to_ascii_uppercase(),
            resource_ids,
            task_type: text("TaskType").to_owned(),
        }
    }

    /// The first resource id, if any.
    pub fn resource_id(&self) -> Option<&str> {
        self.resource_ids.first().map(String::as_str)
    }
}

/// How [`wait_task`] waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskWait {
    /// Sleep before the first look (an immediate `DescribeTask` fails on the real API).
    pub first_delay_ms: u64,
    /// Sleep between looks.
    pub interval_ms: u64,
    /// Give up after this much clock time (first delay included).
    pub timeout_ms: u64,
    /// Transient errors (no answer, 5xx) tolerated before giving up.
    pub max_transient_errors: u32,
}

/// Why [`wait_task`] gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    /// The task ended in `ERROR`.
    Failed(TaskInfo),
    /// It was still running after the timeout; the last status seen.
    TimedOut {
        /// `TaskId`.
        task_id: String,
        /// Last status seen.
        last: String,
        /// The timeout, in ms.
        timeout_ms: u64,
    },
    /// `DescribeTask` failed (a permanent error, or too many transient ones).
    Api(CdsError),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(info) => write!(
                f,
                "Capital Online task {} ({}) ended in ERROR",
                info.task_id,
                if info.task_type.is_empty() {
                    "unknown type"
                } else {
                    &info.task_type
                }
            ),
            TaskError::TimedOut {
                task_id,
                last,
                timeout_ms,
            } => write!(
                f,
                "Capital Online task {task_id} did not finish within {} s (last status {last})",
                timeout_ms / 1000
            ),
            TaskError::Api(e) => write!(f, "DescribeTask failed: {e}"),
        }
    }
}

impl From<TaskError> for ErrorMessage {
    fn from(error: TaskError) -> Self {
        ErrorMessage::new(error.to_string())
    }
}

/// Poll `DescribeTask` for `task_id` until `FINISH` (the task's info) or `ERROR`.
pub fn wait_task(
    api: &impl CdsApi,
    clock: &impl Clock,
    task_id: &str,
    wait: TaskWait,
) -> Result<TaskInfo, TaskError> {
    let first = wait.first_delay_ms.min(wait.timeout_ms);
    clock.sleep_ms(first);
    let mut params = Map::new();
    params.insert("TaskId".into(), Value::String(task_id.to_owned()));
    let mut transient = 0u32;
    let outcome = poll_until(
        clock,
        wait.timeout_ms - first,
        wait.interval_ms,
        || match api.call(Method::Get, "ccs", "DescribeTask", &params) {
            Ok(answer) => {
                let info = TaskInfo::from_answer(task_id, &answer);
                match info.status.as_str() {
                    "FINISH" => Ok(Poll::Ready(info)),
                    "ERROR" => Err(TaskError::Failed(info)),
                    other => Ok(Poll::Pending(other.to_owned())),
                }
            }
            Err(e) if e.is_transient() && transient < wait.max_transient_errors => {
                transient += 1;
                Ok(Poll::Pending(format!("unknown ({e})")))
            }
            Err(e) => Err(TaskError::Api(e)),
        },
    );
    outcome.map_err(|e| match e {
        PollError::Failed(e) => e,
        PollError::TimedOut(last) => TaskError::TimedOut {
            task_id: task_id.to_owned(),
            last,
            timeout_ms: wait.timeout_ms,
        },
    })
}

/// A credential to sign with, and the region to default `RegionId` to.
#[derive(Debug)]
pub struct Account {
    /// The key pair (inline) or the stored account's handle.
    pub credential: Credential,
    /// `Region` of `provider_params`, else the stored account's default region.
    pub region: Option<String>,
}

impl Account {
    /// The region, or an error naming `Region` as missing.
    pub fn require_region(&self) -> Result<&str, ErrorMessage> {
        self.region.as_deref().ok_or_else(|| {
            ErrorMessage::new(
                "provider_params is missing `Region` (and the stored account has no default region)",
            )
        })
    }
}

/// How `provider_params` names its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSource {
    /// `Region=...;AccessKeyId=...;AccessKeySecret=...`.
    Inline(CdsParams),
    /// A stored account: the whole text is its name, or `Account=<name>[;Region=...]`.
    Stored {
        /// The account's name.
        name: String,
        /// `Region`, if given.
        region: Option<String>,
    },
}

impl AccountSource {
    /// Parse `provider_params` (pure).
    pub fn parse(provider_params: &str) -> Result<Self, ErrorMessage> {
        let text = provider_params.trim();
        if text.is_empty() {
            return Err(ErrorMessage::new("provider_params is empty"));
        }
        if !text.contains('=') {
            return Ok(AccountSource::Stored {
                name: text.to_owned(),
                region: None,
            });
        }
        let params = ProviderParams::parse(text)?;
        match params.get("Account").filter(|a| !a.is_empty()) {
            Some(name) => Ok(AccountSource::Stored {
                name: name.to_owned(),
                region: params
                    .get("Region")
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            }),
            None => Ok(AccountSource::Inline(CdsParams::from_params(&params)?)),
        }
    }
}

/// Open the credential `provider_params` names (see [`AccountSource`]).
pub fn open_account(provider_params: &str) -> Result<Account, ErrorMessage> {
    match AccountSource::parse(provider_params)? {
        AccountSource::Inline(params) => Ok(Account {
            credential: params.credential(),
            region: params.region().map(str::to_owned),
        }),
        AccountSource::Stored { name, region } => {
            let (credential, account) = crate::lookup_account(PROVIDER, &name).map_err(|e| {
                ErrorMessage::new(match e {
                    crate::LookupError::NotFound(_) => {
                        format!(
                            "no Capital Online account named `{name}` is stored for this tenant"
                        )
                    }
                    crate::LookupError::Unavailable(why) => {
                        format!("the account store is unavailable: {why}")
                    }
                })
            })?;
            Ok(Account {
                credential,
                region: region.or(account.default_region),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::{Cell, RefCell};

    #[test]
    fn success_codes_compare_case_insensitively() {
        for code in ["Success", "success", "SUCCESS", "OK", "ok", "0000"] {
            let body = json!({"Code": code, "Data": {}}).to_string();
            assert!(parse_response(200, body.as_bytes()).is_ok(), "{code}");
        }
        let e = parse_response(
            400,
            br#"{"Code":"InstanceNotFound","Message":"gone","RequestId":"r-1"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "[CdsError] Code=InstanceNotFound, Message=gone, RequestId=r-1"
        );
        assert!(e.is_not_found() && !e.is_transient());
        assert!(matches!(
            parse_response(502, b"<html>"),
            Err(CdsError::BadResponse { status: 502, .. })
        ));
        assert!(parse_response(200, br#"{"Data":1}"#).is_err());
        assert!(
            parse_response(500, br#"{"Code":"Success"}"#)
                .unwrap_err()
                .is_transient()
        );
    }

    #[test]
    fn get_parameters_go_to_the_query_and_post_parameters_to_the_body() {
        let params: Map<String, Value> = serde_json::from_value(
            json!({"InstanceIds": ["a", "b"], "Qos": 20, "Data": [{"k": 1}]}),
        )
        .unwrap();
        let get = build_request(Method::Get, "network", "X", &params);
        assert_eq!(get.url, "https://cdsapi.capitalonline.net/network/");
        assert!(get.body.is_empty());
        let query: Vec<(&str, &str)> = get
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            query,
            [
                ("Action", "X"),
                ("Version", "2019-08-08"),
                ("Data", r#"[{"k":1}]"#),
                ("InstanceIds", "a,b"),
                ("Qos", "20"),
            ]
        );
        let post = build_request(Method::Post, "ccs", "Y", &params);
        assert_eq!(post.query.len(), 2, "only Action and Version");
        let body: Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(body, Value::Object(params));
    }

    struct Fake {
        answers: RefCell<Vec<Result<Value, CdsError>>>,
        calls: Cell<u32>,
    }

    impl CdsApi for Fake {
        fn call(
            &self,
            _: Method,
            product: &str,
            action: &str,
            params: &Map<String, Value>,
        ) -> Result<Value, CdsError> {
            assert_eq!((product, action), ("ccs", "DescribeTask"));
            assert_eq!(params["TaskId"], "t-1");
            self.calls.set(self.calls.get() + 1);
            self.answers.borrow_mut().remove(0)
        }
    }

    struct FakeClock(Cell<u64>);

    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.0.get()
        }
        fn sleep_ms(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
    }

    fn status(s: &str) -> Result<Value, CdsError> {
        Ok(json!({"Code": "Success", "Data": {"Status": s, "ResourceId": "r-1", "TaskType": "t"}}))
    }

    const WAIT: TaskWait = TaskWait {
        first_delay_ms: 2_000,
        interval_ms: 5_000,
        timeout_ms: 60_000,
        max_transient_errors: 2,
    };

    #[test]
    fn a_task_is_first_polled_after_the_delay_and_transient_errors_are_tolerated() {
        let fake = Fake {
            answers: RefCell::new(vec![
                status("NEW"),
                Err(CdsError::Http("reset".into())),
                status("doing"),
                status("FINISH"),
            ]),
            calls: Cell::new(0),
        };
        let clock = FakeClock(Cell::new(0));
        let info = wait_task(&fake, &clock, "t-1", WAIT).unwrap();
        assert_eq!(info.resource_ids, ["r-1"]);
        assert_eq!(fake.calls.get(), 4);
        assert_eq!(clock.now_ms(), 2_000 + 3 * 5_000);
    }

    #[test]
    fn error_status_too_many_transient_errors_and_timeout_fail_the_wait() {
        let clock = FakeClock(Cell::new(0));
        let fake = Fake {
            answers: RefCell::new(vec![status("ERROR")]),
            calls: Cell::new(0),
        };
        let e = wait_task(&fake, &clock, "t-1", WAIT).unwrap_err();
        assert_eq!(e.to_string(), "Capital Online task t-1 (t) ended in ERROR");
        let fake = Fake {
            answers: RefCell::new((0..3).map(|_| Err(CdsError::Http("down".into()))).collect()),
            calls: Cell::new(0),
        };
        assert!(matches!(
            wait_task(&fake, &clock, "t-1", WAIT),
            Err(TaskError::Api(_))
        ));
        let fake = Fake {
            answers: RefCell::new((0..20).map(|_| status("DOING")).collect()),
            calls: Cell::new(0),
        };
        let e = wait_task(&fake, &clock, "t-1", WAIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Capital Online task t-1 did not finish within 60 s (last status DOING)"
        );
    }

    #[test]
    fn provider_params_name_inline_keys_or_a_stored_account() {
        assert_eq!(
            AccountSource::parse(" prod-account ").unwrap(),
            AccountSource::Stored {
                name: "prod-account".into(),
                region: None
            }
        );
        assert_eq!(
            AccountSource::parse("Account=prod;Region=CN_Beijing_A").unwrap(),
            AccountSource::Stored {
                name: "prod".into(),
                region: Some("CN_Beijing_A".into())
            }
        );
        assert!(matches!(
            AccountSource::parse("Region=CN_Beijing_A;AccessKeyId=AK;AccessKeySecret=x").unwrap(),
            AccountSource::Inline(_)
        ));
        assert_eq!(
            AccountSource::parse("Region=r;AccessKeyId=AK")
                .unwrap_err()
                .as_str(),
            "provider_params is missing `AccessKeySecret`"
        );
        assert!(AccountSource::parse("  ").is_err());
    }
}
