//! Per-plugin sandbox counters, served at `GET /metrics` in the Prometheus text format.
//!
//! Each loaded plugin's [`PluginEnv`](crate::capabilities::PluginEnv) holds its
//! [`PluginCounters`], so counting on the request path is one relaxed atomic add, never a map
//! lookup. Counters are kept by plugin name, so they survive a plugin being reloaded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// How a plugin instance was stopped by the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// It used up its CPU time (epoch deadline).
    Deadline,
    /// It tried to grow memory beyond its cap.
    Memory,
    /// It overflowed its stack.
    Stack,
    /// Any other trap (a panic, an unreachable, a bad host handle).
    Other,
}

impl TrapKind {
    const ALL: [Self; 4] = [Self::Deadline, Self::Memory, Self::Stack, Self::Other];

    fn label(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Memory => "memory",
            Self::Stack => "stack",
            Self::Other => "other",
        }
    }
}

/// A per-request limit a plugin ran into (the request may still have answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The whole call outlasted the wall-clock limit.
    WallTime,
    /// The response body exceeded the cap.
    ResponseBytes,
    /// The upstream-call budget was spent (`signed-http.send` refused).
    HostCalls,
    /// The log budget was spent (lines dropped).
    LogBudget,
    /// No instance slot freed up within the queue wait.
    Capacity,
    /// The queue for instance slots was full: refused at once.
    Queue,
}

impl Limit {
    const ALL: [Self; 6] = [
        Self::WallTime,
        Self::ResponseBytes,
        Self::HostCalls,
        Self::LogBudget,
        Self::Capacity,
        Self::Queue,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::WallTime => "wall_time",
            Self::ResponseBytes => "response_bytes",
            Self::HostCalls => "host_calls",
            Self::LogBudget => "log_budget",
            Self::Capacity => "capacity",
            Self::Queue => "queue_full",
        }
    }
}

/// The counters of one plugin.
#[derive(Debug, Default)]
pub struct PluginCounters {
    instantiations: AtomicU64,
    traps: [AtomicU64; TrapKind::ALL.len()],
    limit_hits: [AtomicU64; Limit::ALL.len()],
    egress_denials: AtomicU64,
}

impl PluginCounters {
    /// One instance was created.
    pub fn instantiated(&self) {
        self.instantiations.fetch_add(1, Ordering::Relaxed);
    }

    /// The sandbox stopped an instance.
    pub fn trapped(&self, kind: TrapKind) {
        self.traps[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A request ran into `limit`.
    pub fn limit_hit(&self, limit: Limit) {
        self.limit_hits[limit as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// An upstream request was refused by the egress policy.
    pub fn egress_denied(&self) {
        self.egress_denials.fetch_add(1, Ordering::Relaxed);
    }

    /// Instances created so far.
    pub fn instantiations(&self) -> u64 {
        self.instantiations.load(Ordering::Relaxed)
    }

    /// Traps of `kind` so far.
    pub fn traps(&self, kind: TrapKind) -> u64 {
        self.traps[kind as usize].load(Ordering::Relaxed)
    }

    /// Hits of `limit` so far.
    pub fn limit_hits(&self, limit: Limit) -> u64 {
        self.limit_hits[limit as usize].load(Ordering::Relaxed)
    }

    /// Egress denials so far.
    pub fn egress_denials(&self) -> u64 {
        self.egress_denials.load(Ordering::Relaxed)
    }
}

/// Every plugin's counters, by plugin name.
#[derive(Debug, Default)]
pub struct Metrics {
    plugins: RwLock<BTreeMap<String, Arc<PluginCounters>>>,
}

impl Metrics {
    /// The counters of `plugin`, created on first use.
    pub fn plugin(&self, plugin: &str) -> Arc<PluginCounters> {
        if let Some(counters) = self.plugins.read().expect("metrics lock").get(plugin) {
            return counters.clone();
        }
        self.plugins
            .write()
            .expect("metrics lock")
            .entry(plugin.to_owned())
            .or_default()
            .clone()
    }

    /// Every counter in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let plugins = self.plugins.read().expect("metrics lock");
        let mut out = String::new();
        let mut family =
            |name: &str, help: &str, samples: &mut dyn Iterator<Item = (String, u64)>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (labels, value) in samples {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            };
        family(
            "broker_plugin_instantiations_total",
            "Sandboxed instances created (one per request, one per load).",
            &mut plugins
                .iter()
                .map(|(p, c)| (format!("plugin=\"{}\"", escape(p)), c.instantiations())),
        );
        family(
            "broker_plugin_traps_total",
            "Instances stopped by the sandbox, by kind (deadline, memory, stack, other).",
            &mut plugins.iter().flat_map(|(p, c)| {
                TrapKind::ALL.into_iter().map(move |k| {
                    (
                        format!("plugin=\"{}\",kind=\"{}\"", escape(p), k.label()),
                        c.traps(k),
                    )
                })
            }),
        );
        family(
            "broker_plugin_limit_hits_total",
            "Requests that ran into a per-request limit, by limit.",
            &mut plugins.iter().flat_map(|(p, c)| {
                Limit::ALL.into_iter().map(move |l| {
                    (
                        format!("plugin=\"{}\",limit=\"{}\"", escape(p), l.label()),
                        c.limit_hits(l),
                    )
                })
            }),
        );
        family(
            "broker_plugin_egress_denials_total",
            "Upstream requests refused by the egress policy (undeclared host, forbidden address).",
            &mut plugins
                .iter()
                .map(|(p, c)| (format!("plugin=\"{}\"", escape(p)), c.egress_denials())),
        );
        out
    }
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_zeroes_and_counts() {
        let metrics = Metrics::default();
        let q = metrics.plugin("qcloud");
        q.instantiated();
        q.instantiated();
        q.trapped(TrapKind::Stack);
        q.limit_hit(Limit::HostCalls);
        q.limit_hit(Limit::Queue);
        q.egress_denied();
        assert!(Arc::ptr_eq(&q, &metrics.plugin("qcloud")));
        metrics.plugin("we\"ird");
        let text = metrics.render();
        for line in [
            "# TYPE broker_plugin_instantiations_total counter",
            "broker_plugin_instantiations_total{plugin=\"qcloud\"} 2",
            "broker_plugin_traps_total{plugin=\"qcloud\",kind=\"stack\"} 1",
            "broker_plugin_traps_total{plugin=\"qcloud\",kind=\"deadline\"} 0",
            "broker_plugin_limit_hits_total{plugin=\"qcloud\",limit=\"host_calls\"} 1",
            "broker_plugin_limit_hits_total{plugin=\"qcloud\",limit=\"queue_full\"} 1",
            "broker_plugin_egress_denials_total{plugin=\"qcloud\"} 1",
            "broker_plugin_egress_denials_total{plugin=\"we\\\"ird\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
    }
}
