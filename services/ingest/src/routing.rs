//! Routing of control requests to the stream of the probe that reported a node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scope_collector::TenantId;
use scope_proto::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

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
}

pub(crate) type Outbound = mpsc::Sender<Result<pb::AppMessage, Status>>;

struct ProbeLink {
    /// Distinguishes a probe's successive streams, so an old stream's end does not unregister
    /// the new one.
    stream_id: u64,
    tx: Outbound,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<pb::ControlReply>>>>,
}

/// The probe streams open on this replica, by tenant and probe id.
#[derive(Clone, Default)]
pub struct ProbeRouter {
    links: Arc<Mutex<HashMap<(TenantId, String), ProbeLink>>>,
    next_stream: Arc<AtomicU64>,
    timeout: Option<Duration>,
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

    /// Sends a control request to the probe and waits for its reply.
    pub async fn control(
        &self,
        tenant: &TenantId,
        probe_id: &str,
        node_id: &str,
        control: &str,
        args: HashMap<String, String>,
        requested_by: &str,
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
        let timeout = self.timeout.unwrap_or(Duration::from_secs(60));
        let reply = tokio::time::timeout(timeout, reply_rx)
            .await
            .map_err(|_| ControlError::Timeout(probe_id.to_owned(), timeout))?
            .map_err(|_| ControlError::NotConnected(probe_id.to_owned()))?;
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
}
