//! The `ProbeService` implementation: one task per probe stream.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use scope_collector::{ApplyError, Collectors, Hello, ProbeUpdate, TenantCollector, TenantId};
use scope_proto::v1 as pb;
use scope_proto::v1::probe_service_server::ProbeService;
use scope_report::Report;
use scope_report::convert::{ConvertError, delta_from_pb};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::{info, warn};

use crate::auth::TokenResolver;
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
    /// This app's id, sent to probes for their logs.
    pub app_id: String,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_message_bytes: 16 * 1024 * 1024,
            max_nodes_per_report: 50_000,
            hello_timeout: Duration::from_secs(10),
            app_id: String::new(),
        }
    }
}

/// The ingest service: build it, then serve `IngestService::into_server()`.
#[derive(Clone)]
pub struct IngestService {
    config: Arc<IngestConfig>,
    resolver: Arc<dyn TokenResolver>,
    collectors: Collectors,
    router: ProbeRouter,
    shutdown: Option<watch::Receiver<bool>>,
}

impl IngestService {
    /// A service resolving tokens with `resolver` and feeding `collectors`.
    pub fn new(
        config: IngestConfig,
        resolver: Arc<dyn TokenResolver>,
        collectors: Collectors,
        router: ProbeRouter,
    ) -> IngestService {
        IngestService {
            config: Arc::new(config),
            resolver,
            collectors,
            router,
            shutdown: None,
        }
    }

    /// Ends every probe stream with UNAVAILABLE when `shutdown` turns true, so probes reconnect
    /// (to another replica, or to this one once it is back) instead of holding dead streams.
    pub fn with_shutdown(mut self, shutdown: watch::Receiver<bool>) -> IngestService {
        self.shutdown = Some(shutdown);
        self
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
        let Some(token) = bearer_token(&req) else {
            warn!(remote = %remote, "probe refused: no service token");
            return Err(Status::unauthenticated(
                "missing service token: pass --service-token (sent as 'authorization: Bearer <token>')",
            ));
        };
        let Some(tenant) = self.resolver.resolve(token).await else {
            warn!(remote = %remote, "probe refused: invalid or revoked service token");
            return Err(Status::unauthenticated("invalid or revoked service token"));
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
        collector.connected(hello.clone()).await;
        let stream_id = self.router.register(&tenant, &hello.probe_id, tx.clone());
        info!(tenant = %tenant, probe_id = %hello.probe_id, hostname = %hello.hostname, remote = %remote, "probe stream opened");
        let _ = tx.send(Ok(configuration(&self.config, false))).await;
        let session = Session {
            tenant,
            probe_id: hello.probe_id,
            remote,
            collector,
            router: self.router.clone(),
            config: self.config.clone(),
            tx,
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

fn validate_hello(h: pb::Hello) -> Result<Hello, Status> {
    let ok_id = !h.probe_id.is_empty()
        && h.probe_id.len() <= 64
        && h.probe_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok_id {
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
    remote: String,
    collector: TenantCollector,
    router: ProbeRouter,
    config: Arc<IngestConfig>,
    tx: Outbound,
}

impl Session {
    async fn run(
        self,
        mut inbound: Streaming<pb::ProbeMessage>,
        stream_id: u64,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let next = tokio::select! {
                m = inbound.message() => m,
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    self.reject(Status::unavailable("the app is shutting down; reconnect")).await;
                    break;
                }
            };
            let msg = match next {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(status) => {
                    let mapped = map_stream_error(status);
                    if mapped.code() != Code::Cancelled && mapped.code() != Code::Unknown {
                        self.reject(mapped).await;
                    }
                    break;
                }
            };
            if let Err(status) = self.handle(msg).await {
                self.reject(status).await;
                break;
            }
        }
        self.router
            .unregister(&self.tenant, &self.probe_id, stream_id);
        self.collector.disconnected(&self.probe_id).await;
    }

    async fn reject(&self, status: Status) {
        warn!(tenant = %self.tenant, probe_id = %self.probe_id, remote = %self.remote, code = ?status.code(), "closing probe stream: {}", status.message());
        let _ = self.tx.send(Err(status)).await;
    }

    async fn handle(&self, msg: pb::ProbeMessage) -> Result<(), Status> {
        match msg.msg {
            Some(pb::probe_message::Msg::Report(r)) => self.report(r).await,
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

    async fn report(&self, r: pb::ReportMessage) -> Result<(), Status> {
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
        if nodes > self.config.max_nodes_per_report {
            return Err(Status::resource_exhausted(format!(
                "report has {nodes} nodes; the limit is {}",
                self.config.max_nodes_per_report
            )));
        }
        match self
            .collector
            .update(&self.probe_id, update, r.dropped_reports)
            .await
        {
            Ok(()) => {
                let ack = pb::AppMessage {
                    msg: Some(pb::app_message::Msg::Ack(pb::Ack { sequence: seq })),
                };
                let _ = self.tx.send(Ok(ack)).await;
            }
            Err(ApplyError::MissingBase { .. }) => {
                // Not the probe's fault (e.g. this app restarted mid-stream): ask for a full one.
                let _ = self.tx.send(Ok(configuration(&self.config, true))).await;
            }
            Err(e @ ApplyError::UnknownProbe(_)) => {
                return Err(Status::unavailable(e.to_string()));
            }
        }
        Ok(())
    }
}

fn invalid(e: ConvertError) -> Status {
    Status::invalid_argument(format!("invalid report: {e}"))
}
