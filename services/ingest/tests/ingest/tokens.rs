//! Service tokens of open streams are checked again: revocation stops a probe within one
//! publish interval, a database that cannot answer does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scope_collector::Collectors;
use scope_ingest::{IngestConfig, IngestService, ProbeRouter, StoreTokens};
use scope_store::Store;
use tokio::sync::watch;
use tonic::Code;

use crate::support::*;

/// What the design promises is about 2 s (the re-check timer) for a silent stream and about 1 s
/// for a reporting one; the rest is room for a loaded machine.
const CUT_WITHIN: Duration = Duration::from_secs(4);

async fn ingest_on(
    store: &Store,
    config: IngestConfig,
) -> (std::net::SocketAddr, watch::Sender<bool>) {
    let ingest = IngestService::new(
        config,
        Arc::new(StoreTokens::new(store.clone())),
        Collectors::new(collector_config()),
        ProbeRouter::default(),
    );
    let (stop, stop_rx) = watch::channel(false);
    (serve(ingest, stop_rx).await, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_its_probes_and_only_those() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let org = store.create_org("Acme").await.unwrap();
    let (doomed_info, doomed) = store.create_token(&org.id, "doomed", None).await.unwrap();
    let (_, kept) = store.create_token(&org.id, "kept", None).await.unwrap();
    let (addr, _stop) = ingest_on(&store, IngestConfig::default()).await;

    let mut reporting = TestProbe::connect(addr, &doomed, &random_id(16), "h1").await;
    let mut silent = TestProbe::connect(addr, &doomed, &random_id(16), "h2").await;
    let mut other = TestProbe::connect(addr, &kept, &random_id(16), "h3").await;
    reporting.report_full(1, 1).await;
    other.report_full(1, 3).await;

    let reporter = tokio::spawn(async move {
        let status = reporting
            .report_until_closed(1, Duration::from_millis(200))
            .await;
        (status, Instant::now())
    });
    let watcher = tokio::spawn(async move { (silent.end().await, Instant::now()) });
    // Let the streams settle into their rhythm before revoking.
    other.report_full(2, 3).await;
    let revoked_at = Instant::now();
    store.revoke_token(&org.id, &doomed_info.id).await.unwrap();

    for (what, task) in [
        ("the reporting probe", reporter),
        ("the silent probe", watcher),
    ] {
        let (status, ended_at) = task.await.unwrap();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
        assert_eq!(status.message(), "service token revoked", "{what}");
        let took = ended_at.duration_since(revoked_at);
        assert!(
            took < CUT_WITHIN,
            "{what} was cut {took:?} after revocation"
        );
    }
    // The probe with the other token of the same organisation streams on.
    for seq in 3..6 {
        other.report_full(seq, 3).await;
    }
    // And the revoked token cannot open a new stream.
    let refused = TestProbe::try_connect(addr, &doomed, &random_id(16), "h1")
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_check_that_fails_keeps_open_streams_but_refuses_new_ones() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let org = store.create_org("Acme").await.unwrap();
    let (_, token) = store.create_token(&org.id, "t", None).await.unwrap();
    let config = IngestConfig {
        token_recheck_interval: Duration::from_millis(200),
        ..IngestConfig::default()
    };
    let (addr, _stop) = ingest_on(&store, config).await;
    let mut probe = TestProbe::connect(addr, &token, &random_id(16), "h1").await;
    probe.report_full(1, 1).await;
    // The database goes away: every check from now on fails.
    store.close().await;
    // Long enough for several timer checks and report checks, all failing.
    let until = Instant::now() + Duration::from_millis(2500);
    let mut seq = 2;
    while Instant::now() < until {
        probe.report_full(seq, 1).await;
        seq += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A new stream cannot be checked: UNAVAILABLE, so the probe retries rather than gives up.
    let refused = TestProbe::try_connect(addr, &token, &random_id(16), "h2")
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    probe.report_full(seq, 1).await;
}
