//! The `ProbeService` implementation: one task per probe stream.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::Stream;
use scope_bus::Bus;
use scope_collector::{ApplyError, Collectors, TenantCollector, TenantId};
use scope_proto::v1 as pb;
use scope_proto::v1::probe_service_server::ProbeService;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::{info, warn};

use crate::auth::TokenResolver;
use crate::convert::{hello_to_pb, probe_update, validate_hello};
use crate::recording::Recorder;
use crate::replication::{Event, Publisher, ReplicationCounts, encode_event};
use crate::routing::{Outbound, ProbeRouter};

/// Ingest limits and identity.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Largest encoded message accepted from a probe, in bytes.
    pub max_message_bytes: usize,
    /// Largest number of nodes accepted in one report.
    pub max_nodes_per_report: usize,
    /// How long a new stream may take to send its hello.
    pub hello_timeout: Duration,
    /// This app's id, sent to probes for their logs; also this replica's id unless
    /// [`IngestService::with_replication`] or [`IngestService::with_store`] names one.
    pub app_id: String,
    /// How often an open stream's service token is checked again when the probe is silent (a
    /// report also triggers a check when the last one is older than a second), so a revoked
    /// token stops its probes within one publish interval.
    pub token_recheck_interval: Duration,
    /// How often a stream's counters are written to the store ([`IngestService::with_store`]).
    pub stats_flush_interval: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_message_bytes: 16 * 1024 * 1024,
            max_nodes_per_report: 50_000,
            hello_timeout: Duration::from_secs(10),
            app_id: String::new(),
            token_recheck_interval: Duration::from_secs(2),
            stats_flush_interval: Duration::from_secs(10),
        }
    }
}

/// A report re-checks the token only if the last check is older than this: a probe reporting
/// every second costs at most one lookup a second.
const RECHECK_ON_REPORT_AFTER: Duration = Duration::from_secs(1);
/// Longest a token re-check may hold up its stream; past that it counts as "could not check".
const RECHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The ingest service: build it, then serve `IngestService::into_server()`.
#[derive(Clone)]
pub struct IngestService {
    config: Arc<IngestConfig>,
    resolver: Arc<dyn TokenResolver>,
    collectors: Collectors,
    router: ProbeRouter,
    shutdown: Option<watch::Receiver<bool>>,
    replica: Arc<str>,
    bus: Option<Arc<dyn Bus>>,
    /// Started at the first stream, so that it publishes under the final replica id whatever
    /// the order of the builder calls, and so that building needs no runtime.
    publisher: Arc<OnceLock<Publisher>>,
    store: Option<scope_store::Store>,
}

impl IngestService {
    /// A service resolving tokens with `resolver` and feeding `collectors`.
    pub fn new(
        config: IngestConfig,
        resolver: Arc<dyn TokenResolver>,
        collectors: Collectors,
        router: ProbeRouter,
    ) -> IngestService {
        let replica: Arc<str> = if config.app_id.is_empty() {
            Arc::from("local")
        } else {
            Arc::from(config.app_id.as_str())
        };
        IngestService {
            config: Arc::new(config),
            resolver,
            collectors,
            router,
            shutdown: None,
            replica,
            bus: None,
            publisher: Arc::default(),
            store: None,
        }
    }

    /// Ends every probe stream with UNAVAILABLE when `shutdown` turns true, so probes reconnect
    /// (to another replica, or to this one once it is back) instead of holding dead streams.
    pub fn with_shutdown(mut self, shutdown: watch::Receiver<bool>) -> IngestService {
        self.shutdown = Some(shutdown);
        self
    }

    /// Publishes what happens on this replica's probe streams (connected, every accepted report,
    /// disconnected) on `bus`, as replica `replica_id`, for the other replicas'
    /// [`spawn_subscriber`](crate::replication::spawn_subscriber). Publishing never blocks or
    /// fails a stream: events are queued and, if the bus cannot keep up, dropped and counted.
    ///
    /// The replica id is also what the collectors and the store record as holding the probes:
    /// give [`IngestService::with_store`] the same one (if they differ, the last given wins).
    pub fn with_replication(mut self, bus: Arc<dyn Bus>, replica_id: String) -> IngestService {
        self.replica = Arc::from(replica_id);
        self.bus = Some(bus);
        self
    }

