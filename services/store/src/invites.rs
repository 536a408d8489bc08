//! Invites: a secret link that lets one email address join an organisation with a given role.

use serde::{Deserialize, Serialize};

use crate::members::Role;
use crate::secret::{hash_secret, random_secret};
use crate::users::normalise_email;
use crate::{InviteId, OrgId, Result, Store, StoreError, UserId, with_db};

/// How long an invite can be accepted: 7 days, in milliseconds.
pub const INVITE_TTL_MILLIS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Invite secrets start with this, so they are recognisable (and distinct from service tokens).
const INVITE_PREFIX: &str = "scope_inv_";

/// An invitation, as listed to the organisation's admins. The secret is not part of it: it is
/// returned once by [`Store::create_invite`] and only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Invite {
    /// Random id.
    pub id: InviteId,
    /// The organisation the invite is for.
    pub org_id: OrgId,
    /// Who may accept it (normalised).
    pub email: String,
    /// The role the invitee gets.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Who created it (`None` once that user is deleted).
    pub invited_by: Option<UserId>,
    /// Creation time, unix milliseconds.
    pub created: i64,
    /// After this time it can no longer be accepted, unix milliseconds.
    pub expires: i64,
    /// When it was accepted, if it was.
    pub accepted_at: Option<i64>,
    /// Who accepted it.
    pub accepted_by: Option<UserId>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Invites `email` to `org` as `role`. Returns the invite and its secret, in clear, which is
    /// not stored and cannot be shown again; it can be accepted once, for
    /// [`INVITE_TTL_MILLIS`], by the user with that email.
    pub async fn create_invite(
        &self,
        org: &OrgId,
        email: &str,
        role: Role,
        invited_by: &UserId,
    ) -> Result<(Invite, String)> {
        let email = normalise_email(email)?;
        let secret = random_secret(INVITE_PREFIX);
        let now = self.now();
        let invite = Invite {
            id: InviteId::generate(),
            org_id: org.clone(),
            email,
            role,
            invited_by: Some(invited_by.clone()),
            created: now,
            expires: now + INVITE_TTL_MILLIS,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO invites (id, org_id, email, role, secret_hash, invited_by, created, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&invite.id)
            .bind(&invite.org_id)
            .bind(&invite.email)
            .bind(role.as_str())
            .bind(hash_secret(&secret))
            .bind(invited_by)
            .bind(invite.created)
            .bind(invite.expires)
            .execute(db)
            .await?;
        });
        Ok((invite, secret))
    }

    /// Accepts an invite for `user`, whose email must be the invited one. Returns the
    /// organisation and the user's role there: the invited role, or the user's current role if
    /// that is higher (accepting an invite never demotes). An unknown, used, revoked or expired
    /// secret is [`StoreError::NotFound`]; the wrong user is [`StoreError::Invalid`] and leaves
    /// the invite usable.
    pub async fn accept_invite(&self, secret: &str, user: &UserId) -> Result<(OrgId, Role)> {
        let now = self.now();
        let hash = hash_secret(secret);
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            // Claim first: a write, so the transaction holds the lock from its first statement
            // (SQLite upgrades no read lock, PostgreSQL makes a second acceptance wait and then
            // find the invite used). Rolled back below if the user is the wrong one.
            let claimed: Option<(OrgId, String, String)> = sqlx::query_as(
                "UPDATE invites SET accepted_at = $2, accepted_by = $3 \
                 WHERE secret_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                   AND expires > $2 \
                 RETURNING org_id, email, role",
            )
            .bind(&hash)
            .bind(now)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
            let (org, email, role) = claimed.ok_or(StoreError::NotFound)?;
            let role: Role = role.parse()?;
            let user_email: Option<(String,)> =
                sqlx::query_as("SELECT email FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (user_email,) = user_email.ok_or(StoreError::NotFound)?;
            if user_email != email {
                // Dropping `tx` rolls the claim back.
                return Err(StoreError::Invalid(
                    "this invite is for a different email address".into(),
                ));
            }
            let current: Option<(String,)> = sqlx::query_as(
                "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
            )
            .bind(&org)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
            let granted = match current {
                None => {
                    sqlx::query(
                        "INSERT INTO memberships (org_id, user_id, role, created) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&org)
                    .bind(user)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    role
                }
                Some((current,)) => {
                    let current: Role = current.parse()?;
                    if role > current {
                        sqlx::query(
                            "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
                        )
                        .bind(&org)
                        .bind(user)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    role.max(current)
                }
            };
            tx.commit().await?;
            Ok((org, granted))
        })
    }

    /// The pending invite with this secret: not accepted, revoked or expired. Lets sign-up check
    /// an invite before creating the account that will accept it. Anything else is
    /// [`StoreError::NotFound`].
    pub async fn pending_invite(&self, secret: &str) -> Result<Invite> {
        let now = self.now();
        with_db!(self, db => {
            sqlx::query_as::<_, Invite>(
                "SELECT id, org_id, email, role, invited_by, created, expires, accepted_at, \
                 accepted_by, revoked_at FROM invites WHERE secret_hash = $1 \
                 AND accepted_at IS NULL AND revoked_at IS NULL AND expires > $2",
            )
            .bind(hash_secret(secret))
            .bind(now)
            .fetch_optional(db)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    /// All invites of `org`, newest first (pending, accepted, revoked and expired alike).
    pub async fn invites(&self, org: &OrgId) -> Result<Vec<Invite>> {
        Ok(with_db!(self, db => {
            sqlx::query_as::<_, Invite>(
                "SELECT id, org_id, email, role, invited_by, created, expires, accepted_at, \
                 accepted_by, revoked_at FROM invites WHERE org_id = $1 ORDER BY created DESC, id",
            )
            .bind(org)
            .fetch_all(db)
            .await?
        }))
    }

    /// Revokes a pending invite of `org` so its secret no longer works. Revoking one already
    /// revoked or accepted changes nothing; an invite of another organisation is
    /// [`StoreError::NotFound`].
    pub async fn revoke_invite(&self, org: &OrgId, invite: &InviteId) -> Result<()> {
        let now = self.now();
        with_db!(self, db => {
            let done = sqlx::query(
                "UPDATE invites SET revoked_at = $3 \
                 WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(org)
            .bind(invite)
            .bind(now)
            .execute(db)
            .await?;
            if done.rows_affected() == 0 {
                let exists: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM invites WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(invite)
                        .fetch_optional(db)
                        .await?;
                exists.ok_or(StoreError::NotFound)?;
            }
        });
        Ok(())
    }
}
