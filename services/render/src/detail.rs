//! Node details: the summary plus controls, children tables and connection tables (Scope's
//! `render/detailed/node.go`, `connections.go`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use scope_report::{Kind, Node, NodeId, keys};

use crate::context::{Ctx, node_host};
use crate::fxhash::FxHashSet;
use crate::graph::{NodeKind, RNode, RenderedTopology};
use crate::json::{Column, MetadataRow, NodeSummary};
use crate::options::{Options, View};
use crate::summary::Summarizer;
use crate::text::Text;
use crate::views;

/// Everything the details panel shows about one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeDetails {
    /// The node's summary, its fields inlined.
    #[serde(flatten)]
    pub summary: NodeSummary,
    /// Controls the node offers now.
    pub controls: Vec<ControlInstance>,
    /// Tables of child nodes, by kind.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildGroup>,
    /// Inbound and outbound connection tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionsSummary>,
}

/// A control, with what is needed to invoke it: `POST /api/control/{probeId}/{nodeId}/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlInstance {
    /// The probe that runs it.
    #[serde(rename = "probeId")]
    pub probe_id: String,
    /// The report node it acts on.
    #[serde(rename = "nodeId")]
    pub node_id: String,
    /// Control id.
    pub id: String,
    /// Button text.
    pub human: String,
    /// Icon class.
    pub icon: String,
    /// Question to confirm first.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub confirmation: String,
    /// Order; lower first.
    pub rank: i32,
}

/// A table of a node's children of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildGroup {
    /// The children's kind ("container", "process").
    pub id: &'static str,
    /// Title.
    pub label: &'static str,
    /// The view the children are shown in.
    #[serde(rename = "topologyId")]
    pub topology_id: &'static str,
    /// Columns (metric and metadata ids).
    pub columns: Vec<Column>,
    /// The children, by id.
    pub nodes: Vec<NodeSummary>,
}

/// The inbound or outbound connections of a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionsSummary {
    /// "incoming-connections" or "outgoing-connections".
    pub id: &'static str,
    /// The view the remote nodes are in.
    #[serde(rename = "topologyId")]
    pub topology_id: &'static str,
    /// "Inbound" or "Outbound".
    pub label: &'static str,
    /// Columns: "remote" (Internet nodes only), "port", "count".
    pub columns: Vec<Column>,
    /// Rows, by id.
    pub connections: Vec<Connection>,
}

/// One row: connections to one remote node (and address, for the Internet) on one port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    /// Row id, unique in its table.
    pub id: String,
    /// The remote node.
    #[serde(rename = "nodeId")]
    pub node_id: String,
    /// Remote node label, or the remote address for the Internet.
    pub label: String,
    /// Remote node minor label.
    #[serde(rename = "labelMinor", skip_serializing_if = "String::is_empty")]
    pub label_minor: String,
    /// Cells: "remote" (local address, for the Internet node), "port", "count".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataRow>,
}

/// Details of `id` in `view`, looked up before the options' filters apply (a filter cannot
/// hide the node being asked about), or `None` if the view has no such node.
pub(crate) fn details<'r>(
    ctx: &Ctx<'r>,
    view: View,
    opts: &Options,
    id: &str,
) -> Option<NodeDetails> {
    let g = views::render(ctx, view, opts, Some(id));
    let i = g.index_of(id)?;
    let n = &g.nodes[i as usize];
    let adjacency = g.adjacency(i).into_iter().map(Text::from).collect();
    let mut sum = Summarizer::new(ctx);
    sum.samples = true;
    let summary = sum.summarize(n, Text::from(id), adjacency);
    // Children and connection rows show values, not sparklines.
    sum.samples = false;
    Some(NodeDetails {
        summary,
        controls: controls(ctx, n),
        children: children(&mut sum, n),
        connections: connections(ctx, &mut sum, &g, i),
    })
}

