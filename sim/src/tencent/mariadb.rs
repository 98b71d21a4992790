//! The MariaDB (TDSQL) product (`mariadb`, version `2017-03-12`): `CreateDBInstance`,
//! `DescribeDBInstances`, `InitDBInstances`, `CreateAccount`, `GrantAccountPrivileges`.
//!
//! Instances change `Status` in simulated time ([`crate::TencentSimConfig::clock`]), as on
//! Tencent: created `0` (creating), `3` (not initialised) [`CREATE_MS`] later;
//! `InitDBInstances` → `4` (initialising), `2` (running) [`INIT_MS`] later. Accounts can be
//! created and granted only on a running instance.
//!
//! An id that is not `tdsql-` plus 8 characters is `InvalidParameterValue.Malformed`; an unknown
//! one is `ResourceNotFound.InstanceNotFound`, except in `DescribeDBInstances`, which just omits
//! it. An action in the wrong status is `UnsupportedOperation.InstanceStatusError`.

use serde::Serialize;
use serde_json::{Value, json};

use super::database;
use super::error::TcError;
use super::state::{self, State};
use super::{Call, Product, TencentSim};

/// The MariaDB product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "mariadb",
    version: "2017-03-12",
    actions: &[
        "CreateDBInstance",
        "DescribeDBInstances",
        "InitDBInstances",
        "CreateAccount",
        "GrantAccountPrivileges",
    ],
    regional: true,
    handle,
};

/// From `CreateDBInstance` to `Status` 3 (not initialised).
pub const CREATE_MS: u64 = 60_000;
/// From `InitDBInstances` to `Status` 2 (running).
pub const INIT_MS: u64 = 20_000;

/// Engine versions (`DbVersionId`).
const DB_VERSIONS: &[&str] = &["10.0.10", "10.1.9", "5.7.17"];
/// Initialisation parameters and their allowed values.
const INIT_PARAMS: &[(&str, &[&str])] = &[
    (
        "character_set_server",
        &["utf8", "latin1", "gbk", "utf8mb4"],
    ),
    ("lower_case_table_names", &["0", "1"]),
    ("sync_mode", &["0", "1", "2"]),
    ("innodb_page_size", &["4096", "8192", "16384"]),
];
/// Privileges `GrantAccountPrivileges` knows.
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
    "RELOAD",
    "REPLICATION CLIENT",
    "REPLICATION SLAVE",
];
/// Special characters allowed in an account password.
const PASSWORD_SPECIALS: &str = "_+-&=!@#$%^*()";

/// One account of an instance.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    user_name: String,
    host: String,
    privileges: Vec<String>,
}

/// One MariaDB instance, serialised as `DescribeDBInstances` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MariadbInstance {
    pub(crate) instance_id: String,
    instance_name: String,
    pub(crate) status: i8,
    zone: String,
    region: String,
    unique_vpc_id: String,
    unique_subnet_id: String,
    vip: String,
    vport: u64,
    node_count: u64,
    memory: u64,
    storage: u64,
    db_version_id: String,
    create_time: String,
    /// Initialisation parameters in force.
    #[serde(skip)]
    params: Vec<(String, String)>,
    #[serde(skip)]
    accounts: Vec<Account>,
    /// The status it moves to next and when (simulated ms).
    #[serde(skip)]
    next: Option<(i8, u64)>,
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "CreateDBInstance" => create(state, call),
        "DescribeDBInstances" => describe(state, call),
        "InitDBInstances" => init(state, call),
        "CreateAccount" => create_account(state, call),
        "GrantAccountPrivileges" => grant(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every transition due at `now_ms`.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for instance in state.mariadb_instances.values_mut().flatten() {
        if let Some((next, at)) = instance.next
            && at <= now_ms
        {
            instance.status = next;
            instance.next = None;
        }
    }
}

