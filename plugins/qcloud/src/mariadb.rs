//! `mariadb/create` on the MariaDB (TDSQL) service: `CreateDBInstance`, `DescribeDBInstances`,
//! `InitDBInstances`, `CreateAccount`, `GrantAccountPrivileges`.
//!
//! The route buys one instance in `zones` (default: `AvailableZone`), waits until it is created
//! (`Status` 3, not initialised), initialises it with `character_set_server` (default `utf8`)
//! and `lower_case_table_names` (the spec's `"true"`/`"false"` become `1`/`0`; the original sent
//! `"true"` verbatim; default `1`), waits until it runs (`Status` 2), then creates the account
//! `user_name` (default `mariadb`) from any host with a generated password and grants it the
//! usual privileges on every database. The answer carries the address, port, user and the
//! password encrypted with the WeCube cipher (`{cipher_a}`, key from `guid` + `seed`); the
//! password never reaches a log line. `name` is sent as `InstanceName` (the original ignored
//! it). `storage_size` is optional in the spec but the API needs it: it defaults to 10 GB, the
//! smallest size sold. Given an existing `id`, nothing is created and no password is returned.
//! Waits poll with the host's clock as [`crate::waits::MARIADB`] says.

use broker_sdk::clock::{Clock, HostClock, Poll};
use broker_sdk::settings::Wait;
use broker_sdk::tencent::TencentApi;
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, log, password};
use serde_json::{Value, json};

use crate::common::{self, Common, optional_uint, required_uint};
use crate::waits;

/// The Tencent API host of the MariaDB service (declared in the manifest).
pub const UPSTREAM_HOST: &str = "mariadb.tencentcloudapi.com";
/// Tencent service name.
pub const SERVICE: &str = "mariadb";
/// MariaDB API version.
pub const API_VERSION: &str = "2017-03-12";

/// `Status` of a running instance.
const RUNNING: i64 = 2;
/// `Status` of a created instance that is not initialised yet.
const UNINITIALISED: i64 = 3;
/// The account name when the input gives none.
pub const DEFAULT_USER: &str = "mariadb";
/// The storage size (GB) when the input gives none: the smallest sold.
pub const DEFAULT_STORAGE_GB: u64 = 10;
/// The privileges the account gets on every database.
const PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
    "SHOW DATABASES",
    "PROCESS",
    "REPLICATION CLIENT",
    "REPLICATION SLAVE",
];

/// Validated `mariadb/create` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// `guid` and `provider_params`.
    pub common: Common,
    /// Existing instance to look up first (optional).
    pub id: Option<String>,
    /// Seed of the password cipher.
    pub seed: String,
    /// `InstanceName` (optional).
    pub name: Option<String>,
    /// `VpcId`.
    pub vpc_id: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// `Zones`: from `zones` (comma-separated), else `AvailableZone`.
    pub zones: Vec<String>,
    /// `DbVersionId` (optional).
    pub db_version: Option<String>,
    /// The `character_set_server` initialisation parameter.
    pub character_set: String,
    /// `NodeCount`.
    pub node_count: u64,
    /// `Memory` in GB.
    pub memory_size: u64,
    /// `Storage` in GB.
    pub storage_size: u64,
    /// The `lower_case_table_names` initialisation parameter, `0` or `1`.
    pub lower_case_table_names: String,
    /// `Period` in months.
    pub charge_period: u64,
    /// The account to create.
    pub user_name: String,
}

/// `lower_case_table_names` as the API takes it: `true`/`1` → `1`, `false`/`0` → `0`.
fn lower_case_flag(input: &Input) -> Result<String, ErrorMessage> {
    let value = match input.get("lower_case_table_names") {
        Some(Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => input
            .optional_str("lower_case_table_names")?
            .map(str::to_ascii_lowercase),
    };
    match value.as_deref() {
        None | Some("true" | "1") => Ok("1".to_owned()),
        Some("false" | "0") => Ok("0".to_owned()),
        Some(other) => Err(ErrorMessage::new(format!(
            "field \"lower_case_table_names\" must be true or false, got {other:?}"
        ))),
    }
}

impl CreateArgs {
    /// Validate a `mariadb/create` input: `guid`, `provider_params`, `seed`, `vpc_id`,
    /// `subnet_id`, `node_count`, `memory_size` required, and `zones` or `AvailableZone`;
    /// `id`, `name`, `db_version`, `character_set`, `storage_size`, `lower_case_table_names`,
    /// `charge_period` (default 1 month), `user_name` optional.
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        let common = Common::from_input(input)?;
        let zones: Vec<String> = match input.optional_str("zones")? {
            Some(zones) => zones
                .split(',')
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![common.params.require_zone()?.to_owned()],
        };
        Ok(Self {
            id: input.optional_str("id")?.map(str::to_owned),
            seed: input.required_str("seed")?.to_owned(),
            name: input.optional_str("name")?.map(str::to_owned),
            vpc_id: input.required_str("vpc_id")?.to_owned(),
            subnet_id: input.required_str("subnet_id")?.to_owned(),
            zones,
            db_version: input.optional_str("db_version")?.map(str::to_owned),
            character_set: input
                .optional_str("character_set")?
                .unwrap_or("utf8")
                .to_owned(),
            node_count: required_uint(input, "node_count")?,
            memory_size: required_uint(input, "memory_size")?,
            storage_size: optional_uint(input, "storage_size")?.unwrap_or(DEFAULT_STORAGE_GB),
            lower_case_table_names: lower_case_flag(input)?,
            charge_period: optional_uint(input, "charge_period")?.unwrap_or(1),
            user_name: input
                .optional_str("user_name")?
                .unwrap_or(DEFAULT_USER)
                .to_owned(),
            common,
        })
    }

    /// The `CreateDBInstance` payload.
    fn payload(&self) -> Value {
        let mut payload = json!({
            "Zones": self.zones,
            "NodeCount": self.node_count,
            "Memory": self.memory_size,
            "Storage": self.storage_size,
            "Period": self.charge_period,
            "Count": 1,
            "VpcId": self.vpc_id,
            "SubnetId": self.subnet_id,
        });
        if let Some(version) = &self.db_version {
            payload["DbVersionId"] = json!(version);
        }
        if let Some(name) = &self.name {
            payload["InstanceName"] = json!(name);
        }
        payload
    }
}

