//! The replica bus: how app replicas talk to each other.
//!
//! One trait, [`Bus`], with NATS semantics (subjects of dot-separated tokens, `*` and `>`
//! wildcards, fire-and-forget publish, request/reply through a reply subject), and two
//! implementations: [`InProcessBus`] for `scope launch` (one process, nothing to run) and
//! [`NatsBus`] for the cloud tier (every replica connects to the same NATS server or cluster).
//! The same test suite runs against both (`tests/bus.rs`), so code written against the trait
//! behaves the same in a single process and across replicas.
//!
//! Delivery is at most once, as in core NATS: a message published while a subscriber lags too
//! far behind, or while the connection is down, may be lost. Users design for that: probe
//! events carry full reports every few publishes, so a replica that missed a delta catches up at
//! the next full one.
//!
//! # Subjects
//!
//! | subject | what |
//! |---|---|
//! | `scope.v1.probe.<tenant>.<origin_replica>` | probe events (`scope.v1.BusEvent`: connected, report, disconnected) published by the replica holding the probe's stream; the origin token lets a replica skip its own events without decoding them |
//! | `scope.v1.replica.<replica_id>.control` | control requests for probes whose streams that replica holds (request/reply) |
//! | `scope.v1.pipe.<pipe_id>.up` / `.down` | the bytes of a terminal or log pipe, towards the probe / towards the viewer |
//!
//! Tokens that come from outside (tenant and replica ids) go through [`subject::encode_token`],
//! so no input can add tokens or wildcards to a subject.
//!
//! # Controls and pipes across replicas
//!
//! A viewer's control request reaches whichever replica serves the viewer; the probe's stream is
//! held by one replica, named in the tenant's snapshot (`ProbeInfo.replica`, kept current by the
//! probe events above).
//!
//! - **Controls** are request/reply. Every replica serves `scope.v1.replica.<its id>.control`:
//!   the request is a `scope.v1.BusControlRequest` (tenant, probe, node, control, arguments,
//!   who asked), the reply a `scope.v1.BusControlReply` (the probe's `ControlReply`, or why the
//!   control could not run). The serving replica runs it through its local router exactly as a
//!   local control. A replica that does not hold the probe's stream looks up the owner and sends
//!   the request there; "no responders" means that replica is gone (the probe is reconnecting
//!   elsewhere: "not connected", try again), a timeout means the probe did not answer.
//!   `scope_ingest::ProbeRouter` implements this fallback.
//! - **Pipes** (terminals, logs) are opened by a control whose reply carries a `pipe_id` (128
//!   random bits). From then on the replica holding the probe's stream publishes what the probe
//!   sends on `scope.v1.pipe.<pipe_id>.down` and writes what arrives on
//!   `scope.v1.pipe.<pipe_id>.up` to the probe; the replica serving the viewer's WebSocket does
//!   the opposite. Each side subscribes before it publishes (the opening control's reply orders
//!   that), chunks stay under [`Bus::max_payload`], and an empty payload means "closed" in that
//!   direction. Which tenant a pipe belongs to is recorded where it was opened, and the viewer's
//!   replica checks the viewer's tenant against it before relaying anything: the bus itself is
//!   trusted (only replicas connect to it), the pipe id is not a credential on its own. Pipes are
//!   not built yet; this is the contract the next piece of work builds on.

mod in_process;
mod nats;
pub mod subject;
pub mod testing;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

pub use in_process::{InProcessBus, InProcessConfig};
pub use nats::NatsBus;

/// A future the bus returns; owns everything it needs, so it can be spawned.
pub type BusFuture<T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'static>>;

/// One message as a subscriber receives it.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The subject it was published on (never a wildcard).
    pub subject: String,
    /// The payload.
    pub payload: Bytes,
    /// Where to send the answer, when the message is a request ([`Bus::respond`]).
    pub reply: Option<String>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads can be megabytes of report; their size is what a log needs.
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .field("payload_len", &self.payload.len())
            .field("reply", &self.reply)
            .finish()
    }
}

/// The messages matching a subscription's pattern, in the order each publisher sent them.
/// Dropping it unsubscribes.
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Message> + Send>>,
}

impl Subscription {
    /// Wraps an implementation's stream. It must unsubscribe when dropped.
    pub fn new(stream: impl Stream<Item = Message> + Send + 'static) -> Subscription {
        Subscription {
            inner: Box::pin(stream),
        }
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subscription")
    }
}

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// Nobody subscribes to the request's subject (for a replica's control subject: that
    /// replica is gone).
    #[error("no responders: nobody is subscribed to {subject}")]
    NoResponders {
        /// The request's subject.
        subject: String,
    },
    /// A responder exists but no reply came in time.
    #[error("no reply on {subject} within {timeout:?}")]
    Timeout {
        /// The request's subject.
        subject: String,
        /// How long the request waited.
        timeout: Duration,
    },
    /// The payload is larger than the bus accepts (NATS: the server's `max_payload`).
    #[error(
        "payload of {size} bytes on {subject} exceeds the bus limit of {max} bytes (NATS max_payload)"
    )]
    PayloadTooLarge {
        /// The subject it was meant for.
        subject: String,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A subject or pattern that NATS would refuse.
    #[error("invalid subject {subject:?}: {reason}")]
    InvalidSubject {
        /// The subject as given.
        subject: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The first connection to the bus could not be made.
    #[error("cannot connect to the bus at {url}: {reason}")]
    Connect {
        /// The server URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection is closed for good (the client was shut down); a connection that is
    /// merely down is retried forever and does not produce this error.
    #[error("bus disconnected: {0}")]
    Disconnected(String),
}

/// A NATS-like message bus. Object safe: the app holds an `Arc<dyn Bus>`.
///
/// Every method validates its subject first ([`subject`]) and returns a future that owns its
/// arguments, so callers may spawn it.
pub trait Bus: Send + Sync + 'static {
    /// Sends `payload` to every current subscription matching `subject` (no wildcards). Returns
    /// once the bus has taken the message, not when subscribers have it.
    fn publish(&self, subject: &str, payload: Bytes) -> BusFuture<()>;

    /// Subscribes to `pattern` (`*` matches one token, a final `>` one or more). Returns once the
    /// subscription is active: a message published after that, from any connection, reaches it.
    fn subscribe(&self, pattern: &str) -> BusFuture<Subscription>;

    /// Publishes `payload` on `subject` with a fresh reply subject and waits up to `timeout` for
    /// the first answer. Fails at once with [`BusError::NoResponders`] when nobody subscribes to
    /// `subject`.
    fn request(&self, subject: &str, payload: Bytes, timeout: Duration) -> BusFuture<Bytes>;

    /// Answers a request: `reply` is the received [`Message::reply`].
    fn respond(&self, reply: &str, payload: Bytes) -> BusFuture<()> {
        self.publish(reply, payload)
    }

    /// The largest payload this bus carries, in bytes.
    fn max_payload(&self) -> usize;
}
