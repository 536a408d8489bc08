//! Replication across app replicas: each case runs over both bus implementations (see the
//! suite macro in main.rs). Two replicas, each with its own collectors and ingest on a real
//! port, share one bus; probes are real gRPC streams.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message as _;
use scope_bus::Bus;
use scope_collector::TenantId;
use scope_ingest::replication::probe_subject;
use scope_ingest::{ControlError, StaticTokens};
use scope_proto::v1 as pb;

use crate::support::*;

fn tenant_and_tokens() -> (TenantId, String, Arc<StaticTokens>) {
    let tenant = TenantId::new(random_id(32));
    let token = format!("token-{}", random_id(32));
    let resolver = Arc::new(StaticTokens::new(tenant.clone(), [&token]));
    (tenant, token, resolver)
}

fn probe_info(
    snap: &scope_collector::Snapshot,
    probe_id: &str,
) -> Option<scope_collector::ProbeInfo> {
    snap.probes.iter().find(|p| p.id == probe_id).cloned()
}

pub async fn a_probe_is_seen_on_every_replica_and_follows_its_stream(
    bus1: Arc<dyn Bus>,
    bus2: Arc<dyn Bus>,
) {
    let (tenant, token, resolver) = tenant_and_tokens();
    let r1 = Replica::start("r1", bus1, resolver.clone()).await;
    let r2 = Replica::start("r2", bus2, resolver).await;
    let probe_id = random_id(16);
    // A second probe on replica 1, whose reports later prove that replica 1's earlier events
    // have been handled: events from one replica arrive in order, and each replica applies them
    // in order.
    let mut marker = TestProbe::connect(r1.addr, &token, &random_id(16), &host_of(8)).await;
    marker.report_full(1, 8).await;

    // Connected to replica 1: replica 2 sees the probe and its host.
    let mut on_r1 = TestProbe::connect(r1.addr, &token, &probe_id, &host_of(3)).await;
    on_r1.report_full(1, 3).await;
    eventually(WAIT, "replica 2 to show the probe's host", || {
        let snap = r2.snapshot(&tenant);
        let p = probe_info(&snap, &probe_id)?;
        (p.connected && p.replica == r1.id && has_host(&snap, 3)).then_some(())
    })
    .await;

    // The probe moves to replica 2 while replica 1 has not yet noticed its old stream ending.
    let mut on_r2 = TestProbe::connect(r2.addr, &token, &probe_id, &host_of(3)).await;
    on_r2.report_full(1, 3).await;
    // (and to apply replica 2's report, so nothing from replica 2 is still on its way)
    eventually(
        WAIT,
        "replica 1 to learn the probe moved to replica 2",
        || {
            let p = probe_info(&r1.snapshot(&tenant), &probe_id)?;
            (p.connected && p.replica == r2.id && p.reports_received >= 2).then_some(())
        },
    )
    .await;

    // Now replica 1's stream ends: its disconnect is late news, on both replicas. The stream
    // ends for the client only after replica 1 has handled and published the disconnect.
    on_r1.close();
    assert_eq!(on_r1.end().await.code(), tonic::Code::Ok);
    // The marker's report, published by replica 1 after that disconnect, reaching replica 2
    // means the disconnect reached it (and its collector) before.
    marker.report_full(2, 8).await;
    let marker_id = marker.id.clone();
    for (name, r) in [("replica 1", &r1), ("replica 2", &r2)] {
        eventually(
            WAIT,
            &format!("{name} to apply the marker's second report"),
            || {
                let p = probe_info(&r.snapshot(&tenant), &marker_id)?;
                (p.reports_received >= 2).then_some(())
            },
        )
        .await;
        let snap = r.snapshot(&tenant);
        let p = probe_info(&snap, &probe_id).unwrap();
        assert!(
            p.connected,
            "{name}: replica 1's late disconnect marked the probe disconnected"
        );
        assert_eq!(p.replica, r2.id, "{name}");
        assert!(has_host(&snap, 3), "{name}");
    }

    // The probe goes away: it shows disconnected, then fades out, on both replicas.
    on_r2.report_full(2, 3).await;
    on_r2.close();
    assert_eq!(on_r2.end().await.code(), tonic::Code::Ok);
    for (name, r) in [("replica 1", &r1), ("replica 2", &r2)] {
        eventually(WAIT, &format!("{name} to forget the probe"), || {
            let snap = r.snapshot(&tenant);
            (probe_info(&snap, &probe_id).is_none() && !has_host(&snap, 3)).then_some(())
        })
        .await;
    }
    assert_eq!(r1.ingest.replication_counts().publish_failed, 0);
    assert_eq!(r2.ingest.replication_counts().publish_dropped, 0);
}

