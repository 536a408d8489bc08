use scope_store::{ProbeStatsDelta, ProbeUpdate, StoreError};

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

fn hello<'a>(probe_id: &'a str, hostname: &'a str, replica: &'a str) -> ProbeUpdate<'a> {
    ProbeUpdate {
        probe_id,
        hostname,
        version: "0.1.0",
        replica,
        connected: true,
    }
}

pub async fn probes_upsert_keeps_first_seen(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    s.upsert_probe(&acme.id, &hello("p1", "web-1", "replica-a"), T0)
        .await
        .unwrap();
    s.upsert_probe(&acme.id, &hello("p0", "db-1", "replica-a"), T0 + 1)
        .await
        .unwrap();
    let p = s.probe(&acme.id, "p1").await.unwrap();
    assert_eq!((p.first_seen, p.last_seen, p.connected), (T0, T0, true));
    assert_eq!(
        (p.reports_received, p.reports_dropped, p.reconnects),
        (0, 0, 0)
    );

    // Seen again, via another replica, with a new version and hostname.
    let again = ProbeUpdate {
        version: "0.2.0",
        ..hello("p1", "web-1b", "replica-b")
    };
    s.upsert_probe(&acme.id, &again, T0 + 5000).await.unwrap();
    let p = s.probe(&acme.id, "p1").await.unwrap();
    assert_eq!((p.first_seen, p.last_seen), (T0, T0 + 5000));
    assert_eq!(
        (p.hostname.as_str(), p.version.as_str(), p.replica.as_str()),
        ("web-1b", "0.2.0", "replica-b")
    );

    let ids: Vec<_> = s
        .probes(&acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.probe_id)
        .collect();
    assert_eq!(ids, ["p0", "p1"], "ordered by hostname");
    assert_err!(s.probe(&acme.id, "nope").await, StoreError::NotFound);
}

pub async fn probe_disconnect_only_from_holding_replica(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    s.upsert_probe(&acme.id, &hello("p1", "web-1", "replica-a"), T0)
        .await
        .unwrap();
    // The probe moved to replica-b before replica-a noticed it had gone.
    s.upsert_probe(&acme.id, &hello("p1", "web-1", "replica-b"), T0 + 10)
        .await
        .unwrap();
    assert!(
        !s.probe_disconnected(&acme.id, "p1", "replica-a", T0 + 20)
            .await
            .unwrap()
    );
    let p = s.probe(&acme.id, "p1").await.unwrap();
    assert!(p.connected);
    assert_eq!(p.last_seen, T0 + 10);

    assert!(
        s.probe_disconnected(&acme.id, "p1", "replica-b", T0 + 30)
            .await
            .unwrap()
    );
    let p = s.probe(&acme.id, "p1").await.unwrap();
    assert!(!p.connected);
    assert_eq!((p.first_seen, p.last_seen), (T0, T0 + 30));
    assert!(
        !s.probe_disconnected(&acme.id, "ghost", "replica-b", T0)
            .await
            .unwrap()
    );
}

pub async fn probe_stats_add_up(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    s.upsert_probe(&acme.id, &hello("p1", "web-1", "replica-a"), T0)
        .await
        .unwrap();
    let d = ProbeStatsDelta {
        reports_received: 10,
        reports_dropped: 1,
        reconnects: 0,
    };
    s.update_probe_stats(&acme.id, "p1", d).await.unwrap();
    s.update_probe_stats(&acme.id, "p1", ProbeStatsDelta { reconnects: 1, ..d })
        .await
        .unwrap();
    // A later hello does not reset the counters.
    s.upsert_probe(&acme.id, &hello("p1", "web-1", "replica-b"), T0 + 1)
        .await
        .unwrap();
    let p = s.probe(&acme.id, "p1").await.unwrap();
    assert_eq!(
        (p.reports_received, p.reports_dropped, p.reconnects),
        (20, 2, 1)
    );
    assert_err!(
        s.update_probe_stats(&acme.id, "ghost", d).await,
        StoreError::NotFound
    );
    let huge = ProbeStatsDelta {
        reports_received: u64::MAX,
        ..d
    };
    assert_err!(
        s.update_probe_stats(&acme.id, "p1", huge).await,
        StoreError::Invalid(_)
    );
}

/// The same probe id in two organisations is two probes; neither reaches the other's row.
pub async fn probes_are_scoped_to_the_org(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let evil = org(s, "Evil").await;
    s.upsert_probe(&acme.id, &hello("p1", "acme-host", "r"), T0)
        .await
        .unwrap();
    assert!(s.probes(&evil.id).await.unwrap().is_empty());
    assert_err!(s.probe(&evil.id, "p1").await, StoreError::NotFound);
    assert_err!(
        s.update_probe_stats(
            &evil.id,
            "p1",
            ProbeStatsDelta {
                reports_received: 1,
                ..Default::default()
            }
        )
        .await,
        StoreError::NotFound
    );
    assert!(
        !s.probe_disconnected(&evil.id, "p1", "r", T0 + 1)
            .await
            .unwrap()
    );

    s.upsert_probe(&evil.id, &hello("p1", "evil-host", "r"), T0 + 2)
        .await
        .unwrap();
    let mine = s.probe(&acme.id, "p1").await.unwrap();
    assert_eq!(
        (
            mine.hostname.as_str(),
            mine.connected,
            mine.last_seen,
            mine.reports_received
        ),
        ("acme-host", true, T0, 0)
    );
    assert_eq!(s.probe(&evil.id, "p1").await.unwrap().hostname, "evil-host");
}

pub async fn probe_input_is_validated(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let long = "h".repeat(257);
    for bad in [
        hello("", "h", "r"),
        hello("p", &long, "r"),
        hello("p", "bad\u{1b}[31mhost", "r"),
        hello("p", "h", ""),
        ProbeUpdate {
            version: &long,
            ..hello("p", "h", "r")
        },
    ] {
        assert_err!(
            s.upsert_probe(&acme.id, &bad, T0).await,
            StoreError::Invalid(_)
        );
    }
    assert!(s.probes(&acme.id).await.unwrap().is_empty());
    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(
        s.upsert_probe(&ghost, &hello("p", "h", "r"), T0).await,
        StoreError::NotFound
    );
}
