//! Server-side sessions: the id inside a signed session cookie, so that signing out (one
//! session, or all of a user's) takes effect at once instead of when the JWT expires.

use std::fmt;

use crate::secret::{hash_secret, random_secret};
use crate::{Result, Store, StoreError, UserId, with_db};

/// Session ids carry this prefix (recognisable in logs and secret scanners).
const SESSION_PREFIX: &str = "scope_sess_";

/// A session id: a 256-bit random secret. Only its SHA-256 is stored, so a copy of the
/// database does not hold live sessions. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// The id, to put in the session token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

impl Store {
    /// Starts a session for `user` that ends at `expires` (unix milliseconds) unless revoked
    /// first. Also forgets the user's sessions that have expired, so the table does not grow.
    pub async fn create_session(&self, user: &UserId, expires: i64) -> Result<SessionId> {
        let now = self.now();
        if expires <= now {
            return Err(StoreError::Invalid(
                "session would already be expired".into(),
            ));
        }
        let id = SessionId(random_secret(SESSION_PREFIX));
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires <= $2")
                .bind(user)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO sessions (id_hash, user_id, created, expires) VALUES ($1, $2, $3, $4)")
                .bind(hash_secret(id.as_str()))
                .bind(user)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(id)
    }

    /// The user of a live session, or `None` when the id is unknown, revoked or expired.
    pub async fn session_valid(&self, id: &str) -> Result<Option<UserId>> {
        let now = self.now();
        let row: Option<(UserId,)> = with_db!(self, db => {
            sqlx::query_as("SELECT user_id FROM sessions WHERE id_hash = $1 AND expires > $2")
                .bind(hash_secret(id))
                .bind(now)
                .fetch_optional(db)
                .await?
        });
        Ok(row.map(|(u,)| u))
    }

    /// Ends one session (sign out). Ending an unknown session is not an error.
    pub async fn revoke_session(&self, id: &str) -> Result<()> {
        with_db!(self, db => {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(hash_secret(id))
                .execute(db)
                .await?;
        });
        Ok(())
    }

    /// Ends all of `user`'s sessions (sign out everywhere). Returns how many there were.
    pub async fn revoke_all_sessions_for_user(&self, user: &UserId) -> Result<u64> {
        Ok(with_db!(self, db => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user)
                .execute(db)
                .await?
                .rows_affected()
        }))
    }
}
