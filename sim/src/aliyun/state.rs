//! The resources one Alibaba simulator holds.
//!
//! Every resource is a [`Resource`]: a kind (its id prefix: `vpc`, `vsw`, `vtb`, …), an id, a
//! region, the attributes its describe action shows, and a status that follows the simulated
//! clock (`Pending` until `ready_ms`, then its ready status). Product modules keep their own
//! attribute names; the store only finds, lists and removes.

use std::collections::HashSet;

use rand::Rng;
use serde_json::{Map, Value};

/// One simulated resource.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The id prefix, e.g. `vpc`.
    pub(crate) kind: &'static str,
    /// The id, e.g. `vpc-t4n0iti7ecd8erg63nngq`.
    pub(crate) id: String,
    /// Its region.
    pub(crate) region: String,
    /// Status until `ready_ms`.
    pub(crate) pending_status: &'static str,
    /// Status from `ready_ms` on.
    pub(crate) ready_status: String,
    /// When it leaves `pending_status` (simulated ms since the epoch).
    pub(crate) ready_ms: u64,
    /// Product-specific attributes, in the API's own names.
    pub(crate) attrs: Map<String, Value>,
    /// When a resource being deleted disappears (simulated ms), if it is being deleted.
    pub(crate) gone_ms: Option<u64>,
}

impl Resource {
    /// Its status at `now_ms`.
    pub(crate) fn status(&self, now_ms: u64) -> &str {
        if now_ms < self.ready_ms {
            self.pending_status
        } else {
            &self.ready_status
        }
    }

    /// The string attribute `key`, `""` when absent.
    pub(crate) fn attr(&self, key: &str) -> &str {
        self.attrs.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Starts a transition: `during` until `now_ms + ms`, then `after`.
    pub(crate) fn transition(&mut self, during: &'static str, after: &str, now_ms: u64, ms: u64) {
        self.pending_status = during;
        self.ready_status = after.to_owned();
        self.ready_ms = now_ms + ms;
    }

    /// Sets attribute `key`.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.attrs.insert(key.to_owned(), value.into());
    }
}

/// Everything the simulator has created, in creation order.
#[derive(Debug, Default)]
pub(crate) struct State {
    items: Vec<Resource>,
    /// Every id handed out; Alibaba never reuses one.
    issued: HashSet<String>,
}

impl State {
    /// A fresh id: `prefix-` plus 21 lower-case letters and digits, as Alibaba's ids look.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        loop {
            let suffix: String = (0..21)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            let id = format!("{prefix}-{suffix}");
            if self.issued.insert(id.clone()) {
                return id;
            }
        }
    }

    /// Drops the resources whose deletion finished by `now_ms`.
    pub(crate) fn purge(&mut self, now_ms: u64) {
        self.items
            .retain(|r| r.gone_ms.is_none_or(|gone| now_ms < gone));
    }

    /// Adds a resource.
    pub(crate) fn insert(&mut self, resource: Resource) {
        self.issued.insert(resource.id.clone());
        self.items.push(resource);
    }

    /// The resource `id` of `kind` in `region`.
    pub(crate) fn get(&self, region: &str, kind: &str, id: &str) -> Option<&Resource> {
        self.items
            .iter()
            .find(|r| r.kind == kind && r.id == id && r.region == region)
    }

    /// The resource `id` of `kind` in `region`, mutable.
    pub(crate) fn get_mut(&mut self, region: &str, kind: &str, id: &str) -> Option<&mut Resource> {
        self.items
            .iter_mut()
            .find(|r| r.kind == kind && r.id == id && r.region == region)
    }

    /// Every resource of `kind` in `region`.
    pub(crate) fn list<'a>(
        &'a self,
        region: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.items
            .iter()
            .filter(move |r| r.kind == kind && r.region == region)
    }

    /// Removes the resource `id` of `kind` in `region`; false if it was not there.
    pub(crate) fn remove(&mut self, region: &str, kind: &str, id: &str) -> bool {
        let before = self.items.len();
        self.items
            .retain(|r| !(r.kind == kind && r.id == id && r.region == region));
        self.items.len() != before
    }

    /// Ids of `kind` in `region`, in creation order.
    pub(crate) fn ids(&self, region: &str, kind: &str) -> Vec<String> {
        self.list(region, kind).map(|r| r.id.clone()).collect()
    }

    /// Ids of `kind` in `region` for which `keep` holds.
    pub(crate) fn ids_where(
        &self,
        region: &str,
        kind: &str,
        keep: impl Fn(&Resource) -> bool,
    ) -> Vec<String> {
        self.list(region, kind)
            .filter(|r| keep(r))
            .map(|r| r.id.clone())
            .collect()
    }

    /// The route table of vSwitch `id`.
    pub(crate) fn vswitch_route_table(&self, region: &str, id: &str) -> Option<String> {
        self.get(region, "vsw", id)
            .map(|v| v.attr("RouteTableId").to_owned())
    }

    /// The destination CIDRs of route table `id`'s entries.
    pub(crate) fn route_destinations(&self, region: &str, id: &str) -> Vec<String> {
        self.get(region, "vtb", id)
            .and_then(|t| t.attrs.get("Entries"))
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e["DestinationCidrBlock"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An IPv4 CIDR block: (network address, prefix length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: u32,
    len: u32,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (host bits must be zero).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (ip, len) = text.split_once('/')?;
        let len: u32 = len.parse().ok()?;
        let octets: Vec<u32> = ip
            .split('.')
            .map(|o| o.parse::<u8>().ok().map(u32::from))
            .collect::<Option<_>>()?;
        if octets.len() != 4 || len > 32 {
            return None;
        }
        let addr = octets.iter().fold(0, |acc, o| (acc << 8) | o);
        let cidr = Self { addr, len };
        (addr & !cidr.mask() == 0).then_some(cidr)
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        }
    }

    /// The `n`-th address of the block (0 is the network address), as text.
    pub(crate) fn host(self, n: u32) -> String {
        let a = self.addr.wrapping_add(n);
        format!(
            "{}.{}.{}.{}",
            a >> 24,
            (a >> 16) & 255,
            (a >> 8) & 255,
            a & 255
        )
    }

    /// Whether `other` lies inside this block.
    pub(crate) fn contains(self, other: Cidr) -> bool {
        other.len >= self.len && other.addr & self.mask() == self.addr
    }

    /// Whether the two blocks share an address.
    pub(crate) fn overlaps(self, other: Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}
