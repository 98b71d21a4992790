//! The RDS product (`rds.aliyuncs.com`, API `2014-08-15`): MySQL/MariaDB instances, accounts,
//! IP whitelists, security groups and backups.
//!
//! An instance is `Creating` for [`RDS_CREATING_MS`], then `Running`; a deleted one is
//! `Deleting` until gone. Accounts are `Unavailable` for [`ACCOUNT_MS`]; a backup job runs for
//! [`BACKUP_MS`] and then has a numeric `BackupId`.

use serde_json::{Value, json};

use super::common::{new_resource, object, page, view};
use super::error::AliError;
use super::state::{Resource, State};
use super::vpc::vswitch_of;
use super::{Call, Product};

/// How long a new instance is `Creating`, and a deleted one `Deleting`, in simulated ms.
pub const RDS_CREATING_MS: u64 = 20_000;
/// How long a new account is `Unavailable`, in simulated ms.
pub const ACCOUNT_MS: u64 = 3_000;
/// How long a backup job runs, in simulated ms.
pub const BACKUP_MS: u64 = 10_000;

/// The classes the simulated region sells: (class, engine, cores, memory MiB).
pub const CLASSES: &[(&str, &str, u32, u32)] = &[
    ("rds.mysql.t1.small", "MySQL", 1, 1024),
    ("rds.mysql.s1.small", "MySQL", 1, 2048),
    ("rds.mysql.s2.large", "MySQL", 2, 4096),
    ("rds.mysql.s3.large", "MySQL", 4, 8192),
    ("rds.mariadb.s1.small", "MariaDB", 1, 2048),
    ("rds.mariadb.s2.large", "MariaDB", 2, 4096),
];

/// The RDS product.
pub(crate) const PRODUCT: Product = Product {
    name: "Rds",
    version: "2014-08-15",
    actions: &[
        "DescribeAvailableClasses",
        "ListClasses",
        "CreateDBInstance",
        "DescribeDBInstances",
        "DescribeDBInstanceAttribute",
        "DeleteDBInstance",
        "CreateAccount",
        "DescribeAccounts",
        "ModifySecurityIps",
        "DescribeDBInstanceIPArrayList",
        "ModifySecurityGroupConfiguration",
        "CreateBackup",
        "DescribeBackupTasks",
        "DescribeBackups",
        "DeleteBackup",
    ],
    regional: true,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "DescribeAvailableClasses" => Ok(available_classes(call)),
        "ListClasses" => classes(call),
        "CreateDBInstance" => create(state, call),
        "DescribeDBInstances" => Ok(describe(state, call)),
        "DescribeDBInstanceAttribute" => attribute(state, call),
        "DeleteDBInstance" => delete(state, call),
        "CreateAccount" => create_account(state, call),
        "DescribeAccounts" => accounts(state, call),
        "ModifySecurityIps" => modify_ips(state, call),
        "DescribeDBInstanceIPArrayList" => ip_arrays(state, call),
        "ModifySecurityGroupConfiguration" => security_group(state, call),
        "CreateBackup" => create_backup(state, call),
        "DescribeBackupTasks" => backup_tasks(state, call),
        "DescribeBackups" => backups(state, call),
        "DeleteBackup" => delete_backup(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn engine_classes<'a>(
    call: &'a Call<'_>,
) -> impl Iterator<Item = &'static (&'static str, &'static str, u32, u32)> + 'a {
    CLASSES.iter().filter(move |(_, engine, ..)| {
        call.get("Engine")
            .is_none_or(|e| e.eq_ignore_ascii_case(engine))
    })
}

fn available_classes(call: &Call<'_>) -> Value {
    let classes: Vec<Value> = engine_classes(call)
        .map(|(class, ..)| {
            json!({"DBInstanceClass": class,
            "DBInstanceStorageRange": {"MinValue": 20, "MaxValue": 2000, "Step": 5}})
        })
        .collect();
    json!({"DBInstanceClasses": classes})
}

/// `ListClasses` commodity codes (China and international sites) and whether each is for
/// read-only instances, which Alibaba lists only for a given primary (`DBInstanceId`).
const COMMODITY_CODES: &[(&str, bool)] = &[
    ("bards", false),
    ("rds", false),
    ("rords", true),
    ("rds_rordspre_public_cn", true),
    ("bards_intl", false),
    ("rds_intl", false),
    ("rords_intl", true),
    ("rds_rordspre_public_intl", true),
];

/// `ListClasses` order types.
const ORDER_TYPES: &[&str] = &["BUY", "UPGRADE", "RENEW", "CONVERT"];

/// `ListClasses`: every class of every engine (the action takes no engine filter). Like RDS,
/// it refuses a call without `CommodityCode` and `OrderType` or with values it does not know.
fn classes(call: &Call<'_>) -> Result<Value, AliError> {
    let code = call.require("CommodityCode")?;
    let Some(&(_, read_only)) = COMMODITY_CODES.iter().find(|(c, _)| *c == code) else {
        return Err(AliError::invalid_parameter(
            "CommodityCode",
            "It must be a commodity code of RDS instances, e.g. bards.",
        ));
    };
    let order = call.require("OrderType")?;
    if !ORDER_TYPES.contains(&order) {
        return Err(AliError::invalid_parameter(
            "OrderType",
            "It must be BUY, UPGRADE, RENEW or CONVERT.",
        ));
    }
    if read_only {
        call.require("DBInstanceId")?;
    }
    let items: Vec<Value> = CLASSES
        .iter()
        .map(|(class, _, cpu, memory)| {
            json!({"ClassCode": class, "ClassGroup": "General-purpose",
            "Cpu": cpu.to_string(), "MemoryClass": format!("{}GB", memory / 1024),
            "MaxConnections": (memory / 2).to_string()})
        })
        .collect();
    Ok(json!({"RegionId": call.region, "Items": items}))
}

fn instance<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let id = call.require("DBInstanceId")?;
    state
        .get(call.region, "rm", id)
        .filter(|r| r.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("InvalidDBInstanceId.NotFound", "DB instance"))
}

