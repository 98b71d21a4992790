//! The Redis product (`redis`, version `2018-04-12`): `CreateInstances`, `DescribeInstances`.
//!
//! `CreateInstances` makes `GoodsNum` instances in `Status` 1 (in process); they run (`Status`
//! 2) [`CREATE_MS`] later in simulated time ([`crate::TencentSimConfig::clock`]). The zone is
//! given by name (`ZoneName`) or number (`ZoneId`, whose last three digits are the zone
//! number); the password must follow Tencent's rule unless `NoAuth` asks for a password-free
//! instance.
//! `DescribeInstances` by `InstanceId` answers an empty set for an unknown id, as Tencent does.

use serde::Serialize;
use serde_json::{Value, json};

use super::database;
use super::error::TcError;
use super::state::{self, State};
use super::{Call, Product, TencentSim};

/// The Redis product as the dispatcher sees it.
pub(super) const PRODUCT: Product = Product {
    service: "redis",
    version: "2018-04-12",
    actions: &["CreateInstances", "DescribeInstances"],
    regional: true,
    handle,
};

/// From `CreateInstances` to `Status` 2 (running).
pub const CREATE_MS: u64 = 30_000;

/// Instance types (`TypeId`) the simulator sells.
const TYPE_IDS: &[u64] = &[2, 3, 4, 5, 6, 7, 8, 9];
/// Special characters allowed in a Redis password.
const PASSWORD_SPECIALS: &str = "()`~!@#$%^&*-+=_|{}[]:;<>,.?/";

/// One Redis instance, serialised as `DescribeInstances` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RedisInstance {
    pub(crate) instance_id: String,
    instance_name: String,
    pub(crate) status: i8,
    type_id: u64,
    size: u64,
    zone_name: String,
    uniq_vpc_id: String,
    uniq_subnet_id: String,
    wan_ip: String,
    port: u64,
    billing_mode: u64,
    no_auth: bool,
    createtime: String,
    /// When it runs (simulated ms).
    #[serde(skip)]
    running_at: u64,
}

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    match call.action {
        "CreateInstances" => create(state, call),
        "DescribeInstances" => describe(state, call),
        _ => Err(TcError::invalid_action()),
    }
}

/// Apply every transition due at `now_ms`.
pub(crate) fn advance(state: &mut State, now_ms: u64) {
    for instance in state.redis_instances.values_mut().flatten() {
        if instance.status == 1 && instance.running_at <= now_ms {
            instance.status = 2;
        }
    }
}

/// Tencent's Redis password rule: 8–16 characters of letters, digits and
/// [`PASSWORD_SPECIALS`], with at least two of letters, digits and specials.
fn password_ok(password: &str) -> bool {
    let len = password.chars().count();
    if !(8..=16).contains(&len) {
        return false;
    }
    let mut classes = [false; 3];
    for c in password.chars() {
        match c {
            'a'..='z' | 'A'..='Z' => classes[0] = true,
            '0'..='9' => classes[1] = true,
            c if PASSWORD_SPECIALS.contains(c) => classes[2] = true,
            _ => return false,
        }
    }
    classes.iter().filter(|c| **c).count() >= 2
}

