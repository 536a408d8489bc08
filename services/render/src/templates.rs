//! Which metadata and metrics each kind of node shows (the probes' `MetadataTemplates` and
//! `MetricTemplates` in Scope), and how rows are read from a node.

use std::ops::Bound;

use scope_report::{Metric, Node, keys};

use crate::json::{Column, MetadataRow, MetricRow, SampleRow, Table, TableEntries, TableRow};
use crate::latest::scan;
use crate::text::{Interner, Text};

/// Where a metadata value comes from.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Latest,
    /// A set, joined with ", ".
    Set,
}

pub(crate) struct Field {
    pub key: &'static str,
    /// Values repeat across nodes (commands, versions): share one copy.
    pub shared: bool,
    pub label: &'static str,
    pub from: Source,
    pub data_type: Option<&'static str>,
    pub priority: u32,
}

const fn latest(key: &'static str, label: &'static str, priority: u32) -> Field {
    Field {
        key,
        shared: true,
        label,
        from: Source::Latest,
        data_type: None,
        priority,
    }
}

const fn typed(key: &'static str, label: &'static str, t: &'static str, priority: u32) -> Field {
    Field {
        key,
        shared: true,
        label,
        from: Source::Latest,
        data_type: Some(t),
        priority,
    }
}

const fn set(key: &'static str, label: &'static str, priority: u32) -> Field {
    Field {
        key,
        shared: false,
        label,
        from: Source::Set,
        data_type: None,
        priority,
    }
}

const fn unique(f: Field) -> Field {
    Field { shared: false, ..f }
}

pub(crate) const PROCESS_METADATA: [Field; 4] = [
    unique(typed(keys::PID, "PID", "number", 1)),
    latest(keys::CMDLINE, "Command", 2),
    typed(keys::PPID, "Parent PID", "number", 3),
    typed(keys::THREADS, "# Threads", "number", 4),
];

pub(crate) const HOST_METADATA: [Field; 7] = [
    latest(keys::KERNEL_VERSION, "Kernel version", 1),
    typed(keys::UPTIME, "Uptime", "duration", 2),
    latest(keys::HOST_NAME, "Hostname", 11),
    latest(keys::OS, "OS", 12),
    set(keys::LOCAL_NETWORKS, "Local networks", 13),
    latest(keys::SCOPE_VERSION, "Scope version", 14),
    typed(keys::LOAD1, "Load (1m)", "number", 15),
];

/// Container rows read straight from the node; image name, tag and state are computed.
pub(crate) const CONTAINER_METADATA: [Field; 8] = [
    latest(keys::CONTAINER_COMMAND, "Command", 3),
    unique(typed(keys::CONTAINER_UPTIME, "Uptime", "duration", 5)),
    latest(keys::CONTAINER_RESTART_COUNT, "Restart #", 6),
    set(keys::CONTAINER_NETWORKS, "Networks", 7),
    set(keys::CONTAINER_IPS, "IPs", 8),
    set(keys::CONTAINER_PORTS, "Ports", 9),
    unique(typed(keys::CONTAINER_CREATED, "Created", "datetime", 10)),
    unique(latest(keys::CONTAINER_HOSTNAME, "Hostname", 12)),
];

pub(crate) struct MetricField {
    pub key: &'static str,
    pub label: &'static str,
    pub format: &'static str,
    pub group: &'static str,
    pub priority: u32,
}

const fn metric(
    key: &'static str,
    label: &'static str,
    format: &'static str,
    priority: u32,
) -> MetricField {
    MetricField {
        key,
        label,
        format,
        group: "",
        priority,
    }
}

pub(crate) const PROCESS_METRICS: [MetricField; 3] = [
    metric(keys::PROCESS_CPU, "CPU", "percent", 1),
    metric(keys::PROCESS_MEMORY, "Memory", "filesize", 2),
    metric(keys::OPEN_FILES, "Open files", "integer", 3),
];

pub(crate) const CONTAINER_METRICS: [MetricField; 2] = [
    metric(keys::CONTAINER_CPU, "CPU", "percent", 1),
    metric(keys::CONTAINER_MEMORY, "Memory", "filesize", 2),
];

pub(crate) const HOST_METRICS: [MetricField; 3] = [
    metric(keys::HOST_CPU, "CPU", "percent", 1),
    metric(keys::HOST_MEMORY, "Memory", "filesize", 2),
    MetricField {
        key: keys::LOAD1,
        label: "Load (1m)",
        format: "",
        group: "load",
        priority: 11,
    },
];