fn controls(ctx: &Ctx<'_>, n: &RNode<'_>) -> Vec<ControlInstance> {
    let Some(src) = n.source else {
        return Vec::new();
    };
    let (Some(probe), Some(active)) = (
        src.get(keys::CONTROL_PROBE_ID),
        src.get(keys::ACTIVE_CONTROLS),
    ) else {
        return Vec::new();
    };
    let Some(topology) = ctx.report.topology(src.kind) else {
        return Vec::new();
    };
    let mut out: Vec<ControlInstance> = active
        .split(';')
        .filter_map(|id| topology.controls.get(id))
        .map(|c| ControlInstance {
            probe_id: probe.to_owned(),
            node_id: src.id.as_str().to_owned(),
            id: c.id.clone(),
            human: c.human.clone(),
            icon: c.icon.clone(),
            confirmation: c.confirmation.clone(),
            rank: c.rank,
        })
        .collect();
    out.sort_by(|a, b| (a.rank, &a.id).cmp(&(b.rank, &b.id)));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

fn children<'r>(sum: &mut Summarizer<'_, 'r>, n: &RNode<'r>) -> Vec<ChildGroup> {
    let mut containers = Vec::new();
    let mut processes = Vec::new();
    for &c in &n.children {
        match c.kind {
            Kind::Container => containers.push(child_summary(sum, c, NodeKind::Container)),
            Kind::Process => processes.push(child_summary(sum, c, NodeKind::Process)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if !containers.is_empty() {
        containers.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(ChildGroup {
            id: Kind::Container.name(),
            label: "Containers",
            topology_id: "containers",
            columns: vec![
                Column::number(keys::CONTAINER_CPU, "CPU"),
                Column::number(keys::CONTAINER_MEMORY, "Memory"),
            ],
            nodes: containers,
        });
    }
    if !processes.is_empty() {
        processes.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(ChildGroup {
            id: Kind::Process.name(),
            label: "Processes",
            topology_id: "processes",
            columns: vec![
                Column::number(keys::PID, "PID"),
                Column::number(keys::PROCESS_CPU, "CPU"),
                Column::number(keys::PROCESS_MEMORY, "Memory"),
            ],
            nodes: processes,
        });
    }
    out
}

fn child_summary<'r>(sum: &mut Summarizer<'_, 'r>, c: &'r Node, kind: NodeKind) -> NodeSummary {
    let mut rn = RNode::new(Cow::Borrowed(c.id.as_str()), kind);
    rn.source = Some(c);
    rn.host = match kind {
        NodeKind::Process => {
            c.id.parse_process()
                .map(|(h, _)| h)
                .or_else(|| node_host(c))
        }
        _ => node_host(c),
    };
    sum.summarize(&rn, Text::from(c.id.as_str()), Vec::new())
}

/// Counts connections once each, by their source endpoint, per (remote node, remote address,
/// local address, destination port).
#[derive(Default)]
struct Counter<'a> {
    counted: FxHashSet<&'a str>,
    counts: BTreeMap<(u32, String, String, u16), usize>,
}

impl<'a> Counter<'a> {
    fn add(&mut self, src: &'a str, remote: u32, dst: &NodeId, addrs: (String, String)) {
        if !self.counted.insert(src) {
            return;
        }
        let Some((_, _, port)) = dst.parse_endpoint() else {
            return;
        };
        *self
            .counts
            .entry((remote, addrs.0, addrs.1, port))
            .or_default() += 1;
    }
}

/// The address of an endpoint on an Internet node, with its DNS name if one is known.
fn internet_addr(ctx: &Ctx<'_>, on_internet: bool, ep: &NodeId) -> String {
    if !on_internet {
        return String::new();
    }
    let Some((_, ip, _)) = ep.parse_endpoint() else {
        return String::new();
    };
    let ip = ip.to_string();
    match ctx
        .report
        .dns
        .get(&ip)
        .and_then(|r| r.forward.iter().chain(&r.reverse).next())
    {
        Some(name) => format!("{name} ({ip})"),
        None => ip,
    }
}

fn connections<'r>(
    ctx: &Ctx<'r>,
    sum: &mut Summarizer<'_, 'r>,
    g: &RenderedTopology<'r>,
    i: u32,
) -> Vec<ConnectionsSummary> {
    let n = &g.nodes[i as usize];
    let n_internet = n.kind.is_internet();

    // Inbound: endpoints of nodes with an edge to us, pointing at our endpoints.
    let ours: FxHashSet<&str> = n.endpoints.iter().map(|e| e.id.as_str()).collect();
    let mut inbound = Counter::default();
    for (j, x) in g.alive() {
        if x.adj.binary_search(&i).is_err() {
            continue;
        }
        for re in &x.endpoints {
            for dst in re.adjacency.iter().filter(|a| ours.contains(a.as_str())) {
                let addrs = (
                    internet_addr(ctx, x.kind.is_internet(), &re.id),
                    internet_addr(ctx, n_internet, dst),
                );
                inbound.add(re.id.as_str(), j, dst, addrs);
            }
        }
    }

    // Outbound: our endpoints pointing at endpoints of nodes we have an edge to.
    let mut outbound = Counter::default();
    for &j in &n.adj {
        let y = &g.nodes[j as usize];
        if !y.alive {
            continue;
        }
        let theirs: FxHashSet<&str> = y.endpoints.iter().map(|e| e.id.as_str()).collect();
        for le in &n.endpoints {
            for dst in le.adjacency.iter().filter(|a| theirs.contains(a.as_str())) {
                let addrs = (
                    internet_addr(ctx, y.kind.is_internet(), dst),
                    internet_addr(ctx, n_internet, &le.id),
                );
                outbound.add(le.id.as_str(), j, dst, addrs);
            }
        }
    }

    let columns = || {
        let mut cols = Vec::new();
        if n_internet {
            cols.push(Column::new("remote", "Remote"));
        }
        cols.push(Column::number("port", "Port"));
        cols.push(Column {
            default_sort: true,
            ..Column::number("count", "Count")
        });
        cols
    };
    vec![
        ConnectionsSummary {
            id: "incoming-connections",
            topology_id: g.view.id(),
            label: "Inbound",
            columns: columns(),
            connections: rows(sum, g, inbound, n_internet),
        },
        ConnectionsSummary {
            id: "outgoing-connections",
            topology_id: g.view.id(),
            label: "Outbound",
            columns: columns(),
            connections: rows(sum, g, outbound, n_internet),
        },
    ]
}