    /// Records the probes of this replica in `store` (organisation = tenant): connected on
    /// `replica_id` when their stream opens, disconnected when it ends, and their counters every
    /// `stats_flush_interval`. Store failures are logged and never cut a stream. Tenants that are
    /// not organisation ids (`scope launch`'s "local") are not recorded.
    pub fn with_store(mut self, store: scope_store::Store, replica_id: String) -> IngestService {
        self.replica = Arc::from(replica_id);
        self.store = Some(store);
        self
    }

    /// The id of this replica, as written into the collectors, the bus and the store.
    pub fn replica_id(&self) -> &str {
        &self.replica
    }

    /// The publishing side's counters (all zero without replication).
    pub fn replication_counts(&self) -> ReplicationCounts {
        self.publisher
            .get()
            .map(|p| p.counters().snapshot())
            .unwrap_or_default()
    }

    /// The publisher, started on first use (within the runtime serving the streams).
    fn publisher(&self) -> Option<Publisher> {
        let bus = self.bus.as_ref()?;
        let p = self
            .publisher
            .get_or_init(|| Publisher::spawn(bus.clone(), self.replica.clone()));
        Some(p.clone())
    }

    /// The tonic server for this service, with the message size limit applied.
    pub fn into_server(self) -> pb::probe_service_server::ProbeServiceServer<IngestService> {
        let max = self.config.max_message_bytes;
        pb::probe_service_server::ProbeServiceServer::new(self)
            .max_decoding_message_size(max)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
    }
}

fn bearer_token<T>(req: &Request<T>) -> Option<&str> {
    let v = req.metadata().get("authorization")?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(str::trim)
}

fn describe(remote: Option<SocketAddr>) -> String {
    remote.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
}

#[tonic::async_trait]
impl ProbeService for IngestService {
    type ConnectStream = Pin<Box<dyn Stream<Item = Result<pb::AppMessage, Status>> + Send>>;