/// The rows of `fields` that `n` has (latest values read in one pass).
pub(crate) fn metadata_rows<'r, const N: usize>(
    n: &'r Node,
    fields: &[Field; N],
    texts: &mut Interner<'r>,
    out: &mut Vec<MetadataRow>,
) {
    let values = scan(n, &fields.each_ref().map(|f| f.key));
    for (f, latest) in fields.iter().zip(values) {
        let value = match f.from {
            Source::Latest => match latest {
                Some(v) if !v.is_empty() && f.shared => texts.get(v),
                Some(v) if !v.is_empty() => Text::from(v),
                _ => continue,
            },
            Source::Set => match n.sets.get(f.key) {
                Some(s) if !s.is_empty() => Text::from(join(s.iter().map(String::as_str))),
                _ => continue,
            },
        };
        out.push(MetadataRow {
            id: f.key,
            label: f.label,
            value,
            priority: f.priority,
            data_type: f.data_type,
            truncate: None,
        });
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(s);
    }
    out
}

fn row(f: &MetricField, m: &Metric, samples: bool) -> Option<MetricRow> {
    let last = m.last()?;
    Some(MetricRow {
        id: f.key,
        label: f.label,
        format: f.format,
        group: f.group,
        value: last.value,
        priority: f.priority,
        samples: if samples {
            m.samples
                .iter()
                .map(|s| SampleRow {
                    date: s.timestamp,
                    value: s.value,
                })
                .collect()
        } else {
            Vec::new()
        },
        min: m.min,
        max: m.max,
    })
}

/// The metric rows of `fields` that `n` has samples for; with the samples themselves only if
/// `samples` (details draw sparklines; the topology view shows the newest value, as Scope's
/// `MetricRow.Summary()`, and then a node only changes when a value does).
pub(crate) fn metric_rows<const N: usize>(
    n: &Node,
    fields: &[MetricField; N],
    samples: bool,
) -> Vec<MetricRow> {
    if n.metrics.is_empty() {
        return Vec::new();
    }
    // One pass over the node's metrics (as `scan` does for latest values), then a vector of
    // exactly the rows found.
    let mut found: [Option<&Metric>; N] = [None; N];
    for (k, m) in &n.metrics {
        if let Some(i) = fields
            .iter()
            .position(|f| f.key.len() == k.len() && f.key == k)
        {
            found[i] = Some(m);
        }
    }
    let mut out = Vec::with_capacity(found.iter().flatten().count());
    for (f, m) in fields.iter().zip(found) {
        if let Some(r) = m.and_then(|m| row(f, m, samples)) {
            out.push(r);
        }
    }
    out
}

/// Metric rows of a group: each metric the sum of its members' newest samples (one sample, at
/// the newest member's time), so a group's CPU is what its members use together.
pub(crate) fn summed_metric_rows(
    members: &[&Node],
    fields: &[MetricField],
    samples: bool,
) -> Vec<MetricRow> {
    let mut out = Vec::new();
    for f in fields {
        let mut sum: Option<Metric> = None;
        for m in members.iter().filter_map(|n| n.metrics.get(f.key)) {
            let Some(last) = m.last() else { continue };
            let acc = sum.get_or_insert_with(|| Metric::single(last.timestamp, 0.0, 0.0, 0.0));
            let s = &mut acc.samples[0];
            s.value += last.value;
            s.timestamp = s.timestamp.max(last.timestamp);
            acc.min += m.min;
            acc.max += m.max;
        }
        if let Some(r) = sum.as_ref().and_then(|m| row(f, m, samples)) {
            out.push(r);
        }
    }
    out
}

/// Docker labels as a property list (latest keys `docker_label_<label>`), if the node has any.
pub(crate) fn docker_labels(n: &Node) -> Option<Table> {
    let rows: Vec<TableRow> = n
        .latest
        .range::<str, _>((Bound::Included(keys::LABEL_PREFIX), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(keys::LABEL_PREFIX))
        .map(|(k, v)| {
            let label = &k[keys::LABEL_PREFIX.len()..];
            TableRow {
                id: format!("label_{label}"),
                entries: TableEntries {
                    label: label.to_owned(),
                    value: v.value.clone(),
                },
            }
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        id: keys::LABEL_PREFIX,
        label: "Docker labels",
        table_type: "property-list",
        columns: vec![Column::new("label", "Label"), Column::new("value", "Value")],
        rows,
    })
}
