//! The eight `/v1/tencent/compute/...` routes, each mapped onto Tencent CVM API 3.0 actions.
//!
//! Handlers are pure over [`Apis`], so unit tests run them against a fake. Where the spec is
//! inconsistent both forms are accepted: `InstanceIds` / `InstanceId` (string or array) for
//! turn_on/turn_off (and delete), `SecurityGroupIds` / `securityGroupId` for create. Fields the
//! routes do not use (such as the examples' stray `cluster_uuid`) are ignored.

use broker_sdk::envelope::tencent::{Failure, Fields};
use broker_sdk::tencent::TencentApi;
use serde_json::{Map, Value, json};

/// The CVM API version.
pub const CVM_VERSION: &str = "2017-03-12";
/// The VPC API version (for the VPC names of `list`).
pub const VPC_VERSION: &str = "2017-03-12";

/// The Tencent APIs one request may call, bound to its credential and region.
pub struct Apis<'a> {
    /// CVM (`cvm.tencentcloudapi.com`).
    pub cvm: &'a dyn TencentApi,
    /// VPC (`vpc.tencentcloudapi.com`).
    pub vpc: &'a dyn TencentApi,
    /// The request's region (for messages).
    pub region: &'a str,
}

/// A route handler: the request's fields in, `data` out.
pub type Handler = fn(&Fields, &Apis<'_>) -> Result<Value, Failure>;

/// Struct fields of `create` passed to `RunInstances` as they are (each must be an object).
const CREATE_OBJECTS: &[&str] = &[
    "InstanceChargePrepaid",
    "SystemDisk",
    "VirtualPrivateCloud",
    "InternetAccessible",
    "LoginSettings",
    "EnhancedService",
];

/// String fields of `create` passed to `RunInstances` as they are.
const CREATE_STRINGS: &[&str] = &["ImageId", "InstanceChargeType", "InstanceName"];

/// Call `action` with `payload`; a failure carries Tencent's code and request id.
fn call(api: &dyn TencentApi, action: &str, payload: Value) -> Result<Value, Failure> {
    api.call(action, &payload)
        .map(|response| response.body)
        .map_err(|error| Failure::upstream(action, &error))
}

/// `primary` (the documented name) or `alternative` (the form an example uses): a list of
/// strings, or for `alternative` also a single string. Both at once is an error.
fn either_list(f: &Fields, primary: &str, alternative: &str) -> Result<Vec<String>, Failure> {
    match (f.has(primary), f.has(alternative)) {
        (true, true) => Err(Failure::parameter(
            format!("give either `{primary}` or `{alternative}`, not both"),
            format!("`{primary}` 与 `{alternative}` 只能二选一"),
        )),
        (true, false) => f.required_str_list(primary),
        (false, true) if f.get(alternative).is_some_and(Value::is_string) => {
            Ok(vec![f.required_str(alternative)?.to_owned()])
        }
        (false, true) => f.required_str_list(alternative),
        (false, false) => Err(Failure::parameter(
            format!("missing required field `{primary}`"),
            format!("缺少必填参数 `{primary}`"),
        )),
    }
}

/// The instances a route acts on: `InstanceIds`, or `InstanceId` as the turn_on/turn_off
/// tables name it.
fn instance_ids(f: &Fields) -> Result<Vec<String>, Failure> {
    either_list(f, "InstanceIds", "InstanceId")
}

/// `create` → `RunInstances` with every struct field passed through; `data` is
/// `{"InstanceIdSet": [...]}` (the spec's example shows `{}`; the ids are added so callers can
/// address what they created).
pub fn create(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let mut payload = Map::new();
    payload.insert(
        "Placement".into(),
        Value::Object(f.required_object("Placement")?.clone()),
    );
    payload.insert(
        "InstanceType".into(),
        f.required_str("InstanceType")?.into(),
    );
    for name in CREATE_STRINGS {
        if let Some(value) = f.optional_str(name)? {
            payload.insert((*name).into(), value.into());
        }
    }
    for name in CREATE_OBJECTS {
        if let Some(value) = f.optional_object(name)? {
            payload.insert((*name).into(), Value::Object(value.clone()));
        }
    }
    if let Some(disks) = f.optional_object_list("DataDisks")? {
        payload.insert("DataDisks".into(), Value::Array(disks.clone()));
    }
    if let Some(count) = f.optional_uint("InstanceCount")? {
        if count == 0 {
            return Err(Failure::parameter(
                "field `InstanceCount` must be at least 1",
                "参数 `InstanceCount` 至少为 1",
            ));
        }
        payload.insert("InstanceCount".into(), count.into());
    }
    let groups = either_list(f, "SecurityGroupIds", "securityGroupId")?;
    payload.insert("SecurityGroupIds".into(), json!(groups));
    let answer = call(apis.cvm, "RunInstances", Value::Object(payload))?;
    Ok(json!({ "InstanceIdSet": answer.get("InstanceIdSet").cloned().unwrap_or(json!([])) }))
}

/// `delete` → `TerminateInstances`.
pub fn delete(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let ids = instance_ids(f)?;
    call(
        apis.cvm,
        "TerminateInstances",
        json!({ "InstanceIds": ids }),
    )?;
    Ok(json!({}))
}

/// `update` → `ModifyInstancesAttribute`: the name, the security groups, or both (Tencent
/// changes one attribute per call, so both means two calls, name first).
pub fn update(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let ids = f.required_str_list("InstanceIds")?;
    let name = f.optional_str("InstanceName")?;
    let groups = f.optional_str_list("SecurityGroups")?;
    if name.is_none() && groups.is_none() {
        return Err(Failure::parameter(
            "nothing to update: give `InstanceName` or `SecurityGroups`",
            "没有可更新的属性：请提供 `InstanceName` 或 `SecurityGroups`",
        ));
    }
    if let Some(name) = name {
        call(
            apis.cvm,
            "ModifyInstancesAttribute",
            json!({ "InstanceIds": ids, "InstanceName": name }),
        )?;
    }
    if let Some(groups) = groups {
        call(
            apis.cvm,
            "ModifyInstancesAttribute",
            json!({ "InstanceIds": ids, "SecurityGroups": groups }),
        )?;
    }
    Ok(json!({}))
}

/// `reset` → `ResetInstance` (reinstall the OS). `InstanceId`, `ImageId`, `SystemDisk` and
/// `LoginSettings` are required, as the spec's table says.
pub fn reset(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let mut payload = Map::new();
    payload.insert("InstanceId".into(), f.required_str("InstanceId")?.into());
    payload.insert("ImageId".into(), f.required_str("ImageId")?.into());
    for name in ["SystemDisk", "LoginSettings"] {
        payload.insert(name.into(), Value::Object(f.required_object(name)?.clone()));
    }
    if let Some(service) = f.optional_object("EnhancedService")? {
        payload.insert("EnhancedService".into(), Value::Object(service.clone()));
    }
    call(apis.cvm, "ResetInstance", Value::Object(payload))?;
    Ok(json!({}))
}

/// `list` → `DescribeInstances` (`PageNum` → `Offset`, `PageSize` → `Limit`, 0 meaning
/// Tencent's default of 20; a non-blank `Fuzzy` → the `instance-name` filter, which matches
/// substrings) and `DescribeVpcs` for the names of the listed instances' VPCs.
pub fn list(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let mut payload = Map::new();
    payload.insert(
        "Offset".into(),
        f.optional_uint("PageNum")?.unwrap_or(0).into(),
    );
    if let Some(size) = f.optional_uint("PageSize")?.filter(|s| *s > 0) {
        payload.insert("Limit".into(), size.into());
    }
    if let Some(fuzzy) = f.optional_str("Fuzzy")? {
        payload.insert(
            "Filters".into(),
            json!([{ "Name": "instance-name", "Values": [fuzzy] }]),
        );
    }
    let answer = call(apis.cvm, "DescribeInstances", Value::Object(payload))?;
    let instances = answer
        .get("InstanceSet")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(json!({
        "TotalCount": answer.get("TotalCount").cloned().unwrap_or(json!(0)),
        "VpcName": vpc_names(apis, &instances)?,
        "List": instances,
    }))
}

/// The names of the VPCs `instances` are in, each once, in order of first appearance.
fn vpc_names(apis: &Apis<'_>, instances: &[Value]) -> Result<Vec<String>, Failure> {
    let mut ids: Vec<&str> = Vec::new();
    for id in instances
        .iter()
        .filter_map(|i| i.pointer("/VirtualPrivateCloud/VpcId")?.as_str())
        .filter(|id| !id.is_empty())
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let answer = call(
        apis.vpc,
        "DescribeVpcs",
        json!({ "VpcIds": ids, "Limit": "100" }),
    )?;
    let vpcs = answer
        .get("VpcSet")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(ids
        .iter()
        .filter_map(|id| {
            vpcs.iter()
                .find(|v| v.get("VpcId").and_then(Value::as_str) == Some(id))
                .and_then(|v| v.get("VpcName")?.as_str())
                .map(str::to_owned)
        })
        .collect())
}

/// `inspect` → `DescribeInstances` for one id; `data` is the instance (404 when there is none).
pub fn inspect(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let id = f.required_str("InstanceId")?;
    let answer = call(
        apis.cvm,
        "DescribeInstances",
        json!({ "InstanceIds": [id] }),
    )?;
    answer
        .get("InstanceSet")
        .and_then(Value::as_array)
        .and_then(|set| set.first())
        .cloned()
        .ok_or_else(|| {
            let region = apis.region;
            Failure::not_found(
                format!("instance `{id}` does not exist in region `{region}`"),
                format!("地域 `{region}` 中不存在实例 `{id}`"),
            )
        })
}

/// `turn_on` → `StartInstances`.
pub fn turn_on(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let ids = instance_ids(f)?;
    call(apis.cvm, "StartInstances", json!({ "InstanceIds": ids }))?;
    Ok(json!({}))
}

/// `turn_off` → `StopInstances` with `ForceStop` (default `false`).
pub fn turn_off(f: &Fields, apis: &Apis<'_>) -> Result<Value, Failure> {
    let ids = instance_ids(f)?;
    let force = f.optional_bool("ForceStop")?.unwrap_or(false);
    call(
        apis.cvm,
        "StopInstances",
        json!({ "InstanceIds": ids, "ForceStop": force }),
    )?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_sdk::envelope::tencent::{SCODE_NOT_FOUND, SCODE_PARAMETER, SCODE_UPSTREAM};
    use broker_sdk::tencent::{TencentError, TencentResponse};
    use std::cell::RefCell;

    /// Records calls; answers each action from a table (an `Error` key makes it fail).
    #[derive(Default)]
    struct Fake {
        calls: RefCell<Vec<(String, Value)>>,
        answers: Vec<(&'static str, Value)>,
    }

    impl Fake {
        fn answering(answers: Vec<(&'static str, Value)>) -> Self {
            Self {
                answers,
                ..Self::default()
            }
        }
        fn calls(&self) -> Vec<(String, Value)> {
            self.calls.borrow().clone()
        }
    }

    impl TencentApi for Fake {
        fn call(&self, action: &str, payload: &Value) -> Result<TencentResponse, TencentError> {
            self.calls
                .borrow_mut()
                .push((action.to_owned(), payload.clone()));
            let body = self
                .answers
                .iter()
                .find(|(a, _)| *a == action)
                .map(|(_, v)| v.clone())
                .unwrap_or(json!({}));
            if let Some(code) = body.get("Error").and_then(Value::as_str) {
                return Err(TencentError::Api {
                    code: code.to_owned(),
                    message: "m".into(),
                    request_id: "req-9".into(),
                });
            }
            Ok(TencentResponse {
                request_id: "req-1".into(),
                body,
            })
        }
    }

    fn fields(value: Value) -> Fields {
        Fields::parse(value.to_string().as_bytes()).unwrap()
    }

    fn run(handler: Handler, body: Value, cvm: &Fake, vpc: &Fake) -> Result<Value, Failure> {
        let apis = Apis {
            cvm,
            vpc,
            region: "ap-guangzhou",
        };
        handler(&fields(body), &apis)
    }

    #[test]
    fn create_passes_every_struct_field_through_and_accepts_the_examples_security_group_key() {
        let cvm = Fake::answering(vec![("RunInstances", json!({"InstanceIdSet": ["ins-1"]}))]);
        let body = json!({
            "Region": "ap-guangzhou", "Placement": {"Zone": "ap-guangzhou-3"},
            "ImageId": "img-1", "InstanceChargeType": "PREPAID",
            "InstanceChargePrepaid": {"Period": 1}, "InstanceType": "S5.SMALL1",
            "SystemDisk": {"DiskSize": 50}, "DataDisks": [{"DiskSize": 100}],
            "VirtualPrivateCloud": {"VpcId": "vpc-1", "SubnetId": "subnet-1"},
            "InternetAccessible": {"InternetMaxBandwidthOut": 1}, "InstanceCount": 2,
            "InstanceName": "n", "securityGroupId": ["sg-1"],
            "EnhancedService": {"MonitorService": {"Enabled": false}},
            "LoginSettings": {"Password": "p"}, "cluster_uuid": "ignored"
        });
        let data = run(create, body, &cvm, &Fake::default()).unwrap();
        assert_eq!(data, json!({"InstanceIdSet": ["ins-1"]}));
        let (action, payload) = &cvm.calls()[0];
        assert_eq!(action, "RunInstances");
        assert_eq!(
            payload,
            &json!({
                "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-1",
                "InstanceChargeType": "PREPAID", "InstanceChargePrepaid": {"Period": 1},
                "InstanceType": "S5.SMALL1", "SystemDisk": {"DiskSize": 50},
                "DataDisks": [{"DiskSize": 100}],
                "VirtualPrivateCloud": {"VpcId": "vpc-1", "SubnetId": "subnet-1"},
                "InternetAccessible": {"InternetMaxBandwidthOut": 1}, "InstanceCount": 2,
                "InstanceName": "n", "SecurityGroupIds": ["sg-1"],
                "EnhancedService": {"MonitorService": {"Enabled": false}},
                "LoginSettings": {"Password": "p"}
            })
        );
    }

    #[test]
    fn create_checks_types_and_security_group_forms() {
        let base = json!({"Placement": {"Zone": "z"}, "InstanceType": "t",
            "SecurityGroupIds": ["sg-1"]});
        let cases = [
            (
                "Placement",
                json!("z"),
                "field `Placement` must be an object, got string",
            ),
            (
                "SystemDisk",
                json!([1]),
                "field `SystemDisk` must be an object, got array",
            ),
            (
                "DataDisks",
                json!({}),
                "field `DataDisks` must be an array of objects, got object",
            ),
            (
                "InstanceCount",
                json!("two"),
                "field `InstanceCount` must be a non-negative integer, got string",
            ),
            (
                "InstanceCount",
                json!(0),
                "field `InstanceCount` must be at least 1",
            ),
            (
                "securityGroupId",
                json!(["sg-2"]),
                "give either `SecurityGroupIds` or `securityGroupId`, not both",
            ),
        ];
        for (key, value, message) in cases {
            let mut body = base.clone();
            body[key] = value;
            let cvm = Fake::default();
            let f = run(create, body, &cvm, &Fake::default()).unwrap_err();
            assert_eq!((f.scode, f.message.as_str()), (SCODE_PARAMETER, message));
            assert!(cvm.calls().is_empty(), "no call for invalid input");
        }
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove("SecurityGroupIds");
        let f = run(create, body, &Fake::default(), &Fake::default()).unwrap_err();
        assert_eq!(f.message, "missing required field `SecurityGroupIds`");
    }

    #[test]
    fn turn_on_and_turn_off_take_instance_ids_or_instance_id() {
        for body in [
            json!({"InstanceIds": ["ins-1"]}),
            json!({"InstanceId": ["ins-1"]}),
            json!({"InstanceId": "ins-1"}),
        ] {
            let cvm = Fake::default();
            run(turn_on, body.clone(), &cvm, &Fake::default()).unwrap();
            assert_eq!(
                cvm.calls(),
                [("StartInstances".into(), json!({"InstanceIds": ["ins-1"]}))]
            );
            let cvm = Fake::default();
            run(turn_off, body, &cvm, &Fake::default()).unwrap();
            assert_eq!(
                cvm.calls(),
                [(
                    "StopInstances".into(),
                    json!({"InstanceIds": ["ins-1"], "ForceStop": false})
                )]
            );
        }
        let cvm = Fake::default();
        run(
            turn_off,
            json!({"InstanceIds": ["ins-1"], "ForceStop": true}),
            &cvm,
            &Fake::default(),
        )
        .unwrap();
        assert_eq!(cvm.calls()[0].1["ForceStop"], true);
        let f = run(
            turn_on,
            json!({"InstanceIds": ["a"], "InstanceId": "a"}),
            &Fake::default(),
            &Fake::default(),
        )
        .unwrap_err();
        assert_eq!(f.scode, SCODE_PARAMETER);
        let f = run(turn_on, json!({}), &Fake::default(), &Fake::default()).unwrap_err();
        assert_eq!(f.message, "missing required field `InstanceIds`");
    }

    #[test]
    fn update_changes_name_and_groups_in_separate_calls() {
        let cvm = Fake::default();
        run(
            update,
            json!({"InstanceIds": ["ins-1"], "InstanceName": "n", "SecurityGroups": ["sg-1"]}),
            &cvm,
            &Fake::default(),
        )
        .unwrap();
        assert_eq!(
            cvm.calls(),
            [
                (
                    "ModifyInstancesAttribute".into(),
                    json!({"InstanceIds": ["ins-1"], "InstanceName": "n"})
                ),
                (
                    "ModifyInstancesAttribute".into(),
                    json!({"InstanceIds": ["ins-1"], "SecurityGroups": ["sg-1"]})
                ),
            ]
        );
        let f = run(
            update,
            json!({"InstanceIds": ["ins-1"], "InstanceName": ""}),
            &Fake::default(),
            &Fake::default(),
        )
        .unwrap_err();
        assert!(f.message.starts_with("nothing to update"), "{}", f.message);
    }

    #[test]
    fn reset_requires_the_spec_fields_and_passes_them_through() {
        let body = json!({"InstanceId": "ins-1", "ImageId": "img-1",
            "SystemDisk": {"DiskSize": 50}, "LoginSettings": {"Password": "p"},
            "EnhancedService": {"SecurityService": {"Enabled": false}}});
        let cvm = Fake::default();
        run(reset, body.clone(), &cvm, &Fake::default()).unwrap();
        assert_eq!(cvm.calls(), [("ResetInstance".into(), body.clone())]);
        for key in ["InstanceId", "ImageId", "SystemDisk", "LoginSettings"] {
            let mut b = body.clone();
            b.as_object_mut().unwrap().remove(key);
            let f = run(reset, b, &Fake::default(), &Fake::default()).unwrap_err();
            assert_eq!(f.message, format!("missing required field `{key}`"));
        }
    }

    #[test]
    fn list_pages_filters_and_names_the_vpcs_once_each() {
        let cvm = Fake::answering(vec![(
            "DescribeInstances",
            json!({"TotalCount": 5, "InstanceSet": [
                {"InstanceId": "ins-1", "VirtualPrivateCloud": {"VpcId": "vpc-b"}},
                {"InstanceId": "ins-2", "VirtualPrivateCloud": {"VpcId": "vpc-a"}},
                {"InstanceId": "ins-3", "VirtualPrivateCloud": {"VpcId": "vpc-b"}}
            ]}),
        )]);
        let vpc = Fake::answering(vec![(
            "DescribeVpcs",
            json!({"VpcSet": [{"VpcId": "vpc-a", "VpcName": "A"}, {"VpcId": "vpc-b", "VpcName": "B"}]}),
        )]);
        let data = run(
            list,
            json!({"PageNum": 3, "PageSize": 3, "Fuzzy": "web"}),
            &cvm,
            &vpc,
        )
        .unwrap();
        assert_eq!(data["TotalCount"], 5);
        assert_eq!(data["List"].as_array().unwrap().len(), 3);
        assert_eq!(data["VpcName"], json!(["B", "A"]));
        assert_eq!(
            cvm.calls()[0].1,
            json!({"Offset": 3, "Limit": 3,
                "Filters": [{"Name": "instance-name", "Values": ["web"]}]})
        );
        assert_eq!(vpc.calls()[0].1["VpcIds"], json!(["vpc-b", "vpc-a"]));
        // The spec example: page 0, blank filter; no instances means no VPC call.
        let (cvm, vpc) = (Fake::default(), Fake::default());
        let data = run(
            list,
            json!({"PageNum": 0, "PageSize": 0, "Fuzzy": ""}),
            &cvm,
            &vpc,
        )
        .unwrap();
        assert_eq!(data, json!({"TotalCount": 0, "List": [], "VpcName": []}));
        assert_eq!(cvm.calls()[0].1, json!({"Offset": 0}));
        assert!(vpc.calls().is_empty());
        let f = run(list, json!({"PageSize": "x"}), &cvm, &vpc).unwrap_err();
        assert_eq!(f.scode, SCODE_PARAMETER);
    }

    #[test]
    fn inspect_returns_the_instance_or_404() {
        let cvm = Fake::answering(vec![(
            "DescribeInstances",
            json!({"TotalCount": 1, "InstanceSet": [{"InstanceId": "ins-1"}]}),
        )]);
        let data = run(
            inspect,
            json!({"InstanceId": "ins-1"}),
            &cvm,
            &Fake::default(),
        )
        .unwrap();
        assert_eq!(data, json!({"InstanceId": "ins-1"}));
        assert_eq!(cvm.calls()[0].1, json!({"InstanceIds": ["ins-1"]}));
        let empty = Fake::answering(vec![(
            "DescribeInstances",
            json!({"TotalCount": 0, "InstanceSet": []}),
        )]);
        let f = run(
            inspect,
            json!({"InstanceId": "ins-2"}),
            &empty,
            &Fake::default(),
        )
        .unwrap_err();
        assert_eq!((f.scode, f.status), (SCODE_NOT_FOUND, 404));
        assert_eq!(
            f.message,
            "instance `ins-2` does not exist in region `ap-guangzhou`"
        );
    }

    #[test]
    fn upstream_errors_keep_tencents_code_and_request_id() {
        let cvm = Fake::answering(vec![(
            "TerminateInstances",
            json!({"Error": "InvalidInstanceId.NotFound"}),
        )]);
        let f = run(
            delete,
            json!({"InstanceIds": ["ins-1"]}),
            &cvm,
            &Fake::default(),
        )
        .unwrap_err();
        assert_eq!(f.scode, SCODE_UPSTREAM);
        assert!(f.message.contains("TerminateInstances"), "{}", f.message);
        assert!(f.message.contains("Code=InvalidInstanceId.NotFound"));
        assert!(f.message_cn.contains("RequestId=req-9"));
    }
}