/// `CreateDBInstance {Zones, NodeCount, Memory, Storage, Period, Count?, VpcId, SubnetId,
/// DbVersionId?, InstanceName?, …}` → `{DealName, InstanceIds}`.
fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "Zones",
        "NodeCount",
        "Memory",
        "Storage",
        "Period",
        "Count",
        "AutoVoucher",
        "VoucherIds",
        "VpcId",
        "SubnetId",
        "ProjectId",
        "DbVersionId",
        "InstanceName",
        "SecurityGroupIds",
        "AutoRenewFlag",
    ])?;
    let zones = p
        .str_list("Zones")?
        .ok_or_else(|| TcError::missing_parameter("Zones"))?;
    if zones.is_empty() || zones.len() > 2 {
        return Err(TcError::out_of_range(
            "Zones",
            &zones.len().to_string(),
            "1 or 2 zones",
        ));
    }
    zones
        .iter()
        .try_for_each(|zone| state::check_zone(zone, call.region))?;
    let required = |name: &str| {
        p.uint(name)?
            .ok_or_else(|| TcError::missing_parameter(name))
    };
    let node_count = required("NodeCount")?;
    if !(2..=3).contains(&node_count) {
        return Err(TcError::out_of_range(
            "NodeCount",
            &node_count.to_string(),
            "2 or 3",
        ));
    }
    let memory = required("Memory")?;
    if !(2..=480).contains(&memory) {
        return Err(TcError::out_of_range(
            "Memory",
            &memory.to_string(),
            "2 to 480 GB",
        ));
    }
    let storage = required("Storage")?;
    if !(10..=6000).contains(&storage) || storage % 10 != 0 {
        return Err(TcError::out_of_range(
            "Storage",
            &storage.to_string(),
            "10 to 6000 GB in steps of 10",
        ));
    }
    database::check_period("Period", required("Period")?)?;
    let count = p.uint("Count")?.unwrap_or(1);
    database::check_count("Count", count, 10)?;
    let version = p.str("DbVersionId")?.unwrap_or("10.1.9");
    if !DB_VERSIONS.contains(&version) {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{version}` of parameter `DbVersionId` is not supported."),
        ));
    }
    let (vpc_id, subnet_id) = (p.required_str("VpcId")?, p.required_str("SubnetId")?);
    let cidr = database::network(state, call.region, vpc_id, subnet_id)?;
    let name = p.str("InstanceName")?.unwrap_or("");
    let mut ids = Vec::new();
    for _ in 0..count {
        let used: Vec<String> = state
            .mariadb_instances
            .values()
            .flatten()
            .map(|i| i.vip.clone())
            .collect();
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let instance = MariadbInstance {
            instance_id: state.new_id("tdsql"),
            instance_name: name.to_owned(),
            status: 0,
            zone: zones[0].to_owned(),
            region: call.region.to_owned(),
            unique_vpc_id: vpc_id.to_owned(),
            unique_subnet_id: subnet_id.to_owned(),
            vip: database::service_ip(&cidr, &used)?,
            vport: 3306,
            node_count,
            memory,
            storage,
            db_version_id: version.to_owned(),
            create_time: state::created_time(),
            params: Vec::new(),
            accounts: Vec::new(),
            next: Some((3, call.now_ms.saturating_add(CREATE_MS))),
        };
        ids.push(instance.instance_id.clone());
        state
            .mariadb_instances
            .entry(call.region.to_owned())
            .or_default()
            .push(instance);
    }
    let deal = format!("{}", 20_000_000_000u64 + state.issued_ids.len() as u64);
    Ok(json!({ "DealName": deal, "InstanceIds": ids }))
}

/// `InvalidParameterValue.Malformed` unless `id` looks like `tdsql-xxxxxxxx`.
fn check_id(name: &str, id: &str) -> Result<(), TcError> {
    state::check_id("tdsql", name, id)
}

/// `DescribeDBInstances {InstanceIds?, Offset?, Limit?}` → `{TotalCount, Instances}`.
fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds", "Offset", "Limit"])?;
    let ids = p.str_list("InstanceIds")?;
    if let Some(ids) = &ids {
        ids.iter().try_for_each(|id| check_id("InstanceIds", id))?;
    }
    let limit = p.uint("Limit")?.unwrap_or(20);
    let offset = p.uint("Offset")?.unwrap_or(0);
    let matched: Vec<&MariadbInstance> = state
        .mariadb_instances
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|i| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&i.instance_id.as_str()))
        })
        .collect();
    let (total, page) = state::page(matched, offset, limit);
    Ok(json!({ "TotalCount": total, "Instances": page }))
}

/// Instance `id` (`ResourceNotFound.InstanceNotFound` if unknown) in `status`
/// (`UnsupportedOperation.InstanceStatusError` otherwise).
fn instance_in<'s>(
    state: &'s mut State,
    call: &Call<'_>,
    id: &str,
    status: i8,
) -> Result<&'s mut MariadbInstance, TcError> {
    check_id("InstanceId", id)?;
    let instance = state
        .mariadb_instances
        .get_mut(call.region)
        .into_iter()
        .flatten()
        .find(|i| i.instance_id == id)
        .ok_or_else(|| {
            TcError::new(
                "ResourceNotFound.InstanceNotFound",
                format!("The instance `{id}` does not exist."),
            )
        })?;
    if instance.status != status {
        return Err(TcError::new(
            "UnsupportedOperation.InstanceStatusError",
            format!(
                "The instance `{id}` has status {}; the operation needs status {status}.",
                instance.status
            ),
        ));
    }
    Ok(instance)
}

/// `InitDBInstances {InstanceIds, Params: [{Param, Value}]}` → `{FlowId, InstanceIds}`.
fn init(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceIds", "Params"])?;
    let ids = p
        .str_list("InstanceIds")?
        .ok_or_else(|| TcError::missing_parameter("InstanceIds"))?;
    let bad = || TcError::parameter_type("Params");
    let mut params = Vec::new();
    for item in p
        .get("Params")
        .ok_or_else(|| TcError::missing_parameter("Params"))?
        .as_array()
        .ok_or_else(bad)?
    {
        let name = item.get("Param").and_then(Value::as_str).ok_or_else(bad)?;
        let value = item.get("Value").and_then(Value::as_str).ok_or_else(bad)?;
        let allowed = INIT_PARAMS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, values)| *values)
            .ok_or_else(|| {
                TcError::new(
                    "InvalidParameterValue.IllegalInitParam",
                    format!("The initialisation parameter `{name}` is not supported."),
                )
            })?;
        if !allowed.contains(&value) {
            return Err(TcError::new(
                "InvalidParameterValue.IllegalInitParam",
                format!(
                    "The value `{value}` of initialisation parameter `{name}` is not one of {allowed:?}."
                ),
            ));
        }
        params.push((name.to_owned(), value.to_owned()));
    }
    for id in &ids {
        instance_in(state, call, id, 3)?;
    }
    for id in &ids {
        let instance = instance_in(state, call, id, 3)?;
        instance.status = 4;
        instance.params = params.clone();
        instance.next = Some((2, call.now_ms.saturating_add(INIT_MS)));
    }
    Ok(json!({ "FlowId": state.issued_ids.len(), "InstanceIds": ids }))
}

/// Tencent's account password rule: 8–32 characters of letters, digits and
/// [`PASSWORD_SPECIALS`], with at least three of lower case, upper case, digits and specials.
fn password_ok(password: &str) -> bool {
    let len = password.chars().count();
    if !(8..=32).contains(&len) {
        return false;
    }
    let mut classes = [false; 4];
    for c in password.chars() {
        match c {
            'a'..='z' => classes[0] = true,
            'A'..='Z' => classes[1] = true,
            '0'..='9' => classes[2] = true,
            c if PASSWORD_SPECIALS.contains(c) => classes[3] = true,
            _ => return false,
        }
    }
    classes.iter().filter(|c| **c).count() >= 3
}

/// `CreateAccount {InstanceId, UserName, Host, Password, ReadOnly?, Description?}` →
/// `{InstanceId, UserName, Host, ReadOnly}`.
fn create_account(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "InstanceId",
        "UserName",
        "Host",
        "Password",
        "ReadOnly",
        "Description",
        "DelayThresh",
    ])?;
    let id = p.required_str("InstanceId")?;
    let user = p.required_str("UserName")?;
    let host = p.required_str("Host")?;
    let password = p.required_str("Password")?;
    let read_only = p.uint("ReadOnly")?.unwrap_or(0);
    if user.is_empty()
        || user.len() > 32
        || !user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(TcError::new(
            "InvalidParameterValue.IllegalUserName",
            format!("The user name `{user}` is not 1 to 32 letters, digits, `_` or `-`."),
        ));
    }
    if !password_ok(password) {
        return Err(TcError::new(
            "InvalidParameterValue.BadPassword",
            "The password must be 8 to 32 characters with at least three of: lower-case \
             letters, upper-case letters, digits and special characters.",
        ));
    }
    let instance = instance_in(state, call, id, 2)?;
    if instance
        .accounts
        .iter()
        .any(|a| a.user_name == user && a.host == host)
    {
        return Err(TcError::new(
            "InvalidParameterValue.AccountAlreadyExists",
            format!("The account `{user}`@`{host}` already exists."),
        ));
    }
    instance.accounts.push(Account {
        user_name: user.to_owned(),
        host: host.to_owned(),
        privileges: Vec::new(),
    });
    Ok(json!({ "InstanceId": id, "UserName": user, "Host": host, "ReadOnly": read_only }))
}

/// `GrantAccountPrivileges {InstanceId, UserName, Host, DbName, Privileges, Type?, Object?}` → `{}`.
fn grant(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "InstanceId",
        "UserName",
        "Host",
        "DbName",
        "Privileges",
        "Type",
        "Object",
        "ColName",
    ])?;
    let id = p.required_str("InstanceId")?;
    let user = p.required_str("UserName")?;
    let host = p.required_str("Host")?;
    p.required_str("DbName")?;
    let privileges = p
        .str_list("Privileges")?
        .ok_or_else(|| TcError::missing_parameter("Privileges"))?;
    if let Some(unknown) = privileges.iter().find(|p| !PRIVILEGES.contains(p)) {
        return Err(TcError::new(
            "InvalidParameterValue.BadUserRight",
            format!("The privilege `{unknown}` is not supported."),
        ));
    }
    let instance = instance_in(state, call, id, 2)?;
    let account = instance
        .accounts
        .iter_mut()
        .find(|a| a.user_name == user && a.host == host)
        .ok_or_else(|| {
            TcError::new(
                "ResourceNotFound.AccountDoesNotExist",
                format!("The account `{user}`@`{host}` does not exist."),
            )
        })?;
    account.privileges = privileges.iter().map(|p| (*p).to_owned()).collect();
    Ok(json!({}))
}

/// Test helpers: what the MariaDB state holds.
impl TencentSim {
    /// The ids of the MariaDB instances in `region`, in creation order.
    pub fn mariadb_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state_now();
        state
            .mariadb_instances
            .get(region)
            .map(|i| i.iter().map(|i| i.instance_id.clone()).collect())
            .unwrap_or_default()
    }

    /// MariaDB instance `id` of `region`, as `read` sees it, if it exists.
    fn with_mariadb<T>(
        &self,
        region: &str,
        id: &str,
        read: impl FnOnce(&MariadbInstance) -> T,
    ) -> Option<T> {
        let state = self.shared.state_now();
        state
            .mariadb_instances
            .get(region)?
            .iter()
            .find(|i| i.instance_id == id)
            .map(read)
    }

    /// The `Status` of MariaDB instance `id` in `region`, if it exists.
    pub fn mariadb_status(&self, region: &str, id: &str) -> Option<i8> {
        self.with_mariadb(region, id, |i| i.status)
    }

    /// The initialisation parameters of MariaDB instance `id` in `region`, if it exists.
    pub fn mariadb_params(&self, region: &str, id: &str) -> Option<Vec<(String, String)>> {
        self.with_mariadb(region, id, |i| i.params.clone())
    }

    /// The accounts of MariaDB instance `id` in `region` as `(user@host, privilege count)`, if
    /// it exists.
    pub fn mariadb_accounts(&self, region: &str, id: &str) -> Option<Vec<(String, usize)>> {
        self.with_mariadb(region, id, |i| {
            i.accounts
                .iter()
                .map(|a| (format!("{}@{}", a.user_name, a.host), a.privileges.len()))
                .collect()
        })
    }
}
