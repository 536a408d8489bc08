//! Merge rules (Weave Scope's `report/node.go`, `topology.go`, `report.go`), written so that merge
//! is associative, commutative and idempotent: ties are broken by value, never by argument order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::{Latest, Metric, Node, Report, Sample, Topology};

impl Node {
    /// Merges `other` into `self`: newest timestamp wins per latest key (equal timestamps: the
    /// greater value, so the result does not depend on order); sets, adjacency and parents are
    /// unioned; metric samples interleaved.
    pub fn merge_from(&mut self, other: &Node) {
        merge_latest(&mut self.latest, &other.latest);
        for (k, v) in &other.sets {
            match self.sets.get_mut(k) {
                Some(mine) => union_into(mine, v),
                None => {
                    self.sets.insert(k.clone(), v.clone());
                }
            }
        }
        union_into(&mut self.adjacency, &other.adjacency);
        for (k, v) in &other.parents {
            match self.parents.get_mut(k) {
                Some(mine) => union_into(mine, v),
                None => {
                    self.parents.insert(*k, v.clone());
                }
            }
        }
        for (k, m) in &other.metrics {
            match self.metrics.get_mut(k) {
                Some(mine) => mine.merge_from(m),
                None => {
                    self.metrics.insert(k.clone(), m.clone());
                }
            }
        }
    }
}

/// Adds the members of `theirs` to `mine`, cloning only the ones `mine` lacks (merges mostly
/// meet sets they already hold).
fn union_into<T: Ord + Clone>(mine: &mut BTreeSet<T>, theirs: &BTreeSet<T>) {
    for x in theirs {
        if !mine.contains(x) {
            mine.insert(x.clone());
        }
    }
}

fn merge_latest(mine: &mut BTreeMap<String, Latest>, theirs: &BTreeMap<String, Latest>) {
    for (k, l) in theirs {
        match mine.get_mut(k) {
            Some(m) => {
                if (l.timestamp, &l.value) > (m.timestamp, &m.value) {
                    *m = l.clone();
                }
            }
            None => {
                mine.insert(k.clone(), l.clone());
            }
        }
    }
}

impl Metric {
    /// Interleaves samples by timestamp (equal timestamps keep the larger value); min and max are
    /// combined.
    pub fn merge_from(&mut self, other: &Metric) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.samples.is_empty() {
            return;
        }
        // Fast path: the other's samples are already here (merging a report into one that holds
        // it, as the app does every merge).
        if other.samples.len() <= self.samples.len()
            && self.samples[self.samples.len() - other.samples.len()..] == other.samples[..]
        {
            return;
        }
        // Fast path: the other's samples are all newer (the usual case when a probe's new sample
        // arrives).
        if self
            .samples
            .last()
            .is_none_or(|l| l.timestamp < other.samples[0].timestamp)
        {
            self.samples.extend_from_slice(&other.samples);
            return;
        }
        let mut out: Vec<Sample> = Vec::with_capacity(self.samples.len() + other.samples.len());
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.samples, &other.samples);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x.timestamp == y.timestamp => {
                    i += 1;
                    j += 1;
                    if x.value.total_cmp(&y.value).is_ge() {
                        *x
                    } else {
                        *y
                    }
                }
                (Some(x), Some(y)) if x.timestamp < y.timestamp => {
                    i += 1;
                    *x
                }
                (Some(_), Some(y)) => {
                    j += 1;
                    *y
                }
                (Some(x), None) => {
                    i += 1;
                    *x
                }
                (None, Some(y)) => {
                    j += 1;
                    *y
                }
                (None, None) => unreachable!("loop condition"),
            };
            out.push(next);
        }
        self.samples = out;
    }
}

impl Topology {
    /// Merges nodes per id and unions controls (same id: the greater, for order independence).
    pub fn merge_from(&mut self, other: &Topology) {
        for (id, n) in &other.nodes {
            match self.nodes.get_mut(id) {
                // The same shared node merged with itself is unchanged (merge is idempotent).
                Some(mine) if Arc::ptr_eq(mine, n) => {}
                Some(mine) => Arc::make_mut(mine).merge_from(n),
                None => {
                    self.nodes.insert(id.clone(), n.clone());
                }
            }
        }
        for (id, c) in &other.controls {
            match self.controls.get_mut(id) {
                Some(mine) if *mine >= *c => {}
                _ => {
                    self.controls.insert(id.clone(), c.clone());
                }
            }
        }
    }
}

impl Report {
    /// Merges `other` into `self`.
    pub fn merge_from(&mut self, other: &Report) {
        self.timestamp = match (self.timestamp, other.timestamp) {
            (0, t) | (t, 0) => t,
            (a, b) => a.min(b),
        };
        self.window_ms = self.window_ms.max(other.window_ms);
        for (k, t) in &other.topologies {
            match self.topologies.get_mut(k) {
                Some(mine) => mine.merge_from(t),
                None => {
                    self.topologies.insert(*k, t.clone());
                }
            }
        }
        for (ip, r) in &other.dns {
            let mine = self.dns.entry(ip.clone()).or_default();
            mine.forward.extend(r.forward.iter().cloned());
            mine.reverse.extend(r.reverse.iter().cloned());
        }
        for (id, p) in &other.plugins {
            match self.plugins.get_mut(id) {
                Some(mine) if *mine >= *p => {}
                _ => {
                    self.plugins.insert(id.clone(), p.clone());
                }
            }
        }
    }

    /// Merges `other` into `self`, taking ownership (avoids clones of new nodes).
    pub fn merge_owned(&mut self, other: Report) {
        if self.topologies.is_empty() && self.dns.is_empty() && self.plugins.is_empty() {
            let ts = self.timestamp;
            let window = self.window_ms;
            *self = other;
            self.window_ms = self.window_ms.max(window);
            if ts != 0 && (self.timestamp == 0 || ts < self.timestamp) {
                self.timestamp = ts;
            }
            return;
        }
        self.merge_from(&other);
    }
}
