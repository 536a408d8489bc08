//! One probe's current report, kept up to date from full, delta and shortcut reports.

use scope_report::delta::{self, Delta};
use std::sync::Arc;

use scope_report::{Millis, Node, Report};

/// A report as it arrives from a probe, already validated and converted.
#[derive(Debug, Clone)]
pub enum ProbeUpdate {
    /// Everything the probe sees; replaces its current report.
    Full {
        /// Sequence number on the probe's stream.
        seq: u64,
        /// The report.
        report: Report,
    },
    /// Changes relative to the full report numbered `base_seq`.
    Delta {
        /// Sequence number on the probe's stream.
        seq: u64,
        /// The full report this delta is relative to.
        base_seq: u64,
        /// The changes.
        delta: Delta,
    },
    /// Event-driven partial report, merged at once.
    Shortcut {
        /// Sequence number on the probe's stream.
        seq: u64,
        /// The nodes that changed.
        report: Report,
    },
}

impl ProbeUpdate {
    /// Number of nodes the update carries.
    pub fn node_count(&self) -> usize {
        match self {
            ProbeUpdate::Full { report, .. } | ProbeUpdate::Shortcut { report, .. } => {
                report.node_count()
            }
            ProbeUpdate::Delta { delta, .. } => delta.size(),
        }
    }

    /// Whether this is a shortcut (wants an immediate re-render).
    pub fn is_shortcut(&self) -> bool {
        matches!(self, ProbeUpdate::Shortcut { .. })
    }
}

/// Why an update could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A delta whose base this collector does not hold: the probe must send a full report.
    #[error("delta relative to report {base_seq}, but the last full report held is {held:?}")]
    MissingBase {
        /// The delta's base.
        base_seq: u64,
        /// The base held, if any.
        held: Option<u64>,
    },
    /// The probe is not known (no hello seen).
    #[error("unknown probe {0}")]
    UnknownProbe(String),
    /// The report comes from a replica that no longer holds the probe's stream (the probe
    /// reconnected elsewhere since): old news.
    #[error("probe {probe_id} is held by replica {holder}, not {replica}")]
    NotOwner {
        /// The probe.
        probe_id: String,
        /// The replica the report came from.
        replica: String,
        /// The replica holding the probe now.
        holder: String,
    },
}

/// A probe's reports as the collector holds them.
#[derive(Debug, Default)]
pub(crate) struct ProbeReports {
    /// The probe's last full report with every delta since applied: what the probe sees now.
    pub base: Report,
    /// Sequence number of the last full report.
    pub base_seq: Option<u64>,
    /// `base` plus metric history and shortcut nodes: what gets merged into the tenant view.
    pub current: Report,
}

impl ProbeReports {
    /// Applies an update. `history_since` bounds the metric samples kept from earlier reports
    /// (the merge window), so sparklines span the window without growing forever.
    pub fn apply(&mut self, update: ProbeUpdate, history_since: Millis) -> Result<(), ApplyError> {
        match update {
            ProbeUpdate::Full { seq, report } => {
                self.base = report;
                self.base_seq = Some(seq);
            }
            ProbeUpdate::Delta {
                base_seq, delta: d, ..
            } => {
                if self.base_seq != Some(base_seq) {
                    return Err(ApplyError::MissingBase {
                        base_seq,
                        held: self.base_seq,
                    });
                }
                delta::apply_in_place(&mut self.base, d);
            }
            ProbeUpdate::Shortcut { report, .. } => {
                // A shortcut's nodes replace ours whole (a container that just stopped must not
                // keep "running" from the older full report), but keep their metric history.
                for (kind, t) in report.topologies {
                    let cur = self.current.topology_mut(kind);
                    for (id, mut node) in t.nodes {
                        if let Some(old) = cur.nodes.get(&id) {
                            carry_metrics(&mut node, old, history_since);
                        }
                        cur.nodes.insert(id, node);
                    }
                    cur.controls.extend(t.controls);
                }
                return Ok(());
            }
        }
        let mut next = self.base.clone();
        for (kind, t) in next.topologies.iter_mut() {
            let Some(old_t) = self.current.topologies.get(kind) else {
                continue;
            };
            for (id, node) in t.nodes.iter_mut() {
                if let Some(old) = old_t.nodes.get(id) {
                    carry_metrics(node, old, history_since);
                }
            }
        }
        self.current = next;
        Ok(())
    }
}

fn carry_metrics(node: &mut Arc<Node>, old: &Node, since: Millis) {
    if old.metrics.is_empty() || node.metrics.is_empty() {
        return;
    }
    for (k, m) in Arc::make_mut(node).metrics.iter_mut() {
        if let Some(om) = old.metrics.get(k) {
            m.merge_from(om);
            m.trim_before(since);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scope_report::{Kind, keys, synthetic};

    #[test]
    fn deltas_need_their_base_and_metrics_accumulate() {
        let shape = synthetic::HostShape::fleet_member(2);
        let r1 = synthetic::host_report(0, shape, 1_000);
        let r2 = synthetic::host_report(0, shape, 4_000);
        let mut p = ProbeReports::default();
        let d = delta::diff(&r1, &r2);
        assert_eq!(
            p.apply(
                ProbeUpdate::Delta {
                    seq: 2,
                    base_seq: 1,
                    delta: d.clone()
                },
                0
            ),
            Err(ApplyError::MissingBase {
                base_seq: 1,
                held: None
            })
        );
        p.apply(ProbeUpdate::Full { seq: 1, report: r1 }, 0)
            .unwrap();
        p.apply(
            ProbeUpdate::Delta {
                seq: 2,
                base_seq: 1,
                delta: d,
            },
            0,
        )
        .unwrap();
        assert_eq!(p.base, r2);
        let host = p.current.nodes(Kind::Host).next().unwrap();
        assert_eq!(host.metrics[keys::HOST_CPU].samples.len(), 2);
        // With a window that excludes the first sample, only the newest remains.
        let r3 = synthetic::host_report(0, shape, 7_000);
        p.apply(ProbeUpdate::Full { seq: 3, report: r3 }, 5_000)
            .unwrap();
        let host = p.current.nodes(Kind::Host).next().unwrap();
        assert_eq!(host.metrics[keys::HOST_CPU].samples.len(), 1);
    }
}
