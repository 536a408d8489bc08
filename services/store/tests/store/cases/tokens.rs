use scope_store::{StoreError, TOKEN_PREFIX, hash_secret};

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn token_create_resolve_and_list(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let ann = user(&s, "ann@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();

    let (info, token) = s
        .create_token(&acme.id, " prod cluster ", Some(&ann.id))
        .await
        .unwrap();
    // scope_ + 43 chars of unpadded base64url = 32 random bytes.
    assert!(token.starts_with(TOKEN_PREFIX));
    assert_eq!(token.len(), TOKEN_PREFIX.len() + 43);
    assert!(
        token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(info.name, "prod cluster");
    assert_eq!(info.prefix, &token[..10]);
    assert_eq!(info.created_by.as_ref(), Some(&ann.id));
    assert_eq!(
        (info.created, info.last_used, info.revoked_at),
        (T0, None, None)
    );
    assert_eq!(hash_secret(&token).len(), 64);

    // Two tokens never collide.
    let (system, token2) = s.create_token(&acme.id, "launch", None).await.unwrap();
    assert_ne!(token, token2);
    assert_eq!(system.created_by, None);

    clock.advance(5);
    assert_eq!(
        s.resolve_token(&token).await.unwrap(),
        Some((acme.id.clone(), info.id.clone()))
    );
    let listed = s.tokens(&acme.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let mine = listed.iter().find(|t| t.id == info.id).unwrap();
    assert_eq!(mine.last_used, Some(T0 + 5));
    assert_eq!(s.token(&acme.id, &info.id).await.unwrap(), *mine);
    // The token itself is nowhere in what can be listed.
    assert!(
        !serde_json::to_string(&listed)
            .unwrap()
            .contains(&token[10..])
    );

    // Near misses and junk resolve to nothing.
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(flipped).unwrap(),
        token[..token.len() - 1].to_string(),
        format!("{token}x"),
        String::new(),
        "scope_".to_string(),
        hash_secret(&token),
    ] {
        assert_eq!(s.resolve_token(&bad).await.unwrap(), None, "{bad}");
    }
}

pub async fn token_last_used_is_written_at_most_once_a_minute(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let acme = org(&s, "Acme").await;
    let (info, token) = s.create_token(&acme.id, "t", None).await.unwrap();
    let last_used = || async { s.token(&acme.id, &info.id).await.unwrap().last_used };

    s.resolve_token(&token).await.unwrap().unwrap();
    assert_eq!(last_used().await, Some(T0));
    clock.advance(30_000);
    s.resolve_token(&token).await.unwrap().unwrap();
    assert_eq!(
        last_used().await,
        Some(T0),
        "not rewritten within the minute"
    );
    clock.advance(30_000);
    s.resolve_token(&token).await.unwrap().unwrap();
    assert_eq!(last_used().await, Some(T0 + 60_000));
}

pub async fn token_revoke(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let acme = org(&s, "Acme").await;
    let (info, token) = s.create_token(&acme.id, "t", None).await.unwrap();
    let (_, other) = s.create_token(&acme.id, "other", None).await.unwrap();

    clock.advance(10);
    s.revoke_token(&acme.id, &info.id).await.unwrap();
    assert_eq!(s.resolve_token(&token).await.unwrap(), None);
    assert!(
        s.resolve_token(&other).await.unwrap().is_some(),
        "other tokens keep working"
    );
    clock.advance(10);
    s.revoke_token(&acme.id, &info.id).await.unwrap(); // again: no error, first time kept
    assert_eq!(
        s.token(&acme.id, &info.id).await.unwrap().revoked_at,
        Some(T0 + 10)
    );
    assert_err!(
        s.revoke_token(&acme.id, &"0".repeat(32).parse().unwrap())
            .await,
        StoreError::NotFound
    );
}

/// Another organisation's token id reaches nothing: not listed, not readable, not revocable.
pub async fn tokens_are_scoped_to_the_org(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let evil = org(s, "Evil").await;
    let (acme_info, acme_token) = s.create_token(&acme.id, "acme", None).await.unwrap();
    let (evil_info, evil_token) = s.create_token(&evil.id, "evil", None).await.unwrap();

    assert_err!(
        s.revoke_token(&evil.id, &acme_info.id).await,
        StoreError::NotFound
    );
    assert_err!(s.token(&evil.id, &acme_info.id).await, StoreError::NotFound);
    let evil_list: Vec<_> = s
        .tokens(&evil.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(evil_list, std::slice::from_ref(&evil_info.id));

    // Each token resolves to its own organisation only.
    assert_eq!(
        s.resolve_token(&acme_token).await.unwrap(),
        Some((acme.id.clone(), acme_info.id.clone()))
    );
    assert_eq!(
        s.resolve_token(&evil_token).await.unwrap(),
        Some((evil.id.clone(), evil_info.id))
    );
    assert_eq!(
        s.token(&acme.id, &acme_info.id).await.unwrap().revoked_at,
        None
    );
}

pub async fn token_input_is_validated(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    assert_err!(
        s.create_token(&acme.id, "  ", None).await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.create_token(&acme.id, &"n".repeat(101), None).await,
        StoreError::Invalid(_)
    );
    assert_err!(
        s.create_token(&acme.id, "a\tb", None).await,
        StoreError::Invalid(_)
    );
    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(
        s.create_token(&acme.id, "t", Some(&ghost)).await,
        StoreError::NotFound
    );
    assert_err!(
        s.create_token(&ghost.as_str().parse().unwrap(), "t", None)
            .await,
        StoreError::NotFound
    );
}
