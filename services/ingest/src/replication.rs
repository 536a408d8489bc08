//! Replication of probe events between app replicas over the bus.
//!
//! The replica holding a probe's stream publishes what happens on it (connected, every accepted
//! report as the probe sent it, disconnected) as a `scope.v1.BusEvent` on
//! `scope.v1.probe.<tenant>.<origin replica>`; every replica runs a [`Subscriber`] that applies
//! other replicas' events to its own collectors. A viewer on any replica thus sees every probe of
//! its tenant within one publish interval.
//!
//! The origin replica is the subject's last token so that a replica skips its own events without
//! decoding them (NATS echoes a connection's messages back to its own subscriptions).
//!
//! Publishing never blocks or fails a probe's stream: events go through a bounded queue to one
//! publishing task; when the bus cannot keep up they are dropped and counted. Receivers tolerate
//! loss: a delta whose base they missed is dropped, and the probe's next full report (at most
//! three publishes later) brings them back in step.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use prost::Message as _;
use scope_bus::subject::encode_token;
use scope_bus::{Bus, BusError};
use scope_collector::{ApplyError, Collectors, TenantId};
use scope_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::convert::{probe_update, valid_probe_id, validate_hello};
use crate::service::IngestConfig;

/// The pattern every replica subscribes to: all tenants' probe events.
pub const PROBE_EVENTS_PATTERN: &str = "scope.v1.probe.>";
const PROBE_EVENTS_PREFIX: &str = "scope.v1.probe.";

/// Events waiting for the bus. Small: a replica that cannot publish for a while loses events
/// either way, and the queue holds whole reports (up to 16 MiB each).
const PUBLISH_QUEUE: usize = 256;

/// Protobuf key of `BusEvent.report` (field 5, length-delimited), for encoding a report event
/// without copying the report into a `BusEvent` first.
const REPORT_FIELD_KEY: u8 = (5 << 3) | 2;

/// The subject of `tenant`'s probe events published by `origin`.
pub fn probe_subject(tenant: &TenantId, origin: &str) -> String {
    format!(
        "{PROBE_EVENTS_PREFIX}{}.{}",
        encode_token(tenant.as_str()),
        encode_token(origin)
    )
}

/// Replication counters, as a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationCounts {
    /// Events handed to the bus.
    pub published: u64,
    /// Events the bus refused (too large, disconnected for good); each is logged.
    pub publish_failed: u64,
    /// Events dropped because the bus could not keep up (queue full).
    pub publish_dropped: u64,
    /// Events received from other replicas.
    pub received: u64,
    /// Own events seen again (skipped without decoding).
    pub own_skipped: u64,
    /// Received events handed to the collectors.
    pub applied: u64,
    /// Received events that were malformed or invalid (logged and dropped).
    pub malformed: u64,
    /// Deltas dropped because this replica does not hold their base (it catches up at the
    /// probe's next full report).
    pub missing_base: u64,
    /// Reports dropped because they came from a replica that no longer holds the probe, or for
    /// a probe this replica has not learned yet.
    pub stale: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    published: AtomicU64,
    publish_failed: AtomicU64,
    publish_dropped: AtomicU64,
    received: AtomicU64,
    own_skipped: AtomicU64,
    applied: AtomicU64,
    malformed: AtomicU64,
    missing_base: AtomicU64,
    stale: AtomicU64,
}

fn bump(c: &AtomicU64) -> u64 {
    c.fetch_add(1, Ordering::Relaxed) + 1
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ReplicationCounts {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ReplicationCounts {
            published: g(&self.published),
            publish_failed: g(&self.publish_failed),
            publish_dropped: g(&self.publish_dropped),
            received: g(&self.received),
            own_skipped: g(&self.own_skipped),
            applied: g(&self.applied),
            malformed: g(&self.malformed),
            missing_base: g(&self.missing_base),
            stale: g(&self.stale),
        }
    }
}

