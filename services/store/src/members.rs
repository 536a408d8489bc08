//! Memberships: which users belong to which organisation, with which role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{OrgId, Result, Store, StoreError, UserId, with_db};

/// A member's role in an organisation. Ordered: `Viewer < Operator < Admin`, and each role may
/// do everything the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the map, details and logs.
    Viewer,
    /// Also runs lifecycle controls (pause, stop, restart, ...).
    Operator,
    /// Also exec/attach, and manages members, invites and service tokens.
    Admin,
}

impl Role {
    /// The role as stored and shown: `viewer`, `operator` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Role> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(StoreError::Invalid(format!("unknown role {s:?}"))),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Role> {
        s.parse()
    }
}

/// A member of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Member {
    /// The user.
    pub user_id: UserId,
    /// The user's email.
    pub email: String,
    /// The user's role in the organisation.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// When the user joined, unix milliseconds.
    pub created: i64,
}

/// `user`'s role in `org` (`Option<Role>`), on any executor (pool or transaction) of either
/// backend. A macro rather than a generic fn: the body is compiled per backend like `with_db!`.
macro_rules! member_role {
    ($exec:expr, $org:expr, $user:expr) => {{
        let row: Option<(String,)> =
            sqlx::query_as("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind($org)
                .bind($user)
                .fetch_optional($exec)
                .await?;
        row.map(|(r,)| r.parse::<Role>()).transpose()?
    }};
}

/// How many admins `org` has (`i64`).
macro_rules! admin_count {
    ($exec:expr, $org:expr) => {{
        let (n,): $crate::Count =
            sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin'")
                .bind($org)
                .fetch_one($exec)
                .await?;
        n
    }};
}

/// Serialises membership changes of one organisation: the first write of the transaction, so
/// PostgreSQL holds the org row lock and SQLite the write lock until commit, and a concurrent
/// change re-reads the admins only after this one has committed. Without it two admins demoting
/// each other at once could both see "another admin remains" and leave none.
macro_rules! lock_org_members {
    ($tx:expr, $org:expr) => {{
        let locked =
            sqlx::query("UPDATE orgs SET members_version = members_version + 1 WHERE id = $1")
                .bind($org)
                .execute(&mut *$tx)
                .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
    }};
}

const LAST_ADMIN: &str = "an organisation must keep at least one admin";

impl Store {
    /// Adds `user` to `org` with `role`. [`StoreError::Conflict`] when already a member (use
    /// [`Store::set_role`]), [`StoreError::NotFound`] when the org or user does not exist.
    pub async fn add_member(&self, org: &OrgId, user: &UserId, role: Role) -> Result<()> {
        let now = self.now();
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, role, created) VALUES ($1, $2, $3, $4)",
            )
            .bind(org)
            .bind(user)
            .bind(role.as_str())
            .bind(now)
            .execute(db)
            .await
            .map_err(|e| StoreError::from(e).conflict_as("already a member"))?;
        });
        Ok(())
    }

    /// Changes a member's role. Demoting the organisation's last admin is refused with
    /// [`StoreError::Conflict`]; a user who is not a member of `org` is [`StoreError::NotFound`].
    pub async fn set_role(&self, org: &OrgId, user: &UserId, role: Role) -> Result<()> {
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            lock_org_members!(tx, org);
            let current = member_role!(&mut *tx, org, user).ok_or(StoreError::NotFound)?;
            if current == Role::Admin && role != Role::Admin && admin_count!(&mut *tx, org) <= 1 {
                return Err(StoreError::Conflict(LAST_ADMIN.into()));
            }
            sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes a member. Removing the organisation's last admin is refused with
    /// [`StoreError::Conflict`]; a user who is not a member of `org` is [`StoreError::NotFound`].
    pub async fn remove_member(&self, org: &OrgId, user: &UserId) -> Result<()> {
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            lock_org_members!(tx, org);
            let current = member_role!(&mut *tx, org, user).ok_or(StoreError::NotFound)?;
            if current == Role::Admin && admin_count!(&mut *tx, org) <= 1 {
                return Err(StoreError::Conflict(LAST_ADMIN.into()));
            }
            sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The members of `org`, ordered by email.
    pub async fn members(&self, org: &OrgId) -> Result<Vec<Member>> {
        Ok(with_db!(self, db => {
            sqlx::query_as::<_, Member>(
                "SELECT m.user_id, u.email, m.role, m.created \
                 FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 ORDER BY u.email",
            )
            .bind(org)
            .fetch_all(db)
            .await?
        }))
    }

    /// `user`'s role in `org`, or `None` when not a member. The check behind every request.
    pub async fn role_of(&self, org: &OrgId, user: &UserId) -> Result<Option<Role>> {
        Ok(with_db!(self, db => member_role!(db, org, user)))
    }
}