fn running<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Resource, AliError> {
    let r = instance(state, call)?;
    if r.status(call.now_ms) != "Running" {
        return Err(AliError::new(
            403,
            "IncorrectDBInstanceState",
            "Current DB instance state does not support this operation.",
        ));
    }
    Ok(r)
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let engine = call.require("Engine")?;
    let version = call.require("EngineVersion")?;
    let class = call.require("DBInstanceClass")?;
    let storage: u32 = call.require("DBInstanceStorage")?.parse().map_err(|_| {
        AliError::invalid_parameter("DBInstanceStorage", "It must be a number of GB.")
    })?;
    call.require("SecurityIPList")?;
    let Some(&(_, class_engine, cpu, memory)) = CLASSES.iter().find(|(c, ..)| *c == class) else {
        return Err(AliError::new(
            400,
            "InvalidDBInstanceClass.NotFound",
            "Specified DB instance class is not found.",
        ));
    };
    if !class_engine.eq_ignore_ascii_case(engine) {
        return Err(AliError::invalid_parameter(
            "DBInstanceClass",
            "The class does not fit the engine.",
        ));
    }
    if !(20..=2000).contains(&storage) || !storage.is_multiple_of(5) {
        return Err(AliError::new(
            400,
            "InvalidDBInstanceStorage.Format",
            "Specified DB instance storage is not valid.",
        ));
    }
    let supported = match engine {
        "MySQL" => ["5.5", "5.6", "5.7", "8.0"].contains(&version),
        "MariaDB" => version == "10.3",
        _ => false,
    };
    if !supported {
        return Err(AliError::new(
            400,
            "InvalidEngineVersion.Malformed",
            "Specified engine or engine version is not valid.",
        ));
    }
    let vswitch = call.get("VSwitchId").unwrap_or("");
    if !vswitch.is_empty() {
        vswitch_of(state, call, vswitch)?;
    }
    let ips: Vec<&str> = call.require("SecurityIPList")?.split(',').collect();
    let id = new_resource(
        state,
        call,
        "rm",
        RDS_CREATING_MS,
        json!({"Engine": engine, "EngineVersion": version, "DBInstanceClass": class,
            "DBInstanceStorage": storage, "DBInstanceCPU": cpu.to_string(), "DBInstanceMemory": memory,
            "VpcId": call.get("VPCId").unwrap_or(""), "VSwitchId": vswitch,
            "ZoneId": call.get("ZoneId").unwrap_or(""),
            "DBInstanceDescription": call.get("DBInstanceDescription").unwrap_or(""),
            "Port": "3306", "Accounts": [], "SecurityGroupId": "",
            "IPArrays": {"Default": ips}}),
    );
    let connection = format!("{id}.mysql.{}.rds.aliyuncs.com", call.region);
    if let Some(r) = state.get_mut(call.region, "rm", &id) {
        r.pending_status = "Creating";
        r.ready_status = "Running".to_owned();
        r.set("ConnectionString", connection.clone());
    }
    Ok(json!({"DBInstanceId": id, "ConnectionString": connection, "Port": "3306"}))
}

