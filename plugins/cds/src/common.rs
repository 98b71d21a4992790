//! What every resource route shares: reading the input (`guid`, `provider_params`, typed
//! fields), running an action from the table, waiting on its task, and building outputs.

use broker_sdk::cds::{self, Account, CdsApi, Client, TaskInfo};
use broker_sdk::clock::HostClock;
use broker_sdk::wecube::{Input, Output, type_name};
use broker_sdk::{ErrorMessage, log};
use serde_json::{Map, Value};

use crate::actions;
use crate::waits;

/// The account and `guid` of one input.
pub struct Ctx {
    /// CI guid, echoed.
    pub guid: String,
    /// The credential and default region.
    pub account: Account,
}

impl Ctx {
    /// Validate `guid` and `provider_params` and open the account.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            guid: input.required_str("guid")?.to_owned(),
            account: cds::open_account(input.required_str("provider_params")?)?,
        })
    }

    /// A client signing with this input's credential.
    pub fn client(&self) -> Client<'_> {
        Client::with_host(&self.account.credential, self.account.host)
    }

    /// `region_id` of the input, else the `Region` of `provider_params` (or the account's).
    pub fn region(&self, input: &Input) -> Result<String, ErrorMessage> {
        match input.optional_str("region_id")? {
            Some(region) => Ok(region.to_owned()),
            None => Ok(self.account.require_region()?.to_owned()),
        }
    }

    /// An output with `guid` (and `id`, when given).
    pub fn output(&self, id: Option<&str>) -> Output {
        let mut out = Output::new();
        out.insert("guid".into(), self.guid.clone().into());
        if let Some(id) = id {
            out.insert("id".into(), id.into());
        }
        out
    }
}

/// Parameters for an action, built field by field.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` to `value`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Set `key` when `value` is `Some`.
    pub fn set_opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
}

/// Run action `name` (from the table) with `params`.
pub fn run(api: &impl CdsApi, name: &str, params: &Params) -> Result<Value, ErrorMessage> {
    let action = actions::get(name);
    let answer = api.call(action.method, action.product, action.name, &params.0);
    log::info(
        &format!("cds {name}"),
        &[("outcome", if answer.is_ok() { "ok" } else { "error" })],
    );
    Ok(answer?)
}

/// Run action `name` and wait for its task (if it started one) to finish.
pub fn run_and_wait(
    api: &impl CdsApi,
    name: &str,
    params: &Params,
) -> Result<(Value, Option<TaskInfo>), ErrorMessage> {
    let answer = run(api, name, params)?;
    let task = match cds::task_id(&answer) {
        Some(task_id) => Some(cds::wait_task(
            api,
            &HostClock,
            &task_id,
            waits::task_wait()?,
        )?),
        None => None,
    };
    Ok((answer, task))
}

/// Run action `name`, wait for its task, and return the first resource id the task names.
pub fn run_for_id(api: &impl CdsApi, name: &str, params: &Params) -> Result<String, ErrorMessage> {
    let (_, task) = run_and_wait(api, name, params)?;
    task.and_then(|t| t.resource_id().map(str::to_owned))
        .ok_or_else(|| ErrorMessage::new(format!("the {name} task named no resource")))
}

/// The resource the input's `id` names, if it exists: a create given an existing `id` returns
/// it without creating anything.
pub fn existing<T>(
    input: &Input,
    find: impl FnOnce(&str) -> Result<Option<T>, ErrorMessage>,
) -> Result<Option<T>, ErrorMessage> {
    match input.optional_str("id")? {
        Some(id) => find(id),
        None => Ok(None),
    }
}

/// An optional whole number field (a JSON number or its text).
pub fn opt_u64(input: &Input, name: &str) -> Result<Option<u64>, ErrorMessage> {
    let bad = |v: &Value| {
        ErrorMessage::new(format!(
            "field \"{name}\" must be a whole number, got {}",
            type_name(v)
        ))
    };
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(&Value::Number(n.clone()))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
            ErrorMessage::new(format!(
                "field \"{name}\" must be a whole number, got \"{s}\""
            ))
        }),
        Some(other) => Err(bad(other)),
    }
}

/// A required whole number field.
pub fn req_u64(input: &Input, name: &str) -> Result<u64, ErrorMessage> {
    opt_u64(input, name)?
        .ok_or_else(|| ErrorMessage::new(format!("missing required field \"{name}\"")))
}

/// An optional JSON list field: a JSON array, or its text (WeCube sends strings).
pub fn opt_list(input: &Input, name: &str) -> Result<Option<Vec<Value>>, ErrorMessage> {
    let bad = || ErrorMessage::new(format!("field \"{name}\" must be a JSON list"));
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Array(items)) => Ok(Some(items)),
            _ => Err(bad()),
        },
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(_) => Err(bad()),
    }
}

/// The `Data` of an answer, or `null`.
pub fn data(answer: &Value) -> &Value {
    answer.get("Data").unwrap_or(&Value::Null)
}

/// The text of `key` in `value`, or `""`.
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The items of the list `key` in `value`.
pub fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