pub async fn malformed_events_are_dropped_and_replication_goes_on(
    bus1: Arc<dyn Bus>,
    bus2: Arc<dyn Bus>,
) {
    let (tenant, _token, resolver) = tenant_and_tokens();
    let r2 = Replica::start("r2", bus2, resolver).await;
    // Another "replica", publishing by hand.
    let origin = format!("rx-{}", random_id(8));
    let subject = probe_subject(&tenant, &origin);
    let probe_id = random_id(16);
    let event = |probe: &str, ev: pb::bus_event::Event, hello: Option<pb::Hello>| {
        Bytes::from(
            pb::BusEvent {
                tenant: tenant.as_str().to_owned(),
                probe_id: probe.to_owned(),
                origin_replica: origin.clone(),
                event: Some(ev),
                hello,
            }
            .encode_to_vec(),
        )
    };
    let hello = pb::Hello {
        probe_id: probe_id.clone(),
        hostname: host_of(5),
        version: "test".into(),
        capabilities: vec![],
    };
    let report = |m: pb::ProbeMessage| match m.msg {
        Some(pb::probe_message::Msg::Report(r)) => r,
        _ => unreachable!(),
    };

    // Garbage.
    bus1.publish(&subject, Bytes::from_static(b"\xff\xff not protobuf"))
        .await
        .unwrap();
    // An event for another tenant than its subject says.
    let other = probe_subject(&TenantId::new(random_id(32)), &origin);
    bus1.publish(
        &other,
        event(
            &probe_id,
            pb::bus_event::Event::Connected(hello.clone()),
            None,
        ),
    )
    .await
    .unwrap();
    // A probe id that ingest would refuse.
    bus1.publish(
        &subject,
        event(
            "bad id!",
            pb::bus_event::Event::Connected(hello.clone()),
            None,
        ),
    )
    .await
    .unwrap();
    // A report whose kind is unspecified.
    let mut bad = report(full_report(1, 5));
    bad.kind = pb::ReportKind::Unspecified as i32;
    bus1.publish(
        &subject,
        event(&probe_id, pb::bus_event::Event::Report(bad), None),
    )
    .await
    .unwrap();
    // Valid: the probe connects, then a delta whose base this replica never had.
    bus1.publish(
        &subject,
        event(
            &probe_id,
            pb::bus_event::Event::Connected(hello.clone()),
            None,
        ),
    )
    .await
    .unwrap();
    let delta = pb::ReportMessage {
        kind: pb::ReportKind::Delta as i32,
        sequence: 43,
        base_sequence: 42,
        report: Some(pb::Report::default()),
        ..Default::default()
    };
    bus1.publish(
        &subject,
        event(&probe_id, pb::bus_event::Event::Report(delta), None),
    )
    .await
    .unwrap();
    // And a full report: shows up.
    bus1.publish(
        &subject,
        event(
            &probe_id,
            pb::bus_event::Event::Report(report(full_report(44, 5))),
            Some(hello.clone()),
        ),
    )
    .await
    .unwrap();

    eventually(WAIT, "the valid probe's host on replica 2", || {
        has_host(&r2.snapshot(&tenant), 5).then_some(())
    })
    .await;
    let counts = r2.subscriber.counts();
    // The garbage, the wrong tenant, the bad probe id and the bad report. At least: over NATS
    // the subscriber also sees whatever other tests on the same server publish.
    assert!(counts.malformed >= 4, "{counts:?}");
    assert!(counts.missing_base >= 1, "{counts:?}");
    let p = probe_info(&r2.snapshot(&tenant), &probe_id).unwrap();
    assert_eq!((p.replica.as_str(), p.connected), (origin.as_str(), true));
    // Nothing reached the tenant named only by the mismatched subject... nor any other.
    assert!(probe_info(&r2.snapshot(&tenant), "bad id!").is_none());
}

