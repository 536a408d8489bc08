//! Deltas between full reports ("unmerge").
//!
//! A probe sends a full report every few publishes and deltas in between. A [`Delta`] relative to
//! a base report holds every node that is new or changed (whole), the ids of nodes gone since the
//! base, and the non-node fields whole. [`apply`] of a delta to its base gives exactly the full
//! report it was computed from: `apply(base, &diff(base, full)) == full`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Kind, NodeId, Report, Topology};

/// Changes from a base report to a newer full report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// Changed and new nodes (whole), topology controls, and the whole non-node fields.
    pub report: Report,
    /// Nodes present in the base and gone now, by kind.
    pub removed: BTreeMap<Kind, Vec<NodeId>>,
}

impl Delta {
    /// Number of changed, new and removed nodes.
    pub fn size(&self) -> usize {
        self.report.node_count() + self.removed.values().map(Vec::len).sum::<usize>()
    }
}

/// Computes the delta that turns `base` into `full`.
pub fn diff(base: &Report, full: &Report) -> Delta {
    let mut report = Report {
        timestamp: full.timestamp,
        topologies: BTreeMap::new(),
        dns: full.dns.clone(),
        plugins: full.plugins.clone(),
        window_ms: full.window_ms,
    };
    let mut removed: BTreeMap<Kind, Vec<NodeId>> = BTreeMap::new();
    let empty = Topology::default();
    for kind in Kind::ALL {
        let b = base.topologies.get(&kind);
        let f = full.topologies.get(&kind);
        if b.is_none() && f.is_none() {
            continue;
        }
        let b = b.unwrap_or(&empty);
        let f = f.unwrap_or(&empty);
        let mut t = Topology {
            nodes: BTreeMap::new(),
            controls: f.controls.clone(),
        };
        for (id, n) in &f.nodes {
            // Unchanged nodes are often the very same shared node: compare pointers first.
            let same = b
                .nodes
                .get(id)
                .is_some_and(|bn| Arc::ptr_eq(bn, n) || bn == n);
            if !same {
                t.nodes.insert(id.clone(), n.clone());
            }
        }
        let gone: Vec<NodeId> = b
            .nodes
            .keys()
            .filter(|id| !f.nodes.contains_key(*id))
            .cloned()
            .collect();
        if !gone.is_empty() {
            removed.insert(kind, gone);
        }
        // Keep the topology entry when the full report has it, so `apply` knows whether the full
        // report had this topology at all.
        if full.topologies.contains_key(&kind) {
            report.topologies.insert(kind, t);
        }
    }
    Delta { report, removed }
}

/// Applies `delta` to `base`, giving the full report it was computed from.
pub fn apply(base: &Report, delta: &Delta) -> Report {
    let mut out = base.clone();
    apply_in_place(&mut out, delta.clone());
    out
}

/// Applies `delta` to `base` in place, consuming the delta (no node clones).
pub fn apply_in_place(base: &mut Report, delta: Delta) {
    base.timestamp = delta.report.timestamp;
    base.window_ms = delta.report.window_ms;
    base.dns = delta.report.dns;
    base.plugins = delta.report.plugins;
    for (kind, ids) in &delta.removed {
        if let Some(t) = base.topologies.get_mut(kind) {
            for id in ids {
                t.nodes.remove(id);
            }
        }
    }
    // A topology the full report did not have is one the base had only empty or not at all.
    base.topologies
        .retain(|k, t| delta.report.topologies.contains_key(k) || !t.nodes.is_empty());
    for (kind, t) in delta.report.topologies {
        let mine = base.topologies.entry(kind).or_default();
        mine.controls = t.controls;
        mine.nodes.extend(t.nodes);
    }
}
