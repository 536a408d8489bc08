use scope_store::{Role, StoreError};

use super::*;
use crate::assert_err;
use crate::backends::TestDb;

pub async fn memberships_add_list_and_roles(db: &TestDb) {
    let s = &db.store;
    let acme = org(s, "Acme").await;
    let beta = org(s, "Beta").await;
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;

    assert_eq!(s.role_of(&acme.id, &ann.id).await.unwrap(), None);
    s.add_member(&acme.id, &ann.id, Role::Admin).await.unwrap();
    s.add_member(&acme.id, &bob.id, Role::Viewer).await.unwrap();
    s.add_member(&beta.id, &bob.id, Role::Operator)
        .await
        .unwrap();
    assert_err!(
        s.add_member(&acme.id, &bob.id, Role::Admin).await,
        StoreError::Conflict(_)
    );

    assert_eq!(
        s.role_of(&acme.id, &ann.id).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        s.role_of(&acme.id, &bob.id).await.unwrap(),
        Some(Role::Viewer)
    );
    let members = s.members(&acme.id).await.unwrap();
    let summary: Vec<_> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(
        summary,
        [
            ("ann@example.com", Role::Admin),
            ("bob@example.com", Role::Viewer)
        ]
    );
    assert_eq!(members[0].user_id, ann.id);

    s.set_role(&acme.id, &bob.id, Role::Operator).await.unwrap();
    assert_eq!(
        s.role_of(&acme.id, &bob.id).await.unwrap(),
        Some(Role::Operator)
    );

    let bobs: Vec<_> = s
        .orgs_for_user(&bob.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, r)| (o.name, r))
        .collect();
    assert_eq!(
        bobs,
        [
            ("Acme".to_string(), Role::Operator),
            ("Beta".to_string(), Role::Operator)
        ]
    );

    s.remove_member(&acme.id, &bob.id).await.unwrap();
    assert_eq!(s.role_of(&acme.id, &bob.id).await.unwrap(), None);
    assert_err!(
        s.remove_member(&acme.id, &bob.id).await,
        StoreError::NotFound
    );
    assert_err!(
        s.set_role(&acme.id, &bob.id, Role::Admin).await,
        StoreError::NotFound
    );

    // Roles are ordered, each allowing what those below it allow.
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    assert!(Role::Admin.allows(Role::Operator) && !Role::Viewer.allows(Role::Operator));

    // Unknown org or user: NotFound (the foreign keys), not a database error.
    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(
        s.add_member(&ghost, &ann.id, Role::Viewer).await,
        StoreError::NotFound
    );
    assert_err!(
        s.add_member(&acme.id, &ghost.as_str().parse().unwrap(), Role::Viewer)
            .await,
        StoreError::NotFound
    );
}

pub async fn create_org_with_admin_makes_first_admin(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();
    assert_eq!(
        s.role_of(&acme.id, &ann.id).await.unwrap(),
        Some(Role::Admin)
    );
    // A missing user rolls the whole creation back.
    let ghost = "0".repeat(32).parse().unwrap();
    assert_err!(
        s.create_org_with_admin("Ghost Town", &ghost).await,
        StoreError::NotFound
    );
    assert_err!(s.org_by_slug("ghost-town").await, StoreError::NotFound);
}

pub async fn last_admin_cannot_be_removed_or_demoted(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();

    assert_err!(
        s.remove_member(&acme.id, &ann.id).await,
        StoreError::Conflict(_)
    );
    assert_err!(
        s.set_role(&acme.id, &ann.id, Role::Operator).await,
        StoreError::Conflict(_)
    );
    s.set_role(&acme.id, &ann.id, Role::Admin).await.unwrap(); // admin -> admin is fine

    s.add_member(&acme.id, &bob.id, Role::Admin).await.unwrap();
    s.set_role(&acme.id, &ann.id, Role::Viewer).await.unwrap();
    assert_err!(
        s.remove_member(&acme.id, &bob.id).await,
        StoreError::Conflict(_)
    );
    assert_err!(
        s.set_role(&acme.id, &bob.id, Role::Viewer).await,
        StoreError::Conflict(_)
    );
    s.remove_member(&acme.id, &ann.id).await.unwrap(); // a non-admin can always go
    assert_eq!(
        s.role_of(&acme.id, &bob.id).await.unwrap(),
        Some(Role::Admin)
    );
}

/// Two admins demoting themselves at the same moment: one must win, one must be refused.
/// Checked in a loop because the interleaving is up to the database.
pub async fn concurrent_demotions_keep_an_admin(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let bob = user(s, "bob@example.com").await;
    for round in 0..10 {
        let o = s
            .create_org_with_admin(&format!("Race {round}"), &ann.id)
            .await
            .unwrap();
        s.add_member(&o.id, &bob.id, Role::Admin).await.unwrap();
        let (a, b) = tokio::join!(
            tokio::spawn({
                let (s, o, u) = (s.clone(), o.id.clone(), ann.id.clone());
                async move { s.set_role(&o, &u, Role::Viewer).await }
            }),
            tokio::spawn({
                let (s, o, u) = (s.clone(), o.id.clone(), bob.id.clone());
                async move { s.remove_member(&o, &u).await }
            }),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        assert_eq!(refused, 1, "round {round}: {a:?} {b:?}");
        assert!(a.is_ok() || b.is_ok(), "round {round}: {a:?} {b:?}");
        let admins = s
            .members(&o.id)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "round {round}");
    }
}

/// Membership calls name the org; another org's member is not reachable through it.
pub async fn member_calls_are_scoped_to_the_org(db: &TestDb) {
    let s = &db.store;
    let ann = user(s, "ann@example.com").await;
    let eve = user(s, "eve@example.com").await;
    let acme = s.create_org_with_admin("Acme", &ann.id).await.unwrap();
    let evil = s.create_org_with_admin("Evil", &eve.id).await.unwrap();
    s.add_member(&acme.id, &eve.id, Role::Viewer).await.unwrap();

    // Eve is admin of Evil: that gives her nothing in Acme.
    assert_eq!(
        s.role_of(&acme.id, &eve.id).await.unwrap(),
        Some(Role::Viewer)
    );
    assert_eq!(s.role_of(&evil.id, &ann.id).await.unwrap(), None);
    // Changing Acme's members through Evil's id finds nothing.
    assert_err!(
        s.set_role(&evil.id, &ann.id, Role::Viewer).await,
        StoreError::NotFound
    );
    assert_err!(
        s.remove_member(&evil.id, &ann.id).await,
        StoreError::NotFound
    );
    assert_eq!(
        s.role_of(&acme.id, &ann.id).await.unwrap(),
        Some(Role::Admin)
    );
    let evil_members: Vec<_> = s
        .members(&evil.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(evil_members, ["eve@example.com"]);
    let anns: Vec<_> = s
        .orgs_for_user(&ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, _)| o.id)
        .collect();
    assert_eq!(anns, [acme.id]);
}