/// `DescribeDBInstances {InstanceIds: [id]}` → (request id, the instance if it exists).
pub fn describe(api: &impl TencentApi, id: &str) -> Result<(String, Option<Value>), ErrorMessage> {
    common::find_by_id(
        api,
        ("DescribeDBInstances", json!({ "InstanceIds": [id] })),
        ("Instances", "InstanceId"),
        id,
    )
}

/// Polls until instance `id` has one of `statuses`; returns it.
fn wait_for(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    id: &str,
    (statuses, what): (&[i64], &str),
) -> Result<Value, ErrorMessage> {
    common::wait_until(
        clock,
        wait,
        &format!("MariaDB instance {id} to be {what}"),
        || match describe(api, id)? {
            (_, None) => Ok(Poll::Pending("not listed".to_owned())),
            (_, Some(item)) => match item.get("Status").and_then(Value::as_i64) {
                Some(status) if statuses.contains(&status) => Ok(Poll::Ready(item)),
                status => Ok(Poll::Pending(format!(
                    "Status {}",
                    status.map_or("?".to_owned(), |s| s.to_string())
                ))),
            },
        },
    )
}

/// The output of `mariadb/create`: id, address, port (as a string), user, and the encrypted
/// password when one was made.
fn mariadb_output(
    request_id: &str,
    args: &CreateArgs,
    id: &str,
    item: &Value,
    password: Option<String>,
) -> Output {
    let mut out = common::output_with_id(request_id, &args.common.guid, id);
    let vip = item.get("Vip").and_then(Value::as_str).unwrap_or_default();
    let port = match item.get("Vport") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    out.insert("private_ip".into(), vip.into());
    out.insert("private_port".into(), port.into());
    out.insert("user_name".into(), args.user_name.clone().into());
    if let Some(password) = password {
        out.insert("password".into(), password.into());
    }
    out
}

/// Initialise the created instance, wait until it runs, and create and grant the account with
/// a generated password; returns the running instance and the plain password.
fn set_up(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
    id: &str,
) -> Result<(Value, String), ErrorMessage> {
    let item = wait_for(api, clock, wait, id, (&[UNINITIALISED, RUNNING], "created"))?;
    if item.get("Status").and_then(Value::as_i64) == Some(UNINITIALISED) {
        let params = json!([
            {"Param": "character_set_server", "Value": args.character_set},
            {"Param": "lower_case_table_names", "Value": args.lower_case_table_names},
        ]);
        api.call(
            "InitDBInstances",
            &json!({ "InstanceIds": [id], "Params": params }),
        )?;
    }
    let item = wait_for(api, clock, wait, id, (&[RUNNING], "running"))?;
    let password = password::generate()?;
    log::redact(&password);
    let account = json!({"InstanceId": id, "UserName": args.user_name, "Host": "%"});
    let mut create = account.clone();
    create["Password"] = json!(password);
    create["ReadOnly"] = json!(0);
    api.call("CreateAccount", &create)?;
    let mut grant = account;
    grant["DbName"] = json!("*");
    grant["Privileges"] = json!(PRIVILEGES);
    api.call("GrantAccountPrivileges", &grant)?;
    Ok((item, password))
}

/// Create, initialise and set up an instance, or return the existing one when `id` names one.
pub fn create(
    api: &impl TencentApi,
    clock: &impl Clock,
    wait: Wait,
    args: &CreateArgs,
) -> Result<Output, ErrorMessage> {
    if let Some(id) = &args.id
        && let (request_id, Some(item)) = describe(api, id)?
    {
        return Ok(mariadb_output(&request_id, args, id, &item, None));
    }
    let response = api.call("CreateDBInstance", &args.payload())?;
    let id = response
        .body
        .get("InstanceIds")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ErrorMessage::new(format!(
                "CreateDBInstance succeeded but returned no InstanceIds (RequestId={})",
                response.request_id
            ))
        })?
        .to_owned();
    let (item, plain) = set_up(api, clock, wait, args, &id).map_err(|e| {
        ErrorMessage::new(format!(
            "MariaDB instance {id} was created, but: {}",
            e.as_str()
        ))
    })?;
    let encrypted = password::encrypt(&args.common.guid, &args.seed, &plain);
    Ok(mariadb_output(
        &response.request_id,
        args,
        &id,
        &item,
        Some(encrypted),
    ))
}

