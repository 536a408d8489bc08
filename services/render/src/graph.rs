//! The rendered graph of one view, and the transformations every view shares: filters, the
//! unconnected-pseudo cleanup and regrouping.
//!
//! Nodes live in a `Vec` and edges are `u32` indices, so building and filtering a 30,000-node
//! view never hashes or clones an id; filters only clear an `alive` flag.

use std::borrow::Cow;

use scope_report::Node;

use crate::fxhash::FxHashMap;
use crate::options::View;

/// What a rendered node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A process.
    Process,
    /// Processes grouped by name.
    ProcessName,
    /// A container.
    Container,
    /// Containers grouped by image name.
    ImageName,
    /// Containers grouped by DNS hostname.
    Hostname,
    /// A host.
    Host,
    /// Processes of one host outside any container.
    Uncontained,
    /// The Internet, connecting to us.
    InternetIn,
    /// The Internet, which we connect to.
    InternetOut,
}

impl NodeKind {
    /// Pseudo nodes stand for no single thing a probe reported.
    pub fn is_pseudo(self) -> bool {
        matches!(
            self,
            NodeKind::Uncontained | NodeKind::InternetIn | NodeKind::InternetOut
        )
    }

    /// Whether this is one of the two Internet nodes.
    pub fn is_internet(self) -> bool {
        matches!(self, NodeKind::InternetIn | NodeKind::InternetOut)
    }
}

/// [`RNode::info`] of nodes that are neither a process nor a container.
pub(crate) const NO_INFO: u32 = u32::MAX;

/// One node of a rendered view.
pub(crate) struct RNode<'r> {
    pub id: Cow<'r, str>,
    pub kind: NodeKind,
    /// The report node this is (processes, containers, hosts).
    pub source: Option<&'r Node>,
    /// Host id, where the node belongs to one host.
    pub host: Option<&'r str>,
    /// Group name (process name, image name, hostname).
    pub name: Option<&'r str>,
    /// Index of the process or container in the render context ([`NO_INFO`] for others).
    pub info: u32,
    /// Edges out, as indices; sorted and unique after [`Graph::finish`].
    pub adj: Vec<u32>,
    /// Report nodes mapped into this one (processes of a container, containers of an image).
    pub children: Vec<&'r Node>,
    /// Endpoints mapped into this one (for the connection tables).
    pub endpoints: Vec<&'r Node>,
    pub alive: bool,
}

impl<'r> RNode<'r> {
    pub fn new(id: Cow<'r, str>, kind: NodeKind) -> RNode<'r> {
        RNode {
            id,
            kind,
            source: None,
            host: None,
            name: None,
            info: NO_INFO,
            adj: Vec::new(),
            children: Vec::new(),
            endpoints: Vec::new(),
            alive: true,
        }
    }
}

/// A rendered view: nodes, edges and how many nodes the options filtered out.
pub struct RenderedTopology<'r> {
    pub(crate) view: View,
    pub(crate) nodes: Vec<RNode<'r>>,
    pub(crate) filtered: usize,
    /// Whether to file children and endpoints under nodes: only node details read them, and
    /// for a 30,000-node view they are 60,000 small allocations nobody needs.
    pub(crate) detail: bool,
    internet: [Option<u32>; 2],
}

/// Counts shown in the topology menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Stats {
    /// Nodes shown.
    pub node_count: usize,
    /// Nodes shown that are not pseudo nodes.
    pub nonpseudo_node_count: usize,
    /// Edges shown.
    pub edge_count: usize,
    /// Nodes the options hid.
    pub filtered_nodes: usize,
}

