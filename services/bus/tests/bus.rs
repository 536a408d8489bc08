//! The bus test suite: every case runs against both implementations, `in_process::<case>` and
//! `nats::<case>`, so code written against [`Bus`] behaves the same in `scope launch` and across
//! replicas.
//!
//! Each case gets two handles: the same bus twice in process, two separate connections over NATS
//! (as two replicas have). The NATS cases need `SCOPE_TEST_NATS_URL`: run
//! `export SCOPE_TEST_NATS_URL="$(bash scripts/ensure-nats.sh)"`. Without it they fail, on purpose.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use scope_bus::testing::{nats_url, unique_prefix};
use scope_bus::{Bus, BusError, InProcessBus, NatsBus, Subscription};

/// Generous: the machine may be loaded. Only failures wait this long.
const WAIT: Duration = Duration::from_secs(10);

async fn next(sub: &mut Subscription) -> scope_bus::Message {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a message within 10 s")
        .expect("subscription open")
}

/// Asserts nothing (more) arrives on `sub` after a `marker` published on `marker_subject`, which
/// `sub` also matches: publishers' order makes the marker the proof that earlier messages were
/// not delivered, without sleeping.
async fn assert_only_marker(sub: &mut Subscription, bus: &dyn Bus, marker_subject: &str) {
    bus.publish(marker_subject, Bytes::from_static(b"marker"))
        .await
        .unwrap();
    let m = next(sub).await;
    assert_eq!(
        (m.subject.as_str(), m.payload.as_ref()),
        (marker_subject, b"marker".as_slice()),
        "expected only the marker"
    );
}

/// Answers every request on `subject` with `f(payload)`, until dropped.
async fn responder(
    bus: Arc<dyn Bus>,
    subject: &str,
    f: impl Fn(Bytes) -> Bytes + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let mut sub = bus.subscribe(subject).await.unwrap();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                bus.respond(&reply, f(m.payload)).await.unwrap();
            }
        }
    })
}

mod cases {
    use super::*;

    pub async fn pub_sub_delivers_in_order(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("order");
        let subject = format!("{p}.events");
        let mut sub = b.subscribe(&subject).await.unwrap();
        for i in 0..200u32 {
            a.publish(&subject, Bytes::from(i.to_string()))
                .await
                .unwrap();
        }
        for i in 0..200u32 {
            let m = next(&mut sub).await;
            assert_eq!(m.subject, subject);
            assert_eq!(m.payload, i.to_string());
            assert_eq!(m.reply, None);
        }
    }

    pub async fn wildcards_match_like_nats(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("wild");
        let mut star = b.subscribe(&format!("{p}.*.x")).await.unwrap();
        let mut tail = b.subscribe(&format!("{p}.t.>")).await.unwrap();
        for s in ["1.x", "1.2.x", "x", "2.x.y", "t", "t.a", "t.a.b"] {
            a.publish(&format!("{p}.{s}"), Bytes::from(s.to_owned()))
                .await
                .unwrap();
        }
        assert_eq!(next(&mut star).await.payload, "1.x");
        assert_only_marker(&mut star, a.as_ref(), &format!("{p}.end.x")).await;
        assert_eq!(next(&mut tail).await.payload, "t.a");
        assert_eq!(next(&mut tail).await.payload, "t.a.b");
        assert_only_marker(&mut tail, a.as_ref(), &format!("{p}.t.end")).await;
    }

    pub async fn subjects_do_not_cross_talk(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("cross");
        let mut one = b.subscribe(&format!("{p}.tenant1")).await.unwrap();
        let mut two = b.subscribe(&format!("{p}.tenant2")).await.unwrap();
        a.publish(&format!("{p}.tenant2"), Bytes::from_static(b"for 2"))
            .await
            .unwrap();
        a.publish(&format!("{p}.tenant10"), Bytes::from_static(b"for 10"))
            .await
            .unwrap();
        a.publish(&format!("{p}.tenant1.sub"), Bytes::from_static(b"deeper"))
            .await
            .unwrap();
        assert_eq!(next(&mut two).await.payload, "for 2");
        assert_only_marker(&mut one, a.as_ref(), &format!("{p}.tenant1")).await;
        assert_only_marker(&mut two, a.as_ref(), &format!("{p}.tenant2")).await;
    }

    pub async fn every_subscriber_gets_a_copy(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("fanout");
        let subject = format!("{p}.x");
        let mut s1 = a.subscribe(&subject).await.unwrap();
        let mut s2 = b.subscribe(&subject).await.unwrap();
        let mut s3 = b.subscribe(&format!("{p}.>")).await.unwrap();
        a.publish(&subject, Bytes::from_static(b"hi"))
            .await
            .unwrap();
        for s in [&mut s1, &mut s2, &mut s3] {
            assert_eq!(next(s).await.payload, "hi");
        }
    }

    pub async fn request_reply(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("rr");
        let subject = format!("{p}.upper");
        let _r = responder(b.clone(), &subject, |p| {
            Bytes::from(String::from_utf8_lossy(&p).to_uppercase())
        })
        .await;
        let answer = a
            .request(&subject, Bytes::from_static(b"hello"), WAIT)
            .await
            .unwrap();
        assert_eq!(answer, "HELLO");
        // Concurrent requests each get their own answer.
        let asks = (0..20).map(|i| {
            let a = a.clone();
            let subject = subject.clone();
            async move {
                let got = a
                    .request(&subject, Bytes::from(format!("q{i}")), WAIT)
                    .await
                    .unwrap();
                assert_eq!(got, format!("Q{i}"));
            }
        });
        futures::future::join_all(asks).await;
    }

