//! `POST /v1/cds/actions/{Action}`: any action of the table, with the caller's parameters.
//!
//! Request: `{"provider_params": "...", "params": {...}, "wait": false}`. `params` are the
//! action's own parameters as the spec names them (a GET action's go into the signed query,
//! lists comma-separated; a POST action's into the JSON body). With `"wait": true`, an action
//! that answers a `TaskId` is followed by `DescribeTask` until `FINISH` or `ERROR`.
//!
//! Answer: `{"result_code", "result_message", "error_source", "action", "response", "task"}`:
//! `response` is Capital Online's JSON as it came (also on upstream errors), `task` the
//! finished task (`TaskId`, `Status`, `ResourceIds`, `TaskType`) or `null`. `error_source` says
//! who failed: `""` (nobody), `broker` (bad request: HTTP 400, unknown action: 404),
//! `upstream` (Capital Online answered an error, or no answer: HTTP 502) or `task` (the task
//! ended in `ERROR` or did not finish in time).

use broker_sdk::cds::{self, CdsError, Client, TaskError, TaskInfo};
use broker_sdk::clock::HostClock;
use broker_sdk::http::{json_response, method_name};
use broker_sdk::wecube::type_name;
use broker_sdk::{Method, Response, log};
use serde_json::{Map, Value, json};

use crate::actions;
use crate::waits;

/// The route prefix; the action name follows it.
pub const PREFIX: &str = "/v1/cds/actions/";

/// The parameters the broker and host set on every request (and sign).
const COMMON_PARAMS: &[&str] = &[
    "Action",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
    "Format",
];

/// Who failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Broker,
    Upstream,
    Task,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Broker => "broker",
            Source::Upstream => "upstream",
            Source::Task => "task",
        }
    }
}

fn task_json(task: &TaskInfo) -> Value {
    json!({
        "TaskId": task.task_id,
        "Status": task.status,
        "ResourceIds": task.resource_ids,
        "TaskType": task.task_type,
    })
}

/// The answer body (pure, for tests).
pub fn body(
    action: &str,
    error: Option<(&str, String)>,
    response: Option<&Value>,
    task: Option<&TaskInfo>,
) -> Value {
    let (code, message, source) = match &error {
        None => ("0", "success".to_owned(), ""),
        Some((source, message)) => ("1", message.clone(), *source),
    };
    json!({
        "result_code": code,
        "result_message": message,
        "error_source": source,
        "action": action,
        "response": response.cloned().unwrap_or(Value::Null),
        "task": task.map(task_json).unwrap_or(Value::Null),
    })
}

fn failure(
    status: u16,
    action: &str,
    source: Source,
    message: String,
    response: Option<&Value>,
    task: Option<&TaskInfo>,
) -> Response {
    json_response(
        status,
        &body(action, Some((source.name(), message)), response, task),
    )
}

/// The validated request body.
struct Call {
    provider_params: String,
    params: Map<String, Value>,
    wait: bool,
}

fn parse(body: &[u8]) -> Result<Call, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON ({e})"))?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "the body must be a JSON object, got {}",
            type_name(&value)
        ));
    };
    let provider_params = match fields.get("provider_params") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err("missing required field \"provider_params\"".to_owned());
        }
        Some(other) => {
            return Err(format!(
                "field \"provider_params\" must be a string, got {}",
                type_name(other)
            ));
        }
    };
    let params = match fields.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(other) => {
            return Err(format!(
                "field \"params\" must be an object, got {}",
                type_name(other)
            ));
        }
    };
    let wait = match fields.get("wait") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "field \"wait\" must be a boolean, got {}",
                type_name(other)
            ));
        }
    };
    Ok(Call {
        provider_params,
        params,
        wait,
    })
}

