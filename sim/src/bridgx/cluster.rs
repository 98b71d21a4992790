//! Clusters, expand/shrink tasks (INIT → RUNNING → SUCCESS in simulated time), the instances
//! they make, and the usage statistics of those instances.

use serde_json::{Value, json};

use super::network::PROVIDERS;
use super::state::{Action, Cluster, Instance, Org, Task};
use super::{ApiError, Call, Handled, State, cst, page, snake_pager};

/// A new task waits this long for the scheduler's next round (`TaskMonitor` runs every 5 s).
pub const SCHEDULER_DELAY_MS: u64 = 5_000;
/// A running task finishes this long after it started.
pub const TASK_RUN_MS: u64 = 10_000;
/// Sonyflake's epoch as BridgX configures it: 2021-10-01T00:00:00Z.
const SONYFLAKE_EPOCH_MS: u64 = 1_633_046_400_000;
/// The simulated machine id in the low 16 bits of task ids.
const MACHINE_ID: u64 = 1;

/// A sonyflake id: `elapsed_10ms << 24 | seq << 16 | machine`, above 2^53 since late 2021.
fn sonyflake(state: &mut State, now_ms: u64) -> u64 {
    state.task_seq = (state.task_seq + 1) & 0xff;
    (now_ms.saturating_sub(SONYFLAKE_EPOCH_MS) / 10) << 24 | state.task_seq << 16 | MACHINE_ID
}

/// BridgX's password rule: 8–30 characters of at least three classes.
fn password_ok(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=30).contains(&password.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

/// `POST cluster/create`: a cluster template (`types.ClusterInfo`).
pub fn create_cluster(state: &mut State, call: &Call) -> Handled {
    let name = call.required_b("name")?;
    let region = call.required_b("region_id")?;
    let zone = call.required_b("zone_id")?;
    let instance_type = call.required_b("instance_type")?;
    let provider = call.required_b("provider")?;
    let password = call.required_b("password")?;
    let ak = call.required_b("account_key")?;
    if name.chars().count() > 20 {
        return Err(ApiError::new(400, "[Name] 长度必须小于或等于20个字符"));
    }
    if !PROVIDERS.contains(&provider) {
        return Err(ApiError::new(
            400,
            "[Provider] 必须是 [AlibabaCloud、HuaweiCloud、TencentCloud] 之一",
        ));
    }
    if !password_ok(password) {
        return Err(ApiError::new(
            400,
            "[Password] 必须同时包含三项（大写字母、小写字母、数字、特殊符号）",
        ));
    }
    call.account(state, ak)?;
    if call.org(state).clusters.iter().any(|c| c.name == name) {
        return Err(ApiError::new(400, format!("cluster {name} already exists")));
    }
    let network = call
        .body
        .get("network_config")
        .cloned()
        .unwrap_or(Value::Null);
    if !network.is_null() {
        for key in ["vpc", "subnet_id", "security_group"] {
            if network
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                return Err(ApiError::new(400, "param_invalid"));
            }
        }
    }
    let charge = call
        .body
        .get("charge_config")
        .and_then(|c| c.get("charge_type"))
        .and_then(Value::as_str)
        .unwrap_or("PostPaid");
    let cluster = Cluster {
        id: state.next(),
        name: name.into(),
        provider: provider.into(),
        account_key: ak.into(),
        region_id: region.into(),
        zone_id: zone.into(),
        instance_type: instance_type.into(),
        image: call.optional_b("image").unwrap_or("").into(),
        charge_type: charge.into(),
        network,
        storage: call
            .body
            .get("storage_config")
            .cloned()
            .unwrap_or(Value::Null),
        create_by: call.user.clone(),
        create_at_ms: call.now_ms,
    };
    call.org_mut(state).clusters.push(cluster);
    Ok(Value::String(name.into()))
}

/// `GET cluster/describe_all?account=&cluster_name=&provider=`.
pub fn describe_clusters(state: &mut State, call: &Call) -> Handled {
    let org = call.org(state);
    let found: Vec<Value> = org
        .clusters
        .iter()
        .filter(|c| call.query("account").is_none_or(|v| c.account_key == v))
        .filter(|c| call.query("cluster_name").is_none_or(|v| c.name == v))
        .filter(|c| call.query("provider").is_none_or(|v| c.provider == v))
        .map(|c| {
            json!({
                "cluster_id": c.id.to_string(),
                "cluster_name": c.name,
                "instance_count": running(org, &c.name).count(),
                "instance_type": c.instance_type,
                "charge_type": c.charge_type,
                "provider": c.provider,
                "account": c.account_key,
                "create_at": cst(c.create_at_ms),
                "create_by": c.create_by,
            })
        })
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"cluster_list": items, "pager": snake_pager(&pager)}))
}

