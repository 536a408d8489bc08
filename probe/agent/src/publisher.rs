//! Turns published reports into the messages of one stream: a full report first and every
//! `full_every` publishes, deltas relative to the last full report in between.

use scope_proto::v1 as pb;
use scope_report::Report;
use scope_report::convert::removed_to_pb;
use scope_report::delta;

/// Per-stream encoder state. A new stream starts a new `StreamEncoder`, so the first report after
/// every reconnect is full.
#[derive(Debug)]
pub struct StreamEncoder {
    full_every: u32,
    seq: u64,
    base: Option<(u64, Report)>,
    since_full: u32,
}

impl StreamEncoder {
    /// An encoder sending a full report every `full_every` reports.
    pub fn new(full_every: u32) -> StreamEncoder {
        StreamEncoder {
            full_every: full_every.max(1),
            seq: 0,
            base: None,
            since_full: 0,
        }
    }

    /// Makes the next report full (the app asked, or a report was lost).
    pub fn force_full(&mut self) {
        self.base = None;
    }

    /// Encodes a published report as a full report or a delta.
    pub fn encode(&mut self, report: Report, dropped: u64) -> pb::ReportMessage {
        self.seq += 1;
        let seq = self.seq;
        match &self.base {
            Some((base_seq, base)) if self.since_full + 1 < self.full_every => {
                let d = delta::diff(base, &report);
                self.since_full += 1;
                pb::ReportMessage {
                    kind: pb::ReportKind::Delta as i32,
                    sequence: seq,
                    base_sequence: *base_seq,
                    dropped_reports: dropped,
                    removed: removed_to_pb(&d),
                    report: Some(pb::Report::from(&d.report)),
                }
            }
            _ => {
                let msg = pb::ReportMessage {
                    kind: pb::ReportKind::Full as i32,
                    sequence: seq,
                    base_sequence: 0,
                    dropped_reports: dropped,
                    removed: Vec::new(),
                    report: Some(pb::Report::from(&report)),
                };
                self.base = Some((seq, report));
                self.since_full = 0;
                msg
            }
        }
    }

    /// Encodes an event-driven shortcut report.
    pub fn shortcut(&mut self, report: &Report, dropped: u64) -> pb::ReportMessage {
        self.seq += 1;
        pb::ReportMessage {
            kind: pb::ReportKind::Shortcut as i32,
            sequence: self.seq,
            base_sequence: 0,
            dropped_reports: dropped,
            removed: Vec::new(),
            report: Some(pb::Report::from(report)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scope_report::convert::delta_from_pb;
    use scope_report::synthetic;

    #[test]
    fn full_then_deltas_then_full() {
        let shape = synthetic::HostShape::fleet_member(2);
        let mut enc = StreamEncoder::new(3);
        let kinds: Vec<i32> = (0..7)
            .map(|i| {
                enc.encode(synthetic::host_report(0, shape, 1000 * i), 0)
                    .kind
            })
            .collect();
        let (f, d) = (pb::ReportKind::Full as i32, pb::ReportKind::Delta as i32);
        assert_eq!(kinds, vec![f, d, d, f, d, d, f]);
    }

    #[test]
    fn delta_on_the_wire_rebuilds_the_report() {
        let shape = synthetic::HostShape::fleet_member(2);
        let r1 = synthetic::host_report(0, shape, 1000);
        let mut r2 = r1.clone();
        r2.topology_mut(scope_report::Kind::Container)
            .nodes
            .pop_first();
        let mut enc = StreamEncoder::new(3);
        let full = enc.encode(r1.clone(), 0);
        let d = enc.encode(r2.clone(), 5);
        assert_eq!(d.base_sequence, full.sequence);
        assert_eq!(d.dropped_reports, 5);
        let delta = delta_from_pb(d.report.unwrap(), d.removed).unwrap();
        assert_eq!(delta::apply(&r1, &delta), r2);
        enc.force_full();
        assert_eq!(enc.encode(r2, 5).kind, pb::ReportKind::Full as i32);
    }
}
