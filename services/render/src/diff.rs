//! Topology diffs for the WebSocket (Scope's `TopoDiff`): what changed between two frames.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::json::{Diff, NodeSummary};

/// The first frame: reset, and every node added.
pub fn reset(next: &BTreeMap<String, NodeSummary>) -> Diff {
    Diff {
        reset: true,
        add: next.values().cloned().collect(),
        ..Diff::default()
    }
}

/// What turns `prev` into `next`: nodes only in `next` are added, nodes in both that differ in
/// any field are updated (whole), ids only in `prev` are removed. Both maps are sorted, so this
/// is one merge walk.
pub fn diff(prev: &BTreeMap<String, NodeSummary>, next: &BTreeMap<String, NodeSummary>) -> Diff {
    let mut out = Diff::default();
    let mut a = prev.iter().peekable();
    let mut b = next.iter().peekable();
    loop {
        let ord = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match ord {
            Ordering::Less => {
                if let Some((k, _)) = a.next() {
                    out.remove.push(k.clone());
                }
            }
            Ordering::Greater => {
                if let Some((_, v)) = b.next() {
                    out.add.push(v.clone());
                }
            }
            Ordering::Equal => {
                if let (Some((_, va)), Some((_, vb))) = (a.next(), b.next())
                    && va != vb
                {
                    out.update.push(vb.clone());
                }
            }
        }
    }
    out
}