fn running<'a>(org: &'a Org, cluster: &'a str) -> impl Iterator<Item = &'a Instance> {
    org.instances
        .iter()
        .filter(move |i| i.cluster == cluster && i.status == "RUNNING")
}

/// `POST cluster/expand` and `cluster/shrink`: a task in `INIT`; `data` is its id as a number.
pub fn expand(state: &mut State, call: &Call) -> Handled {
    new_task(state, call, Action::Expand)
}

/// `POST cluster/shrink` (the handbook wrongly says `cluster/expand`).
pub fn shrink(state: &mut State, call: &Call) -> Handled {
    new_task(state, call, Action::Shrink)
}

fn new_task(state: &mut State, call: &Call, action: Action) -> Handled {
    let cluster = call.required_b("cluster_name")?.to_owned();
    let count = call
        .body
        .get("count")
        .and_then(Value::as_u64)
        .filter(|c| (1..=10_000).contains(c))
        .ok_or_else(|| ApiError::new(400, "param_invalid"))?;
    let ips: Vec<String> = call
        .body
        .get("ips")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let org = call.org(state);
    let Some(found) = org.clusters.iter().find(|c| c.name == cluster) else {
        return Err(ApiError::new(400, format!("cluster {cluster} not found")));
    };
    if action == Action::Shrink && found.charge_type == "PrePaid" {
        return Err(ApiError::new(400, "prepaid cluster can not be shrunk"));
    }
    if org
        .tasks
        .iter()
        .any(|t| t.cluster == cluster && matches!(t.status, "INIT" | "RUNNING"))
    {
        return Err(ApiError::new(
            400,
            format!("Cluster:{cluster} has unfinished task"),
        ));
    }
    let id = sonyflake(state, call.now_ms);
    let task = Task {
        id,
        name: call.optional_b("task_name").unwrap_or("").into(),
        action,
        cluster,
        count,
        ips,
        status: "INIT",
        create_at_ms: call.now_ms,
        running_at_ms: None,
        finish_at_ms: None,
        fail_reason: String::new(),
    };
    call.org_mut(state).tasks.push(task);
    Ok(json!(id))
}

/// Moves every task that is due: INIT → RUNNING after the scheduler's delay, RUNNING →
/// SUCCESS (or FAILED) after the run time, making or deleting the instances then.
pub fn advance(state: &mut State, now_ms: u64) {
    let mut next_id = state.next_id;
    for org in state.orgs.values_mut() {
        for t in 0..org.tasks.len() {
            let task = &mut org.tasks[t];
            if task.status == "INIT" && now_ms >= task.create_at_ms + SCHEDULER_DELAY_MS {
                task.status = "RUNNING";
                task.running_at_ms = Some(task.create_at_ms + SCHEDULER_DELAY_MS);
            }
            let Some(started) = task.running_at_ms else {
                continue;
            };
            if task.status != "RUNNING" || now_ms < started + TASK_RUN_MS {
                continue;
            }
            let done = started + TASK_RUN_MS;
            let task = task.clone();
            let outcome = match task.action {
                Action::Expand => {
                    for _ in 0..task.count {
                        next_id += 1;
                        org.instances.push(Instance {
                            id: format!("i-{next_id:016x}"),
                            row: next_id,
                            cluster: task.cluster.clone(),
                            ip_inner: format!(
                                "10.{}.{}.{}",
                                next_id >> 16 & 0xff,
                                next_id >> 8 & 0xff,
                                next_id & 0xff
                            ),
                            status: "RUNNING",
                            startup_at_ms: done,
                            shutdown_at_ms: None,
                        });
                    }
                    Ok(())
                }
                Action::Shrink => shrink_instances(org, &task, done),
            };
            let task = &mut org.tasks[t];
            task.finish_at_ms = Some(done);
            match outcome {
                Ok(()) => task.status = "SUCCESS",
                Err(why) => {
                    task.status = "FAILED";
                    task.fail_reason = why;
                }
            }
        }
    }
    state.next_id = next_id;
}

fn shrink_instances(org: &mut Org, task: &Task, done: u64) -> Result<(), String> {
    let mut picked: Vec<usize> = Vec::new();
    for (n, i) in org.instances.iter().enumerate() {
        let wanted = if task.ips.is_empty() {
            picked.len() < task.count as usize
        } else {
            task.ips.contains(&i.ip_inner)
        };
        if i.cluster == task.cluster && i.status == "RUNNING" && wanted {
            picked.push(n);
        }
    }
    if picked.len() as u64 != task.count {
        return Err(format!(
            "shrink needs {} instances, found {}",
            task.count,
            picked.len()
        ));
    }
    for n in picked {
        org.instances[n].status = "DELETED";
        org.instances[n].shutdown_at_ms = Some(done);
    }
    Ok(())
}

