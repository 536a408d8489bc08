//! Routing of control requests to the stream of the probe that reported a node: on this
//! replica directly, or over the replica bus to the replica holding the stream (see the design
//! note in scope-bus: request/reply on `scope.v1.replica.<replica_id>.control`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use prost::Message as _;
use scope_bus::subject::encode_token;
use scope_bus::{Bus, BusError};
use scope_collector::{Collectors, TenantId};
use scope_proto::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::Status;
use tracing::{debug, info, warn};

/// Default time a probe has to answer a control.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How much sooner than the asking replica the serving replica gives up on the probe, so that
/// its "timed out" answer arrives before the asker stops listening.
const FORWARD_MARGIN: Duration = Duration::from_millis(500);

/// The subject on which `replica` serves control requests for the probes it holds.
pub fn control_subject(replica: &str) -> String {
    format!("scope.v1.replica.{}.control", encode_token(replica))
}

/// Outcome of a control, as the probe reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlResult {
    /// JSON value returned by the control, if any.
    pub value_json: Option<String>,
    /// Pipe opened by the control, if any.
    pub pipe_id: Option<String>,
    /// Whether the pipe is a raw TTY.
    pub raw_tty: bool,
    /// Control to call for resizes.
    pub resize_tty_control: Option<String>,
    /// Node the control removed, if any.
    pub removed_node: Option<String>,
}

/// Why a control did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No stream from that probe (for this tenant) is open on this replica.
    #[error("probe {0} is not connected right now")]
    NotConnected(String),
    /// The probe did not answer in time.
    #[error("probe {0} did not answer within {1:?}")]
    Timeout(String, Duration),
    /// The probe answered with an error.
    #[error("{0}")]
    Failed(String),
    /// The probe's stream is on another replica, which could not be asked.
    #[error("cannot reach app replica {replica} holding probe {probe_id}: {reason}")]
    Unreachable {
        /// The probe.
        probe_id: String,
        /// The replica holding it.
        replica: String,
        /// What went wrong.
        reason: String,
    },
}

pub(crate) type Outbound = mpsc::Sender<Result<pb::AppMessage, Status>>;

struct ProbeLink {
    /// Distinguishes a probe's successive streams, so an old stream's end does not unregister
    /// the new one.
    stream_id: u64,
    tx: Outbound,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<pb::ControlReply>>>>,
}

/// The probe streams open on this replica, by tenant and probe id; with a bus
/// ([`ProbeRouter::with_bus`]), also the way to other replicas' probes.
#[derive(Clone, Default)]
pub struct ProbeRouter {
    links: Arc<Mutex<HashMap<(TenantId, String), ProbeLink>>>,
    next_stream: Arc<AtomicU64>,
    timeout: Option<Duration>,
    remote: Option<Arc<Remote>>,
}

/// What forwarding to other replicas needs.
struct Remote {
    bus: Arc<dyn Bus>,
    replica: String,
    /// Where the owner of a probe is looked up (`ProbeInfo.replica`, kept current by the
    /// replicated probe events).
    collectors: Collectors,
}

