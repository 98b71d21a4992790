//! What the Capital Online simulator remembers: VDCs and their networks, instances, disks,
//! security groups, templates, and the tasks mutating calls start.
//!
//! A mutating call validates, then starts a [`Task`]. Unless the task is set to fail (the
//! [`State::fail_next_tasks`] fault hook), its effect is applied at once and only the task's
//! status lags: `NEW` → `DOING` → `FINISH` in simulated time. A failing task changes nothing and
//! ends in `ERROR`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// How long a task stays `NEW`, then how long in total until it ends, in simulated ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskTiming {
    /// `NEW` until this long after the call.
    pub new_ms: u64,
    /// `FINISH`/`ERROR` from this long after the call (`DOING` in between).
    pub done_ms: u64,
}

impl Default for TaskTiming {
    /// 2 s `NEW`, done after 20 s.
    fn default() -> Self {
        Self {
            new_ms: 2_000,
            done_ms: 20_000,
        }
    }
}

/// One asynchronous task.
#[derive(Debug, Clone)]
pub struct Task {
    /// `TaskId` (numeric text, as most real ids are).
    pub id: String,
    /// `TaskType`, e.g. `orderCreateVM`.
    pub task_type: &'static str,
    /// Simulated time of the call.
    pub started_ms: u64,
    /// The resources the task made or changed.
    pub resource_ids: Vec<String>,
    /// Whether it ends in `ERROR`.
    pub fails: bool,
}

impl Task {
    /// `NEW`, `DOING`, `FINISH` or `ERROR` at `now_ms`.
    pub fn status(&self, now_ms: u64, timing: TaskTiming) -> &'static str {
        let age = now_ms.saturating_sub(self.started_ms);
        if age < timing.new_ms {
            "NEW"
        } else if age < timing.done_ms {
            "DOING"
        } else if self.fails {
            "ERROR"
        } else {
            "FINISH"
        }
    }
}

/// A virtual data centre.
#[derive(Debug, Clone)]
pub struct Vdc {
    /// `VdcId`.
    pub id: String,
    /// `VdcName`.
    pub name: String,
    /// `RegionId`, e.g. `CN_Beijing_A`.
    pub region_id: String,
}

/// A block of public addresses of a public network.
#[derive(Debug, Clone)]
pub struct Segment {
    /// `SegmentId`.
    pub id: String,
    /// The usable addresses, first one the gateway.
    pub addresses: Vec<String>,
    /// `Mask`.
    pub mask: u8,
}

/// A public network (WAN) of a VDC.
#[derive(Debug, Clone)]
pub struct PublicNetwork {
    /// `PublicId`.
    pub id: String,
    /// Its VDC.
    pub vdc_id: String,
    /// `Name`.
    pub name: String,
    /// Bandwidth type, e.g. `Bandwidth_BGP`.
    pub kind: String,
    /// `BillingMethod`.
    pub billing_method: String,
    /// Bandwidth in Mbps.
    pub qos: u64,
    /// 1 when it renews itself.
    pub auto_renew: u64,
    /// Its address blocks.
    pub segments: Vec<Segment>,
}

/// A private network of a VDC.
#[derive(Debug, Clone)]
pub struct PrivateNetwork {
    /// `PrivateId`.
    pub id: String,
    /// Its VDC.
    pub vdc_id: String,
    /// `Name`.
    pub name: String,
    /// Network address, e.g. `10.240.1.0`.
    pub address: String,
    /// Prefix length.
    pub mask: u8,
}

/// A network interface of an instance.
#[derive(Debug, Clone)]
pub struct Interface {
    /// `InterfaceId`.
    pub id: String,
    /// The `PrivateId` or `PublicId` it is on.
    pub network_id: String,
    /// Its address.
    pub ip: String,
    /// 1 when connected.
    pub connected: u8,
}

/// A cloud server.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `InstanceId`.
    pub id: String,
    /// `InstanceName`.
    pub name: String,
    /// Its VDC.
    pub vdc_id: String,
    /// `RegionId`.
    pub region_id: String,
    /// vCPUs.
    pub cpu: u64,
    /// GB of memory.
    pub ram: u64,
    /// `InstanceType`.
    pub instance_type: String,
    /// Template it runs.
    pub image_id: String,
    /// `PostPaid` or `PrePaid`.
    pub charge_type: String,
    /// The root password it was created with (tests check generated passwords).
    pub password: String,
    /// `running`, `shutdown`, ...
    pub status: &'static str,
    /// System disk size, GB.
    pub system_disk_size: u64,
    /// Private interfaces.
    pub private: Vec<Interface>,
    /// The public interface, if it has one.
    pub public: Option<Interface>,
}

/// A data disk.
#[derive(Debug, Clone)]
pub struct Disk {
    /// `DiskId`.
    pub id: String,
    /// The instance it is attached to.
    pub instance_id: String,
    /// GB.
    pub size: u64,
    /// e.g. `ssd_disk`.
    pub kind: String,
}

/// A security group rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `RuleId`.
    pub id: String,
    /// The rule's fields as the API shows them (`Action`, `Protocol`, ...).
    pub fields: serde_json::Map<String, Value>,
}