    pub async fn request_without_responder_fails_fast(a: Arc<dyn Bus>, _b: Arc<dyn Bus>) {
        let p = unique_prefix("nobody");
        let subject = format!("{p}.control");
        let start = Instant::now();
        let err = a
            .request(&subject, Bytes::from_static(b"?"), Duration::from_secs(30))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            BusError::NoResponders {
                subject: subject.clone()
            }
        );
        // Well under the 30 s timeout: nobody waited for an answer that could not come.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(err.to_string().contains("no responders"), "{err}");
    }

    pub async fn request_to_a_silent_responder_times_out(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("silent");
        let subject = format!("{p}.control");
        let _silent = b.subscribe(&subject).await.unwrap();
        let timeout = Duration::from_millis(300);
        let err = a
            .request(&subject, Bytes::from_static(b"?"), timeout)
            .await
            .unwrap_err();
        assert_eq!(err, BusError::Timeout { subject, timeout });
    }

    pub async fn large_payload_round_trip(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("large");
        let big: Bytes = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let subject = format!("{p}.blob");
        let mut sub = b.subscribe(&subject).await.unwrap();
        a.publish(&subject, big.clone()).await.unwrap();
        assert_eq!(next(&mut sub).await.payload, big);
        // And through request/reply, both ways.
        let echo = format!("{p}.echo");
        let _r = responder(b.clone(), &echo, |p| p).await;
        let back = a.request(&echo, big.clone(), WAIT).await.unwrap();
        assert_eq!(back, big);
    }

    pub async fn payload_over_the_limit_is_refused(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("limit");
        let subject = format!("{p}.blob");
        let mut sub = b.subscribe(&subject).await.unwrap();
        let max = a.max_payload();
        // The test server is configured for 16 MiB probe messages (scripts/ensure-nats.sh).
        assert!(max >= 16 * 1024 * 1024, "bus max_payload is only {max}");
        let err = a
            .publish(&subject, Bytes::from(vec![0u8; max + 1]))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            BusError::PayloadTooLarge {
                subject: subject.clone(),
                size: max + 1,
                max
            }
        );
        assert!(err.to_string().contains("max_payload"), "{err}");
        let err = a
            .request(&subject, Bytes::from(vec![0u8; max + 1]), WAIT)
            .await
            .unwrap_err();
        assert!(matches!(err, BusError::PayloadTooLarge { .. }), "{err}");
        // The connection is still fine, and a message at the limit gets through.
        a.publish(&subject, Bytes::from(vec![7u8; max]))
            .await
            .unwrap();
        assert_eq!(next(&mut sub).await.payload.len(), max);
    }

    pub async fn invalid_subjects_are_refused(a: Arc<dyn Bus>, _b: Arc<dyn Bus>) {
        for s in ["", "a..b", "a b", "a.*", "a.>"] {
            let err = a.publish(s, Bytes::new()).await.unwrap_err();
            assert!(
                matches!(err, BusError::InvalidSubject { .. }),
                "{s:?}: {err}"
            );
            let err = a
                .request(s, Bytes::new(), Duration::from_secs(1))
                .await
                .unwrap_err();
            assert!(
                matches!(err, BusError::InvalidSubject { .. }),
                "{s:?}: {err}"
            );
        }
        for s in ["a.>.b", "a.b*", "a..b"] {
            let err = a.subscribe(s).await.unwrap_err();
            assert!(
                matches!(err, BusError::InvalidSubject { .. }),
                "{s:?}: {err}"
            );
        }
    }

    pub async fn dropping_a_subscription_unsubscribes(a: Arc<dyn Bus>, b: Arc<dyn Bus>) {
        let p = unique_prefix("drop");
        let subject = format!("{p}.control");
        let r = responder(b.clone(), &subject, |p| p).await;
        a.request(&subject, Bytes::from_static(b"x"), WAIT)
            .await
            .unwrap();
        r.abort();
        // The UNSUB travels asynchronously over NATS: poll until it has taken effect.
        let deadline = Instant::now() + WAIT;
        loop {
            match a
                .request(&subject, Bytes::from_static(b"x"), Duration::from_secs(1))
                .await
            {
                Err(BusError::NoResponders { .. }) => break,
                other => assert!(
                    Instant::now() < deadline,
                    "still answered after unsubscribing: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Instantiates each case once per implementation.
macro_rules! bus_test_suite {
    ($($case:ident),* $(,)?) => {
        mod in_process {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::default());
                    cases::$case(bus.clone(), bus).await;
                }
            )*
        }
        mod nats {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let url = nats_url();
                    let a: Arc<dyn Bus> = Arc::new(NatsBus::connect(&url, "test-a").await.expect("connect to NATS"));
                    let b: Arc<dyn Bus> = Arc::new(NatsBus::connect(&url, "test-b").await.expect("connect to NATS"));
                    cases::$case(a, b).await;
                }
            )*
        }
    };
}

bus_test_suite!(
    pub_sub_delivers_in_order,
    wildcards_match_like_nats,
    subjects_do_not_cross_talk,
    every_subscriber_gets_a_copy,
    request_reply,
    request_without_responder_fails_fast,
    request_to_a_silent_responder_times_out,
    large_payload_round_trip,
    payload_over_the_limit_is_refused,
    invalid_subjects_are_refused,
    dropping_a_subscription_unsubscribes,
);

#[tokio::test]
async fn connecting_to_nothing_says_where() {
    // Port 9 (discard) has no NATS server: the first connection fails with the URL in the error.
    let err = NatsBus::connect("nats://127.0.0.1:9", "test")
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}
