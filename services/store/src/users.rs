//! Users: accounts with argon2id password hashes.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, StoreError, UserId, with_db};

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in characters: far beyond any real passphrase, and bounds the
/// work an attacker can make one sign-in attempt cost.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest accepted email address (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;

/// A well-formed argon2id hash with the crate's default parameters whose salt and output are
/// random bytes, so no known password matches it. Sign-in for an unknown email verifies against it, so that the answer takes as long as
/// for a known email and response times do not reveal which emails have accounts.
/// `dummy_hash_uses_default_params` keeps it in step with the parameters real hashes use.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
                          lhHkcpTQ07S6Tzob7AIdqw$\
                          Ia1AD3ZxUo6DgtIMv6DJGU52g2OIs9KY7E8v/4mKhgo";

/// A user account. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    /// Random id.
    pub id: UserId,
    /// Email address, normalised to lowercase.
    pub email: String,
    /// Creation time, unix milliseconds.
    pub created: i64,
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: User,
    password_hash: String,
}

impl Store {
    /// Creates a user. The email is trimmed and lowercased and must be unique
    /// ([`StoreError::Conflict`] otherwise); the password must have at least
    /// [`MIN_PASSWORD_CHARS`] characters and is stored as an argon2id hash with a random salt.
    pub async fn create_user(&self, email: &str, password: &str) -> Result<User> {
        let email = normalise_email(email)?;
        validate_password(password)?;
        let hash = hash_password(password.to_string()).await?;
        let user = User {
            id: UserId::generate(),
            email,
            created: self.now(),
        };
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created, password_changed) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&user.id)
            .bind(&user.email)
            .bind(&hash)
            .bind(user.created)
            .execute(db)
            .await
            .map_err(|e| StoreError::from(e).conflict_as("email already registered"))?;
        });
        Ok(user)
    }

    /// The user with this id.
    pub async fn user(&self, id: &UserId) -> Result<User> {
        with_db!(self, db => {
            sqlx::query_as::<_, User>("SELECT id, email, created FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// The user with this email (compared after normalisation).
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let email = normalise_email(email).map_err(|_| StoreError::NotFound)?;
        with_db!(self, db => {
            sqlx::query_as::<_, User>("SELECT id, email, created FROM users WHERE email = $1")
                .bind(&email)
                .fetch_optional(db)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// How many users exist (lets the app tell a fresh install, which needs its first admin).
    pub async fn user_count(&self) -> Result<i64> {
        let (n,) = with_db!(self, db => {
            sqlx::query_as::<_, crate::Count>("SELECT COUNT(*) FROM users").fetch_one(db).await?
        });
        Ok(n)
    }

    /// Checks a sign-in. Returns the user when `password` is theirs, `None` for a wrong password
    /// or an unknown email. Both cases do one argon2 verification, so timing does not tell an
    /// attacker which emails have accounts.
    pub async fn verify_password(&self, email: &str, password: &str) -> Result<Option<User>> {
        let found = match normalise_email(email) {
            Ok(email) => with_db!(self, db => {
                sqlx::query_as::<_, UserWithHash>(
                    "SELECT id, email, created, password_hash FROM users WHERE email = $1",
                )
                .bind(&email)
                .fetch_optional(db)
                .await?
            }),
            Err(_) => None,
        };
        // Over-long input is refused after the same work, not before, for the same reason.
        let acceptable = password.chars().count() <= MAX_PASSWORD_CHARS;
        let (hash, user) = match found {
            Some(row) => (row.password_hash, Some(row.user)),
            None => (DUMMY_HASH.to_string(), None),
        };
        let password = if acceptable { password } else { "" }.to_string();
        let ok = verify(password, hash).await?;
        Ok(user.filter(|_| ok && acceptable))
    }

    /// Sets a new password for `user` (checking the current one is the caller's job) and ends
    /// all of the user's sessions, so a stolen session does not outlive a password change. The
    /// caller starts a fresh session for the browser that made the change.
    pub async fn change_password(&self, user: &UserId, new_password: &str) -> Result<()> {
        validate_password(new_password)?;
        let hash = hash_password(new_password.to_string()).await?;
        let now = self.now();
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            let done = sqlx::query(
                "UPDATE users SET password_hash = $2, password_changed = $3 WHERE id = $1",
            )
            .bind(user)
            .bind(&hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Trims and lowercases an email address and checks it looks like one: a non-empty local part
/// and domain around one `@`, no spaces or control characters, at most 254 bytes.
pub(crate) fn normalise_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid("not a valid email address".into()))
    }
}

fn validate_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "password must have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// argon2id with the crate's default parameters and a random salt, as a PHC string. Runs on the
/// blocking pool: one hash is tens of milliseconds of CPU, which must not stall the runtime.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password hashing task failed: {e}")))?
}

/// Whether `password` matches the PHC string `hash` (parameters are read from the hash).
async fn verify(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password verification task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "a@b@c",
            "a\u{0}@b",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalise_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn password_length_limits_count_characters() {
        assert!(validate_password("123456789").is_err());
        assert!(validate_password("1234567890").is_ok());
        // Ten characters, more than ten bytes: counted as characters.
        assert!(validate_password("ééééééééé").is_err());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[test]
    fn dummy_hash_uses_default_params() {
        let real = Argon2::default()
            .hash_password(b"some password")
            .unwrap()
            .to_string();
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap().to_string();
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(DUMMY_HASH.starts_with("$argon2id$"));
        // It is a well-formed hash that a wrong password fails against.
        assert!(
            Argon2::default()
                .verify_password(b"guess", DUMMY_HASH)
                .is_err()
        );
    }
}
