//! Scope's report model: the domain types shared by the probe and the app tier.
//!
//! A [`Report`] holds one [`Topology`] per [`Kind`]; a topology holds [`Node`]s by [`NodeId`].
//! Merging follows Weave Scope's rules (newest timestamp wins per latest key; sets, adjacency and
//! parents are unioned; metric samples interleaved), and is associative, commutative and
//! idempotent. [`delta`] computes and applies the deltas a probe sends between full reports, and
//! [`convert`] is the only place wire (prost) types meet these types.

pub mod convert;
pub mod delta;
pub mod ids;
pub mod keys;
mod merge;
pub mod synthetic;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use ids::NodeId;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The kinds of node a probe reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A TCP endpoint: an address and port, in a scope (see [`ids`]).
    Endpoint,
    /// A process on a host.
    Process,
    /// A Docker container.
    Container,
    /// A container image.
    ContainerImage,
    /// A host (one per probe).
    Host,
}

impl Kind {
    /// Every kind, in Scope's canonical order.
    pub const ALL: [Kind; 5] = [
        Kind::Endpoint,
        Kind::Process,
        Kind::Container,
        Kind::ContainerImage,
        Kind::Host,
    ];

    /// The wire and JSON name ("endpoint", "container_image", ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Endpoint => "endpoint",
            Kind::Process => "process",
            Kind::Container => "container",
            Kind::ContainerImage => "container_image",
            Kind::Host => "host",
        }
    }

    /// Parses a wire name; `None` for names this version does not know.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A latest value and when it was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    /// Observation time.
    pub timestamp: Millis,
    /// The value.
    pub value: String,
}

/// One metric sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Sample time.
    pub timestamp: Millis,
    /// Sample value.
    pub value: f64,
}

/// Samples of one metric, sorted by timestamp, at most one per timestamp.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metric {
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
    /// Lowest possible value (for scaling).
    pub min: f64,
    /// Highest possible value (e.g. a memory limit); 0 when unknown.
    pub max: f64,
}

impl Metric {
    /// A metric with one sample, as probes send them.
    pub fn single(timestamp: Millis, value: f64, min: f64, max: f64) -> Metric {
        Metric {
            samples: vec![Sample { timestamp, value }],
            min,
            max,
        }
    }

    /// The newest sample, if any.
    pub fn last(&self) -> Option<Sample> {
        self.samples.last().copied()
    }

    /// Drops samples older than `since`.
    pub fn trim_before(&mut self, since: Millis) {
        let keep_from = self.samples.partition_point(|s| s.timestamp < since);
        self.samples.drain(..keep_from);
    }
}

/// A node: one endpoint, process, container, image or host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Its id; constructed through [`NodeId`]'s constructors.
    pub id: NodeId,
    /// Its kind.
    pub kind: Kind,
    /// Latest values by key (see [`keys`]).
    pub latest: BTreeMap<String, Latest>,
    /// Named string sets, e.g. [`keys::LOCAL_NETWORKS`].
    pub sets: BTreeMap<String, BTreeSet<String>>,
    /// Edges out of this node, to nodes of the same kind.
    pub adjacency: BTreeSet<NodeId>,
    /// Parent node ids by parent kind.
    pub parents: BTreeMap<Kind, BTreeSet<NodeId>>,
    /// Metrics by name (see [`keys`]).
    pub metrics: BTreeMap<String, Metric>,
}

impl Node {
    /// An empty node.
    pub fn new(id: NodeId, kind: Kind) -> Node {
        Node {
            id,
            kind,
            latest: BTreeMap::new(),
            sets: BTreeMap::new(),
            adjacency: BTreeSet::new(),
            parents: BTreeMap::new(),
            metrics: BTreeMap::new(),
        }
    }

    /// Sets a latest value observed at `ts`.
    pub fn with_latest(mut self, key: &str, ts: Millis, value: impl Into<String>) -> Node {
        self.set_latest(key, ts, value);
        self
    }

    /// Sets a latest value observed at `ts`.
    pub fn set_latest(&mut self, key: &str, ts: Millis, value: impl Into<String>) {
        self.latest.insert(
            key.to_owned(),
            Latest {
                timestamp: ts,
                value: value.into(),
            },
        );
    }