pub async fn a_late_replica_learns_probes_from_their_next_full_report(
    bus1: Arc<dyn Bus>,
    bus2: Arc<dyn Bus>,
) {
    let (tenant, token, resolver) = tenant_and_tokens();
    let r1 = Replica::start("r1", bus1, resolver.clone()).await;
    let probe_id = random_id(16);
    let mut probe = TestProbe::connect(r1.addr, &token, &probe_id, &host_of(4)).await;
    probe.report_full(1, 4).await;
    // Replica 2 starts after the probe connected: it never saw the connection.
    let r2 = Replica::start("r2", bus2, resolver).await;
    let delta = pb::ProbeMessage {
        msg: Some(pb::probe_message::Msg::Report(pb::ReportMessage {
            kind: pb::ReportKind::Delta as i32,
            sequence: 2,
            base_sequence: 1,
            report: Some(pb::Report::default()),
            ..Default::default()
        })),
    };
    probe.send(delta).await;
    probe.wait_ack(2).await;
    // Replica 1 applied the delta; replica 2 cannot (it knows neither the probe nor the base).
    // The next full report carries the hello, and replica 2 learns the probe from it.
    probe.report_full(3, 4).await;
    let p = eventually(WAIT, "replica 2 to learn the probe", || {
        let snap = r2.snapshot(&tenant);
        let p = probe_info(&snap, &probe_id)?;
        (p.connected && p.replica == r1.id && has_host(&snap, 4)).then_some(p)
    })
    .await;
    assert_eq!(
        p.reports_received, 1,
        "only the full report applies on replica 2"
    );
    assert_eq!(p.reconnects, 0);
    eventually(WAIT, "replica 1 to have applied all three reports", || {
        let p = probe_info(&r1.snapshot(&tenant), &probe_id)?;
        (p.reports_received == 3).then_some(())
    })
    .await;
}

pub async fn controls_reach_a_probe_on_another_replica(bus1: Arc<dyn Bus>, bus2: Arc<dyn Bus>) {
    let (tenant, token, resolver) = tenant_and_tokens();
    let r1 = Replica::start("r1", bus1, resolver.clone()).await;
    let r2 = Replica::start("r2", bus2, resolver).await;
    let probe_id = random_id(16);
    let mut probe = TestProbe::connect(r1.addr, &token, &probe_id, &host_of(6)).await;
    probe.report_full(1, 6).await;
    let _answering = probe.answer_controls();
    eventually(WAIT, "replica 2 to know where the probe is", || {
        let p = probe_info(&r2.snapshot(&tenant), &probe_id)?;
        (p.replica == r1.id).then_some(())
    })
    .await;
    assert!(!r2.router.is_connected(&tenant, &probe_id));
    let args = HashMap::from([("width".to_owned(), "80".to_owned())]);
    let result = r2
        .router
        .control(
            &tenant,
            &probe_id,
            "node-1",
            "docker_restart_container",
            args,
            "alice@org",
        )
        .await
        .expect("the control runs through replica 1");
    assert_eq!(
        result.value_json.as_deref(),
        Some(r#"{"ran":"docker_restart_container","node":"node-1","args":1}"#)
    );
    // A probe nobody holds, and a probe of another tenant, are not connected.
    let err = r2
        .router
        .control(&tenant, "nobody", "n", "c", HashMap::new(), "alice@org")
        .await
        .unwrap_err();
    assert_eq!(err, ControlError::NotConnected("nobody".into()));
    let other = TenantId::new(random_id(32));
    let err = r2
        .router
        .control(&other, &probe_id, "n", "c", HashMap::new(), "mallory@org")
        .await
        .unwrap_err();
    assert_eq!(err, ControlError::NotConnected(probe_id.clone()));
}
