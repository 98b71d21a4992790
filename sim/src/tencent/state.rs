//! The resources one Tencent simulator holds, per region.
//!
//! One [`State`] sits behind a mutex in the server; product modules (`vpc.rs`, later `cvm.rs`, …)
//! add their own collections here and get `&mut State` for the duration of one call.

use std::collections::{BTreeMap, HashSet};

use rand::Rng;
use rand::distr::Alphanumeric;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::address::Address;
use super::cbs::Disk;
use super::cdb::{AsyncRequest, DbInstance};
use super::cvm::Instance;
use super::error::TcError;
use super::mariadb::MariadbInstance;
use super::nat::NatGateway;
use super::peering::Peering;
use super::redis::RedisInstance;
use super::route_table::RouteTable;
use super::security_group::SecurityGroup;
use super::subnet::Subnet;
use super::vpc::Vpc;

/// Everything the simulator has created.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// VPCs by region, in creation order.
    pub(crate) vpcs: BTreeMap<String, Vec<Vpc>>,
    /// Most VPCs per region.
    pub(crate) vpc_quota: usize,
    /// Subnets by region, in creation order.
    pub(crate) subnets: BTreeMap<String, Vec<Subnet>>,
    /// Route tables by region (main tables included), in creation order.
    pub(crate) route_tables: BTreeMap<String, Vec<RouteTable>>,
    /// Security groups by region, in creation order.
    pub(crate) security_groups: BTreeMap<String, Vec<SecurityGroup>>,
    /// The last `RouteId` handed out (route ids are integers, unique per simulator).
    pub(crate) last_route_id: u64,
    /// CVM instances by region, in creation order.
    pub(crate) instances: BTreeMap<String, Vec<Instance>>,
    /// NAT gateways by region, in creation order.
    pub(crate) nat_gateways: BTreeMap<String, Vec<NatGateway>>,
    /// Elastic IPs by region, in allocation order.
    pub(crate) addresses: BTreeMap<String, Vec<Address>>,
    /// VPC peering connections (each shows in its source and destination region), in creation
    /// order.
    pub(crate) peerings: Vec<Peering>,
    /// CBS disks by region, in creation order.
    pub(crate) disks: BTreeMap<String, Vec<Disk>>,
    /// CDB (MySQL) instances by region, in creation order.
    pub(crate) db_instances: BTreeMap<String, Vec<DbInstance>>,
    /// CDB asynchronous requests (restarts) by id.
    pub(crate) async_requests: BTreeMap<String, AsyncRequest>,
    /// MariaDB instances by region, in creation order.
    pub(crate) mariadb_instances: BTreeMap<String, Vec<MariadbInstance>>,
    /// Redis instances by region, in creation order.
    pub(crate) redis_instances: BTreeMap<String, Vec<RedisInstance>>,
    /// The last deal id handed out (Redis `DealId`s are numbers).
    pub(crate) last_deal_id: u64,
    /// Every id handed out. Tencent never reuses a resource id, and a set keeps id allocation
    /// O(1) however many resources exist (a scan made the simulator slower as state grew).
    pub(crate) issued_ids: HashSet<String>,
}

impl State {
    /// The VPC `id` in `region`: `InvalidParameterValue.Malformed` unless it looks like a VPC
    /// id, `ResourceNotFound` unless it exists.
    pub(crate) fn vpc(&self, region: &str, name: &str, id: &str) -> Result<&Vpc, TcError> {
        check_id("vpc", name, id)?;
        self.vpcs
            .get(region)
            .and_then(|vpcs| vpcs.iter().find(|v| v.vpc_id == id))
            .ok_or_else(TcError::resource_not_found)
    }

    /// A fresh resource id: `prefix-` plus 8 lower-case letters and digits, as Tencent's ids look.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        let mut rng = rand::rng();
        loop {
            let suffix: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(8)
                .map(|b| char::from(b).to_ascii_lowercase())
                .collect();
            let id = format!("{prefix}-{suffix}");
            if self.issued_ids.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// Whether `zone` is a zone of `region` (`<region>-<n>`, as `ap-shanghai-3`).
pub(crate) fn zone_in_region(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `InvalidZone.MismatchRegion` unless [`zone_in_region`].
pub(crate) fn check_zone(zone: &str, region: &str) -> Result<(), TcError> {
    if zone_in_region(zone, region) {
        Ok(())
    } else {
        Err(TcError::new(
            "InvalidZone.MismatchRegion",
            format!("The zone `{zone}` is not a zone of region `{region}`."),
        ))
    }
}

/// Whether `id` has the shape of a resource id: `prefix-` plus 8 lower-case letters or digits.
pub(crate) fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|suffix| {
            suffix.len() == 8
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `InvalidParameterValue.Malformed` (naming parameter `name`) unless [`is_id`].
pub(crate) fn check_id(prefix: &str, name: &str, id: &str) -> Result<(), TcError> {
    if is_id(prefix, id) {
        Ok(())
    } else {
        Err(TcError::malformed(name, id))
    }
}

/// The `*Ids` list of a `Describe*` call: every id well-formed (`check_id`), at most 100, and
/// every one found in `items` (`ResourceNotFound` otherwise, as real Tencent answers); then the
/// `Offset`/`Limit` page of the matches and their total count.
pub(crate) fn describe_page<'a, T>(
    items: &'a [T],
    ids: Option<&[&str]>,
    offset: u64,
    limit: u64,
    (prefix, name): (&str, &str),
    id_of: impl Fn(&T) -> &str,
) -> Result<(usize, Vec<&'a T>), TcError> {
    if limit > 100 {
        return Err(TcError::out_of_range(
            "Limit",
            &limit.to_string(),
            "0 to 100",
        ));
    }
    let matched: Vec<&T> = match ids {
        Some(ids) => {
            if ids.len() > 100 {
                return Err(TcError::out_of_range(
                    name,
                    &ids.len().to_string(),
                    "at most 100 ids",
                ));
            }
            ids.iter().try_for_each(|id| check_id(prefix, name, id))?;
            let found: Vec<&T> = items.iter().filter(|i| ids.contains(&id_of(i))).collect();
            if ids.iter().any(|id| !found.iter().any(|i| id_of(i) == *id)) {
                return Err(TcError::resource_not_found());
            }
            found
        }
        None => items.iter().collect(),
    };
    Ok(page(matched, offset, limit))
}

/// `(TotalCount, the page at Offset of at most Limit items)` of everything that matched.
pub(crate) fn page<T>(matched: Vec<T>, offset: u64, limit: u64) -> (usize, Vec<T>) {
    let total = matched.len();
    let page = matched
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    (total, page)
}

/// Remove the item of `items` whose id is `id` (`ResourceNotFound` if there is none).
pub(crate) fn remove_by_id<T>(
    items: Option<&mut Vec<T>>,
    id: &str,
    id_of: impl Fn(&T) -> &str,
) -> Result<T, TcError> {
    let items = items.ok_or_else(TcError::resource_not_found)?;
    let index = items
        .iter()
        .position(|item| id_of(item) == id)
        .ok_or_else(TcError::resource_not_found)?;
    Ok(items.remove(index))
}

/// "now" as Tencent writes `CreatedTime`: `YYYY-MM-DD HH:MM:SS`, Beijing time (UTC+8).
pub(crate) fn created_time() -> String {
    OffsetDateTime::now_utc()
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .expect("a current date always formats")
}
