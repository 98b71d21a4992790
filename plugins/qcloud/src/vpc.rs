//! `vpc/create` and `vpc/terminate`.
//!
//! Inputs are validated into `*Args` (pure), the logic runs against any [`TencentApi`] (pure, so
//! tested with a fake), and only `handle_*` touch the host (credential, signed HTTP, logs).

use broker_sdk::log;
use broker_sdk::tencent::{Client, TencentApi};
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, TencentParams};
use serde_json::{Value, json};

/// The Tencent API host of the VPC service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "vpc.tencentcloudapi.com";
/// Tencent service name (the first label of the host).
pub const SERVICE: &str = "vpc";
/// VPC API version.
pub const API_VERSION: &str = "2017-03-12";

/// Validated `vpc/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// CI guid, echoed.
    pub guid: String,
    /// Region and credentials from `provider_params`.
    pub params: TencentParams,
    /// Existing VPC to look up first (optional).
    pub id: Option<String>,
    /// `VpcName`.
    pub name: String,
    /// `CidrBlock`.
    pub cidr_block: String,
}

impl CreateArgs {
    /// Validate a `vpc/create` input: `guid`, `provider_params`, `name`, `cidr_block` required,
    /// `id` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            guid: input.required_str("guid")?.to_owned(),
            params: TencentParams::parse(input.required_str("provider_params")?)?,
            name: input.required_str("name")?.to_owned(),
            cidr_block: input.required_str("cidr_block")?.to_owned(),
            id: input.optional_str("id")?.map(str::to_owned),
        })
    }
}

/// Validated `vpc/terminate` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateArgs {
    /// CI guid, echoed.
    pub guid: String,
    /// Region and credentials from `provider_params`.
    pub params: TencentParams,
    /// VPC to delete.
    pub id: String,
}

impl TerminateArgs {
    /// Validate a `vpc/terminate` input: `guid`, `provider_params`, `id` required.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            guid: input.required_str("guid")?.to_owned(),
            params: TencentParams::parse(input.required_str("provider_params")?)?,
            id: input.required_str("id")?.to_owned(),
        })
    }
}

/// What `DescribeVpcs` said about one id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// No such VPC (`ResourceNotFound`-like error, or `TotalCount` 0).
    Absent,
    /// Exactly one, with its `VpcId`.
    One(String),
    /// More than one (should not happen for a single id).
    Many(u64),
}

/// `DescribeVpcs {VpcIds: [id]}` → (request id, lookup).
fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Lookup), ErrorMessage> {
    let response = match api.call("DescribeVpcs", &json!({ "VpcIds": [id] })) {
        Ok(response) => response,
        Err(error) if error.is_not_found() => {
            return Ok((error.request_id().to_owned(), Lookup::Absent));
        }
        Err(error) => return Err(error.into()),
    };
    let set = response.body.get("VpcSet").and_then(Value::as_array);
    let count = response
        .body
        .get("TotalCount")
        .and_then(Value::as_u64)
        .or_else(|| set.map(|s| s.len() as u64))
        .unwrap_or(0);
    let lookup = match count {
        0 => Lookup::Absent,
        1 => {
            let found = set
                .and_then(|s| s.first())
                .and_then(|vpc| vpc.get("VpcId"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .unwrap_or(id);
            Lookup::One(found.to_owned())
        }
        n => Lookup::Many(n),
    };
    Ok((response.request_id, lookup))
}

fn output(request_id: &str, guid: &str, id: &str) -> Output {
    let mut out = Output::new();
    out.insert("request_id".into(), request_id.into());
    out.insert("guid".into(), guid.into());
    out.insert("id".into(), id.into());
    out
}

/// Create a VPC, or return the existing one when `id` names exactly one.
pub fn create(api: &impl TencentApi, args: &CreateArgs) -> Result<Output, ErrorMessage> {
    if let Some(id) = &args.id {
        match describe(api, id)? {
            (request_id, Lookup::One(found)) => return Ok(output(&request_id, &args.guid, &found)),
            (_, Lookup::Absent) => {}
            (request_id, Lookup::Many(n)) => {
                return Err(ErrorMessage::new(format!(
                    "DescribeVpcs found {n} VPCs for id {id}, expected at most 1 (RequestId={request_id})"
                )));
            }
        }
    }
    let response = api.call(
        "CreateVpc",
        &json!({ "VpcName": args.name, "CidrBlock": args.cidr_block }),
    )?;
    let vpc_id = response
        .body
        .pointer("/Vpc/VpcId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if vpc_id.is_empty() {
        return Err(ErrorMessage::new(format!(
            "CreateVpc succeeded but returned no VpcId (RequestId={})",
            response.request_id
        )));
    }
    Ok(output(&response.request_id, &args.guid, vpc_id))
}

/// Delete a VPC; a VPC that is already gone (before or during the call) counts as deleted.
pub fn terminate(api: &impl TencentApi, args: &TerminateArgs) -> Result<Output, ErrorMessage> {
    let (request_id, lookup) = describe(api, &args.id)?;
    if lookup == Lookup::Absent {
        return Ok(output(&request_id, &args.guid, &args.id));
    }
    match api.call("DeleteVpc", &json!({ "VpcId": args.id })) {
        Ok(response) => Ok(output(&response.request_id, &args.guid, &args.id)),
        Err(error) if error.is_not_found() => Ok(output(error.request_id(), &args.guid, &args.id)),
        Err(error) => Err(error.into()),
    }
}

/// Log the outcome of one input: action, guid, and either the VPC id or the error.
fn log_outcome(action: &str, guid: &str, result: &Result<Output, ErrorMessage>) {
    match result {
        Ok(out) => {
            let id = out.get("id").and_then(Value::as_str).unwrap_or_default();
            log::info(action, &[("guid", guid), ("outcome", "ok"), ("id", id)]);
        }
        Err(error) => log::warn(
            action,
            &[
                ("guid", guid),
                ("outcome", "failed"),
                ("error", error.as_str()),
            ],
        ),
    }
}

/// `POST /v1/qcloud/vpc/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    with_client("vpc/create", &args.guid, &args.params, |api| {
        create(api, &args)
    })
}

