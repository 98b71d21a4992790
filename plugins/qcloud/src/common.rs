//! What every route family of the VPC service shares: the client set-up and outcome log
//! ([`with_client`]), the `{request_id, guid, id}` output, and the describe-by-id / create /
//! delete pattern of a [`Resource`] (create returns an existing `id`; terminate of an absent
//! resource succeeds).

use broker_sdk::clock::{Clock, Poll, poll_until};
use broker_sdk::log;
use broker_sdk::settings::Wait;
use broker_sdk::tencent::{Client, TencentApi};
use broker_sdk::wecube::{Input, Output, type_name};
use broker_sdk::{ErrorMessage, TencentParams};
use serde_json::{Value, json};

/// The Tencent API host of the VPC service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "vpc.tencentcloudapi.com";
/// Tencent service name (the first label of the host).
pub const SERVICE: &str = "vpc";
/// VPC API version.
pub const API_VERSION: &str = "2017-03-12";

/// The `guid` and parsed `provider_params` every input carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// CI guid, echoed.
    pub guid: String,
    /// Region and credentials from `provider_params`.
    pub params: TencentParams,
}

impl Common {
    /// Validate `guid` and `provider_params` (both required).
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            guid: input.required_str("guid")?.to_owned(),
            params: TencentParams::parse(input.required_str("provider_params")?)?,
        })
    }
}

/// Validated terminate input of any resource: `guid`, `provider_params` and `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// The resource to delete.
    pub id: String,
}

impl TerminateArgs {
    /// Validate a terminate input: `guid`, `provider_params`, `id` required.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            common: Common::from_input(input)?,
            id: input.required_str("id")?.to_owned(),
        })
    }
}

/// One kind of VPC-service resource and the actions that describe, create and delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Plural noun for messages, e.g. `VPCs`.
    pub plural: &'static str,
    /// Describe action, e.g. `DescribeVpcs`.
    pub describe: &'static str,
    /// Its id-list parameter, e.g. `VpcIds`.
    pub ids_param: &'static str,
    /// The answer's list, e.g. `VpcSet`.
    pub set_key: &'static str,
    /// The id field of one item (and of the delete parameter), e.g. `VpcId`.
    pub id_field: &'static str,
    /// Create action, e.g. `CreateVpc`.
    pub create: &'static str,
    /// The object the create answer holds, e.g. `Vpc`.
    pub created_key: &'static str,
    /// Delete action, e.g. `DeleteVpc`.
    pub delete: &'static str,
}

/// What a describe said about one id.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// No such resource (`ResourceNotFound`-like error, or `TotalCount` 0).
    Absent,
    /// Exactly one: its id and the whole item.
    One(String, Value),
    /// More than one (should not happen for a single id).
    Many(u64),
}

/// Runs `action` with `filter` (e.g. `{"DiskIds": [id]}`) and picks the item of `set_key` whose
/// `id_field` is `id`: (request id, the item if listed). Tencent's not-found error counts as
/// absent. For the describe actions that do not fit [`describe`]'s [`Resource`] pattern.
pub fn find_by_id(
    api: &impl TencentApi,
    (action, filter): (&str, Value),
    (set_key, id_field): (&str, &str),
    id: &str,
) -> Result<(String, Option<Value>), ErrorMessage> {
    match api.call(action, &filter) {
        Ok(response) => {
            let item = response
                .body
                .get(set_key)
                .and_then(Value::as_array)
                .and_then(|set| {
                    set.iter()
                        .find(|i| i.get(id_field).and_then(Value::as_str) == Some(id))
                })
                .cloned();
            Ok((response.request_id, item))
        }
        Err(error) if error.is_not_found() => Ok((error.request_id().to_owned(), None)),
        Err(error) => Err(error.into()),
    }
}

/// `<describe> {<ids_param>: [id]}` → (request id, lookup).
pub fn describe(
    api: &impl TencentApi,
    resource: &Resource,
    id: &str,
) -> Result<(String, Lookup), ErrorMessage> {
    let response = match api.call(resource.describe, &json!({ resource.ids_param: [id] })) {
        Ok(response) => response,
        Err(error) if error.is_not_found() => {
            return Ok((error.request_id().to_owned(), Lookup::Absent));
        }
        Err(error) => return Err(error.into()),
    };
    let set = response
        .body
        .get(resource.set_key)
        .and_then(Value::as_array);
    let count = response
        .body
        .get("TotalCount")
        .and_then(Value::as_u64)
        .or_else(|| set.map(|s| s.len() as u64))
        .unwrap_or(0);
    let lookup = match count {
        0 => Lookup::Absent,
        1 => {
            let item = set.and_then(|s| s.first()).cloned().unwrap_or(Value::Null);
            let found = item
                .get(resource.id_field)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .unwrap_or(id)
                .to_owned();
            Lookup::One(found, item)
        }
        n => Lookup::Many(n),
    };
    Ok((response.request_id, lookup))
}