/// A security group.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    /// `SecurityGroupId`.
    pub id: String,
    /// `SecurityGroupName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `public` or `private`.
    pub kind: String,
    /// Its rules, by priority order.
    pub rules: Vec<Rule>,
    /// Bound (instance, network) pairs.
    pub bindings: Vec<(String, String)>,
    /// Creation time text.
    pub created: String,
}

/// A custom template (image) made from an instance.
#[derive(Debug, Clone)]
pub struct Template {
    /// `TemplateId`.
    pub id: String,
    /// `Name`.
    pub name: String,
    /// The instance it was made from.
    pub instance_id: String,
    /// Regions it is available in.
    pub regions: Vec<String>,
    /// Creation time text.
    pub created: String,
}

/// Everything the simulator holds.
#[derive(Debug, Default)]
pub struct State {
    /// VDCs by id.
    pub vdcs: BTreeMap<String, Vdc>,
    /// Public networks by id.
    pub public_networks: BTreeMap<String, PublicNetwork>,
    /// Private networks by id.
    pub private_networks: BTreeMap<String, PrivateNetwork>,
    /// Instances by id.
    pub instances: BTreeMap<String, Instance>,
    /// Data disks by id.
    pub disks: BTreeMap<String, Disk>,
    /// Security groups by id.
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Templates by id.
    pub templates: BTreeMap<String, Template>,
    /// Tasks by id.
    pub tasks: BTreeMap<String, Task>,
    /// How many of the next tasks end in `ERROR`.
    pub fail_next_tasks: u32,
    /// How many of the next `DescribeTask` calls fail with HTTP 500 `InternalError` (as one
    /// made too soon after the call does on the real API).
    pub fail_next_polls: u32,
    /// Serial number source for task ids and addresses.
    pub serial: u64,
}

/// A new resource id (a UUID, as Capital Online uses).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl State {
    /// The next serial number.
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// Starts a task at `now_ms`; returns whether its effect should be applied and its id.
    /// The effect is applied by the caller only when this says so (a failing task changes
    /// nothing).
    pub fn start_task(
        &mut self,
        task_type: &'static str,
        now_ms: u64,
        resource_ids: Vec<String>,
    ) -> (bool, String) {
        let fails = self.fail_next_tasks > 0;
        if fails {
            self.fail_next_tasks -= 1;
        }
        let id = (7_688_000 + self.next_serial()).to_string();
        self.tasks.insert(
            id.clone(),
            Task {
                id: id.clone(),
                task_type,
                started_ms: now_ms,
                resource_ids,
                fails,
            },
        );
        (!fails, id)
    }

    /// A fresh private address on network `private_id`.
    pub fn private_ip(&mut self, private_id: &str) -> String {
        let base = self
            .private_networks
            .get(private_id)
            .map(|n| n.address.clone())
            .unwrap_or_else(|| "10.240.0.0".to_owned());
        let prefix: Vec<&str> = base.split('.').take(3).collect();
        format!("{}.{}", prefix.join("."), 1 + self.next_serial() % 250)
    }

    /// A fresh public address block of `count` addresses.
    pub fn public_segment(&mut self, count: u64) -> Segment {
        let block = self.next_serial();
        let addresses = (0..count.max(1))
            .map(|i| format!("118.{}.{}.{}", 186 + block / 250 % 50, block % 250, 2 + i))
            .collect();
        Segment {
            id: new_id(),
            addresses,
            mask: 28,
        }
    }

    /// The `{Status, ResourceId, ResourceIds, TaskType}` of task `id` at `now_ms`.
    pub fn task_data(&self, id: &str, now_ms: u64, timing: TaskTiming) -> Option<Value> {
        let task = self.tasks.get(id)?;
        Some(json!({
            "Status": task.status(now_ms, timing),
            "ResourceId": task.resource_ids.first().cloned().unwrap_or_default(),
            "ResourceIds": task.resource_ids,
            "TaskType": task.task_type,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_moves_new_doing_finish_in_simulated_time() {
        let mut state = State::default();
        let timing = TaskTiming::default();
        let (apply, id) = state.start_task("orderCreateVM", 1_000, vec!["vm-1".into()]);
        assert!(apply);
        let status = |s: &State, t| s.task_data(&id, t, timing).unwrap()["Status"].clone();
        assert_eq!(status(&state, 1_000), "NEW");
        assert_eq!(status(&state, 3_000), "DOING");
        assert_eq!(status(&state, 20_999), "DOING");
        assert_eq!(status(&state, 21_000), "FINISH");
        assert_eq!(
            state.task_data(&id, 21_000, timing).unwrap()["ResourceIds"],
            json!(["vm-1"])
        );
    }

    #[test]
    fn the_fault_hook_makes_the_next_task_end_in_error_without_effect() {
        let mut state = State {
            fail_next_tasks: 1,
            ..State::default()
        };
        let timing = TaskTiming::default();
        let (apply, failing) = state.start_task("orderCreateVM", 0, vec![]);
        assert!(!apply);
        let (apply_next, ok) = state.start_task("orderCreateVM", 0, vec![]);
        assert!(apply_next);
        assert_eq!(
            state.task_data(&failing, 30_000, timing).unwrap()["Status"],
            "ERROR"
        );
        assert_eq!(
            state.task_data(&ok, 30_000, timing).unwrap()["Status"],
            "FINISH"
        );
        assert!(state.task_data("nope", 0, timing).is_none());
    }
}
