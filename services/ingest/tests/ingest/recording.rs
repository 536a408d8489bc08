//! Probes recorded in the store (SQLite): connection, replica, counters, disconnection.

use std::sync::Arc;
use std::time::Duration;

use scope_collector::Collectors;
use scope_ingest::{IngestConfig, IngestService, ProbeRouter, StoreTokens};
use scope_proto::v1 as pb;
use scope_store::{ProbeSeen, Store};
use tokio::sync::watch;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_are_recorded_with_their_replica_and_counters() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let org = store.create_org("Acme").await.unwrap();
    let (_, token) = store.create_token(&org.id, "t", None).await.unwrap();
    let ingest = IngestService::new(
        IngestConfig {
            stats_flush_interval: Duration::from_millis(200),
            ..IngestConfig::default()
        },
        Arc::new(StoreTokens::new(store.clone())),
        Collectors::new(collector_config()),
        ProbeRouter::default(),
    )
    .with_store(store.clone(), "replica-a".into());
    assert_eq!(ingest.replica_id(), "replica-a");
    let (_stop, stop_rx) = watch::channel(false);
    let addr = serve(ingest, stop_rx).await;
    let probe_id = random_id(16);
    let record = || {
        let (store, org, probe_id) = (store.clone(), org.id.clone(), probe_id.clone());
        async move { store.probe(&org, &probe_id).await.ok() }
    };

    let mut probe = TestProbe::connect(addr, &token, &probe_id, "web-1").await;
    let seen: ProbeSeen = eventually_async(WAIT, "the probe's record", record).await;
    assert_eq!(
        (
            seen.hostname.as_str(),
            seen.replica.as_str(),
            seen.connected
        ),
        ("web-1", "replica-a", true)
    );
    for seq in 1..=3 {
        probe.report_full(seq, 1).await;
    }
    // Written every 200 ms while the stream is open.
    eventually_async(WAIT, "three reports counted", || async {
        record().await.filter(|r| r.reports_received == 3)
    })
    .await;
    // A delta whose base the app does not hold is dropped (and a full report asked for).
    probe
        .send(pb::ProbeMessage {
            msg: Some(pb::probe_message::Msg::Report(pb::ReportMessage {
                kind: pb::ReportKind::Delta as i32,
                sequence: 4,
                base_sequence: 99,
                report: Some(pb::Report::default()),
                ..Default::default()
            })),
        })
        .await;
    probe.report_full(5, 1).await;
    probe.close();
    assert_eq!(probe.end().await.code(), tonic::Code::Ok);
    let seen = eventually_async(WAIT, "the disconnection and last counters", || async {
        record()
            .await
            .filter(|r| !r.connected && r.reports_received == 4)
    })
    .await;
    assert_eq!((seen.reports_dropped, seen.reconnects), (1, 0));

    // The same probe process comes back: a reconnect.
    let mut probe = TestProbe::connect(addr, &token, &probe_id, "web-1").await;
    probe.report_full(1, 1).await;
    eventually_async(WAIT, "the reconnect", || async {
        record()
            .await
            .filter(|r| r.connected && r.reconnects == 1 && r.reports_received == 5)
    })
    .await;
    // The store goes away: recording fails (logged), the stream does not.
    store.close().await;
    for seq in 2..5 {
        probe.report_full(seq, 1).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_that_are_not_organisations_are_not_recorded() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let ingest = IngestService::new(
        IngestConfig::default(),
        Arc::new(scope_ingest::StaticTokens::new(
            scope_collector::TenantId::new("local"),
            ["tok"],
        )),
        Collectors::new(collector_config()),
        ProbeRouter::default(),
    )
    .with_store(store.clone(), "replica-a".into());
    let (_stop, stop_rx) = watch::channel(false);
    let addr = serve(ingest, stop_rx).await;
    let mut probe = TestProbe::connect(addr, "tok", "p1", "h").await;
    probe.report_full(1, 1).await;
    probe.close();
    assert_eq!(probe.end().await.code(), tonic::Code::Ok);
}