/// Handle `POST /v1/cds/actions/{name}` with `body` (another method is a 405).
pub fn handle(method: Method, name: &str, body: &[u8]) -> Response {
    if method != Method::Post {
        let message = format!(
            "method {} is not allowed on {PREFIX}{name}",
            method_name(method)
        );
        return failure(405, name, Source::Broker, message, None, None);
    }
    let Some(action) = actions::find(name) else {
        return failure(
            404,
            name,
            Source::Broker,
            format!("unknown Capital Online action `{name}`"),
            None,
            None,
        );
    };
    let call = match parse(body) {
        Ok(call) => call,
        Err(message) => return failure(400, name, Source::Broker, message, None, None),
    };
    // A GET action's parameters share the signed query with the common ones, which the broker
    // sets (a POST body may have its own `Action`, as `AddSecurityGroupRule` does).
    let overridden = COMMON_PARAMS.iter().find(|c| call.params.contains_key(**c));
    if let (Method::Get, Some(common)) = (action.method, overridden) {
        let message = format!(
            "\"params\" of a GET action must not set the common parameter `{common}`: the broker sets it"
        );
        return failure(400, name, Source::Broker, message, None, None);
    }
    // An instance password travels in the parameters: keep it out of every log line.
    if let Some(Value::String(password)) = call.params.get("Password") {
        log::redact(password);
    }
    let account = match cds::open_account(&call.provider_params) {
        Ok(account) => account,
        Err(message) => {
            return failure(400, name, Source::Broker, message.into_string(), None, None);
        }
    };
    let wait = match call.wait.then(waits::task_wait).transpose() {
        Ok(wait) => wait,
        Err(message) => {
            return failure(400, name, Source::Broker, message.into_string(), None, None);
        }
    };
    let api = Client::with_host(&account.credential, account.host);
    let answer = match cds::CdsApi::call(
        &api,
        action.method,
        action.product,
        action.name,
        &call.params,
    ) {
        Ok(answer) => answer,
        Err(error) => {
            log::info(&format!("cds {name}"), &[("outcome", "upstream error")]);
            let (status, response) = match &error {
                CdsError::Api { body, .. } => (200, Some(body.clone())),
                _ => (502, None),
            };
            return failure(
                status,
                name,
                Source::Upstream,
                error.to_string(),
                response.as_ref(),
                None,
            );
        }
    };
    let (Some(wait), Some(task_id)) = (wait, cds::task_id(&answer)) else {
        return json_response(200, &body_ok(name, &answer, None));
    };
    match cds::wait_task(&api, &HostClock, &task_id, wait) {
        Ok(task) => json_response(200, &body_ok(name, &answer, Some(&task))),
        Err(TaskError::Failed(task)) => failure(
            200,
            name,
            Source::Task,
            TaskError::Failed(task.clone()).to_string(),
            Some(&answer),
            Some(&task),
        ),
        Err(error @ (TaskError::TimedOut { .. } | TaskError::OutOfRequestTime { .. })) => failure(
            200,
            name,
            Source::Task,
            error.to_string(),
            Some(&answer),
            None,
        ),
        Err(error @ TaskError::Api(_)) => failure(
            200,
            name,
            Source::Upstream,
            error.to_string(),
            Some(&answer),
            None,
        ),
    }
}

fn body_ok(action: &str, answer: &Value, task: Option<&TaskInfo>) -> Value {
    body(action, None, Some(answer), task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bodies_are_broker_errors_naming_the_field() {
        for (body, message) in [
            (&b"{"[..], "the body is not valid JSON"),
            (b"[]", "the body must be a JSON object, got array"),
            (b"{}", "missing required field \"provider_params\""),
            (
                br#"{"provider_params":1}"#,
                "field \"provider_params\" must be a string, got number",
            ),
            (
                br#"{"provider_params":"a","params":[]}"#,
                "field \"params\" must be an object, got array",
            ),
            (
                br#"{"provider_params":"a","wait":"yes"}"#,
                "field \"wait\" must be a boolean, got string",
            ),
        ] {
            let e = parse(body).err().unwrap();
            assert!(e.starts_with(message), "{e}");
        }
        let ok = parse(br#"{"provider_params":"acct","params":{"A":1},"wait":true}"#)
            .ok()
            .unwrap();
        assert!(ok.wait);
        assert_eq!(ok.params["A"], 1);
    }

    #[test]
    fn the_answer_says_who_failed() {
        let ok = body("DescribeVdc", None, Some(&json!({"Code": "Success"})), None);
        assert_eq!(ok["result_code"], "0");
        assert_eq!(ok["error_source"], "");
        assert_eq!(ok["response"]["Code"], "Success");
        let failed = body("X", Some(("upstream", "boom".into())), None, None);
        assert_eq!(
            (
                failed["result_code"].as_str(),
                failed["error_source"].as_str()
            ),
            (Some("1"), Some("upstream"))
        );
    }

    #[test]
    fn an_unknown_action_is_a_404_broker_error() {
        let response = handle(Method::Post, "NoSuchAction", b"{}");
        assert_eq!(response.status, 404);
        let value: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(value["error_source"], "broker");
        let response = handle(Method::Get, "DescribeVdc", b"");
        assert_eq!(response.status, 405);
        let body = br#"{"provider_params":"Region=r;AccessKeyId=a;AccessKeySecret=b","params":{"Version":"1"}}"#;
        let response = handle(Method::Post, "DescribeVdc", body);
        assert_eq!(response.status, 400);
        let value: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            value["result_message"],
            "\"params\" of a GET action must not set the common parameter `Version`: the broker sets it"
        );
    }
}
