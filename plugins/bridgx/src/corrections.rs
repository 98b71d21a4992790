//! Where BridgX's handbook and its code disagree (`shared/reference/cds_bridgx_tencent.md`
//! §2.3), requests written from the handbook are rewritten into what the code accepts.

use serde_json::{Value, json};

use crate::Failure;
use crate::params::Params;

/// `cluster/create`: the handbook puts `disks` at the top level and its example a top-level
/// `charge_type`; the code reads `storage_config.disks` and `charge_config.charge_type`.
/// Values already in the code's places win.
pub fn cluster_create(params: &mut Params) -> Result<(), Failure> {
    if let Some(disks) = params.remove("disks") {
        let storage = object_field(params, "storage_config")?;
        storage.entry("disks").or_insert(disks);
    }
    if let Some(charge_type) = params.remove("charge_type") {
        let charge = object_field(params, "charge_config")?;
        charge.entry("charge_type").or_insert(charge_type);
    }
    Ok(())
}

/// The object under `name`, created when absent; `param_invalid` when it is not an object.
fn object_field<'a>(
    params: &'a mut Params,
    name: &str,
) -> Result<&'a mut serde_json::Map<String, Value>, Failure> {
    params
        .entry(name)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| Failure::invalid(&format!("`{name}` must be an object")))
}

/// Security-group rules: the handbook documents `port_range: "22/22"`, which the code silently
/// ignores; it wants integers `port_from` and `port_to`. A rule with `port_range` and no ports
/// gets them (`"22/22"`, `"22-80"`, or one port `"22"`; `"-1/-1"` means all ports).
pub fn rules(params: &mut Params) -> Result<(), Failure> {
    let Some(rules) = params.get_mut("rules") else {
        return Ok(());
    };
    let rules = rules
        .as_array_mut()
        .ok_or_else(|| Failure::invalid("`rules` must be a list"))?;
    for (n, rule) in rules.iter_mut().enumerate() {
        let rule = rule
            .as_object_mut()
            .ok_or_else(|| Failure::invalid(&format!("`rules[{n}]` must be an object")))?;
        let Some(range) = rule.remove("port_range") else {
            continue;
        };
        if rule.contains_key("port_from") || rule.contains_key("port_to") {
            continue;
        }
        let range = range.as_str().unwrap_or_default().trim();
        if range.is_empty() {
            continue;
        }
        let (from, to) = port_range(range).ok_or_else(|| {
            Failure::invalid(&format!(
                "`rules[{n}].port_range` `{range}` is not a port range like `22/22` or `22-80`"
            ))
        })?;
        rule.insert("port_from".into(), from.into());
        rule.insert("port_to".into(), to.into());
    }
    Ok(())
}

fn port_range(range: &str) -> Option<(i64, i64)> {
    let (from, to) = range
        .split_once('/')
        .or_else(|| range.split_once('-').filter(|(f, _)| !f.is_empty()))
        .unwrap_or((range, range));
    let (from, to) = (
        from.trim().parse::<i64>().ok()?,
        to.trim().parse::<i64>().ok()?,
    );
    let valid = |p: i64| (-1..=65_535).contains(&p);
    (valid(from) && valid(to) && from <= to).then_some((from, to))
}

/// Usage routes: the handbook writes the date as `yyyy-dd-mm`, the code parses `YYYY-MM-DD`.
/// A date valid only as `yyyy-dd-mm` (day > 12) is turned around; one valid as `YYYY-MM-DD` is
/// kept; anything else is `param_invalid` naming the format.
pub fn usage_date(params: &mut Params) -> Result<(), Failure> {
    let Some(date) = params.get("date").and_then(Value::as_str) else {
        return Ok(());
    };
    let fixed = normalise_date(date).ok_or_else(|| {
        Failure::invalid(&format!(
            "`date` `{date}` is not a date like 2021-10-11 (YYYY-MM-DD)"
        ))
    })?;
    params.insert("date".into(), fixed.into());
    Ok(())
}

fn normalise_date(date: &str) -> Option<String> {
    let parts: Vec<&str> = date.trim().split('-').collect();
    let [y, a, b] = parts[..] else { return None };
    if y.len() != 4 || a.len() != 2 || b.len() != 2 {
        return None;
    }
    let (year, a, b): (u32, u32, u32) = (y.parse().ok()?, a.parse().ok()?, b.parse().ok()?);
    let valid = |month: u32, day: u32| {
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
            2 => 28,
            _ => 0,
        };
        (1..=days).contains(&day)
    };
    if valid(a, b) {
        Some(format!("{year:04}-{a:02}-{b:02}"))
    } else if valid(b, a) {
        Some(format!("{year:04}-{b:02}-{a:02}"))
    } else {
        None
    }
}

/// Routes whose parameters need no rewriting.
pub fn none(_: &mut Params) -> Result<(), Failure> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn handbook_cluster_bodies_move_disks_and_charge_type() {
        let mut p = params(json!({
            "charge_type": "PostPaid",
            "disks": {"system_disk": {"category": "cloud_efficiency", "size": 50}},
        }));
        cluster_create(&mut p).unwrap();
        assert_eq!(p["storage_config"]["disks"]["system_disk"]["size"], 50);
        assert_eq!(p["charge_config"]["charge_type"], "PostPaid");
        assert!(!p.contains_key("disks") && !p.contains_key("charge_type"));
        let mut bad = params(json!({"disks": {}, "storage_config": "x"}));
        assert!(cluster_create(&mut bad).is_err());
    }

    #[test]
    fn port_ranges_become_port_from_and_port_to() {
        let mut p = params(json!({"rules": [
            {"protocol": "tcp", "port_range": "22/22"},
            {"protocol": "tcp", "port_range": "8000-8080"},
            {"protocol": "all", "port_range": "-1/-1"},
            {"protocol": "tcp", "port_range": "1/2", "port_from": 5, "port_to": 6},
        ]}));
        rules(&mut p).unwrap();
        let r = &p["rules"];
        assert_eq!(
            (r[0]["port_from"].clone(), r[0]["port_to"].clone()),
            (json!(22), json!(22))
        );
        assert_eq!(r[1]["port_to"], 8080);
        assert_eq!(r[2]["port_from"], -1);
        assert_eq!(r[3]["port_from"], 5, "explicit ports win");
        assert!(r[0].get("port_range").is_none());
        let mut bad = params(json!({"rules": [{"port_range": "ssh"}]}));
        let err = rules(&mut bad).unwrap_err();
        assert!(err.msg.contains("rules[0].port_range"), "{}", err.msg);
    }

    #[test]
    fn handbook_dates_are_turned_into_the_codes_format() {
        assert_eq!(normalise_date("2021-10-11").as_deref(), Some("2021-10-11"));
        assert_eq!(normalise_date("2021-23-11").as_deref(), Some("2021-11-23"));
        assert_eq!(normalise_date("2024-29-02").as_deref(), Some("2024-02-29"));
        assert_eq!(normalise_date("2023-29-02"), None);
        assert_eq!(normalise_date("2021/10/11"), None);
        assert_eq!(normalise_date("20211011"), None);
    }
}
