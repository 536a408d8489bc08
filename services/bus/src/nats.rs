//! The bus of the cloud tier: a NATS connection (async-nats).

use std::time::Duration;

use async_nats::{
    Client, ConnectOptions, Event, PublishErrorKind, Request, RequestErrorKind, SubscribeErrorKind,
};
use bytes::Bytes;
use futures::StreamExt;
use tracing::{debug, info, warn};

use crate::subject::{validate_pattern, validate_subject};
use crate::{Bus, BusError, BusFuture, Message, Subscription};

/// How long `subscribe` waits for the server to confirm a subscription. Past that (the
/// connection is down) the subscription is still registered and is sent again on reconnect.
const SUBSCRIBE_CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// A bus over one NATS connection. Cheap to clone.
///
/// `subscribe` confirms each subscription with an empty message on a fresh `_INBOX.` subject of
/// this connection; a subscription to `>` or `_INBOX.>` sees those markers. Scope subscribes to
/// `scope.v1.…` subjects only.
#[derive(Clone, Debug)]
pub struct NatsBus {
    client: Client,
}

impl NatsBus {
    /// Connects to the NATS server at `url` (e.g. `nats://127.0.0.1:4222`) under `name` (shown
    /// by the server's monitoring; use the replica id). The first connection must succeed, so a
    /// wrong URL is reported at start; after that the client reconnects forever, keeping its
    /// subscriptions, and messages published while it is down are buffered (up to a bound) or
    /// lost, as core NATS does.
    pub async fn connect(url: &str, name: &str) -> Result<NatsBus, BusError> {
        let client = ConnectOptions::new()
            .name(name)
            // Replicas live for days; a NATS restart must never leave one without a bus.
            .max_reconnects(None)
            // Messages a subscription holds before the client drops (and reports) further ones;
            // the default (65536) could hold gigabytes of reports behind a slow subscriber. The
            // same bound as the in-process bus.
            .subscription_capacity(crate::in_process::DEFAULT_SUBSCRIPTION_CAPACITY)
            .event_callback(|event| async move {
                match event {
                    Event::Connected => info!("bus (NATS) connected"),
                    Event::Disconnected => warn!("bus (NATS) disconnected; reconnecting"),
                    Event::SlowConsumer(sid) => {
                        warn!(sid, "bus (NATS) subscriber too slow, messages dropped")
                    }
                    other => warn!("bus (NATS): {other}"),
                }
            })
            .connect(url)
            .await
            .map_err(|e| BusError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        debug!(url, max_payload = client.max_payload(), "bus (NATS) ready");
        Ok(NatsBus { client })
    }

    /// The underlying client, for what the trait does not cover (JetStream).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn too_large(&self, subject: &str, size: usize) -> BusError {
        BusError::PayloadTooLarge {
            subject: subject.to_owned(),
            size,
            max: self.client.max_payload(),
        }
    }
}

impl Bus for NatsBus {
    fn publish(&self, subject: &str, payload: Bytes) -> BusFuture<()> {
        let this = self.clone();
        let subject = subject.to_owned();
        Box::pin(async move {
            validate_subject(&subject)?;
            let size = payload.len();
            this.client
                .publish(subject.clone(), payload)
                .await
                .map_err(|e| match e.kind() {
                    PublishErrorKind::MaxPayloadExceeded => this.too_large(&subject, size),
                    PublishErrorKind::InvalidSubject => BusError::InvalidSubject {
                        subject: subject.clone(),
                        reason: "refused by the NATS client",
                    },
                    PublishErrorKind::Send => BusError::Disconnected(e.to_string()),
                })
        })
    }

    fn subscribe(&self, pattern: &str) -> BusFuture<Subscription> {
        let client = self.client.clone();
        let pattern = pattern.to_owned();
        Box::pin(async move {
            validate_pattern(&pattern)?;
            let map_err = |e: async_nats::SubscribeError| match e.kind() {
                SubscribeErrorKind::InvalidSubject | SubscribeErrorKind::InvalidQueueName => {
                    BusError::InvalidSubject {
                        subject: pattern.clone(),
                        reason: "refused by the NATS client",
                    }
                }
                _ => BusError::Disconnected(e.to_string()),
            };
            // async-nats's flush only empties the socket buffer; nothing in its API waits for
            // the server. But the server handles one connection's operations in order, so a
            // message published after the SUB, on a subject this connection also subscribes
            // to, comes back only once the SUB is in effect: from then on the subscription sees
            // everything published, by any connection.
            let marker = client.new_inbox();
            let mut confirm = client.subscribe(marker.clone()).await.map_err(map_err)?;
            let sub = client.subscribe(pattern.clone()).await.map_err(map_err)?;
            let confirmed = match client.publish(marker, Bytes::new()).await {
                Ok(()) => tokio::time::timeout(SUBSCRIBE_CONFIRM_TIMEOUT, confirm.next())
                    .await
                    .is_ok_and(|m| m.is_some()),
                Err(_) => false,
            };
            if !confirmed {
                debug!(
                    pattern,
                    "subscription not confirmed by the server within 5 s"
                );
            }
            Ok(Subscription::new(sub.map(|m| Message {
                subject: m.subject.to_string(),
                payload: m.payload,
                reply: m.reply.map(|r| r.to_string()),
            })))
        })
    }

    fn request(&self, subject: &str, payload: Bytes, timeout: Duration) -> BusFuture<Bytes> {
        let this = self.clone();
        let subject = subject.to_owned();
        Box::pin(async move {
            validate_subject(&subject)?;
            let size = payload.len();
            let req = Request::new().payload(payload).timeout(Some(timeout));
            match this.client.send_request(subject.clone(), req).await {
                Ok(m) => Ok(m.payload),
                Err(e) => Err(match e.kind() {
                    RequestErrorKind::NoResponders => BusError::NoResponders { subject },
                    RequestErrorKind::TimedOut => BusError::Timeout { subject, timeout },
                    RequestErrorKind::MaxPayloadExceeded => this.too_large(&subject, size),
                    RequestErrorKind::InvalidSubject => BusError::InvalidSubject {
                        subject,
                        reason: "refused by the NATS client",
                    },
                    RequestErrorKind::Other => BusError::Disconnected(e.to_string()),
                }),
            }
        })
    }

    fn max_payload(&self) -> usize {
        self.client.max_payload()
    }
}
