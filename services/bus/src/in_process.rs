//! The bus of a single process (`scope launch`): subscriptions are bounded queues in memory.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;
use tracing::warn;

use crate::subject::{matches, validate_pattern, validate_subject};
use crate::{Bus, BusError, BusFuture, Message, Subscription};

/// Messages a subscription holds by default, in process and over NATS.
pub(crate) const DEFAULT_SUBSCRIPTION_CAPACITY: usize = 1024;

/// Settings of an [`InProcessBus`].
#[derive(Debug, Clone)]
pub struct InProcessConfig {
    /// Messages a subscription holds before further ones are dropped (and counted): a slow
    /// subscriber must not stall publishers, which are probe streams.
    pub subscription_capacity: usize,
    /// Largest payload, as NATS's `max_payload`, so code that works here also fits through the
    /// NATS server of the cloud tier (configured the same, see `scripts/ensure-nats.sh`).
    pub max_payload: usize,
}

impl Default for InProcessConfig {
    fn default() -> Self {
        InProcessConfig {
            subscription_capacity: DEFAULT_SUBSCRIPTION_CAPACITY,
            max_payload: 16 * 1024 * 1024,
        }
    }
}

/// A bus inside one process. Cheap to clone; clones share subscriptions.
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

struct Inner {
    config: InProcessConfig,
    subs: Mutex<HashMap<u64, Sub>>,
    next_id: AtomicU64,
    dropped: AtomicU64,
}

struct Sub {
    pattern: String,
    tx: mpsc::Sender<Message>,
    dropped: u64,
}

impl Default for InProcessBus {
    fn default() -> Self {
        InProcessBus::new(InProcessConfig::default())
    }
}

impl InProcessBus {
    /// A bus with `config`.
    pub fn new(config: InProcessConfig) -> InProcessBus {
        InProcessBus {
            inner: Arc::new(Inner {
                config,
                subs: Mutex::default(),
                next_id: AtomicU64::new(1),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Messages dropped so far because a subscriber's queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    fn check_size(&self, subject: &str, payload: &Bytes) -> Result<(), BusError> {
        let max = self.inner.config.max_payload;
        if payload.len() > max {
            return Err(BusError::PayloadTooLarge {
                subject: subject.to_owned(),
                size: payload.len(),
                max,
            });
        }
        Ok(())
    }

    fn subscribe_now(&self, pattern: &str, capacity: usize) -> (u64, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(capacity);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner.subs.lock().expect("bus poisoned").insert(
            id,
            Sub {
                pattern: pattern.to_owned(),
                tx,
                dropped: 0,
            },
        );
        (id, rx)
    }

    /// Delivers to every matching subscription without waiting; returns how many matched.
    fn deliver(&self, subject: &str, payload: Bytes, reply: Option<String>) -> usize {
        let mut subs = self.inner.subs.lock().expect("bus poisoned");
        let mut matched = 0;
        subs.retain(|id, sub| {
            if !matches(&sub.pattern, subject) {
                return true;
            }
            let msg = Message {
                subject: subject.to_owned(),
                payload: payload.clone(),
                reply: reply.clone(),
            };
            match sub.tx.try_send(msg) {
                Ok(()) => {
                    matched += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    matched += 1;
                    sub.dropped += 1;
                    let total = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    // Powers of two: the first drop is always logged, a subscriber stuck for
                    // good does not flood the log.
                    if sub.dropped.is_power_of_two() {
                        warn!(subscription = id, pattern = %sub.pattern, subject, dropped = sub.dropped, dropped_total = total, "bus subscriber too slow, dropping messages");
                    }
                    true
                }
                // The receiver is gone but its guard has not run yet: forget it now.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        matched
    }
}

impl Bus for InProcessBus {
    fn publish(&self, subject: &str, payload: Bytes) -> BusFuture<()> {
        let res = validate_subject(subject)
            .and_then(|()| self.check_size(subject, &payload))
            .map(|()| {
                self.deliver(subject, payload, None);
            });
        Box::pin(async move { res })
    }

    fn subscribe(&self, pattern: &str) -> BusFuture<Subscription> {
        let res = validate_pattern(pattern).map(|()| {
            let (id, rx) = self.subscribe_now(pattern, self.inner.config.subscription_capacity);
            Subscription::new(InProcessStream {
                rx,
                id,
                bus: Arc::downgrade(&self.inner),
            })
        });
        Box::pin(async move { res })
    }

    fn request(&self, subject: &str, payload: Bytes, timeout: Duration) -> BusFuture<Bytes> {
        if let Err(e) = validate_subject(subject).and_then(|()| self.check_size(subject, &payload))
        {
            return Box::pin(async move { Err(e) });
        }
        let inbox = format!("_INBOX.{:032x}", rand::random::<u128>());
        let (id, mut rx) = self.subscribe_now(&inbox, 1);
        let guard = Unsubscribe {
            id,
            bus: Arc::downgrade(&self.inner),
        };
        let matched = self.deliver(subject, payload, Some(inbox));
        let subject = subject.to_owned();
        Box::pin(async move {
            let _guard = guard;
            if matched == 0 {
                return Err(BusError::NoResponders { subject });
            }
            match tokio::time::timeout(timeout, rx.recv()).await {
                Ok(Some(m)) => Ok(m.payload),
                Ok(None) => Err(BusError::Disconnected("the bus was dropped".into())),
                Err(_) => Err(BusError::Timeout { subject, timeout }),
            }
        })
    }

    fn max_payload(&self) -> usize {
        self.inner.config.max_payload
    }
}

/// Removes a subscription when dropped.
struct Unsubscribe {
    id: u64,
    bus: Weak<Inner>,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.subs.lock().expect("bus poisoned").remove(&self.id);
        }
    }
}

struct InProcessStream {
    rx: mpsc::Receiver<Message>,
    id: u64,
    bus: Weak<Inner>,
}

impl Stream for InProcessStream {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for InProcessStream {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.subs.lock().expect("bus poisoned").remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn a_slow_subscriber_does_not_block_publishers() {
        let bus = InProcessBus::new(InProcessConfig {
            subscription_capacity: 8,
            ..InProcessConfig::default()
        });
        let mut stuck = bus.subscribe("s.x").await.unwrap();
        for i in 0..100u32 {
            // Never awaits a subscriber: this loop cannot hang on the stuck one.
            bus.publish("s.x", Bytes::from(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
        assert_eq!(bus.dropped(), 92);
        // The oldest eight were kept, in order.
        for i in 0..8u32 {
            let m = stuck.next().await.unwrap();
            assert_eq!(m.payload.as_ref(), i.to_be_bytes());
        }
        // Once drained it receives again.
        bus.publish("s.x", Bytes::from_static(b"again"))
            .await
            .unwrap();
        assert_eq!(stuck.next().await.unwrap().payload, "again");
    }

    #[tokio::test]
    async fn dropping_a_subscription_removes_it() {
        let bus = InProcessBus::default();
        let sub = bus.subscribe("s.>").await.unwrap();
        assert_eq!(bus.inner.subs.lock().unwrap().len(), 1);
        drop(sub);
        assert!(bus.inner.subs.lock().unwrap().is_empty());
        let err = bus
            .request("s.a", Bytes::new(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, BusError::NoResponders { .. }), "{err}");
        // The request's own inbox is gone too.
        assert!(bus.inner.subs.lock().unwrap().is_empty());
    }
}