/// `GET task/list?account=`: ids as strings, newest first.
pub fn list_tasks(state: &mut State, call: &Call) -> Handled {
    let org = call.org(state);
    let found: Vec<Value> = org
        .tasks
        .iter()
        .rev()
        .filter(|t| {
            call.query("account").is_none_or(|a| {
                org.clusters
                    .iter()
                    .any(|c| c.name == t.cluster && c.account_key == a)
            })
        })
        .map(|t| {
            let execute = t
                .finish_at_ms
                .zip(t.running_at_ms)
                .map_or(0, |(f, r)| (f - r) / 1000);
            json!({
                "task_id": t.id.to_string(),
                "task_name": t.name,
                "task_action": match t.action { Action::Expand => "EXPAND", Action::Shrink => "SHRINK" },
                "status": t.status,
                "cluster_name": t.cluster,
                "create_at": cst(t.create_at_ms),
                "execute_time": execute,
                "finish_at": t.finish_at_ms.map(cst).unwrap_or_default(),
                "fail_reason": t.fail_reason,
            })
        })
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"task_list": items, "pager": snake_pager(&pager)}))
}

fn cluster_of<'a>(org: &'a Org, instance: &Instance) -> Option<&'a Cluster> {
    org.clusters.iter().find(|c| c.name == instance.cluster)
}

/// `GET instance/describe_all`: filters `account`, `instance_id`, `ip`, `provider`,
/// `cluster_name`, `status` (a comma list, upper-cased).
pub fn describe_instances(state: &mut State, call: &Call) -> Handled {
    let org = call.org(state);
    let statuses: Option<Vec<String>> = call
        .query("status")
        .map(|s| s.split(',').map(|s| s.trim().to_uppercase()).collect());
    let found: Vec<Value> = org
        .instances
        .iter()
        .filter_map(|i| cluster_of(org, i).map(|c| (i, c)))
        .filter(|(i, c)| {
            call.query("account").is_none_or(|v| c.account_key == v)
                && call.query("instance_id").is_none_or(|v| i.id == v)
                && call.query("ip").is_none_or(|v| i.ip_inner == v)
                && call.query("provider").is_none_or(|v| c.provider == v)
                && call.query("cluster_name").is_none_or(|v| i.cluster == v)
                && statuses
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == i.status))
        })
        .map(|(i, c)| {
            json!({
                "instance_id": i.id,
                "ip_inner": i.ip_inner,
                "ip_outer": "",
                "provider": c.provider,
                "create_at": cst(i.startup_at_ms),
                "status": i.status,
                "startup_time": (i.shutdown_at_ms.unwrap_or(call.now_ms) - i.startup_at_ms) / 1000,
                "cluster_name": i.cluster,
                "instance_type": c.instance_type,
                "charge_type": c.charge_type,
            })
        })
        .collect();
    let (items, pager) = page(call, found);
    Ok(json!({"instance_list": items, "pager": snake_pager(&pager)}))
}

/// `GET instance/id/describe?instance_id=`.
pub fn describe_instance(state: &mut State, call: &Call) -> Handled {
    let id = call.required_q("instance_id")?;
    let org = call.org(state);
    let (instance, cluster) = org
        .instances
        .iter()
        .find(|i| i.id == id)
        .and_then(|i| cluster_of(org, i).map(|c| (i, c)))
        .ok_or_else(|| ApiError::new(400, "record not found"))?;
    let disks = &cluster.storage["disks"];
    let data_disks: Vec<Value> = disks["data_disk"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| json!({"data_disk_type": d["category"], "data_disk_size": d["size"]}))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "instance_id": instance.id,
        "provider": cluster.provider,
        "region_id": cluster.region_id,
        "zone_id": cluster.zone_id,
        "image_id": cluster.image,
        "instance_type": cluster.instance_type,
        "ip_inner": instance.ip_inner,
        "ip_outer": "",
        "create_at": cst(instance.startup_at_ms),
        "storage_config": {
            "system_disk_type": disks["system_disk"]["category"],
            "system_disk_size": disks["system_disk"]["size"],
            "data_disk_num": data_disks.len(),
            "data_disks": data_disks,
        },
        "network_config": {
            "vpc_name": cluster.network["vpc"],
            "subnet_id_name": cluster.network["subnet_id"],
            "security_group_name": cluster.network["security_group"],
        },
    }))
}