impl<'r> RenderedTopology<'r> {
    pub(crate) fn new(view: View, detail: bool) -> RenderedTopology<'r> {
        RenderedTopology {
            view,
            nodes: Vec::new(),
            filtered: 0,
            detail,
            internet: [None, None],
        }
    }

    /// Files `child` under node `i` (details only).
    #[inline]
    pub(crate) fn child(&mut self, i: u32, child: &'r Node) {
        if self.detail {
            self.nodes[i as usize].children.push(child);
        }
    }

    /// The view rendered.
    pub fn view(&self) -> View {
        self.view
    }

    /// Nodes the options filtered out.
    pub fn filtered(&self) -> usize {
        self.filtered
    }

    /// Ids of the nodes shown, in render order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.alive().map(|(_, n)| n.id.as_ref())
    }

    /// Number of nodes shown.
    pub fn len(&self) -> usize {
        self.alive().count()
    }

    /// Whether no node is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shown node `id`: its kind and the sorted ids of the nodes it has edges to.
    pub fn node(&self, id: &str) -> Option<(NodeKind, Vec<&str>)> {
        let i = self.index_of(id)?;
        Some((self.nodes[i as usize].kind, self.adjacency(i)))
    }

    /// Node, edge and filtered counts.
    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            filtered_nodes: self.filtered,
            ..Stats::default()
        };
        for (_, n) in self.alive() {
            s.node_count += 1;
            if !n.kind.is_pseudo() {
                s.nonpseudo_node_count += 1;
            }
            s.edge_count += n
                .adj
                .iter()
                .filter(|&&t| self.nodes[t as usize].alive)
                .count();
        }
        s
    }

    pub(crate) fn alive(&self) -> impl Iterator<Item = (u32, &RNode<'r>)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.alive)
            .map(|(i, n)| (i as u32, n))
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.alive && n.id == id)
            .map(|i| i as u32)
    }

    /// Sorted ids of the live targets of node `i`.
    pub(crate) fn adjacency(&self, i: u32) -> Vec<&str> {
        let mut out: Vec<&str> = self.nodes[i as usize]
            .adj
            .iter()
            .filter(|&&t| self.nodes[t as usize].alive)
            .map(|&t| self.nodes[t as usize].id.as_ref())
            .collect();
        out.sort_unstable();
        out
    }

    pub(crate) fn push(&mut self, node: RNode<'r>) -> u32 {
        self.nodes.push(node);
        self.nodes.len() as u32 - 1
    }

    /// The Internet node for this direction, created on first use.
    pub(crate) fn internet(&mut self, inbound: bool) -> u32 {
        let slot = usize::from(!inbound);
        if let Some(i) = self.internet[slot] {
            return i;
        }
        let (id, kind) = if inbound {
            (scope_report::ids::INCOMING_INTERNET, NodeKind::InternetIn)
        } else {
            (scope_report::ids::OUTGOING_INTERNET, NodeKind::InternetOut)
        };
        let i = self.push(RNode::new(Cow::Borrowed(id), kind));
        self.internet[slot] = Some(i);
        i
    }

    /// Adds the edge `from -> to`; mapping many nodes onto one creates self-loops, which mean
    /// nothing on the map, so they are dropped here.
    #[inline]
    pub(crate) fn edge(&mut self, from: u32, to: u32) {
        if from != to {
            self.nodes[from as usize].adj.push(to);
        }
    }

    /// Sorts and dedups edges.
    pub(crate) fn finish(&mut self) {
        for n in &mut self.nodes {
            if n.adj.len() > 1 {
                n.adj.sort_unstable();
                n.adj.dedup();
            }
        }
    }

    /// Hides live nodes failing `keep(index, node)`, counting them as filtered. Nodes `exempt`
    /// accepts stay whatever `keep` says: node details look a node up as if unfiltered.
    pub(crate) fn retain_exempt(
        &mut self,
        exempt: &dyn Fn(&RNode<'r>) -> bool,
        mut keep: impl FnMut(u32, &RNode<'r>) -> bool,
    ) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if n.alive && !keep(i as u32, n) && !exempt(n) {
                n.alive = false;
                self.filtered += 1;
            }
        }
    }

    /// Whether each node has a live edge in or out (self-loops never exist here).
    pub(crate) fn connected(&self) -> Vec<bool> {
        let mut connected = vec![false; self.nodes.len()];
        for (i, n) in self.alive() {
            for &t in &n.adj {
                if self.nodes[t as usize].alive {
                    connected[i as usize] = true;
                    connected[t as usize] = true;
                }
            }
        }
        connected
    }

    /// Hides nodes without edges: all of them, or only pseudo nodes.
    pub(crate) fn filter_unconnected(&mut self, only_pseudo: bool, exempt: Option<&str>) {
        let connected = self.connected();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if n.alive
                && !connected[i]
                && (!only_pseudo || n.kind.is_pseudo())
                && exempt != Some(n.id.as_ref())
            {
                n.alive = false;
                self.filtered += 1;
            }
        }
    }

    /// Scope's `FilterUnconnectedPseudo`, applied to every view last: edges from the inbound to
    /// the outbound Internet are NAT/VIP artefacts, and pseudo nodes left without edges say
    /// nothing.
    pub(crate) fn filter_unconnected_pseudo(&mut self, exempt: Option<&str>) {
        if let (Some(i), Some(o)) = (self.internet[0], self.internet[1]) {
            self.nodes[i as usize].adj.retain(|&t| t != o);
        }
        self.filter_unconnected(true, exempt);
    }

    /// Maps every live node to a group (or through unchanged, or drops it) and rewrites edges.
    /// Group nodes are made by `make` on first use of their key; the grouped node's report node
    /// becomes a child of the group, its endpoints the group's.
    pub(crate) fn regroup(
        self,
        view: View,
        mut key: impl FnMut(&RNode<'r>) -> Regroup<'r>,
        mut make: impl FnMut(&'r str) -> RNode<'r>,
    ) -> RenderedTopology<'r> {
        let mut out = RenderedTopology::new(view, self.detail);
        out.filtered = self.filtered;
        let mut groups: FxHashMap<&'r str, u32> = FxHashMap::default();
        let mut map: Vec<Option<u32>> = vec![None; self.nodes.len()];
        let mut old_adj: Vec<Vec<u32>> = Vec::with_capacity(self.nodes.len());
        for (i, mut n) in self.nodes.into_iter().enumerate() {
            old_adj.push(std::mem::take(&mut n.adj));
            if !n.alive {
                continue;
            }
            match key(&n) {
                Regroup::Drop => {}
                Regroup::Keep => {
                    let internet = match n.kind {
                        NodeKind::InternetIn => Some(0),
                        NodeKind::InternetOut => Some(1),
                        _ => None,
                    };
                    let j = out.push(n);
                    if let Some(slot) = internet {
                        out.internet[slot] = Some(j);
                    }
                    map[i] = Some(j);
                }
                Regroup::Into(k) => {
                    let g = *groups.entry(k).or_insert_with(|| out.push(make(k)));
                    let group = &mut out.nodes[g as usize];
                    if let Some(src) = n.source {
                        group.children.push(src);
                    }
                    group.endpoints.append(&mut n.endpoints);
                    map[i] = Some(g);
                }
            }
        }
        for (i, adj) in old_adj.iter().enumerate() {
            let Some(from) = map[i] else { continue };
            for &t in adj {
                if let Some(to) = map[t as usize] {
                    out.edge(from, to);
                }
            }
        }
        out.finish();
        out
    }
}

/// Where [`RenderedTopology::regroup`] puts a node.
pub(crate) enum Regroup<'r> {
    /// Through unchanged (pseudo nodes).
    Keep,
    /// Into the group with this key.
    Into(&'r str),
    /// Not in the grouped view.
    Drop,
}