/// What happened on a stream, borrowed from the session that publishes it.
pub(crate) enum Event<'a> {
    Connected(&'a pb::Hello),
    /// A report and, for full ones, the probe's hello.
    Report(&'a pb::ReportMessage, Option<&'a pb::Hello>),
    Disconnected(&'a str),
}

/// Encodes an event. A report is written straight after the envelope rather than moved into a
/// `BusEvent`: the session still needs it, and copying megabytes of report per publish to save
/// a few lines of encoding would be a poor trade. Protobuf merges fields in any order, so the
/// bytes decode as one `BusEvent`.
pub(crate) fn encode_event(
    tenant: &TenantId,
    probe_id: &str,
    origin: &str,
    event: Event<'_>,
) -> Bytes {
    let mut head = pb::BusEvent {
        tenant: tenant.as_str().to_owned(),
        probe_id: probe_id.to_owned(),
        origin_replica: origin.to_owned(),
        event: None,
        hello: None,
    };
    let report = match event {
        Event::Connected(h) => {
            head.event = Some(pb::bus_event::Event::Connected(h.clone()));
            None
        }
        Event::Disconnected(reason) => {
            head.event = Some(pb::bus_event::Event::Disconnected(pb::Disconnected {
                reason: reason.to_owned(),
            }));
            None
        }
        Event::Report(r, hello) => {
            head.hello = hello.cloned();
            Some(r)
        }
    };
    let report_len = report.map_or(0, |r| 1 + 10 + r.encoded_len());
    let mut buf = BytesMut::with_capacity(head.encoded_len() + report_len);
    // Encoding into a BytesMut cannot fail: it grows as needed.
    head.encode(&mut buf).expect("BytesMut grows");
    if let Some(r) = report {
        buf.put_u8(REPORT_FIELD_KEY);
        r.encode_length_delimited(&mut buf).expect("BytesMut grows");
    }
    buf.freeze()
}

/// The publishing side of one ingest service: a bounded queue and the task draining it.
#[derive(Clone)]
pub(crate) struct Publisher {
    replica: Arc<str>,
    tx: mpsc::Sender<(String, Bytes)>,
    counters: Arc<Counters>,
}

impl Publisher {
    /// Starts the publishing task (needs a Tokio runtime). It ends when every clone is dropped.
    pub(crate) fn spawn(bus: Arc<dyn Bus>, replica: Arc<str>) -> Publisher {
        let (tx, mut rx) = mpsc::channel::<(String, Bytes)>(PUBLISH_QUEUE);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        tokio::spawn(async move {
            while let Some((subject, payload)) = rx.recv().await {
                match bus.publish(&subject, payload).await {
                    Ok(()) => {
                        bump(&c.published);
                    }
                    Err(e) => {
                        let n = bump(&c.publish_failed);
                        warn!(
                            subject,
                            failed_total = n,
                            "cannot replicate a probe event: {e}"
                        );
                    }
                }
            }
        });
        Publisher {
            replica,
            tx,
            counters,
        }
    }

    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Queues an event without waiting.
    pub(crate) fn publish(&self, tenant: &TenantId, probe_id: &str, event: Event<'_>) {
        let payload = encode_event(tenant, probe_id, &self.replica, event);
        self.publish_encoded(tenant, probe_id, payload);
    }

    /// Queues an event [`encode_event`] made with this publisher's replica, without waiting.
    pub(crate) fn publish_encoded(&self, tenant: &TenantId, probe_id: &str, payload: Bytes) {
        let subject = probe_subject(tenant, &self.replica);
        match self.tx.try_send((subject, payload)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let n = bump(&self.counters.publish_dropped);
                // Powers of two: the first drop always shows, a long outage does not flood.
                if n.is_power_of_two() {
                    warn!(tenant = %tenant, probe_id, dropped_total = n, "bus too slow, probe events dropped");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                bump(&self.counters.publish_failed);
            }
        }
    }
}

/// The task applying other replicas' probe events to this replica's collectors. Keep it for as
/// long as the replica runs: dropping it stops replication.
#[must_use = "dropping the subscriber stops replication"]
pub struct Subscriber {
    task: JoinHandle<()>,
    counters: Arc<Counters>,
}

impl Subscriber {
    /// Its counters so far.
    pub fn counts(&self) -> ReplicationCounts {
        self.counters.snapshot()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Subscribes to every tenant's probe events and applies those of other replicas to
/// `collectors`, validating them with `limits` as ingest validates a probe's own messages.
/// Returns once the subscription is active.
pub async fn spawn_subscriber(
    bus: Arc<dyn Bus>,
    replica_id: &str,
    collectors: Collectors,
    limits: &IngestConfig,
) -> Result<Subscriber, BusError> {
    let mut sub = bus.subscribe(PROBE_EVENTS_PATTERN).await?;
    let counters = Arc::new(Counters::default());
    let applier = Applier {
        replica: replica_id.to_owned(),
        own_token: encode_token(replica_id).into_owned(),
        collectors,
        counters: counters.clone(),
        max_nodes: limits.max_nodes_per_report,
        // The envelope adds a few hundred bytes to a probe message at the limit.
        max_bytes: limits.max_message_bytes.saturating_add(64 * 1024),
    };
    let task = tokio::spawn(async move {
        info!(replica = %applier.replica, "replicating probe events from other replicas");
        while let Some(m) = sub.next().await {
            applier.apply(&m.subject, m.payload).await;
        }
        warn!(replica = %applier.replica, "bus subscription ended: no more probe events from other replicas");
    });
    Ok(Subscriber { task, counters })
}

struct Applier {
    replica: String,
    own_token: String,
    collectors: Collectors,
    counters: Arc<Counters>,
    max_nodes: usize,
    max_bytes: usize,
}

impl Applier {
    async fn apply(&self, subject: &str, payload: Bytes) {
        let origin_token = subject.rsplit('.').next().unwrap_or_default();
        if origin_token == self.own_token {
            bump(&self.counters.own_skipped);
            return;
        }
        bump(&self.counters.received);
        if let Err(why) = self.apply_other(subject, payload).await {
            let n = bump(&self.counters.malformed);
            warn!(
                subject,
                malformed_total = n,
                "dropping a malformed probe event from the bus: {why}"
            );
        }
    }

    async fn apply_other(&self, subject: &str, payload: Bytes) -> Result<(), String> {
        if payload.len() > self.max_bytes {
            return Err(format!(
                "{} bytes, more than the {} a probe message may have",
                payload.len(),
                self.max_bytes
            ));
        }
        let ev = pb::BusEvent::decode(payload).map_err(|e| format!("cannot decode: {e}"))?;
        if ev.tenant.is_empty() || ev.tenant.len() > 256 {
            return Err("tenant must be 1-256 bytes".into());
        }
        if ev.origin_replica.is_empty() || ev.origin_replica == self.replica {
            return Err("origin replica is empty or this replica".into());
        }
        let tenant = TenantId::new(ev.tenant);
        // The subject is what routed the event; an event claiming another tenant or origin is
        // a bug or a forgery, never applied.
        if probe_subject(&tenant, &ev.origin_replica) != subject {
            return Err("tenant or origin does not match the subject".into());
        }
        if !valid_probe_id(&ev.probe_id) {
            return Err("probe id must be 1-64 characters of [A-Za-z0-9_-]".into());
        }
        let origin = ev.origin_replica;
        let probe_id = ev.probe_id;
        let collector = self.collectors.tenant(&tenant);
        match ev.event {
            None => return Err("no event".into()),
            Some(pb::bus_event::Event::Connected(h)) => {
                let hello = validate_hello(h).map_err(|s| s.message().to_owned())?;
                if hello.probe_id != probe_id {
                    return Err("hello is for another probe".into());
                }
                collector.remote_connected(hello, &origin).await;
            }
            Some(pb::bus_event::Event::Disconnected(_)) => {
                collector.disconnected(&probe_id, &origin).await;
            }
            Some(pb::bus_event::Event::Report(r)) => {
                let hello = match ev.hello {
                    Some(h) => {
                        let h = validate_hello(h).map_err(|s| s.message().to_owned())?;
                        if h.probe_id != probe_id {
                            return Err("hello is for another probe".into());
                        }
                        Some(h)
                    }
                    None => None,
                };
                let dropped = r.dropped_reports;
                let update = probe_update(r, self.max_nodes).map_err(|s| s.message().to_owned())?;
                if let Some(h) = hello {
                    collector.remote_seen(h, &origin).await;
                }
                match collector.update(&probe_id, &origin, update, dropped).await {
                    Ok(()) => {}
                    Err(ApplyError::MissingBase { base_seq, held }) => {
                        bump(&self.counters.missing_base);
                        debug!(tenant = %tenant, probe_id, origin, base_seq, ?held, "delta without its base here; waiting for the next full report");
                    }
                    Err(e @ (ApplyError::NotOwner { .. } | ApplyError::UnknownProbe(_))) => {
                        bump(&self.counters.stale);
                        debug!(tenant = %tenant, probe_id, origin, "report not applied: {e}");
                    }
                }
            }
        }
        bump(&self.counters.applied);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_events_decode_as_one_bus_event() {
        let hello = pb::Hello {
            probe_id: "p1".into(),
            hostname: "h".into(),
            version: "v".into(),
            capabilities: vec!["docker".into()],
        };
        let report = pb::ReportMessage {
            kind: pb::ReportKind::Full as i32,
            sequence: 7,
            dropped_reports: 2,
            report: Some(pb::Report::default()),
            ..Default::default()
        };
        let tenant = TenantId::new("t");
        let bytes = encode_event(&tenant, "p1", "r1", Event::Report(&report, Some(&hello)));
        let expected = pb::BusEvent {
            tenant: "t".into(),
            probe_id: "p1".into(),
            origin_replica: "r1".into(),
            event: Some(pb::bus_event::Event::Report(report)),
            hello: Some(hello.clone()),
        };
        assert_eq!(pb::BusEvent::decode(bytes).unwrap(), expected);
        let bytes = encode_event(&tenant, "p1", "r1", Event::Disconnected("bye"));
        let ev = pb::BusEvent::decode(bytes).unwrap();
        assert_eq!(
            ev.event,
            Some(pb::bus_event::Event::Disconnected(pb::Disconnected {
                reason: "bye".into()
            }))
        );
    }

    #[test]
    fn subjects_keep_tenants_and_replicas_to_one_token_each() {
        assert_eq!(
            probe_subject(&TenantId::new("0123abcd"), "replica-1"),
            "scope.v1.probe.0123abcd.replica-1"
        );
        let s = probe_subject(&TenantId::new("evil.>"), "r 1");
        assert_eq!(s.split('.').count(), 5, "{s}");
        scope_bus::subject::validate_subject(&s).unwrap();
        assert!(scope_bus::subject::matches(PROBE_EVENTS_PATTERN, &s));
    }
}
