//! One probe's current report, kept up to date from full, delta and shortcut reports.

use scope_report::delta::{self, Delta};
use std::collections::HashMap;
use std::sync::Arc;

use scope_report::{Kind, Millis, Node, NodeId, Report};

/// Most endpoints of ended connections one probe's view keeps for the window, so a probe that
/// churns through endpoint ids cannot grow the collector without bound.
pub const MAX_LINGERING_ENDPOINTS: usize = 20_000;

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
    /// `base` plus metric history, shortcut nodes and the endpoints of connections that ended
    /// within the window: what gets merged into the tenant view.
    pub current: Report,
    /// When each endpoint of `current` was last in a report of the probe.
    endpoint_seen: HashMap<NodeId, Millis>,
}

impl ProbeReports {
    /// Applies an update received at `now`. `history_since` is the start of the merge window:
    /// it bounds the metric samples kept from earlier reports, so sparklines span the window
    /// without growing forever, and how long the endpoints of an ended connection stay.
    pub fn apply(
        &mut self,
        update: ProbeUpdate,
        now: Millis,
        history_since: Millis,
    ) -> Result<(), ApplyError> {
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
        self.linger_endpoints(&mut next, now, history_since);
        self.current = next;
        Ok(())
    }

    /// Keeps in `next` the endpoints that `current` had and the probe no longer reports, for
    /// the window after they were last reported. Scope's app merged every report of the window,
    /// so a connection of a millisecond stayed on the map for the window; holding only the
    /// probe's latest view would drop it at the next report.
    fn linger_endpoints(&mut self, next: &mut Report, now: Millis, since: Millis) {
        if let Some(t) = next.topology(Kind::Endpoint) {
            for id in t.nodes.keys() {
                match self.endpoint_seen.get_mut(id) {
                    Some(seen) => *seen = now,
                    None => {
                        self.endpoint_seen.insert(id.clone(), now);
                    }
                }
            }
        }
        if let Some(old) = self.current.topology(Kind::Endpoint) {
            let reported = next.topology(Kind::Endpoint).map_or(0, |t| t.nodes.len());
            let room = MAX_LINGERING_ENDPOINTS.saturating_sub(reported);
            let lingering: Vec<_> = old
                .nodes
                .iter()
                .filter(|(id, _)| {
                    !next
                        .topology(Kind::Endpoint)
                        .is_some_and(|t| t.nodes.contains_key(*id))
                        && self
                            .endpoint_seen
                            .get(*id)
                            .is_some_and(|&seen| seen >= since)
                })
                .take(room)
                .map(|(id, n)| (id.clone(), Arc::clone(n)))
                .collect();
            if !lingering.is_empty() {
                next.topology_mut(Kind::Endpoint).nodes.extend(lingering);
            }
        }
        match next.topology(Kind::Endpoint) {
            Some(t) => self.endpoint_seen.retain(|id, _| t.nodes.contains_key(id)),
            None => self.endpoint_seen.clear(),
        }
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
                0,
                0
            ),
            Err(ApplyError::MissingBase {
                base_seq: 1,
                held: None
            })
        );
        p.apply(ProbeUpdate::Full { seq: 1, report: r1 }, 1_000, 0)
            .unwrap();
        p.apply(
            ProbeUpdate::Delta {
                seq: 2,
                base_seq: 1,
                delta: d,
            },
            4_000,
            0,
        )
        .unwrap();
        assert_eq!(p.base, r2);
        let host = p.current.nodes(Kind::Host).next().unwrap();
        assert_eq!(host.metrics[keys::HOST_CPU].samples.len(), 2);
        // With a window that excludes the first sample, only the newest remains.
        let r3 = synthetic::host_report(0, shape, 7_000);
        p.apply(ProbeUpdate::Full { seq: 3, report: r3 }, 7_000, 5_000)
            .unwrap();
        let host = p.current.nodes(Kind::Host).next().unwrap();
        assert_eq!(host.metrics[keys::HOST_CPU].samples.len(), 1);
    }

    #[test]
    fn endpoints_of_ended_connections_stay_for_the_window() {
        let ep = |port: u16| NodeId::endpoint("h", "10.0.0.1".parse().unwrap(), port);
        let report = |ts: Millis, ports: &[u16]| {
            let mut r = Report::new(ts);
            for &p in ports {
                r.add_node(Node::new(ep(p), Kind::Endpoint));
            }
            r
        };
        let ids = |p: &ProbeReports| -> Vec<NodeId> {
            let mut v: Vec<NodeId> = p
                .current
                .nodes(Kind::Endpoint)
                .map(|n| n.id.clone())
                .collect();
            v.sort();
            v
        };
        let window = 15_000;
        let mut p = ProbeReports::default();
        let full = |seq, ts, ports: &[u16]| ProbeUpdate::Full {
            seq,
            report: report(ts, ports),
        };
        p.apply(full(1, 1_000, &[1, 2]), 1_000, 1_000 - window)
            .unwrap();
        // Connection 1 ended: the probe reports only 2, but 1 stays for the window.
        p.apply(full(2, 4_000, &[2]), 4_000, 4_000 - window)
            .unwrap();
        assert_eq!(ids(&p), [ep(1), ep(2)]);
        p.apply(full(3, 16_000, &[2]), 16_000, 16_000 - window)
            .unwrap();
        assert_eq!(ids(&p), [ep(1), ep(2)], "last seen at 1 s, window to 16 s");
        p.apply(full(4, 16_001, &[2]), 16_001, 16_001 - window)
            .unwrap();
        assert_eq!(ids(&p), [ep(2)], "gone after the window");
    }
}
