use scope_store::{Actor, AuditCursor, MAX_AUDIT_PAGE, NewAuditEntry, StoreError};
use serde_json::json;

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

fn entry(action: &str, at: i64) -> NewAuditEntry<'_> {
    NewAuditEntry {
        actor: Actor::System,
        action,
        target: "node-1",
        result: "ok",
        details: serde_json::Value::Null,
        at,
    }
}

pub async fn audit_append_and_list_newest_first(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();

    let stop = NewAuditEntry {
        actor: Actor::User(ann.id.clone()),
        action: "control.docker_stop_container",
        target: "container:abc123",
        result: "error: no such container",
        details: json!({"node": "abc123", "args": ["--time", 10]}),
        at: T0 + 2,
    };
    let stored = s.audit_append(&acme.id, &stop).await.unwrap();
    s.audit_append(&acme.id, &entry("token.create", T0))
        .await
        .unwrap();
    let probe = NewAuditEntry {
        actor: Actor::Probe("p1".into()),
        ..entry("probe.connect", T0 + 1)
    };
    s.audit_append(&acme.id, &probe).await.unwrap();

    let all = s.audit_list(&acme.id, None, 100).await.unwrap();
    let actions: Vec<_> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "control.docker_stop_container",
            "probe.connect",
            "token.create"
        ]
    );
    assert_eq!(all[0], stored);
    assert_eq!(all[0].actor, Actor::User(ann.id.clone()));
    assert_eq!(
        all[0].details,
        json!({"node": "abc123", "args": ["--time", 10]})
    );
    assert_eq!(all[0].result, "error: no such container");
    assert_eq!(all[1].actor, Actor::Probe("p1".into()));
    assert_eq!(all[1].actor.to_string(), "probe:p1");
    assert_eq!(all[2].actor, Actor::System);

    // Before a time: strictly older entries.
    let older = s
        .audit_list(&acme.id, Some(AuditCursor::from(T0 + 2)), 100)
        .await
        .unwrap();
    assert_eq!(older.len(), 2);
    assert_eq!(s.audit_list(&acme.id, None, 1).await.unwrap().len(), 1);
    assert!(s.audit_list(&acme.id, None, 0).await.unwrap().is_empty());
}

/// Entries that share one millisecond are neither skipped nor repeated across pages.
pub async fn audit_paging_handles_same_millisecond(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let mut appended = Vec::new();
    for i in 0..7 {
        let at = if i < 5 { T0 } else { T0 + 1 }; // five entries at one instant
        appended.push(
            s.audit_append(&acme.id, &entry("x.y", at))
                .await
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.audit_list(&acme.id, cursor, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        cursor = Some(page.last().unwrap().cursor());
        seen.extend(page.into_iter().map(|e| (e.at, e.id)));
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties in a stable order");
    let mut ids: Vec<_> = seen.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    appended.sort();
    assert_eq!(ids, appended);
}

pub async fn audit_input_is_bounded(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    assert_err!(
        s.audit_append(&acme.id, &entry(" ", T0)).await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.audit_append(&acme.id, &entry(&"a".repeat(129), T0)).await,
        StoreError::Invalid(_)
    );

    // Long texts and huge details are cut down, never refused: the entry must not be lost.
    let long = "é".repeat(5000);
    let big = NewAuditEntry {
        target: &long,
        result: &long,
        details: json!({ "blob": "x".repeat(100_000) }),
        ..entry("control.exec", T0)
    };
    let stored = s.audit_append(&acme.id, &big).await.unwrap();
    assert_eq!(stored.target.chars().count(), 1025);
    assert_eq!(stored.details["truncated"], json!(true));
    let listed = s.audit_list(&acme.id, None, 10).await.unwrap();
    assert_eq!(listed, [stored]);

    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(
        s.audit_append(&ghost, &entry("x.y", T0)).await,
        StoreError::NotFound
    );
    for _ in 0..3 {
        s.audit_append(&acme.id, &entry("x.y", T0)).await.unwrap();
    }
    assert_eq!(
        s.audit_list(&acme.id, None, u32::MAX).await.unwrap().len(),
        4
    );
    assert_eq!(MAX_AUDIT_PAGE, 1000);
}

pub async fn audit_is_scoped_to_the_org(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let evil = org(s, "Evil").await;
    s.audit_append(&acme.id, &entry("token.create", T0))
        .await
        .unwrap();
    s.audit_append(&evil.id, &entry("token.revoke", T0))
        .await
        .unwrap();
    let evil_log = s.audit_list(&evil.id, None, 100).await.unwrap();
    assert_eq!(evil_log.len(), 1);
    assert_eq!(evil_log[0].action, "token.revoke");
    assert_eq!(evil_log[0].org_id, evil.id);
    // A cursor taken from another org's entry still only lists this org.
    let acme_log = s.audit_list(&acme.id, None, 100).await.unwrap();
    let crossed = s
        .audit_list(
            &evil.id,
            Some(AuditCursor {
                at: T0 + 1,
                id: Some(acme_log[0].id.clone()),
            }),
            100,
        )
        .await
        .unwrap();
    assert!(crossed.iter().all(|e| e.org_id == evil.id));
}
