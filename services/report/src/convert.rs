//! The one place wire (prost) types meet the domain model. Everything arriving from the wire is
//! validated here, once: unknown topologies, empty or duplicate ids, non-finite metric values and
//! oversized strings are rejected with a [`ConvertError`] that says what and where.

use std::collections::{BTreeMap, BTreeSet};

use scope_proto::v1 as pb;

use crate::delta::Delta;
use crate::{
    Control, DnsRecord, Kind, Latest, Metric, Node, NodeId, PluginSpec, Report, Sample, Topology,
};

/// Longest string (id, key or value) accepted from the wire, in bytes.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Why a wire report was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    /// A topology name this app does not know.
    #[error("unknown topology {0:?}")]
    UnknownTopology(String),
    /// The same topology twice in one report.
    #[error("topology {0} appears twice")]
    DuplicateTopology(&'static str),
    /// A node with an empty id.
    #[error("node with empty id in topology {0}")]
    EmptyId(&'static str),
    /// The same node id twice in one topology.
    #[error("node {1:?} appears twice in topology {0}")]
    DuplicateNode(&'static str, String),
    /// A parent set naming an unknown topology.
    #[error("node {0:?} has parents in unknown topology {1:?}")]
    UnknownParentTopology(String, String),
    /// A NaN or infinite metric value.
    #[error("node {0:?} metric {1:?} has a non-finite value")]
    NonFiniteMetric(String, String),
    /// A string longer than [`MAX_STRING_BYTES`].
    #[error("a string in node {0:?} is longer than {MAX_STRING_BYTES} bytes")]
    StringTooLong(String),
    /// A report message without a report.
    #[error("report message carries no report")]
    MissingReport,
}

fn check_len(node: &str, s: &str) -> Result<(), ConvertError> {
    if s.len() > MAX_STRING_BYTES {
        return Err(ConvertError::StringTooLong(truncate_for_error(node)));
    }
    Ok(())
}

fn truncate_for_error(s: &str) -> String {
    s.chars().take(80).collect()
}

impl TryFrom<pb::Report> for Report {
    type Error = ConvertError;

    fn try_from(r: pb::Report) -> Result<Report, ConvertError> {
        let mut topologies = BTreeMap::new();
        for t in r.topologies {
            let kind = Kind::from_name(&t.name)
                .ok_or_else(|| ConvertError::UnknownTopology(truncate_for_error(&t.name)))?;
            if topologies.contains_key(&kind) {
                return Err(ConvertError::DuplicateTopology(kind.name()));
            }
            topologies.insert(kind, topology_from_pb(kind, t)?);
        }
        let mut dns = BTreeMap::new();
        for d in r.dns {
            check_len("dns", &d.ip)?;
            dns.insert(
                d.ip,
                DnsRecord {
                    forward: d.forward.into_iter().collect(),
                    reverse: d.reverse.into_iter().collect(),
                },
            );
        }
        let plugins = r
            .plugins
            .into_iter()
            .map(|p| {
                (
                    p.id.clone(),
                    PluginSpec {
                        id: p.id,
                        label: p.label,
                        description: p.description,
                        interfaces: p.interfaces,
                        api_version: p.api_version,
                        status: p.status,
                    },
                )
            })
            .collect();
        Ok(Report {
            timestamp: r.timestamp_ms,
            topologies,
            dns,
            plugins,
            window_ms: r.window_ms,
        })
    }
}

fn topology_from_pb(kind: Kind, t: pb::Topology) -> Result<Topology, ConvertError> {
    let mut nodes = BTreeMap::new();
    for n in t.nodes {
        let node = node_from_pb(kind, n)?;
        if nodes.contains_key(&node.id) {
            return Err(ConvertError::DuplicateNode(
                kind.name(),
                truncate_for_error(node.id.as_str()),
            ));
        }
        nodes.insert(node.id.clone(), std::sync::Arc::new(node));
    }
    let controls = t
        .controls
        .into_iter()
        .map(|c| {
            (
                c.id.clone(),
                Control {
                    id: c.id,
                    human: c.human,
                    icon: c.icon,
                    confirmation: c.confirmation,
                    rank: c.rank,
                },
            )
        })
        .collect();
    Ok(Topology { nodes, controls })
}

fn node_from_pb(kind: Kind, n: pb::Node) -> Result<Node, ConvertError> {
    if n.id.is_empty() {
        return Err(ConvertError::EmptyId(kind.name()));
    }
    check_len(&n.id, &n.id)?;
    let id = n.id;
    for l in &n.latest {
        check_len(&id, &l.key)?;
        check_len(&id, &l.value)?;
    }
    // Collecting (rather than inserting one by one) lets the map be built in bulk from the
    // key-sorted entries probes send; a repeated key keeps its last value.
    let latest: BTreeMap<String, Latest> = n
        .latest
        .into_iter()
        .map(|l| {
            (
                l.key,
                Latest {
                    timestamp: l.timestamp_ms,
                    value: l.value,
                },
            )
        })
        .collect();
    let mut sets = BTreeMap::new();
    for s in n.sets {
        for v in &s.values {
            check_len(&id, v)?;
        }
        sets.insert(s.key, s.values.into_iter().collect::<BTreeSet<_>>());
    }
    let mut parents = BTreeMap::new();
    for p in n.parents {
        let pk = Kind::from_name(&p.key).ok_or_else(|| {
            ConvertError::UnknownParentTopology(truncate_for_error(&id), truncate_for_error(&p.key))
        })?;
        parents.insert(
            pk,
            p.values
                .into_iter()
                .map(NodeId::from_raw)
                .collect::<BTreeSet<_>>(),
        );
    }
    let mut metrics = BTreeMap::new();
    for m in n.metrics {
        let mut samples: Vec<Sample> = Vec::with_capacity(m.samples.len());
        for s in m.samples {
            if !s.value.is_finite() {
                return Err(ConvertError::NonFiniteMetric(
                    truncate_for_error(&id),
                    m.key,
                ));
            }
            samples.push(Sample {
                timestamp: s.timestamp_ms,
                value: s.value,
            });
        }
        if !m.min.is_finite() || !m.max.is_finite() {
            return Err(ConvertError::NonFiniteMetric(
                truncate_for_error(&id),
                m.key,
            ));
        }
        // Probes send samples in order; sort anyway so merge can rely on it.
        samples.sort_by_key(|s| s.timestamp);
        samples.dedup_by_key(|s| s.timestamp);
        metrics.insert(
            m.key,
            Metric {
                samples,
                min: m.min,
                max: m.max,
            },
        );
    }
    Ok(Node {
        adjacency: n.adjacency.into_iter().map(NodeId::from_raw).collect(),
        id: NodeId::from_raw(id),
        kind,
        latest,
        sets,
        parents,
        metrics,
    })
}

impl From<&Report> for pb::Report {
    fn from(r: &Report) -> pb::Report {
        pb::Report {
            timestamp_ms: r.timestamp,
            topologies: r
                .topologies
                .iter()
                .map(|(k, t)| pb::Topology {
                    name: k.name().to_owned(),
                    nodes: t.nodes.values().map(|n| node_to_pb(n)).collect(),
                    controls: t
                        .controls
                        .values()
                        .map(|c| pb::Control {
                            id: c.id.clone(),
                            human: c.human.clone(),
                            icon: c.icon.clone(),
                            confirmation: c.confirmation.clone(),
                            rank: c.rank,
                        })
                        .collect(),
                })
                .collect(),
            dns: r
                .dns
                .iter()
                .map(|(ip, d)| pb::DnsRecord {
                    ip: ip.clone(),
                    forward: d.forward.iter().cloned().collect(),
                    reverse: d.reverse.iter().cloned().collect(),
                })
                .collect(),
            plugins: r
                .plugins
                .values()
                .map(|p| pb::PluginSpec {
                    id: p.id.clone(),
                    label: p.label.clone(),
                    description: p.description.clone(),
                    interfaces: p.interfaces.clone(),
                    api_version: p.api_version.clone(),
                    status: p.status.clone(),
                })
                .collect(),
            window_ms: r.window_ms,
        }
    }
}

fn node_to_pb(n: &Node) -> pb::Node {
    pb::Node {
        id: n.id.as_str().to_owned(),
        latest: n
            .latest
            .iter()
            .map(|(k, l)| pb::LatestEntry {
                key: k.clone(),
                timestamp_ms: l.timestamp,
                value: l.value.clone(),
            })
            .collect(),
        sets: n
            .sets
            .iter()
            .map(|(k, v)| pb::StringSet {
                key: k.clone(),
                values: v.iter().cloned().collect(),
            })
            .collect(),
        adjacency: n.adjacency.iter().map(|a| a.as_str().to_owned()).collect(),
        parents: n
            .parents
            .iter()
            .map(|(k, v)| pb::StringSet {
                key: k.name().to_owned(),
                values: v.iter().map(|p| p.as_str().to_owned()).collect(),
            })
            .collect(),
        metrics: n
            .metrics
            .iter()
            .map(|(k, m)| pb::Metric {
                key: k.clone(),
                samples: m
                    .samples
                    .iter()
                    .map(|s| pb::Sample {
                        timestamp_ms: s.timestamp,
                        value: s.value,
                    })
                    .collect(),
                min: m.min,
                max: m.max,
            })
            .collect(),
    }
}

/// Wire form of a delta's removed nodes.
pub fn removed_to_pb(delta: &Delta) -> Vec<pb::RemovedNodes> {
    delta
        .removed
        .iter()
        .map(|(k, ids)| pb::RemovedNodes {
            topology: k.name().to_owned(),
            ids: ids.iter().map(|i| i.as_str().to_owned()).collect(),
        })
        .collect()
}

/// Builds a domain delta from a wire report and its removed lists.
pub fn delta_from_pb(
    report: pb::Report,
    removed: Vec<pb::RemovedNodes>,
) -> Result<Delta, ConvertError> {
    let report = Report::try_from(report)?;
    let mut out = BTreeMap::new();
    for r in removed {
        let kind = Kind::from_name(&r.topology)
            .ok_or_else(|| ConvertError::UnknownTopology(truncate_for_error(&r.topology)))?;
        out.entry(kind)
            .or_insert_with(Vec::new)
            .extend(r.ids.into_iter().map(NodeId::from_raw));
    }
    Ok(Delta {
        report,
        removed: out,
    })
}