    /// The latest value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.latest.get(key).map(|l| l.value.as_str())
    }

    /// Adds members to the set `key`.
    pub fn add_to_set<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sets
            .entry(key.to_owned())
            .or_default()
            .extend(values.into_iter().map(Into::into));
    }

    /// Adds a parent of kind `kind`.
    pub fn add_parent(&mut self, kind: Kind, id: NodeId) {
        self.parents.entry(kind).or_default().insert(id);
    }

    /// Sets a metric.
    pub fn set_metric(&mut self, key: &str, metric: Metric) {
        self.metrics.insert(key.to_owned(), metric);
    }

    /// The parents of kind `kind`.
    pub fn parents_of(&self, kind: Kind) -> impl Iterator<Item = &NodeId> {
        self.parents.get(&kind).into_iter().flatten()
    }
}

/// A control a node may offer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Control {
    /// Identifier, unique in its topology.
    pub id: String,
    /// Human-readable name.
    pub human: String,
    /// Icon name for the console.
    pub icon: String,
    /// Question to ask before running it; empty for none.
    pub confirmation: String,
    /// Ordering; lower first.
    pub rank: i32,
}

/// All nodes of one kind, and the controls they may offer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Topology {
    /// Nodes by id. Shared (`Arc`) so that copying and merging reports, which the app does for
    /// every tenant many times a second, copies pointers rather than nodes; writers use
    /// `Arc::make_mut`, which copies a node only when it is shared.
    pub nodes: BTreeMap<NodeId, Arc<Node>>,
    /// Controls by id.
    pub controls: BTreeMap<String, Control>,
}

/// Names known for an address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Names that resolved to the address.
    pub forward: BTreeSet<String>,
    /// Names from reverse lookups.
    pub reverse: BTreeSet<String>,
}

/// A plugin registered with a probe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct PluginSpec {
    /// Plugin id.
    pub id: String,
    /// Display name.
    pub label: String,
    /// Description.
    pub description: String,
    /// "reporter", "controller".
    pub interfaces: Vec<String>,
    /// Plugin API version.
    pub api_version: String,
    /// "ok" or "error: ...".
    pub status: String,
}

/// Everything one or more probes saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    /// Generation time; a merge keeps the earliest non-zero one.
    pub timestamp: Millis,
    /// Topologies by kind; a missing one is empty.
    pub topologies: BTreeMap<Kind, Topology>,
    /// DNS records by IP address.
    pub dns: BTreeMap<String, DnsRecord>,
    /// Plugins by id.
    pub plugins: BTreeMap<String, PluginSpec>,
    /// Milliseconds since the probe's previous publish (advisory); a merge keeps the largest.
    pub window_ms: i64,
}

impl Report {
    /// An empty report generated at `timestamp`.
    pub fn new(timestamp: Millis) -> Report {
        Report {
            timestamp,
            ..Report::default()
        }
    }

    /// The topology of `kind`, if present.
    pub fn topology(&self, kind: Kind) -> Option<&Topology> {
        self.topologies.get(&kind)
    }

    /// The topology of `kind`, created empty if missing.
    pub fn topology_mut(&mut self, kind: Kind) -> &mut Topology {
        self.topologies.entry(kind).or_default()
    }

    /// The nodes of `kind` (empty if the topology is missing).
    pub fn nodes(&self, kind: Kind) -> impl Iterator<Item = &Node> {
        self.topologies
            .get(&kind)
            .into_iter()
            .flat_map(|t| t.nodes.values().map(|n| &**n))
    }

    /// The node `id` of `kind`.
    pub fn node(&self, kind: Kind, id: &NodeId) -> Option<&Node> {
        self.topologies
            .get(&kind)
            .and_then(|t| t.nodes.get(id))
            .map(|n| &**n)
    }

    /// Adds a node, merging it with an existing node of the same id.
    pub fn add_node(&mut self, node: Node) {
        let topo = self.topology_mut(node.kind);
        match topo.nodes.get_mut(&node.id) {
            Some(existing) => Arc::make_mut(existing).merge_from(&node),
            None => {
                topo.nodes.insert(node.id.clone(), Arc::new(node));
            }
        }
    }

    /// Total number of nodes over all topologies.
    pub fn node_count(&self) -> usize {
        self.topologies.values().map(|t| t.nodes.len()).sum()
    }
}

#[cfg(test)]
mod tests;
