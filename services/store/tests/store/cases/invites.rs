use scope_store::{INVITE_TTL_MILLIS, Role, StoreError};

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn invite_accept_grants_role_once(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let ann = user(&s, "ann@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();

    let (invite, secret) = s
        .create_invite(&acme.id, "Bob@Example.com", Role::Operator, &ann.id)
        .await
        .unwrap();
    assert!(
        secret.starts_with("scope_inv_") && secret.len() == "scope_inv_".len() + 43,
        "{secret}"
    );
    assert_eq!(invite.email, "bob@example.com");
    assert_eq!(invite.expires, T0 + INVITE_TTL_MILLIS);
    assert_eq!(invite.invited_by.as_ref(), Some(&ann.id));
    assert_eq!(
        s.invites(&acme.id).await.unwrap(),
        std::slice::from_ref(&invite)
    );
    // The secret is not part of what is stored or listed.
    assert!(
        !serde_json::to_string(&s.invites(&acme.id).await.unwrap())
            .unwrap()
            .contains(&secret)
    );

    // A pending invite can be looked up by its secret (sign-up checks it before creating the
    // account); a wrong secret finds nothing.
    assert_eq!(s.pending_invite(&secret).await.unwrap(), invite);
    assert_err!(
        s.pending_invite("scope_inv_nonsense").await,
        StoreError::NotFound
    );

    let bob = user(&s, "bob@example.com").await;
    clock.advance(1000);
    assert_eq!(
        s.accept_invite(&secret, &bob.id).await.unwrap(),
        (acme.id.clone(), Role::Operator)
    );
    assert_eq!(
        s.role_of(&acme.id, &bob.id).await.unwrap(),
        Some(Role::Operator)
    );
    let listed = &s.invites(&acme.id).await.unwrap()[0];
    assert_eq!(listed.accepted_at, Some(T0 + 1000));
    assert_eq!(listed.accepted_by.as_ref(), Some(&bob.id));

    // Once only.
    assert_err!(
        s.accept_invite(&secret, &bob.id).await,
        StoreError::NotFound
    );
    assert_err!(s.pending_invite(&secret).await, StoreError::NotFound);
    assert_err!(
        s.accept_invite("scope_inv_nonsense", &bob.id).await,
        StoreError::NotFound
    );
    assert_err!(
        s.create_invite(&acme.id, "not-an-email", Role::Viewer, &ann.id)
            .await,
        StoreError::Invalid(_)
    );
}

pub async fn invite_for_another_email_is_refused_and_stays_usable(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();
    let (_, secret) = s
        .create_invite(&acme.id, "bob@example.com", Role::Viewer, &ann.id)
        .await
        .unwrap();

    let eve = user(s, "eve@example.com").await;
    assert_err!(
        s.accept_invite(&secret, &eve.id).await,
        StoreError::Invalid(_)
    );
    assert_eq!(s.role_of(&acme.id, &eve.id).await.unwrap(), None);
    assert_eq!(s.invites(&acme.id).await.unwrap()[0].accepted_at, None);

    let bob = user(s, "bob@example.com").await;
    assert_eq!(
        s.accept_invite(&secret, &bob.id).await.unwrap().1,
        Role::Viewer
    );
}

pub async fn invite_expiry_and_revocation(db: &TestDb) {
    let (s, clock) = with_clock(&db.store);
    let ann = user(&s, "ann@example.com").await;
    let bob = user(&s, "bob@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();

    let (_, expiring) = s
        .create_invite(&acme.id, "bob@example.com", Role::Viewer, &ann.id)
        .await
        .unwrap();
    let (revoked, revoked_secret) = s
        .create_invite(&acme.id, "bob@example.com", Role::Admin, &ann.id)
        .await
        .unwrap();
    s.revoke_invite(&acme.id, &revoked.id).await.unwrap();
    s.revoke_invite(&acme.id, &revoked.id).await.unwrap(); // again: no change, no error
    assert_err!(
        s.accept_invite(&revoked_secret, &bob.id).await,
        StoreError::NotFound
    );
    let listed = s.invites(&acme.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|i| i.id == revoked.id)
            .unwrap()
            .revoked_at,
        Some(T0)
    );

    clock.advance(INVITE_TTL_MILLIS);
    assert_err!(
        s.accept_invite(&expiring, &bob.id).await,
        StoreError::NotFound
    );
    assert_eq!(s.role_of(&acme.id, &bob.id).await.unwrap(), None);
}

pub async fn invite_never_demotes(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();
    s.add_member(&acme.id, &bob.id, Role::Operator)
        .await
        .unwrap();

    let (_, low) = s
        .create_invite(&acme.id, "bob@example.com", Role::Viewer, &ann.id)
        .await
        .unwrap();
    assert_eq!(
        s.accept_invite(&low, &bob.id).await.unwrap().1,
        Role::Operator
    );
    let (_, high) = s
        .create_invite(&acme.id, "bob@example.com", Role::Admin, &ann.id)
        .await
        .unwrap();
    assert_eq!(
        s.accept_invite(&high, &bob.id).await.unwrap().1,
        Role::Admin
    );
    assert_eq!(
        s.role_of(&acme.id, &bob.id).await.unwrap(),
        Some(Role::Admin)
    );
}

pub async fn invites_are_scoped_to_the_org(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let eve = user(s, "eve@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();
    let evil = s.create_org_with_admin("Evil", &eve.id).await.unwrap();
    let (invite, secret) = s
        .create_invite(&acme.id, "bob@example.com", Role::Admin, &ann.id)
        .await
        .unwrap();

    assert!(s.invites(&evil.id).await.unwrap().is_empty());
    assert_err!(
        s.revoke_invite(&evil.id, &invite.id).await,
        StoreError::NotFound
    );
    // Still pending in Acme.
    let bob = user(s, "bob@example.com").await;
    assert_eq!(
        s.accept_invite(&secret, &bob.id).await.unwrap(),
        (acme.id.clone(), Role::Admin)
    );
    assert_eq!(s.role_of(&evil.id, &bob.id).await.unwrap(), None);
}