fn status_view(r: &Resource, now_ms: u64) -> Value {
    let mut item = view(r, now_ms, json!({"DBInstanceId": r.id}));
    item["DBInstanceStatus"] = item["Status"].take();
    if let Some(map) = item.as_object_mut() {
        for key in ["Status", "Accounts", "IPArrays", "Backups"] {
            map.remove(key);
        }
    }
    item
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let items = state
        .list(call.region, "rm")
        .filter(|r| {
            call.get("DBInstanceId")
                .is_none_or(|ids| ids.split(',').any(|i| i == r.id))
        })
        .map(|r| status_view(r, call.now_ms))
        .collect::<Vec<_>>();
    let mut answer = page(items.clone(), "Items", "DBInstance");
    answer["TotalRecordCount"] = json!(items.len());
    answer
}

fn attribute(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    // An instance being deleted is still described (as `Deleting`) until it is gone.
    let id = call.require("DBInstanceId")?;
    let r = state
        .get(call.region, "rm", id)
        .ok_or_else(|| AliError::not_found("InvalidDBInstanceId.NotFound", "DB instance"))?;
    Ok(json!({"Items": {"DBInstanceAttribute": [status_view(r, call.now_ms)]}}))
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = running(state, call)?.id.clone();
    if let Some(r) = state.get_mut(call.region, "rm", &id) {
        r.transition("Deleting", "Deleting", call.now_ms, RDS_CREATING_MS / 2);
        r.gone_ms = Some(call.now_ms + RDS_CREATING_MS / 2);
    }
    Ok(json!({}))
}

fn create_account(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = running(state, call)?.id.clone();
    let name = call.require("AccountName")?;
    let password = call.require("AccountPassword")?;
    let name_ok = (2..=16).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return Err(AliError::new(
            400,
            "InvalidAccountName.Malformed",
            "Specified account name is not valid.",
        ));
    }
    let classes = [
        password.bytes().any(|b| b.is_ascii_lowercase()),
        password.bytes().any(|b| b.is_ascii_uppercase()),
        password.bytes().any(|b| b.is_ascii_digit()),
        password.bytes().any(|b| b.is_ascii_punctuation()),
    ];
    if !(8..=32).contains(&password.len()) || classes.iter().filter(|c| **c).count() < 3 {
        return Err(AliError::new(
            400,
            "InvalidAccountPassword.Malformed",
            "Specified account password is not valid.",
        ));
    }
    let r = state
        .get_mut(call.region, "rm", &id)
        .ok_or_else(|| AliError::not_found("InvalidDBInstanceId.NotFound", "DB instance"))?;
    let mut accounts = r.attrs["Accounts"].as_array().cloned().unwrap_or_default();
    if accounts.iter().any(|a| a["AccountName"] == name) {
        return Err(AliError::new(
            400,
            "InvalidAccountName.Duplicate",
            "Specified account already exists.",
        ));
    }
    accounts.push(
        json!({"AccountName": name, "ReadyMs": call.now_ms + ACCOUNT_MS,
        "AccountDescription": call.get("AccountDescription").unwrap_or(""),
        "AccountType": call.get("AccountType").unwrap_or("Normal")}),
    );
    r.set("Accounts", accounts);
    Ok(json!({}))
}