    async fn connect(
        &self,
        req: Request<Streaming<pb::ProbeMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let remote = describe(req.remote_addr());
        let Some(token) = bearer_token(&req).map(str::to_owned) else {
            warn!(remote = %remote, "probe refused: no service token");
            return Err(Status::unauthenticated(
                "missing service token: pass --service-token (sent as 'authorization: Bearer <token>')",
            ));
        };
        let tenant = match self.resolver.resolve(&token).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                warn!(remote = %remote, "probe refused: invalid or revoked service token");
                return Err(Status::unauthenticated("invalid or revoked service token"));
            }
            Err(e) => {
                warn!(remote = %remote, "probe refused for now: {e}");
                return Err(Status::unavailable(
                    "the app cannot check service tokens right now; retry shortly",
                ));
            }
        };
        let mut inbound = req.into_inner();
        let hello = match tokio::time::timeout(self.config.hello_timeout, inbound.message()).await {
            Err(_) => return Err(Status::deadline_exceeded("no hello within the timeout")),
            Ok(Err(status)) => return Err(map_stream_error(status)),
            Ok(Ok(None)) => return Err(Status::cancelled("stream ended before hello")),
            Ok(Ok(Some(pb::ProbeMessage {
                msg: Some(pb::probe_message::Msg::Hello(h)),
            }))) => validate_hello(h)?,
            Ok(Ok(Some(_))) => {
                return Err(Status::invalid_argument(
                    "the first message of a stream must be a hello",
                ));
            }
        };
        let (tx, rx) = mpsc::channel(64);
        let collector = self.collectors.tenant(&tenant);
        collector.connected(hello.clone(), &self.replica).await;
        let hello_pb = hello_to_pb(&hello);
        let publisher = self.publisher();
        if let Some(p) = &publisher {
            p.publish(&tenant, &hello.probe_id, Event::Connected(&hello_pb));
        }
        let recorder = match &self.store {
            Some(store) => {
                Recorder::connect(
                    store,
                    self.replica.clone(),
                    self.config.stats_flush_interval,
                    &tenant,
                    &hello,
                )
                .await
            }
            None => None,
        };
        let connected = scope_telemetry::metrics().probe_guard(tenant.as_str());
        let stream_id = self.router.register(&tenant, &hello.probe_id, tx.clone());
        info!(tenant = %tenant, probe_id = %hello.probe_id, hostname = %hello.hostname, remote = %remote, replica = %self.replica, "probe stream opened");
        let _ = tx.send(Ok(configuration(&self.config, false))).await;
        let session = Session {
            tenant,
            probe_id: hello.probe_id,
            hello_pb,
            remote,
            replica: self.replica.clone(),
            collector,
            router: self.router.clone(),
            config: self.config.clone(),
            tx,
            token,
            resolver: self.resolver.clone(),
            last_check: Instant::now(),
            publisher,
            recorder,
            _connected: connected,
        };
        let (_never, never_rx) = watch::channel(false);
        let shutdown = self.shutdown.clone().unwrap_or(never_rx);
        tokio::spawn(async move {
            // Keep the sender alive for as long as the session when there is no shutdown signal.
            let _never = _never;
            session.run(inbound, stream_id, shutdown).await
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// The settings the app sends a probe: at the start of a stream, and again (asking for a full
/// report) when a delta arrives whose base this app does not hold.
fn configuration(config: &IngestConfig, request_full_report: bool) -> pb::AppMessage {
    pb::AppMessage {
        msg: Some(pb::app_message::Msg::Configuration(pb::Configuration {
            app_id: config.app_id.clone(),
            max_message_bytes: config.max_message_bytes as u64,
            max_nodes_per_report: config.max_nodes_per_report as u64,
            request_full_report,
        })),
    }
}

/// Turns tonic's decode errors into the statuses our protocol documents.
fn map_stream_error(status: Status) -> Status {
    let msg = status.message();
    if msg.contains("message length too large") {
        Status::resource_exhausted(format!("message too large: {msg}"))
    } else if status.code() == Code::Internal && msg.contains("decode") {
        Status::invalid_argument(format!("malformed message: {msg}"))
    } else {
        status
    }
}

struct Session {
    tenant: TenantId,
    probe_id: String,
    /// The validated hello, as sent with full reports on the bus.
    hello_pb: pb::Hello,
    remote: String,
    replica: Arc<str>,
    collector: TenantCollector,
    router: ProbeRouter,
    config: Arc<IngestConfig>,
    tx: Outbound,
    /// The stream's service token, checked again while the stream is open. Never logged.
    token: String,
    resolver: Arc<dyn TokenResolver>,
    last_check: Instant,
    publisher: Option<Publisher>,
    recorder: Option<Recorder>,
    /// Counts the stream in `scope_probes_connected` while it is open.
    _connected: scope_telemetry::ConnectionGuard<'static>,
}

impl Session {
    async fn run(
        mut self,
        mut inbound: Streaming<pb::ProbeMessage>,
        stream_id: u64,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let every = self.config.token_recheck_interval;
        let mut recheck = tokio::time::interval_at(Instant::now() + every, every);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reason = loop {
            let next = tokio::select! {
                m = inbound.message() => m,
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    let status = Status::unavailable("the app is shutting down; reconnect");
                    self.reject(&status).await;
                    break status.message().to_owned();
                }
                _ = recheck.tick() => {
                    // A silent stream is checked on this timer; a reporting one on its reports.
                    if let Err(status) = self.recheck_token(RECHECK_ON_REPORT_AFTER).await {
                        self.reject(&status).await;
                        break status.message().to_owned();
                    }
                    if let Some(r) = &mut self.recorder {
                        r.maybe_flush();
                    }
                    continue;
                }
            };
            let msg = match next {
                Ok(Some(m)) => m,
                Ok(None) => break "stream ended".to_owned(),
                Err(status) => {
                    let mapped = map_stream_error(status);
                    if mapped.code() != Code::Cancelled && mapped.code() != Code::Unknown {
                        self.note_dropped();
                        self.reject(&mapped).await;
                    }
                    break mapped.message().to_owned();
                }
            };
            if let Err(status) = self.handle(msg).await {
                self.reject(&status).await;
                break status.message().to_owned();
            }
        };
        self.router
            .unregister(&self.tenant, &self.probe_id, stream_id);
        self.collector
            .disconnected(&self.probe_id, &self.replica)
            .await;
        if let Some(p) = &self.publisher {
            p.publish(&self.tenant, &self.probe_id, Event::Disconnected(&reason));
        }
        if let Some(r) = self.recorder.take() {
            r.disconnect().await;
        }
    }

    async fn reject(&self, status: &Status) {
        warn!(tenant = %self.tenant, probe_id = %self.probe_id, remote = %self.remote, code = ?status.code(), "closing probe stream: {}", status.message());
        let _ = self.tx.send(Err(status.clone())).await;
    }

    fn note_dropped(&mut self) {
        if let Some(r) = &mut self.recorder {
            r.dropped();
        }
    }

    /// Resolves the stream's token again if the last check is older than `min_age`. A token
    /// that no longer resolves to this stream's tenant ends the stream; a resolver that cannot
    /// tell (database down) does not: cutting every probe because the database blinked would
    /// be worse than a revocation taking effect a little late.
    async fn recheck_token(&mut self, min_age: Duration) -> Result<(), Status> {
        if self.last_check.elapsed() < min_age {
            return Ok(());
        }
        self.last_check = Instant::now();
        match tokio::time::timeout(RECHECK_TIMEOUT, self.resolver.resolve(&self.token)).await {
            Ok(Ok(Some(t))) if t == self.tenant => Ok(()),
            Ok(Ok(_)) => {
                warn!(tenant = %self.tenant, probe_id = %self.probe_id, remote = %self.remote, "service token revoked; stopping its probe");
                Err(Status::unauthenticated("service token revoked"))
            }
            Ok(Err(e)) => {
                warn!(tenant = %self.tenant, probe_id = %self.probe_id, "keeping the probe stream: {e}");
                Ok(())
            }
            Err(_) => {
                warn!(tenant = %self.tenant, probe_id = %self.probe_id, "keeping the probe stream: service token check timed out");
                Ok(())
            }
        }
    }

    async fn handle(&mut self, msg: pb::ProbeMessage) -> Result<(), Status> {
        match msg.msg {
            Some(pb::probe_message::Msg::Report(r)) => {
                self.recheck_token(RECHECK_ON_REPORT_AFTER).await?;
                let bytes = prost::Message::encoded_len(&r);
                let span = tracing::info_span!(
                    "ingest.report",
                    tenant = %self.tenant,
                    probe_id = %self.probe_id,
                    bytes = bytes as i64,
                    kind = r.kind,
                );
                let res = tracing::Instrument::instrument(self.report(r), span).await;
                let metrics = scope_telemetry::metrics();
                match &res {
                    Ok(()) => metrics.reports_received(self.tenant.as_str(), bytes as u64),
                    Err(status) => {
                        metrics.reports_rejected(
                            self.tenant.as_str(),
                            &format!("{:?}", status.code()),
                        );
                        self.note_dropped();
                    }
                }
                if let Some(rec) = &mut self.recorder {
                    rec.maybe_flush();
                }
                res
            }
            Some(pb::probe_message::Msg::ControlReply(reply)) => {
                self.router
                    .deliver_reply(&self.tenant, &self.probe_id, reply);
                Ok(())
            }
            Some(pb::probe_message::Msg::Hello(_)) => Err(Status::invalid_argument(
                "hello may only be sent once, as the first message",
            )),
            None => Err(Status::invalid_argument("empty probe message")),
        }
    }

    async fn report(&mut self, r: pb::ReportMessage) -> Result<(), Status> {
        let seq = r.sequence;
        let dropped = r.dropped_reports;
        // Encoded before conversion consumes the message, published only once accepted.
        let event = self.publisher.as_ref().map(|p| {
            let full = r.kind == pb::ReportKind::Full as i32;
            let hello = full.then_some(&self.hello_pb);
            encode_event(
                &self.tenant,
                &self.probe_id,
                p.replica(),
                Event::Report(&r, hello),
            )
        });
        let update = probe_update(r, self.config.max_nodes_per_report)?;
        match self
            .collector
            .update(&self.probe_id, &self.replica, update, dropped)
            .await
        {
            Ok(()) => {
                if let (Some(p), Some(payload)) = (&self.publisher, event) {
                    p.publish_encoded(&self.tenant, &self.probe_id, payload);
                }
                if let Some(rec) = &mut self.recorder {
                    rec.received();
                }
                let ack = pb::AppMessage {
                    msg: Some(pb::app_message::Msg::Ack(pb::Ack { sequence: seq })),
                };
                let _ = self.tx.send(Ok(ack)).await;
            }
            Err(ApplyError::MissingBase { .. }) => {
                // Not the probe's fault (e.g. this app restarted mid-stream): ask for a full one.
                self.note_dropped();
                let _ = self.tx.send(Ok(configuration(&self.config, true))).await;
            }
            Err(e @ ApplyError::UnknownProbe(_)) => {
                return Err(Status::unavailable(e.to_string()));
            }
            Err(ApplyError::NotOwner { holder, .. }) => {
                // The probe has since connected through another replica: the newest stream wins,
                // as it does on one replica. If this one is the live one, the probe reconnects
                // and takes the probe back.
                return Err(Status::unavailable(format!(
                    "this probe has since connected through app replica {holder}; reconnect"
                )));
            }
        }
        Ok(())
    }
}