/// `POST /v1/qcloud/mariadb/create`, one input.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let args = CreateArgs::from_input(input)?;
    let wait = waits::MARIADB.read()?;
    common::with_service_client(
        "mariadb/create",
        &args.common,
        (SERVICE, API_VERSION),
        |api| create(api, &HostClock, wait, &args),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{FakeApi, FakeClock, PARAMS, WAIT, api_error, input, ok};

    fn instance(status: i64) -> Result<broker_sdk::TencentResponse, broker_sdk::TencentError> {
        ok(
            "r-d",
            json!({"TotalCount": 1, "Instances": [{"InstanceId": "tdsql-1", "Status": status,
                "Vip": "10.0.1.254", "Vport": 3306}]}),
        )
    }

    fn create_input() -> Value {
        json!({"guid": "g", "provider_params": PARAMS, "seed": "s", "vpc_id": "vpc-1",
            "subnet_id": "subnet-1", "zones": "ap-shanghai-3", "node_count": 2, "memory_size": 2,
            "storage_size": 10, "lower_case_table_names": "true", "charge_period": 1,
            "user_name": "tdsqladmin"})
    }

    #[test]
    fn create_initialises_waits_and_creates_a_granted_account() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"DealName": "d", "InstanceIds": ["tdsql-1"]})),
            instance(0),
            instance(3),
            ok("r-i", json!({"FlowId": 1})),
            instance(4),
            instance(2),
            ok("r-a", json!({})),
            ok("r-g", json!({})),
        ]);
        let out = create(&api, &FakeClock::new(), WAIT, &args).unwrap();
        let calls = api.calls.borrow();
        assert_eq!(
            calls[0].1,
            json!({"Zones": ["ap-shanghai-3"], "NodeCount": 2, "Memory": 2, "Storage": 10,
                "Period": 1, "Count": 1, "VpcId": "vpc-1", "SubnetId": "subnet-1"})
        );
        assert_eq!(
            calls[3].1["Params"],
            json!([{"Param": "character_set_server", "Value": "utf8"},
                {"Param": "lower_case_table_names", "Value": "1"}])
        );
        let plain = calls[6].1["Password"].as_str().unwrap();
        assert_eq!(calls[6].1["UserName"], "tdsqladmin");
        assert_eq!(calls[7].1["Privileges"].as_array().unwrap().len(), 22);
        let encrypted = out["password"].as_str().unwrap();
        assert_eq!(password::decrypt("g", "s", encrypted).unwrap(), plain);
        assert_eq!(
            Value::Object(out.clone()),
            json!({"request_id": "r-c", "guid": "g", "id": "tdsql-1", "private_ip": "10.0.1.254",
                "private_port": "3306", "user_name": "tdsqladmin", "password": encrypted})
        );
    }

    #[test]
    fn a_failing_account_step_names_the_created_instance() {
        let args = CreateArgs::from_input(&input(create_input())).unwrap();
        let api = FakeApi::new(vec![
            ok("r-c", json!({"InstanceIds": ["tdsql-1"]})),
            instance(2),
            api_error("InvalidParameterValue.BadPassword", "r-a"),
        ]);
        let error = create(&api, &FakeClock::new(), WAIT, &args).unwrap_err();
        assert!(
            error
                .as_str()
                .starts_with("MariaDB instance tdsql-1 was created, but: [TencentCloudSDKError] Code=InvalidParameterValue.BadPassword"),
            "{error:?}"
        );
    }

    #[test]
    fn inputs_are_validated_and_defaulted() {
        let mut v = create_input();
        v.as_object_mut().unwrap().remove("seed");
        assert_eq!(
            CreateArgs::from_input(&input(v)).unwrap_err().as_str(),
            "missing required field \"seed\""
        );
        let mut v = create_input();
        v["lower_case_table_names"] = json!("maybe");
        assert!(CreateArgs::from_input(&input(v)).is_err());
        let mut v = create_input();
        for field in [
            "zones",
            "storage_size",
            "user_name",
            "lower_case_table_names",
            "charge_period",
        ] {
            v.as_object_mut().unwrap().remove(field);
        }
        let args = CreateArgs::from_input(&input(v)).unwrap();
        assert_eq!(args.zones, ["ap-shanghai-1"]);
        assert_eq!(args.storage_size, DEFAULT_STORAGE_GB);
        assert_eq!(args.user_name, DEFAULT_USER);
        assert_eq!(args.lower_case_table_names, "1");
        assert_eq!(args.charge_period, 1);
        let mut v = create_input();
        v["lower_case_table_names"] = json!("false");
        assert_eq!(
            CreateArgs::from_input(&input(v))
                .unwrap()
                .lower_case_table_names,
            "0"
        );
    }
}