/// The optional non-negative integer field `name`: a JSON number or a decimal string; absent,
/// `null` and `""` are `None`.
pub fn optional_uint(input: &Input, name: &str) -> Result<Option<u64>, ErrorMessage> {
    let bad = |v: &Value| {
        ErrorMessage::new(format!(
            "field \"{name}\" must be a non-negative integer, got {} {v}",
            type_name(v)
        ))
    };
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
        Some(v @ Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

/// `{request_id, guid}`, the output of every route.
pub fn output(request_id: &str, guid: &str) -> Output {
    let mut out = Output::new();
    out.insert("request_id".into(), request_id.into());
    out.insert("guid".into(), guid.into());
    out
}

/// `{request_id, guid, id}`, the output of create and terminate routes.
pub fn output_with_id(request_id: &str, guid: &str, id: &str) -> Output {
    let mut out = output(request_id, guid);
    out.insert("id".into(), id.into());
    out
}

/// Return the resource `id` names when exactly one exists; otherwise call `<create>` with
/// `payload` and return the new id.
pub fn create_or_existing(
    api: &impl TencentApi,
    resource: &Resource,
    guid: &str,
    id: Option<&str>,
    payload: &Value,
) -> Result<Output, ErrorMessage> {
    if let Some(id) = id {
        match describe(api, resource, id)? {
            (request_id, Lookup::One(found, _)) => {
                return Ok(output_with_id(&request_id, guid, &found));
            }
            (_, Lookup::Absent) => {}
            (request_id, Lookup::Many(n)) => {
                return Err(ErrorMessage::new(format!(
                    "{} found {n} {} for id {id}, expected at most 1 (RequestId={request_id})",
                    resource.describe, resource.plural
                )));
            }
        }
    }
    let response = api.call(resource.create, payload)?;
    let new_id = response
        .body
        .get(resource.created_key)
        .and_then(|item| item.get(resource.id_field))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if new_id.is_empty() {
        return Err(ErrorMessage::new(format!(
            "{} succeeded but returned no {} (RequestId={})",
            resource.create, resource.id_field, response.request_id
        )));
    }
    Ok(output_with_id(&response.request_id, guid, new_id))
}

/// Delete resource `id`; one that is already gone (before or during the call) counts as deleted.
/// `check` sees the described item first and may refuse the delete.
pub fn terminate(
    api: &impl TencentApi,
    resource: &Resource,
    guid: &str,
    id: &str,
    check: impl FnOnce(&Value) -> Result<(), ErrorMessage>,
) -> Result<Output, ErrorMessage> {
    let (request_id, lookup) = describe(api, resource, id)?;
    match lookup {
        Lookup::Absent => return Ok(output_with_id(&request_id, guid, id)),
        Lookup::One(_, item) => check(&item)?,
        Lookup::Many(_) => {}
    }
    match api.call(resource.delete, &json!({ resource.id_field: id })) {
        Ok(response) => Ok(output_with_id(&response.request_id, guid, id)),
        Err(error) if error.is_not_found() => Ok(output_with_id(error.request_id(), guid, id)),
        Err(error) => Err(error.into()),
    }
}

/// The `State` field of a described item (`""` when it has none).
pub fn state_of(item: &Value) -> &str {
    item.get("State")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Polls `<describe>` for `id` (a `noun`, e.g. `NAT gateway`, in messages) until its `State` is
/// one of `ready` (`"gone"` there means absent) and returns the item (`None` when gone). A state
/// in `failed` ends the wait with an error; so does `wait.timeout_ms` of clock time.
#[expect(
    clippy::too_many_arguments,
    reason = "each argument says what to wait for; a struct would only rename them"
)]
pub fn wait_for_state(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    resource: &Resource,
    noun: &str,
    id: &str,
    ready: &[&str],
    failed: &[&str],
) -> Result<Option<Value>, ErrorMessage> {
    let what = format!("{noun} {id} to be {}", ready.join(" or "));
    wait_until(clock, wait, &what, || {
        let item = match describe(api, resource, id)?.1 {
            Lookup::One(_, item) => Some(item),
            Lookup::Absent => None,
            Lookup::Many(n) => {
                return Err(ErrorMessage::new(format!(
                    "{} found {n} {} for id {id}, expected at most 1",
                    resource.describe, resource.plural
                )));
            }
        };
        let state = item.as_ref().map_or("gone", state_of);
        if ready.contains(&state) {
            Ok(Poll::Ready(item))
        } else if failed.contains(&state) {
            Err(ErrorMessage::new(format!("{noun} {id} is {state}")))
        } else {
            Ok(Poll::Pending(state.to_owned()))
        }
    })
}

/// Polls `look` with `clock` as `wait` says until it is ready (sleeping between looks, never
/// spinning). Running out of time is the error `timed out after N s waiting for <what> (last
/// state S)`, or says the request's own time ran out.
pub fn wait_until<T>(
    clock: &impl Clock,
    wait: Wait,
    what: &str,
    look: impl FnMut() -> Result<Poll<T>, ErrorMessage>,
) -> Result<T, ErrorMessage> {
    poll_until(clock, wait.timeout_ms, wait.interval_ms, look)
        .map_err(|error| error.into_message(what, wait.timeout_ms))
}

/// The required non-negative integer field `name` (see [`optional_uint`]).
pub fn required_uint(input: &Input, name: &str) -> Result<u64, ErrorMessage> {
    optional_uint(input, name)?
        .ok_or_else(|| ErrorMessage::new(format!("missing required field \"{name}\"")))
}

/// Log the outcome of one input: route, guid, and either the resource id or the error.
fn log_outcome(route: &str, guid: &str, result: &Result<Output, ErrorMessage>) {
    match result {
        Ok(out) => {
            let id = out.get("id").and_then(Value::as_str).unwrap_or_default();
            log::info(route, &[("guid", guid), ("outcome", "ok"), ("id", id)]);
        }
        Err(error) => log::warn(
            route,
            &[
                ("guid", guid),
                ("outcome", "failed"),
                ("error", error.as_str()),
            ],
        ),
    }
}

/// Runs `action` against the VPC API with the input's credentials and logs its outcome.
pub fn with_client(
    route: &str,
    common: &Common,
    action: impl FnOnce(&Client) -> Result<Output, ErrorMessage>,
) -> Result<Output, ErrorMessage> {
    with_service_client(route, common, (SERVICE, API_VERSION), action)
}

/// Runs `action` against Tencent service `service` at API `version` with the input's
/// credentials and logs its outcome.
pub fn with_service_client(
    route: &str,
    common: &Common,
    (service, version): (&str, &str),
    action: impl FnOnce(&Client) -> Result<Output, ErrorMessage>,
) -> Result<Output, ErrorMessage> {
    let credential = common.params.credential();
    let client = Client::new(&credential, service, version, Some(common.params.region()));
    let result = action(&client);
    log_outcome(route, &common.guid, &result);
    result
}

/// A scripted [`TencentApi`] and helpers for the route modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use broker_sdk::clock::Clock;
    use broker_sdk::tencent::TencentApi;
    use broker_sdk::wecube::Input;
    use broker_sdk::{TencentError, TencentResponse};
    use serde_json::Value;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    /// `provider_params` with region, zone and keys.
    pub(crate) const PARAMS: &str =
        "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID=AKID;SecretKey=sk";

    /// Answers calls from a script and records them.
    pub(crate) struct FakeApi {
        answers: RefCell<VecDeque<Result<TencentResponse, TencentError>>>,
        pub(crate) calls: RefCell<Vec<(String, Value)>>,
    }

    impl FakeApi {
        pub(crate) fn new(answers: Vec<Result<TencentResponse, TencentError>>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                calls: RefCell::new(Vec::new()),
            }
        }

        pub(crate) fn actions(&self) -> Vec<String> {
            self.calls.borrow().iter().map(|(a, _)| a.clone()).collect()
        }
    }

    impl TencentApi for FakeApi {
        fn call(&self, action: &str, payload: &Value) -> Result<TencentResponse, TencentError> {
            self.calls
                .borrow_mut()
                .push((action.to_owned(), payload.clone()));
            self.answers
                .borrow_mut()
                .pop_front()
                .expect("unexpected extra call")
        }
    }

    pub(crate) fn ok(request_id: &str, body: Value) -> Result<TencentResponse, TencentError> {
        Ok(TencentResponse {
            request_id: request_id.to_owned(),
            body,
        })
    }

    pub(crate) fn api_error(code: &str, request_id: &str) -> Result<TencentResponse, TencentError> {
        Err(TencentError::Api {
            code: code.to_owned(),
            message: "msg".to_owned(),
            request_id: request_id.to_owned(),
        })
    }

    pub(crate) fn input(value: Value) -> Input {
        Input::new(0, value.as_object().unwrap().clone())
    }

    /// A clock that moves only when slept on, counting sleeps.
    pub(crate) struct FakeClock {
        pub(crate) now: Cell<u64>,
        pub(crate) sleeps: Cell<u32>,
    }

    impl FakeClock {
        pub(crate) fn new() -> Self {
            Self {
                now: Cell::new(1_000),
                sleeps: Cell::new(0),
            }
        }
    }

    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.now.get()
        }
        fn sleep_ms(&self, ms: u64) {
            self.now.set(self.now.get() + ms);
            self.sleeps.set(self.sleeps.get() + 1);
        }
    }

    /// A short wait for unit tests: 60 s, every 10 s.
    pub(crate) const WAIT: broker_sdk::settings::Wait = broker_sdk::settings::Wait {
        timeout_ms: 60_000,
        interval_ms: 10_000,
    };
}