fn accounts(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let r = instance(state, call)?;
    let list: Vec<Value> = r.attrs["Accounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            call.get("AccountName")
                .is_none_or(|n| a["AccountName"] == n)
        })
        .map(|mut a| {
            let ready = a["ReadyMs"].as_u64().is_some_and(|at| call.now_ms >= at);
            a["AccountStatus"] = json!(if ready { "Available" } else { "Unavailable" });
            a["DBInstanceId"] = json!(r.id);
            a.as_object_mut().map(|m| m.remove("ReadyMs"));
            a
        })
        .collect();
    Ok(json!({"Accounts": {"DBInstanceAccount": list}}))
}

/// `ModifySecurityIps` in `Cover`, `Append` or `Delete` mode on group `DBInstanceIPArrayName`.
fn modify_ips(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = running(state, call)?.id.clone();
    let ips: Vec<String> = call
        .require("SecurityIps")?
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let group = call
        .get("DBInstanceIPArrayName")
        .unwrap_or("Default")
        .to_owned();
    let mode = call.get("ModifyMode").unwrap_or("Cover");
    let r = state
        .get_mut(call.region, "rm", &id)
        .ok_or_else(|| AliError::not_found("InvalidDBInstanceId.NotFound", "DB instance"))?;
    let mut arrays = r.attrs["IPArrays"].as_object().cloned().unwrap_or_default();
    let mut current: Vec<String> = arrays
        .get(&group)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match mode {
        "Cover" => current = ips,
        "Append" => current.extend(
            ips.into_iter()
                .filter(|ip| !current.contains(ip))
                .collect::<Vec<_>>(),
        ),
        "Delete" => current.retain(|ip| !ips.contains(ip)),
        _ => {
            return Err(AliError::invalid_parameter(
                "ModifyMode",
                "Valid values: Cover, Append, Delete.",
            ));
        }
    }
    if current.is_empty() {
        return Err(AliError::new(
            400,
            "InvalidSecurityIPList.Empty",
            "The IP whitelist cannot be empty.",
        ));
    }
    arrays.insert(group, json!(current));
    r.set("IPArrays", Value::Object(arrays));
    Ok(json!({}))
}

