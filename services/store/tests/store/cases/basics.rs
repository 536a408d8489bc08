use scope_store::{Actor, Backend, NewAuditEntry, Store, StoreError};
use sqlx::{Connection, Executor};

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn connects_and_reports_backend(db: &TestDb) {
    db.store.ping().await.unwrap();
    let expected = match &db.url {
        Some(u) if u.starts_with("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    assert_eq!(db.store.backend(), expected);
    assert_err!(Store::connect("mysql://nope").await, StoreError::Invalid(_));
}

pub async fn reopening_keeps_data_and_migrations_are_idempotent(db: &TestDb) {
    let Some(url) = &db.url else {
        // In-memory SQLite cannot be reopened; its migrations ran once in `connect`.
        return;
    };
    let o = org(&db.store, "Acme").await;
    let again = Store::connect(url)
        .await
        .expect("reopen runs migrations again, as a no-op");
    assert_eq!(again.org(&o.id).await.unwrap(), o);
    again.close().await;
}

/// The schema itself keeps the audit log append-only, whatever code reaches the database.
pub async fn audit_log_refuses_update_and_delete(db: &TestDb) {
    let Some(url) = &db.url else {
        return; // no second connection to an in-memory database
    };
    let o = org(&db.store, "Acme").await;
    let e = NewAuditEntry {
        actor: Actor::System,
        action: "token.create",
        target: "t",
        result: "ok",
        details: serde_json::Value::Null,
        at: T0,
    };
    db.store.audit_append(&o.id, &e).await.unwrap();
    for sql in [
        "UPDATE audit_log SET result = 'forged'",
        "DELETE FROM audit_log",
    ] {
        let err = raw_execute(url, sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let entries = db.store.audit_list(&o.id, None, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].result, "ok");
}

/// Runs a statement the store has no API for, on a connection of its own.
async fn raw_execute(url: &str, sql: &'static str) -> Result<u64, String> {
    let done = if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        c.execute(sql).await.map(|r| r.rows_affected())
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        c.execute(sql).await.map(|r| r.rows_affected())
    };
    done.map_err(|e| e.to_string())
}

pub async fn orgs_create_get_and_slugs(db: &TestDb) {
    let s = &db.store;
    let a = org(s, "  Acme Corp. ").await;
    assert_eq!(a.name, "Acme Corp.");
    assert_eq!(a.slug, "acme-corp");
    assert_eq!(a.id.as_str().len(), 32);
    assert_eq!(s.org(&a.id).await.unwrap(), a);
    assert_eq!(s.org_by_slug("acme-corp").await.unwrap(), a);

    // Same name again: another tenant, another slug; neither fails nor reveals the first.
    let b = org(s, "Acme Corp").await;
    assert_ne!(a.id, b.id);
    assert!(b.slug.starts_with("acme-corp-"), "{}", b.slug);
    assert_eq!(s.org_by_slug(&b.slug).await.unwrap(), b);

    assert_err!(
        s.org(&"0".repeat(32).parse().unwrap()).await,
        StoreError::NotFound
    );
    assert_err!(s.org_by_slug("nope").await, StoreError::NotFound);
}

pub async fn org_names_are_validated(db: &TestDb) {
    let s = &db.store;
    assert_err!(s.create_org("   ").await, StoreError::Invalid(_));
    assert_err!(s.create_org(&"x".repeat(101)).await, StoreError::Invalid(_));
    assert_err!(s.create_org("bad\nname").await, StoreError::Invalid(_));
    assert_eq!(org(s, "日本").await.slug, "org");
}