fn rows<'r>(
    sum: &mut Summarizer<'_, 'r>,
    g: &RenderedTopology<'r>,
    counter: Counter<'_>,
    include_local: bool,
) -> Vec<Connection> {
    let mut labels: BTreeMap<u32, (String, String)> = BTreeMap::new();
    let mut out: Vec<Connection> = counter
        .counts
        .into_iter()
        .map(|((remote, remote_addr, local_addr, port), count)| {
            let node = &g.nodes[remote as usize];
            let (label, minor) = labels
                .entry(remote)
                .or_insert_with(|| {
                    let s = sum.summarize(node, Text::from(node.id.as_ref()), Vec::new());
                    (String::from(s.label), String::from(s.label_minor))
                })
                .clone();
            let cell = |id, label, value: String| MetadataRow {
                id,
                label,
                value: Text::from(value),
                priority: 0,
                data_type: None,
                truncate: None,
            };
            let mut metadata = Vec::new();
            if include_local {
                metadata.push(cell("remote", "Remote", local_addr.clone()));
            }
            metadata.push(cell("port", "Port", port.to_string()));
            metadata.push(cell("count", "Count", count.to_string()));
            let (label, label_minor) = if remote_addr.is_empty() {
                (label, minor)
            } else {
                (remote_addr.clone(), String::new())
            };
            Connection {
                id: format!("{}-{remote_addr}-{local_addr}-{port}", node.id),
                node_id: node.id.as_ref().to_owned(),
                label,
                label_minor,
                metadata,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