/// `POST /v1/qcloud/vpc/terminate`, one input.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let args = TerminateArgs::from_input(input)?;
    with_client("vpc/terminate", &args.guid, &args.params, |api| {
        terminate(api, &args)
    })
}

/// Runs `action` against the VPC API with the input's credentials and logs its outcome.
fn with_client(
    route: &str,
    guid: &str,
    params: &TencentParams,
    action: impl FnOnce(&Client) -> Result<Output, ErrorMessage>,
) -> Result<Output, ErrorMessage> {
    let credential = params.credential();
    let client = Client::new(&credential, SERVICE, API_VERSION, Some(params.region()));
    let result = action(&client);
    log_outcome(route, guid, &result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_sdk::{TencentError, TencentResponse};
    use std::cell::RefCell;
    use std::collections::VecDeque;

    const PARAMS: &str =
        "Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID=AKID;SecretKey=sk";

    /// Answers calls from a script and records them.
    struct FakeApi {
        answers: RefCell<VecDeque<Result<TencentResponse, TencentError>>>,
        calls: RefCell<Vec<(String, Value)>>,
    }

    impl FakeApi {
        fn new(answers: Vec<Result<TencentResponse, TencentError>>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                calls: RefCell::new(Vec::new()),
            }
        }

        fn actions(&self) -> Vec<String> {
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

    fn ok(request_id: &str, body: Value) -> Result<TencentResponse, TencentError> {
        Ok(TencentResponse {
            request_id: request_id.to_owned(),
            body,
        })
    }

    fn api_error(code: &str, request_id: &str) -> Result<TencentResponse, TencentError> {
        Err(TencentError::Api {
            code: code.to_owned(),
            message: "msg".to_owned(),
            request_id: request_id.to_owned(),
        })
    }

    fn input(value: Value) -> Input {
        Input::new(0, value.as_object().unwrap().clone())
    }

    fn create_args(id: Option<&str>) -> CreateArgs {
        let mut v = json!({"guid": "g1", "provider_params": PARAMS, "name": "n", "cidr_block": "10.0.0.0/16"});
        if let Some(id) = id {
            v["id"] = json!(id);
        }
        CreateArgs::from_input(&input(v)).unwrap()
    }

    fn terminate_args() -> TerminateArgs {
        TerminateArgs::from_input(&input(
            json!({"guid": "g1", "provider_params": PARAMS, "id": "vpc-1"}),
        ))
        .unwrap()
    }

    #[test]
    fn create_inputs_are_validated_before_any_call() {
        let args = create_args(Some("vpc-1"));
        assert_eq!(args.params.region(), "ap-shanghai");
        assert_eq!(args.id.as_deref(), Some("vpc-1"));
        assert_eq!(create_args(None).id, None);
        let missing = |v: Value| CreateArgs::from_input(&input(v)).unwrap_err().into_string();
        assert_eq!(
            missing(json!({"guid": "g", "provider_params": PARAMS, "name": "n"})),
            "missing required field \"cidr_block\""
        );
        assert_eq!(
            missing(
                json!({"guid": "g", "provider_params": "SecretID=a;SecretKey=b", "name": "n", "cidr_block": "c"})
            ),
            "provider_params is missing `Region`"
        );
        assert_eq!(
            missing(json!({"guid": "g", "provider_params": PARAMS, "name": 3, "cidr_block": "c"})),
            "field \"name\" must be a string, got number"
        );
        assert_eq!(
            missing(json!({"provider_params": PARAMS, "name": "n", "cidr_block": "c"})),
            "missing required field \"guid\""
        );
    }

    #[test]
    fn create_without_id_calls_create_vpc() {
        let api = FakeApi::new(vec![ok("r-c", json!({"Vpc": {"VpcId": "vpc-new"}}))]);
        let out = create(&api, &create_args(None)).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-c", "guid": "g1", "id": "vpc-new"})
        );
        assert_eq!(
            api.calls.borrow()[0],
            (
                "CreateVpc".to_owned(),
                json!({"VpcName": "n", "CidrBlock": "10.0.0.0/16"})
            )
        );
    }

    #[test]
    fn create_with_an_existing_id_returns_it_without_creating() {
        let api = FakeApi::new(vec![ok(
            "r-d",
            json!({"TotalCount": 1, "VpcSet": [{"VpcId": "vpc-1"}]}),
        )]);
        let out = create(&api, &create_args(Some("vpc-1"))).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-d", "guid": "g1", "id": "vpc-1"})
        );
        assert_eq!(api.actions(), ["DescribeVpcs"]);
        assert_eq!(api.calls.borrow()[0].1, json!({"VpcIds": ["vpc-1"]}));
    }

    #[test]
    fn create_with_an_unknown_id_creates() {
        for describe in [
            ok("r-d", json!({"TotalCount": 0, "VpcSet": []})),
            api_error("ResourceNotFound", "r-d"),
        ] {
            let api = FakeApi::new(vec![
                describe,
                ok("r-c", json!({"Vpc": {"VpcId": "vpc-2"}})),
            ]);
            let out = create(&api, &create_args(Some("vpc-gone"))).unwrap();
            assert_eq!(out["id"], "vpc-2");
            assert_eq!(out["request_id"], "r-c");
            assert_eq!(api.actions(), ["DescribeVpcs", "CreateVpc"]);
        }
    }

    #[test]
    fn create_fails_on_several_matches_other_errors_and_an_empty_vpc_id() {
        let api = FakeApi::new(vec![ok("r-d", json!({"TotalCount": 2}))]);
        let e = create(&api, &create_args(Some("vpc-1"))).unwrap_err();
        assert!(e.as_str().contains("found 2 VPCs"), "{e}");

        let api = FakeApi::new(vec![api_error("AuthFailure.SignatureFailure", "r-x")]);
        assert_eq!(
            create(&api, &create_args(Some("vpc-1")))
                .unwrap_err()
                .as_str(),
            "[TencentCloudSDKError] Code=AuthFailure.SignatureFailure, Message=msg, RequestId=r-x"
        );

        for body in [json!({"Vpc": {"VpcId": ""}}), json!({})] {
            let api = FakeApi::new(vec![ok("r-c", body)]);
            let e = create(&api, &create_args(None)).unwrap_err();
            assert_eq!(
                e.as_str(),
                "CreateVpc succeeded but returned no VpcId (RequestId=r-c)"
            );
        }
    }

    #[test]
    fn terminate_deletes_an_existing_vpc() {
        let api = FakeApi::new(vec![
            ok(
                "r-d",
                json!({"TotalCount": 1, "VpcSet": [{"VpcId": "vpc-1"}]}),
            ),
            ok("r-del", json!({})),
        ]);
        let out = terminate(&api, &terminate_args()).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"request_id": "r-del", "guid": "g1", "id": "vpc-1"})
        );
        assert_eq!(api.calls.borrow()[1].1, json!({"VpcId": "vpc-1"}));
    }

    #[test]
    fn terminate_of_a_missing_vpc_succeeds_without_deleting() {
        for describe in [
            ok("r-d", json!({"TotalCount": 0, "VpcSet": []})),
            api_error("ResourceNotFound", "r-d"),
        ] {
            let api = FakeApi::new(vec![describe]);
            let out = terminate(&api, &terminate_args()).unwrap();
            assert_eq!(
                Value::Object(out),
                json!({"request_id": "r-d", "guid": "g1", "id": "vpc-1"})
            );
            assert_eq!(api.actions(), ["DescribeVpcs"]);
        }
    }

    #[test]
    fn terminate_treats_a_raced_delete_as_success_and_reports_other_errors() {
        let api = FakeApi::new(vec![
            ok("r-d", json!({"TotalCount": 1})),
            api_error("ResourceNotFound", "r-del"),
        ]);
        assert_eq!(
            terminate(&api, &terminate_args()).unwrap()["request_id"],
            "r-del"
        );

        let api = FakeApi::new(vec![
            ok("r-d", json!({"TotalCount": 1})),
            api_error("ResourceInUse", "r-del"),
        ]);
        assert_eq!(
            terminate(&api, &terminate_args()).unwrap_err().as_str(),
            "[TencentCloudSDKError] Code=ResourceInUse, Message=msg, RequestId=r-del"
        );

        let api = FakeApi::new(vec![Err(TencentError::Http("egress denied: x".into()))]);
        assert!(terminate(&api, &terminate_args()).is_err());
    }

    #[test]
    fn terminate_requires_an_id() {
        let e = TerminateArgs::from_input(&input(json!({"guid": "g", "provider_params": PARAMS})))
            .unwrap_err();
        assert_eq!(e.as_str(), "missing required field \"id\"");
    }
}
