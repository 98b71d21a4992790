//! `rds/db/create|delete`, `rds/backup/create|delete` and `rds/security_ip/append|delete` (RDS).
//!
//! `rds/db/create` picks `dBInstanceClass` from `dBInstanceSpec` (`1C2G`) when none is given: the
//! smallest class the zone sells for the engine (`DescribeAvailableClasses`) with at least the
//! cores and memory asked for (`ListClasses`). The zone defaults to the vSwitch's. It waits
//! until the instance is `Running`, creates the account (password given or generated, returned
//! encrypted) and waits until it is `Available`.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::clock::Poll;
use broker_sdk::password;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, RDS, Session, VPC, push_optional, require, wait_for};
use crate::security_group::split_list;
use crate::vm::parse_spec;
use crate::vswitch::VSWITCHES;
use crate::waits;

/// Instance `id` as `DescribeDBInstanceAttribute` shows it, `None` when it does not exist.
pub fn find_db(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    match api.call("DescribeDBInstanceAttribute", &[("DBInstanceId", id)]) {
        Ok(answer) => Ok(items(&answer.body, "Items", "DBInstanceAttribute")
            .first()
            .cloned()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn require_db(api: &impl AliyunApi, id: &str) -> Result<Value, ErrorMessage> {
    find_db(api, id)?.ok_or_else(|| ErrorMessage::new(format!("DB instance {id} does not exist")))
}

/// The `ListClasses` commodity code of a new primary instance paid as `pay_type`: `rds` for
/// subscription (`Prepaid`), `bards` for pay-as-you-go. These are the China-site codes; the
/// international site's carry an `_intl` suffix and list the same class codes.
fn commodity_code(pay_type: &str) -> &'static str {
    if pay_type.eq_ignore_ascii_case("Prepaid") {
        "rds"
    } else {
        "bards"
    }
}

/// The smallest class for `engine` with at least `cores` and `memory` GiB.
fn pick_class(
    api: &impl AliyunApi,
    zone: &str,
    input: &Input,
    (cores, memory): (f64, f64),
) -> Result<String, ErrorMessage> {
    let engine = input.required_str("engine")?;
    let pay_type = input.optional_str("payType")?.unwrap_or("Postpaid");
    let mut params = vec![
        ("ZoneId", zone),
        ("Engine", engine),
        ("EngineVersion", input.required_str("engineVersion")?),
        (
            "DBInstanceStorageType",
            input.required_str("dBInstanceStorageType")?,
        ),
        ("InstanceChargeType", pay_type),
    ];
    if let Some(category) = input.optional_str("category")? {
        params.push(("Category", category));
    }
    let available = api.call("DescribeAvailableClasses", &params)?;
    let sold: Vec<&str> = available
        .body
        .get("DBInstanceClasses")
        .and_then(Value::as_array)
        .map(|l| l.iter().map(|c| text(c, "DBInstanceClass")).collect())
        .unwrap_or_default();
    let catalogue = api.call(
        "ListClasses",
        &[
            ("CommodityCode", commodity_code(pay_type)),
            ("OrderType", "BUY"),
        ],
    )?;
    let number = |v: &str| v.trim_end_matches("GB").parse::<f64>().unwrap_or(0.0);
    let mut fitting: Vec<(f64, f64, String)> = catalogue
        .body
        .get("Items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| sold.contains(&text(c, "ClassCode")))
        .map(|c| {
            (
                number(text(c, "Cpu")),
                number(text(c, "MemoryClass")),
                text(c, "ClassCode").to_owned(),
            )
        })
        .filter(|(c, m, _)| *c >= cores && *m >= memory)
        .collect();
    fitting.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    fitting.into_iter().next().map(|(_, _, c)| c).ok_or_else(|| {
        ErrorMessage::new(format!(
            "no {engine} class with at least {cores} cores and {memory} GiB is sold in zone {zone}"
        ))
    })
}

/// Waits until instance `id` has `DBInstanceStatus` `want`.
fn wait_db(api: &impl AliyunApi, id: &str, want: &str) -> Result<Value, ErrorMessage> {
    wait_for(
        &format!("DB instance {id} to be {want}"),
        waits::RDS_RUNNING,
        || {
            let db = require_db(api, id)?;
            Ok(match text(&db, "DBInstanceStatus") {
                status if status == want => Poll::Ready(db.clone()),
                status => Poll::Pending(status.to_owned()),
            })
        },
    )
}

/// The outputs of a described instance.
fn db_output(db: &Value) -> Output {
    let memory_mb = db
        .get("DBInstanceMemory")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut out = Output::new();
    out.insert("dBInstanceId".into(), json!(text(db, "DBInstanceId")));
    out.insert("dBInstanceClass".into(), json!(text(db, "DBInstanceClass")));
    out.insert("cpu".into(), json!(text(db, "DBInstanceCPU")));
    let memory = memory_mb / 1024.0;
    let memory = if memory.fract() == 0.0 {
        format!("{}", memory as i64)
    } else {
        memory.to_string()
    };
    out.insert("memory".into(), json!(memory));
    out.insert(
        "connectionString".into(),
        json!(text(db, "ConnectionString")),
    );
    out.insert("port".into(), json!(text(db, "Port")));
    out
}

/// `POST /alicloud/v1/rds/db/create`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let seed = input.required_str("seed")?;
    let account = input.required_str("accountName")?;
    let given = input.optional_str("accountPassword")?;
    let session = Session::new(&common);
    let api = session.client(RDS);
    if let Some(id) = input.optional_str("dBInstanceId")?
        && let Some(db) = find_db(&api, id)?
    {
        let mut out = db_output(&db);
        out.insert("accountName".into(), json!(account));
        let password = given.map_or_else(String::new, |p| password::encrypt(&common.guid, seed, p));
        out.insert("accountPassword".into(), json!(password));
        return Ok(out);
    }
    let vswitch = input.optional_str("vSwitchId")?;
    let zone = match (input.optional_str("zoneId")?, vswitch) {
        (Some(zone), _) => zone.to_owned(),
        (None, Some(vswitch)) => text(
            &require(&session.client(VPC), &VSWITCHES, vswitch)?,
            "ZoneId",
        )
        .to_owned(),
        (None, None) => {
            return Err(ErrorMessage::new(
                "give zoneId or vSwitchId (the zone is taken from the vSwitch)",
            ));
        }
    };
    let class = match input.optional_str("dBInstanceClass")? {
        Some(class) => class.to_owned(),
        None => pick_class(
            &api,
            &zone,
            input,
            parse_spec(input.required_str("dBInstanceSpec")?)?,
        )?,
    };
    let ips = split_list(input.required_str("securityIPList")?).join(",");
    let mut params: Vec<(&str, &str)> = vec![
        ("Engine", input.required_str("engine")?),
        ("EngineVersion", input.required_str("engineVersion")?),
        ("DBInstanceClass", class.as_str()),
        (
            "DBInstanceStorage",
            input.required_str("dBInstanceStorage")?,
        ),
        (
            "DBInstanceStorageType",
            input.required_str("dBInstanceStorageType")?,
        ),
        ("DBInstanceNetType", "Intranet"),
        ("SecurityIPList", ips.as_str()),
        (
            "PayType",
            input.optional_str("payType")?.unwrap_or("Postpaid"),
        ),
        ("ZoneId", zone.as_str()),
    ];
    if vswitch.is_some() {
        params.push(("InstanceNetworkType", "VPC"));
    }
    push_optional(
        input,
        &mut params,
        &[
            ("vpcId", "VPCId"),
            ("vSwitchId", "VSwitchId"),
            ("privateIpAddress", "PrivateIpAddress"),
            ("category", "Category"),
            ("dBIsIgnoreCase", "DBIsIgnoreCase"),
            ("dBTimeZone", "DBTimeZone"),
            ("period", "Period"),
            ("usedTime", "UsedTime"),
            ("autoRenew", "AutoRenew"),
            ("dBInstanceDescription", "DBInstanceDescription"),
        ],
    )?;
    let created = api.call("CreateDBInstance", &params)?;
    let id = text(&created.body, "DBInstanceId").to_owned();
    wait_db(&api, &id, "Running")?;
    let password = match given {
        Some(p) => password::decrypt(&common.guid, seed, p)?,
        None => password::generate()?,
    };
    // Masked in every later log line of this request (it travels in the signed query).
    broker_sdk::log::redact(&password);
    let mut account_params = vec![
        ("DBInstanceId", id.as_str()),
        ("AccountName", account),
        ("AccountPassword", password.as_str()),
    ];
    if let Some(description) = input.optional_str("accountDescription")? {
        account_params.push(("AccountDescription", description));
    }
    api.call("CreateAccount", &account_params)?;
    wait_for(
        &format!("account {account} of {id} to be Available"),
        waits::RDS_ACCOUNT,
        || {
            let answer = api.call(
                "DescribeAccounts",
                &[("DBInstanceId", id.as_str()), ("AccountName", account)],
            )?;
            let status = items(&answer.body, "Accounts", "DBInstanceAccount")
                .first()
                .map(|a| text(a, "AccountStatus").to_owned())
                .unwrap_or_default();
            Ok(if status == "Available" {
                Poll::Ready(())
            } else {
                Poll::Pending(status)
            })
        },
    )?;
    if let Some(group) = input.optional_str("securityGroupId")? {
        api.call(
            "ModifySecurityGroupConfiguration",
            &[("DBInstanceId", id.as_str()), ("SecurityGroupId", group)],
        )?;
    }
    let mut out = db_output(&require_db(&api, &id)?);
    out.insert("accountName".into(), json!(account));
    out.insert(
        "accountPassword".into(),
        json!(password::encrypt(&common.guid, seed, &password)),
    );
    Ok(out)
}

/// `POST /alicloud/v1/rds/db/delete`: deletes the instance and waits until it is gone; an absent
/// instance counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("dBInstanceId")?;
    let session = Session::new(&common);
    let api = session.client(RDS);
    let Some(db) = find_db(&api, id)? else {
        return Ok(Output::new());
    };
    if text(&db, "DBInstanceStatus") != "Running" {
        wait_db(&api, id, "Running")?;
    }
    api.call("DeleteDBInstance", &[("DBInstanceId", id)])?;
    wait_for(
        &format!("DB instance {id} to be deleted"),
        waits::RDS_GONE,
        || {
            Ok(match find_db(&api, id)? {
                None => Poll::Ready(()),
                Some(db) => Poll::Pending(text(&db, "DBInstanceStatus").to_owned()),
            })
        },
    )?;
    Ok(Output::new())
}

/// Backup `backup` of instance `db`, `None` when it does not exist.
fn find_backup(
    api: &impl AliyunApi,
    db: &str,
    backup: &str,
) -> Result<Option<Value>, ErrorMessage> {
    match api.call(
        "DescribeBackups",
        &[("DBInstanceId", db), ("BackupId", backup)],
    ) {
        Ok(answer) => Ok(items(&answer.body, "Items", "Backup")
            .iter()
            .find(|b| text(b, "BackupId") == backup)
            .cloned()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `POST /alicloud/v1/rds/backup/create`: starts a backup and waits until its job finishes;
/// output `backupId`. A `backupId` that exists is returned without a new backup.
pub fn handle_create_backup(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let db = input.required_str("dBInstanceId")?;
    let session = Session::new(&common);
    let api = session.client(RDS);
    let mut out = Output::new();
    if let Some(backup) = input.optional_str("backupId")?
        && find_backup(&api, db, backup)?.is_some()
    {
        out.insert("backupId".into(), json!(backup));
        return Ok(out);
    }
    let mut params = vec![("DBInstanceId", db)];
    push_optional(
        input,
        &mut params,
        &[
            ("dBName", "DBName"),
            ("backupStrategy", "BackupStrategy"),
            ("backupMethod", "BackupMethod"),
            ("backupType", "BackupType"),
        ],
    )?;
    let started = api.call("CreateBackup", &params)?;
    let job = text(&started.body, "BackupJobId").to_owned();
    let backup = wait_for(
        &format!("backup job {job} of {db}"),
        waits::RDS_BACKUP,
        || {
            let answer = api.call(
                "DescribeBackupTasks",
                &[("DBInstanceId", db), ("BackupJobId", job.as_str())],
            )?;
            let task = items(&answer.body, "Items", "BackupJob")
                .first()
                .cloned()
                .unwrap_or(Value::Null);
            Ok(match text(&task, "BackupStatus") {
                "Finished" => Poll::Ready(text(&task, "BackupId").to_owned()),
                "Failed" => {
                    return Err(ErrorMessage::new(format!(
                        "backup job {job} of {db} failed"
                    )));
                }
                other => Poll::Pending(other.to_owned()),
            })
        },
    )?;
    out.insert("backupId".into(), json!(backup));
    Ok(out)
}

/// `POST /alicloud/v1/rds/backup/delete`: an absent backup (or instance) counts as deleted.
pub fn handle_delete_backup(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let db = input.required_str("dBInstanceId")?;
    let backup = input.required_str("backupId")?;
    let session = Session::new(&common);
    let api = session.client(RDS);
    if find_backup(&api, db, backup)?.is_some() {
        api.call(
            "DeleteBackup",
            &[("DBInstanceId", db), ("BackupId", backup)],
        )?;
    }
    Ok(Output::new())
}

/// The whitelist group `name` of instance `db`.
fn whitelist(api: &impl AliyunApi, db: &str, name: &str) -> Result<Vec<String>, ErrorMessage> {
    let answer = api.call("DescribeDBInstanceIPArrayList", &[("DBInstanceId", db)])?;
    Ok(items(&answer.body, "Items", "DBInstanceIPArray")
        .iter()
        .find(|a| text(a, "DBInstanceIPArrayName") == name)
        .map(|a| {
            text(a, "SecurityIPList")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// Appends (`add`) or deletes the input's `securityIps` in the whitelist group.
fn change_ips(input: &Input, add: bool) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let db = input.required_str("dBInstanceId")?;
    let requested = split_list(input.required_str("securityIps")?);
    let group = input
        .optional_str("dBInstanceIPArrayName")?
        .unwrap_or("Default");
    let session = Session::new(&common);
    let api = session.client(RDS);
    let current = whitelist(&api, db, group)?;
    let changed: Vec<String> = requested
        .into_iter()
        .filter(|ip| current.contains(ip) != add)
        .collect();
    if changed.is_empty() {
        return Ok(Output::new());
    }
    // RDS refuses an empty whitelist: removing the last entries leaves 127.0.0.1 (no access),
    // as the original did.
    let (mode, ips) = if !add && current.iter().all(|ip| changed.contains(ip)) {
        ("Cover", "127.0.0.1".to_owned())
    } else {
        (if add { "Append" } else { "Delete" }, changed.join(","))
    };
    let mut params = vec![
        ("DBInstanceId", db),
        ("SecurityIps", ips.as_str()),
        ("DBInstanceIPArrayName", group),
        ("ModifyMode", mode),
    ];
    if let Some(kind) = input.optional_str("whitelistNetworkType")? {
        params.push(("WhitelistNetworkType", kind));
    }
    api.call("ModifySecurityIps", &params)?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/rds/security_ip/append`: IPs already listed are skipped.
pub fn handle_append_ips(input: &Input) -> Result<Output, ErrorMessage> {
    change_ips(input, true)
}

/// `POST /alicloud/v1/rds/security_ip/delete`: IPs not listed are skipped.
pub fn handle_delete_ips(input: &Input) -> Result<Output, ErrorMessage> {
    change_ips(input, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_sdk::aliyun::{AliyunError, AliyunResponse};
    use std::cell::RefCell;

    /// One recorded call: the action and its parameters.
    type Call = (String, Vec<(String, String)>);

    /// Answers `DescribeAvailableClasses` and `ListClasses` as RDS does and records every call.
    #[derive(Default)]
    struct Catalogue {
        seen: RefCell<Vec<Call>>,
    }

    impl AliyunApi for Catalogue {
        fn call(
            &self,
            action: &str,
            params: &[(&str, &str)],
        ) -> Result<AliyunResponse, AliyunError> {
            self.seen.borrow_mut().push((
                action.to_owned(),
                params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ));
            let body = match action {
                "DescribeAvailableClasses" => json!({"DBInstanceClasses": [
                    {"DBInstanceClass": "mysql.n2.small.1"}, {"DBInstanceClass": "mysql.n2.medium.1"}]}),
                "ListClasses" => json!({"Items": [
                    {"ClassCode": "mysql.n2.medium.1", "Cpu": "2", "MemoryClass": "4GB"},
                    {"ClassCode": "mysql.n2.small.1", "Cpu": "1", "MemoryClass": "2GB"},
                    {"ClassCode": "pg.n2.small.1", "Cpu": "1", "MemoryClass": "2GB"}]}),
                other => panic!("unexpected action {other}"),
            };
            Ok(AliyunResponse {
                request_id: "r".into(),
                body,
            })
        }
    }

    fn input(pay_type: Option<&str>) -> Input {
        let mut fields = json!({"engine": "MySQL", "engineVersion": "8.0",
            "dBInstanceStorageType": "cloud_essd"});
        if let Some(pay_type) = pay_type {
            fields["payType"] = json!(pay_type);
        }
        let Value::Object(fields) = fields else {
            unreachable!("an object literal")
        };
        Input::new(0, fields)
    }

    #[test]
    fn classes_come_from_list_classes_with_its_required_parameters() {
        let api = Catalogue::default();
        let class = pick_class(&api, "cn-hangzhou-h", &input(None), (1.0, 2.0)).unwrap();
        assert_eq!(class, "mysql.n2.small.1");
        let seen = api.seen.borrow();
        let (action, params) = &seen[1];
        assert_eq!(action, "ListClasses");
        assert_eq!(
            params,
            &[
                ("CommodityCode".to_owned(), "bards".to_owned()),
                ("OrderType".to_owned(), "BUY".to_owned()),
            ]
        );
    }

    #[test]
    fn subscription_instances_use_the_subscription_commodity_code() {
        let api = Catalogue::default();
        let class = pick_class(&api, "cn-hangzhou-h", &input(Some("Prepaid")), (2.0, 3.0)).unwrap();
        assert_eq!(class, "mysql.n2.medium.1");
        assert_eq!(api.seen.borrow()[1].1[0].1, "rds");
        assert_eq!(commodity_code("Postpaid"), "bards");
    }
}