/// `GET instance/num?account=&cluster_name=`: running instances.
pub fn count_instances(state: &mut State, call: &Call) -> Handled {
    let org = call.org(state);
    let n = org
        .instances
        .iter()
        .filter(|i| i.status == "RUNNING")
        .filter_map(|i| cluster_of(org, i).map(|c| (i, c)))
        .filter(|(i, c)| {
            call.query("account").is_none_or(|v| c.account_key == v)
                && call.query("cluster_name").is_none_or(|v| i.cluster == v)
        })
        .count();
    Ok(json!({"instance_num": n}))
}

/// The day `date` (`YYYY-MM-DD`, China Standard Time as BridgX runs) as a ms window.
fn day_window(date: &str) -> Result<(u64, u64), ApiError> {
    let invalid = || ApiError::new(400, "param_invalid");
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(invalid());
    };
    if (y.len(), m.len(), d.len()) != (4, 2, 2) {
        return Err(invalid());
    }
    let number = |s: &str| s.parse::<u8>().map_err(|_| invalid());
    let month = time::Month::try_from(number(m)?).map_err(|_| invalid())?;
    let year = y.parse::<i32>().map_err(|_| invalid())?;
    let day = time::Date::from_calendar_date(year, month, number(d)?).map_err(|_| invalid())?;
    let start = day
        .midnight()
        .assume_offset(time::macros::offset!(+8))
        .unix_timestamp();
    let start = u64::try_from(start).map_err(|_| invalid())? * 1000;
    Ok((start, start + 86_400_000))
}

/// Seconds `instance` ran inside `[from, to)`.
fn overlap_secs(instance: &Instance, now_ms: u64, (from, to): (u64, u64)) -> u64 {
    let end = instance.shutdown_at_ms.unwrap_or(now_ms).min(to);
    end.saturating_sub(instance.startup_at_ms.max(from)) / 1000
}

fn used<'a>(
    org: &'a Org,
    call: &'a Call,
    window: (u64, u64),
) -> impl Iterator<Item = (&'a Instance, u64)> {
    org.instances
        .iter()
        .filter(|i| call.query("cluster_name").is_none_or(|v| i.cluster == v))
        .map(move |i| (i, overlap_secs(i, call.now_ms, window)))
        .filter(|(_, secs)| *secs > 0)
}

/// `GET instance/usage_total?cluster_name=&date=YYYY-MM-DD`: seconds of machine time that day.
pub fn usage_total(state: &mut State, call: &Call) -> Handled {
    let window = day_window(call.required_q("date")?)?;
    let total: u64 = used(call.org(state), call, window).map(|(_, s)| s).sum();
    Ok(json!({"usage_total": total}))
}

/// `GET instance/usage_statistics?cluster_name=&date=YYYY-MM-DD`: one row per machine.
pub fn usage_statistics(state: &mut State, call: &Call) -> Handled {
    let window = day_window(call.required_q("date")?)?;
    let org = call.org(state);
    let rows: Vec<Value> = used(org, call, window)
        .map(|(i, secs)| {
            json!({
                "id": i.row.to_string(),
                "cluster_name": i.cluster,
                "instance_id": i.id,
                "startup_at": cst(i.startup_at_ms),
                "shutdown_at": i.shutdown_at_ms.map(cst).unwrap_or_default(),
                "startup_time": secs,
                "instance_type": cluster_of(org, i).map(|c| c.instance_type.clone()).unwrap_or_default(),
            })
        })
        .collect();
    let (items, pager) = page(call, rows);
    Ok(json!({"instance_list": items, "pager": snake_pager(&pager)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_pass_two_to_the_53() {
        let mut state = State::default();
        // 2026-01-01T00:00:00Z
        let id = sonyflake(&mut state, 1_767_225_600_000);
        assert!(id > 1 << 53, "{id}");
        assert_ne!(id, sonyflake(&mut state, 1_767_225_600_000));
    }

    #[test]
    fn passwords_need_three_classes() {
        assert!(password_ok("ASDqwe123"));
        assert!(!password_ok("********"));
        assert!(!password_ok("abc123"));
    }

    #[test]
    fn usage_days_are_china_standard_time() {
        assert_eq!(day_window("2021-10-11").unwrap().0, 1_633_881_600_000);
        assert!(day_window("2021-11-23x").is_err());
        assert!(
            day_window("2021-23-11").is_err(),
            "BridgX parses YYYY-MM-DD"
        );
    }
}