fn ip_arrays(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let r = instance(state, call)?;
    let items: Vec<Value> = r.attrs["IPArrays"]
        .as_object()
        .map(|arrays| {
            arrays
                .iter()
                .map(|(name, ips)| {
                    let list: Vec<&str> = ips
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    json!({"DBInstanceIPArrayName": name, "SecurityIPList": list.join(",")})
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({"Items": {"DBInstanceIPArray": items}}))
}

fn security_group(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = running(state, call)?.id.clone();
    let group = call.require("SecurityGroupId")?;
    if state.get(call.region, "sg", group).is_none() {
        return Err(AliError::not_found(
            "InvalidSecurityGroupId.NotFound",
            "security group",
        ));
    }
    if let Some(r) = state.get_mut(call.region, "rm", &id) {
        r.set("SecurityGroupId", group);
    }
    Ok(json!({}))
}

fn create_backup(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = running(state, call)?.id.clone();
    let method = call.get("BackupMethod").unwrap_or("Physical");
    if !matches!(method, "Logical" | "Physical" | "Snapshot") {
        return Err(AliError::invalid_parameter(
            "BackupMethod",
            "Valid values: Logical, Physical, Snapshot.",
        ));
    }
    let job = 100_000 + state.list(call.region, "bak").count() as u64 * 7 + 3;
    let backup = 507_512_199 + state.list(call.region, "bak").count() as u64;
    state.insert(Resource {
        kind: "bak",
        id: backup.to_string(),
        region: call.region.to_owned(),
        pending_status: "Uploading",
        ready_status: "Finished".to_owned(),
        ready_ms: call.now_ms + BACKUP_MS,
        attrs: object(
            json!({"DBInstanceId": id, "BackupJobId": job.to_string(), "BackupMethod": method,
            "BackupStrategy": call.get("BackupStrategy").unwrap_or("instance")}),
        ),
        gone_ms: None,
    });
    Ok(json!({"BackupJobId": job.to_string()}))
}

fn backup_tasks(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = instance(state, call)?.id.clone();
    let jobs: Vec<Value> = state
        .list(call.region, "bak")
        .filter(|b| b.attr("DBInstanceId") == id)
        .filter(|b| {
            call.get("BackupJobId")
                .is_none_or(|j| b.attr("BackupJobId") == j)
        })
        .map(|b| {
            let finished = b.status(call.now_ms) == "Finished";
            json!({"BackupJobId": b.attr("BackupJobId"), "BackupStatus": b.status(call.now_ms),
                "BackupId": if finished { b.id.clone() } else { String::new() }})
        })
        .collect();
    Ok(json!({"Items": {"BackupJob": jobs}}))
}

fn backups(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = instance(state, call)?.id.clone();
    let items: Vec<Value> = state
        .list(call.region, "bak")
        .filter(|b| b.attr("DBInstanceId") == id && b.status(call.now_ms) == "Finished")
        .filter(|b| call.get("BackupId").is_none_or(|want| b.id == want))
        .map(|b| {
            json!({"BackupId": b.id, "BackupStatus": "Success", "DBInstanceId": id,
            "BackupMethod": b.attr("BackupMethod")})
        })
        .collect();
    Ok(page(items, "Items", "Backup"))
}

fn delete_backup(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = instance(state, call)?.id.clone();
    let backup = call.require("BackupId")?;
    let found = state
        .get(call.region, "bak", backup)
        .is_some_and(|b| b.attr("DBInstanceId") == id && b.status(call.now_ms) == "Finished");
    if !found {
        return Err(AliError::not_found(
            "InvalidBackupId.NotFound",
            "backup set",
        ));
    }
    state.remove(call.region, "bak", backup);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_classes(params: &[(&str, &str)]) -> Result<Value, AliError> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        classes(&Call {
            action: "ListClasses",
            region: "cn-hangzhou",
            params: &params,
            now_ms: 0,
        })
    }

    fn code(result: Result<Value, AliError>) -> String {
        let error = result.expect_err("the call must be refused");
        format!("{error:?}")
    }

    #[test]
    fn list_classes_requires_commodity_code_and_order_type() {
        let e = code(list_classes(&[("OrderType", "BUY")]));
        assert!(
            e.contains("MissingParameter") && e.contains("CommodityCode"),
            "{e}"
        );
        let e = code(list_classes(&[("CommodityCode", "bards")]));
        assert!(
            e.contains("MissingParameter") && e.contains("OrderType"),
            "{e}"
        );
        let e = code(list_classes(&[
            ("CommodityCode", "ecs"),
            ("OrderType", "BUY"),
        ]));
        assert!(
            e.contains("InvalidParameter") && e.contains("CommodityCode"),
            "{e}"
        );
        let e = code(list_classes(&[
            ("CommodityCode", "bards"),
            ("OrderType", "SELL"),
        ]));
        assert!(
            e.contains("InvalidParameter") && e.contains("OrderType"),
            "{e}"
        );
        // Read-only instance classes are listed for a given primary only.
        let e = code(list_classes(&[
            ("CommodityCode", "rords"),
            ("OrderType", "BUY"),
        ]));
        assert!(e.contains("DBInstanceId"), "{e}");
    }

    #[test]
    fn list_classes_lists_every_engine_with_cores_and_memory() {
        let answer = list_classes(&[("CommodityCode", "bards"), ("OrderType", "BUY")]).unwrap();
        let items = answer["Items"].as_array().unwrap();
        assert_eq!(items.len(), CLASSES.len());
        let small = items
            .iter()
            .find(|i| i["ClassCode"] == "rds.mysql.s1.small")
            .unwrap();
        assert_eq!(small["Cpu"], "1");
        assert_eq!(small["MemoryClass"], "2GB");
    }

    #[test]
    fn describe_classes_is_not_an_rds_action() {
        assert!(!PRODUCT.actions.contains(&"DescribeClasses"));
        assert!(PRODUCT.actions.contains(&"ListClasses"));
    }
}
