use scope_store::StoreError;

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn users_create_normalise_and_conflict(db: &TestDb) {
    let s = &db.store;
    assert_eq!(s.user_count().await.unwrap(), 0);
    let ann = user(s, "  Ann@Example.COM ").await;
    assert_eq!(ann.email, "ann@example.com");
    assert_eq!(s.user(&ann.id).await.unwrap(), ann);
    assert_eq!(s.user_by_email("ANN@example.com").await.unwrap(), ann);
    assert_eq!(s.user_count().await.unwrap(), 1);

    // Uniqueness is on the normalised email.
    match s
        .create_user("ann@EXAMPLE.com", "another long password")
        .await
    {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("email"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_err!(
        s.create_user("no-at-sign", PASSWORD).await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.create_user("bob@example.com", "short").await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.create_user("bob@example.com", "123456789").await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.user_by_email("bob@example.com").await,
        StoreError::NotFound
    );
    assert_err!(s.user_by_email("not an email").await, StoreError::NotFound);
    assert_eq!(s.user_count().await.unwrap(), 1);
}

pub async fn verify_password_accepts_only_the_right_password(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    assert_eq!(
        s.verify_password("ann@example.com", PASSWORD)
            .await
            .unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        s.verify_password(" ANN@example.com", PASSWORD)
            .await
            .unwrap(),
        Some(ann)
    );
    assert_eq!(
        s.verify_password("ann@example.com", "correct horse battery!")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.verify_password("ann@example.com", "").await.unwrap(),
        None
    );
    assert_eq!(
        s.verify_password("nobody@example.com", PASSWORD)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.verify_password("garbage", PASSWORD).await.unwrap(), None);
}

pub async fn change_password_replaces_hash_and_ends_sessions(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let far = s_now() + 3_600_000;
    let s1 = s.create_session(&ann.id, far).await.unwrap();
    let s2 = s.create_session(&ann.id, far).await.unwrap();
    assert_err!(
        s.change_password(&ann.id, "too short").await,
        StoreError::Invalid(_)
    );
    s.change_password(&ann.id, "a brand new passphrase")
        .await
        .unwrap();
    assert_eq!(
        s.verify_password("ann@example.com", PASSWORD)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.verify_password("ann@example.com", "a brand new passphrase")
            .await
            .unwrap(),
        Some(ann.clone())
    );
    assert_eq!(s.session_valid(s1.as_str()).await.unwrap(), None);
    assert_eq!(s.session_valid(s2.as_str()).await.unwrap(), None);
    assert_err!(
        s.change_password(&"f".repeat(32).parse().unwrap(), "a brand new passphrase")
            .await,
        StoreError::NotFound
    );
}
