//! The resources one Tencent simulator holds, per region.
//!
//! One [`State`] sits behind a mutex in the server; product modules (`vpc.rs`, later `cvm.rs`, …)
//! add their own collections here and get `&mut State` for the duration of one call.

use std::collections::BTreeMap;

use rand::Rng;
use rand::distr::Alphanumeric;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::vpc::Vpc;

/// Everything the simulator has created.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// VPCs by region, in creation order.
    pub(crate) vpcs: BTreeMap<String, Vec<Vpc>>,
    /// Most VPCs per region.
    pub(crate) vpc_quota: usize,
}

impl State {
    /// Whether any resource anywhere already has `id`.
    fn id_taken(&self, id: &str) -> bool {
        self.vpcs.values().flatten().any(|v| v.vpc_id == id)
    }

    /// A fresh resource id: `prefix-` plus 8 lower-case letters and digits, as Tencent's ids look.
    pub(crate) fn new_id(&self, prefix: &str) -> String {
        let mut rng = rand::rng();
        loop {
            let suffix: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(8)
                .map(|b| char::from(b).to_ascii_lowercase())
                .collect();
            let id = format!("{prefix}-{suffix}");
            if !self.id_taken(&id) {
                return id;
            }
        }
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

/// "now" as Tencent writes `CreatedTime`: `YYYY-MM-DD HH:MM:SS`, Beijing time (UTC+8).
pub(crate) fn created_time() -> String {
    OffsetDateTime::now_utc()
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .expect("a current date always formats")
}