/// `CreateInstances {TypeId, MemSize, GoodsNum, Period, BillingMode, ZoneId | ZoneName,
/// Password | NoAuth, VpcId?, SubnetId?, InstanceName?, VPort?, …}` → `{DealId, InstanceIds}`.
fn create(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "TypeId",
        "MemSize",
        "GoodsNum",
        "Period",
        "BillingMode",
        "ZoneId",
        "ZoneName",
        "Password",
        "NoAuth",
        "VpcId",
        "SubnetId",
        "ProjectId",
        "AutoRenew",
        "VPort",
        "InstanceName",
        "SecurityGroupIdList",
    ])?;
    let required = |name: &str| {
        p.uint(name)?
            .ok_or_else(|| TcError::missing_parameter(name))
    };
    let type_id = required("TypeId")?;
    if !TYPE_IDS.contains(&type_id) {
        return Err(TcError::out_of_range(
            "TypeId",
            &type_id.to_string(),
            "2 to 9",
        ));
    }
    let mem_size = required("MemSize")?;
    if mem_size < 256 || mem_size % 256 != 0 || mem_size > 256 * 1024 {
        return Err(TcError::out_of_range(
            "MemSize",
            &mem_size.to_string(),
            "256 MB to 256 GB in steps of 256 MB",
        ));
    }
    let count = required("GoodsNum")?;
    database::check_count("GoodsNum", count, 100)?;
    database::check_period("Period", required("Period")?)?;
    let billing_mode = required("BillingMode")?;
    if billing_mode > 1 {
        return Err(TcError::out_of_range(
            "BillingMode",
            &billing_mode.to_string(),
            "0 (hourly) or 1 (monthly)",
        ));
    }
    let zone = match (p.str("ZoneName")?, p.uint("ZoneId")?) {
        (Some(name), _) => {
            state::check_zone(name, call.region)?;
            name.to_owned()
        }
        // Tencent's numeric zone ids end in the zone number (200003 is ap-shanghai-3).
        (None, Some(id)) => format!("{}-{}", call.region, id % 1000),
        (None, None) => return Err(TcError::missing_parameter("ZoneId")),
    };
    let no_auth = p.flag("NoAuth")?.unwrap_or(false);
    match (p.str("Password")?, no_auth) {
        (Some(_), true) => {
            return Err(TcError::new(
                "InvalidParameterValue",
                "A password-free instance (`NoAuth`) takes no `Password`.",
            ));
        }
        (Some(password), false) if !password_ok(password) => {
            return Err(TcError::new(
                "InvalidParameterValue.PasswordRuleError",
                "The password must be 8 to 16 characters with at least two of: letters, \
                 digits and special characters.",
            ));
        }
        (None, false) => return Err(TcError::missing_parameter("Password")),
        _ => {}
    }
    let (vpc_id, subnet_id) = (p.required_str("VpcId")?, p.required_str("SubnetId")?);
    let cidr = database::network(state, call.region, vpc_id, subnet_id)?;
    let name = p.str("InstanceName")?.unwrap_or("");
    let port = p.uint("VPort")?.unwrap_or(6379);
    state.last_deal_id = state.last_deal_id.max(59_842_766) + 1;
    let deal_id = state.last_deal_id.to_string();
    let mut ids = Vec::new();
    for _ in 0..count {
        let used: Vec<String> = state
            .redis_instances
            .values()
            .flatten()
            .map(|i| i.wan_ip.clone())
            .collect();
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let instance = RedisInstance {
            instance_id: state.new_id("crs"),
            instance_name: name.to_owned(),
            status: 1,
            type_id,
            size: mem_size,
            zone_name: zone.clone(),
            uniq_vpc_id: vpc_id.to_owned(),
            uniq_subnet_id: subnet_id.to_owned(),
            wan_ip: database::service_ip(&cidr, &used)?,
            port,
            billing_mode,
            no_auth,
            createtime: state::created_time(),
            running_at: call.now_ms.saturating_add(CREATE_MS),
        };
        ids.push(instance.instance_id.clone());
        state
            .redis_instances
            .entry(call.region.to_owned())
            .or_default()
            .push(instance);
    }
    Ok(json!({ "DealId": deal_id, "InstanceIds": ids }))
}

/// `DescribeInstances {InstanceId?, Offset?, Limit?}` → `{TotalCount, InstanceSet}`.
fn describe(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&["InstanceId", "Offset", "Limit"])?;
    let id = p.str("InstanceId")?;
    let limit = p.uint("Limit")?.unwrap_or(20);
    if limit > 1000 {
        return Err(TcError::out_of_range(
            "Limit",
            &limit.to_string(),
            "0 to 1000",
        ));
    }
    let offset = p.uint("Offset")?.unwrap_or(0);
    let matched: Vec<&RedisInstance> = state
        .redis_instances
        .get(call.region)
        .into_iter()
        .flatten()
        .filter(|i| id.is_none_or(|id| i.instance_id == id))
        .collect();
    let (total, page) = state::page(matched, offset, limit);
    Ok(json!({ "TotalCount": total, "InstanceSet": page }))
}

/// Test helpers: what the Redis state holds.
impl TencentSim {
    /// The ids of the Redis instances in `region`, in creation order.
    pub fn redis_ids(&self, region: &str) -> Vec<String> {
        let state = self.shared.state_now();
        state
            .redis_instances
            .get(region)
            .map(|i| i.iter().map(|i| i.instance_id.clone()).collect())
            .unwrap_or_default()
    }

    /// `(Status, NoAuth)` of Redis instance `id` in `region`, if it exists.
    pub fn redis_status(&self, region: &str, id: &str) -> Option<(i8, bool)> {
        let state = self.shared.state_now();
        state
            .redis_instances
            .get(region)?
            .iter()
            .find(|i| i.instance_id == id)
            .map(|i| (i.status, i.no_auth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_eight_to_sixteen_characters_of_two_classes() {
        assert!(password_ok("sample@2018!"));
        assert!(password_ok("abcdefg1"));
        assert!(!password_ok("abcdefgh"), "one class");
        assert!(!password_ok("ab1"), "too short");
        assert!(!password_ok("abcdefgh12345678x"), "too long");
    }
}
