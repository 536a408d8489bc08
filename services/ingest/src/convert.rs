//! Validation and conversion of what probes send, shared by a probe's own stream and by the
//! replica bus (which carries the same messages, re-published by the replica that accepted them):
//! one set of rules, so a report refused on a stream is refused from the bus too.

use scope_collector::{Hello, ProbeUpdate};
use scope_proto::v1 as pb;
use scope_report::Report;
use scope_report::convert::{ConvertError, delta_from_pb};
use tonic::Status;

/// Whether `id` is shaped like a probe id: 1-64 characters of `[A-Za-z0-9_-]`.
pub(crate) fn valid_probe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a hello and turns it into the collector's.
pub(crate) fn validate_hello(h: pb::Hello) -> Result<Hello, Status> {
    if !valid_probe_id(&h.probe_id) {
        return Err(Status::invalid_argument(
            "hello.probe_id must be 1-64 characters of [A-Za-z0-9_-]",
        ));
    }
    if h.hostname.is_empty() || h.hostname.len() > 255 {
        return Err(Status::invalid_argument(
            "hello.hostname must be 1-255 bytes",
        ));
    }
    Ok(Hello {
        probe_id: h.probe_id,
        hostname: h.hostname,
        version: h.version.chars().take(64).collect(),
        capabilities: h.capabilities.into_iter().take(32).collect(),
    })
}

/// The wire form of a validated hello, for the bus.
pub(crate) fn hello_to_pb(h: &Hello) -> pb::Hello {
    pb::Hello {
        probe_id: h.probe_id.clone(),
        hostname: h.hostname.clone(),
        version: h.version.clone(),
        capabilities: h.capabilities.clone(),
    }
}

/// Converts a report message, enforcing the node limit. The report's own `sequence` and
/// `dropped_reports` are read by the caller before.
pub(crate) fn probe_update(
    r: pb::ReportMessage,
    max_nodes_per_report: usize,
) -> Result<ProbeUpdate, Status> {
    let seq = r.sequence;
    let kind = pb::ReportKind::try_from(r.kind).unwrap_or(pb::ReportKind::Unspecified);
    let wire = r
        .report
        .ok_or_else(|| invalid(ConvertError::MissingReport))?;
    let update = match kind {
        pb::ReportKind::Full => ProbeUpdate::Full {
            seq,
            report: Report::try_from(wire).map_err(invalid)?,
        },
        pb::ReportKind::Shortcut => ProbeUpdate::Shortcut {
            seq,
            report: Report::try_from(wire).map_err(invalid)?,
        },
        pb::ReportKind::Delta => ProbeUpdate::Delta {
            seq,
            base_seq: r.base_sequence,
            delta: delta_from_pb(wire, r.removed).map_err(invalid)?,
        },
        pb::ReportKind::Unspecified => {
            return Err(Status::invalid_argument("report kind is unspecified"));
        }
    };
    let nodes = update.node_count();
    if nodes > max_nodes_per_report {
        return Err(Status::resource_exhausted(format!(
            "report has {nodes} nodes; the limit is {max_nodes_per_report}"
        )));
    }
    Ok(update)
}

fn invalid(e: ConvertError) -> Status {
    Status::invalid_argument(format!("invalid report: {e}"))
}