/// The task serving this replica's control subject. Keep it for as long as the replica runs:
/// dropping it stops other replicas' controls from reaching this replica's probes.
#[must_use = "dropping the control server stops serving other replicas' controls"]
pub struct ControlServer {
    task: JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ProbeRouter {
    /// A router whose controls time out after `timeout`.
    pub fn new(timeout: Duration) -> ProbeRouter {
        ProbeRouter {
            timeout: Some(timeout),
            ..ProbeRouter::default()
        }
    }

    pub(crate) fn register(&self, tenant: &TenantId, probe_id: &str, tx: Outbound) -> u64 {
        let stream_id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        // A newer stream from the same probe replaces the older one (as in Scope).
        self.links.lock().expect("router poisoned").insert(
            (tenant.clone(), probe_id.to_owned()),
            ProbeLink {
                stream_id,
                tx,
                pending: Arc::default(),
            },
        );
        stream_id
    }

    pub(crate) fn unregister(&self, tenant: &TenantId, probe_id: &str, stream_id: u64) {
        let mut links = self.links.lock().expect("router poisoned");
        let key = (tenant.clone(), probe_id.to_owned());
        if links.get(&key).is_some_and(|l| l.stream_id == stream_id) {
            links.remove(&key);
        }
    }

    pub(crate) fn deliver_reply(&self, tenant: &TenantId, probe_id: &str, reply: pb::ControlReply) {
        let links = self.links.lock().expect("router poisoned");
        if let Some(link) = links.get(&(tenant.clone(), probe_id.to_owned())) {
            let waiter = link
                .pending
                .lock()
                .expect("pending poisoned")
                .remove(&reply.request_id);
            if let Some(w) = waiter {
                let _ = w.send(reply);
            }
        }
    }

    /// Whether `probe_id` of `tenant` has a stream open here.
    pub fn is_connected(&self, tenant: &TenantId, probe_id: &str) -> bool {
        self.links
            .lock()
            .expect("router poisoned")
            .contains_key(&(tenant.clone(), probe_id.to_owned()))
    }

    /// Makes this router reach probes held by other replicas: a control for a probe with no
    /// stream here goes to the replica that `collectors` names as holding it, over `bus`.
    /// Also serves this replica's control subject (`replica_id`) for the other replicas, until
    /// the returned [`ControlServer`] is dropped. Returns once that subscription is active.
    pub async fn with_bus(
        mut self,
        bus: Arc<dyn Bus>,
        replica_id: &str,
        collectors: Collectors,
    ) -> Result<(ProbeRouter, ControlServer), BusError> {
        let subject = control_subject(replica_id);
        let mut sub = bus.subscribe(&subject).await?;
        // The serving side runs controls on local streams only: a forwarded control is never
        // forwarded again, whatever the snapshots say, so no request can loop between replicas.
        let local = self.clone();
        let responder = bus.clone();
        let task = tokio::spawn(async move {
            info!(subject, "serving control requests from other replicas");
            while let Some(m) = sub.next().await {
                let Some(reply_to) = m.reply else {
                    debug!("control request without a reply subject; ignored");
                    continue;
                };
                let (local, bus) = (local.clone(), responder.clone());
                // Controls may wait a minute for their probe; each gets a task of its own.
                tokio::spawn(async move {
                    let reply = local.serve_forwarded(m.payload).await;
                    if let Err(e) = bus
                        .respond(&reply_to, Bytes::from(reply.encode_to_vec()))
                        .await
                    {
                        warn!("cannot answer a forwarded control: {e}");
                    }
                });
            }
        });
        self.remote = Some(Arc::new(Remote {
            bus,
            replica: replica_id.to_owned(),
            collectors,
        }));
        Ok((self, ControlServer { task }))
    }

    /// Sends a control request to the probe and waits for its reply: on this replica if the
    /// probe's stream is here, otherwise (with a bus) through the replica holding it.
    pub async fn control(
        &self,
        tenant: &TenantId,
        probe_id: &str,
        node_id: &str,
        control: &str,
        args: HashMap<String, String>,
        requested_by: &str,
    ) -> Result<ControlResult, ControlError> {
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if self.is_connected(tenant, probe_id) {
            return self
                .control_local(
                    tenant,
                    probe_id,
                    node_id,
                    control,
                    args,
                    requested_by,
                    timeout,
                )
                .await;
        }
        let Some(remote) = &self.remote else {
            return Err(ControlError::NotConnected(probe_id.to_owned()));
        };
        let holder = remote
            .collectors
            .tenant(tenant)
            .snapshot()
            .probes
            .iter()
            .find(|p| p.id == probe_id && p.connected && p.replica != remote.replica)
            .map(|p| p.replica.clone())
            .ok_or_else(|| ControlError::NotConnected(probe_id.to_owned()))?;
        let req = pb::BusControlRequest {
            tenant: tenant.as_str().to_owned(),
            probe_id: probe_id.to_owned(),
            node_id: node_id.to_owned(),
            control: control.to_owned(),
            args,
            requested_by: requested_by.to_owned(),
            timeout_ms: timeout.as_millis().try_into().unwrap_or(u64::MAX),
        };
        let answer = remote
            .bus
            .request(
                &control_subject(&holder),
                Bytes::from(req.encode_to_vec()),
                timeout,
            )
            .await;
        let unreachable = |reason: String| ControlError::Unreachable {
            probe_id: probe_id.to_owned(),
            replica: holder.clone(),
            reason,
        };
        let bytes = match answer {
            Ok(b) => b,
            // That replica is gone; its probes are reconnecting elsewhere.
            Err(BusError::NoResponders { .. }) => {
                return Err(ControlError::NotConnected(probe_id.to_owned()));
            }
            Err(BusError::Timeout { .. }) => {
                return Err(ControlError::Timeout(probe_id.to_owned(), timeout));
            }
            Err(e) => return Err(unreachable(e.to_string())),
        };
        let reply = pb::BusControlReply::decode(bytes)
            .map_err(|e| unreachable(format!("malformed answer: {e}")))?;
        match reply.outcome {
            Some(pb::bus_control_reply::Outcome::Reply(r)) => reply_to_result(r),
            Some(pb::bus_control_reply::Outcome::NotConnected(_)) => {
                Err(ControlError::NotConnected(probe_id.to_owned()))
            }
            Some(pb::bus_control_reply::Outcome::TimedOut(_)) => {
                Err(ControlError::Timeout(probe_id.to_owned(), timeout))
            }
            None => Err(unreachable("empty answer".into())),
        }
    }

    /// Runs a control another replica forwarded, on a local stream only.
    async fn serve_forwarded(&self, payload: Bytes) -> pb::BusControlReply {
        use pb::bus_control_reply::Outcome;
        let outcome = match pb::BusControlRequest::decode(payload) {
            Err(e) => {
                warn!("malformed forwarded control request: {e}");
                Outcome::Reply(pb::ControlReply {
                    error: "malformed control request".into(),
                    ..Default::default()
                })
            }
            Ok(req) => {
                let asked = Duration::from_millis(req.timeout_ms);
                let timeout = asked
                    .saturating_sub(FORWARD_MARGIN)
                    .min(self.timeout.unwrap_or(DEFAULT_TIMEOUT));
                let tenant = TenantId::new(req.tenant);
                let res = self
                    .control_local(
                        &tenant,
                        &req.probe_id,
                        &req.node_id,
                        &req.control,
                        req.args,
                        &req.requested_by,
                        timeout,
                    )
                    .await;
                match res {
                    Ok(r) => Outcome::Reply(result_to_reply(r)),
                    Err(ControlError::Failed(error)) => Outcome::Reply(pb::ControlReply {
                        error,
                        ..Default::default()
                    }),
                    Err(ControlError::Timeout(..)) => Outcome::TimedOut(true),
                    Err(ControlError::NotConnected(_) | ControlError::Unreachable { .. }) => {
                        Outcome::NotConnected(true)
                    }
                }
            }
        };
        pb::BusControlReply {
            outcome: Some(outcome),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn control_local(
        &self,
        tenant: &TenantId,
        probe_id: &str,
        node_id: &str,
        control: &str,
        args: HashMap<String, String>,
        requested_by: &str,
        timeout: Duration,
    ) -> Result<ControlResult, ControlError> {
        let request_id = format!("{:016x}", rand::random::<u64>());
        let (reply_tx, reply_rx) = oneshot::channel();
        let tx = {
            let links = self.links.lock().expect("router poisoned");
            let link = links
                .get(&(tenant.clone(), probe_id.to_owned()))
                .ok_or_else(|| ControlError::NotConnected(probe_id.to_owned()))?;
            link.pending
                .lock()
                .expect("pending poisoned")
                .insert(request_id.clone(), reply_tx);
            link.tx.clone()
        };
        let msg = pb::AppMessage {
            msg: Some(pb::app_message::Msg::ControlRequest(pb::ControlRequest {
                request_id,
                node_id: node_id.to_owned(),
                control: control.to_owned(),
                args,
                requested_by: requested_by.to_owned(),
            })),
        };
        tx.send(Ok(msg))
            .await
            .map_err(|_| ControlError::NotConnected(probe_id.to_owned()))?;
        let reply = tokio::time::timeout(timeout, reply_rx)
            .await
            .map_err(|_| ControlError::Timeout(probe_id.to_owned(), timeout))?
            .map_err(|_| ControlError::NotConnected(probe_id.to_owned()))?;
        reply_to_result(reply)
    }
}

fn reply_to_result(reply: pb::ControlReply) -> Result<ControlResult, ControlError> {
    if !reply.error.is_empty() {
        return Err(ControlError::Failed(reply.error));
    }
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Ok(ControlResult {
        value_json: non_empty(reply.value_json),
        pipe_id: non_empty(reply.pipe_id),
        raw_tty: reply.raw_tty,
        resize_tty_control: non_empty(reply.resize_tty_control),
        removed_node: non_empty(reply.removed_node),
    })
}

/// The probe's answer again, for the replica that forwarded the control (request id aside,
/// which is per hop).
fn result_to_reply(r: ControlResult) -> pb::ControlReply {
    pb::ControlReply {
        request_id: String::new(),
        error: String::new(),
        value_json: r.value_json.unwrap_or_default(),
        pipe_id: r.pipe_id.unwrap_or_default(),
        raw_tty: r.raw_tty,
        resize_tty_control: r.resize_tty_control.unwrap_or_default(),
        removed_node: r.removed_node.unwrap_or_default(),
    }
}
