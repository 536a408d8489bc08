use scope_store::StoreError;

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn sessions_create_check_and_revoke(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;
    let far = s_now() + 3_600_000;
    let a1 = s.create_session(&ann.id, far).await.unwrap();
    let a2 = s.create_session(&ann.id, far).await.unwrap();
    let b1 = s.create_session(&bob.id, far).await.unwrap();
    assert_ne!(a1, a2);
    assert!(a1.as_str().starts_with("scope_sess_"));
    assert_eq!(
        format!("{a1:?}"),
        "SessionId(..)",
        "Debug never prints the secret"
    );

    assert_eq!(
        s.session_valid(a1.as_str()).await.unwrap(),
        Some(ann.id.clone())
    );
    assert_eq!(
        s.session_valid(b1.as_str()).await.unwrap(),
        Some(bob.id.clone())
    );
    assert_eq!(s.session_valid("scope_sess_nope").await.unwrap(), None);
    assert_eq!(s.session_valid("").await.unwrap(), None);

    s.revoke_session(a1.as_str()).await.unwrap();
    s.revoke_session(a1.as_str()).await.unwrap(); // unknown now: not an error
    assert_eq!(s.session_valid(a1.as_str()).await.unwrap(), None);
    assert_eq!(
        s.session_valid(a2.as_str()).await.unwrap(),
        Some(ann.id.clone())
    );

    assert_eq!(s.revoke_all_sessions_for_user(&ann.id).await.unwrap(), 1);
    assert_eq!(s.session_valid(a2.as_str()).await.unwrap(), None);
    assert_eq!(
        s.session_valid(b1.as_str()).await.unwrap(),
        Some(bob.id),
        "other users unaffected"
    );

    assert_err!(
        s.create_session(&ann.id, s_now() - 1).await,
        StoreError::Invalid(_)
    );
    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(s.create_session(&ghost, far).await, StoreError::NotFound);
}

pub async fn sessions_expire(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let ann = user(&s, "ann@example.com").await;
    let short = s.create_session(&ann.id, T0 + 1000).await.unwrap();
    let long = s.create_session(&ann.id, T0 + 10_000).await.unwrap();
    clock.advance(999);
    assert_eq!(
        s.session_valid(short.as_str()).await.unwrap(),
        Some(ann.id.clone())
    );
    clock.advance(1);
    assert_eq!(s.session_valid(short.as_str()).await.unwrap(), None);
    assert_eq!(
        s.session_valid(long.as_str()).await.unwrap(),
        Some(ann.id.clone())
    );
    // A new session sweeps the user's expired ones; the live one stays.
    s.create_session(&ann.id, T0 + 20_000).await.unwrap();
    assert_eq!(s.revoke_all_sessions_for_user(&ann.id).await.unwrap(), 2);
}
