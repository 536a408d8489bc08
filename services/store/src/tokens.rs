//! Service tokens: how probes authenticate. The organisation comes from the token, never from
//! anything else the client sends.

use serde::{Deserialize, Serialize};

use crate::secret::{hash_secret, random_secret};
use crate::{OrgId, Result, Store, StoreError, TokenId, UserId, with_db};

/// Every service token starts with this, followed by 43 characters of unpadded base64url
/// (32 random bytes, 256 bits).
pub const TOKEN_PREFIX: &str = "scope_";
/// Length of a well-formed token.
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;
/// Characters of the token kept in clear as a hint ("scope_AbCd"): enough for people to tell
/// their tokens apart, far too few (4 random characters, 24 bits) to help guess one.
const HINT_LEN: usize = 10;
/// `last_used` is written at most this often per token, so a probe reporting every few seconds
/// does not cost a database write per report.
const LAST_USED_GRANULARITY_MILLIS: i64 = 60_000;
/// Longest accepted token name, in characters.
const MAX_NAME_CHARS: usize = 100;

/// A service token as listed to its organisation. The token itself is not part of it: it is
/// returned once by [`Store::create_token`] and only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TokenInfo {
    /// Random id (not secret; used to revoke).
    pub id: TokenId,
    /// The organisation the token authenticates probes for.
    pub org_id: OrgId,
    /// A name given by its creator ("prod cluster", ...).
    pub name: String,
    /// The first 10 characters of the token, e.g. `scope_AbCd`.
    pub prefix: String,
    /// Creation time, unix milliseconds.
    pub created: i64,
    /// Who created it (`None` when created by the system, or once that user is deleted).
    pub created_by: Option<UserId>,
    /// Last time a probe used it, to the minute; `None` if never used.
    pub last_used: Option<i64>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Creates a service token for `org`. Returns its listing and the token in clear, which is
    /// not stored and cannot be shown again. `created_by` is `None` for tokens the system makes
    /// (e.g. the one `scope launch` starts with).
    pub async fn create_token(
        &self,
        org: &OrgId,
        name: &str,
        created_by: Option<&UserId>,
    ) -> Result<(TokenInfo, String)> {
        let name = validate_name(name)?;
        let token = random_secret(TOKEN_PREFIX);
        let info = TokenInfo {
            id: TokenId::generate(),
            org_id: org.clone(),
            name,
            prefix: token[..HINT_LEN].to_string(),
            created: self.now(),
            created_by: created_by.cloned(),
            last_used: None,
            revoked_at: None,
        };
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO service_tokens (id, org_id, name, token_hash, prefix, created, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&info.id)
            .bind(&info.org_id)
            .bind(&info.name)
            .bind(hash_secret(&token))
            .bind(&info.prefix)
            .bind(info.created)
            .bind(&info.created_by)
            .execute(db)
            .await?;
        });
        Ok((info, token))
    }

    /// The organisation and token id of a presented token, or `None` when it is unknown or
    /// revoked. Records the use (at most once a minute per token).
    pub async fn resolve_token(&self, token: &str) -> Result<Option<(OrgId, TokenId)>> {
        // Not even shaped like a token: no need to ask the database.
        if token.len() != TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let now = self.now();
        let hash = hash_secret(token);
        with_db!(self, db => {
            let found: Option<(OrgId, TokenId, Option<i64>)> = sqlx::query_as(
                "SELECT org_id, id, last_used FROM service_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(&hash)
            .fetch_optional(db)
            .await?;
            let Some((org, id, last_used)) = found else {
                return Ok(None);
            };
            if last_used.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_MILLIS) {
                // The condition is repeated in SQL so that concurrent resolutions on several
                // replicas write once between them.
                sqlx::query(
                    "UPDATE service_tokens SET last_used = $3 \
                     WHERE org_id = $1 AND id = $2 AND (last_used IS NULL OR last_used <= $4)",
                )
                .bind(&org)
                .bind(&id)
                .bind(now)
                .bind(now - LAST_USED_GRANULARITY_MILLIS)
                .execute(db)
                .await?;
            }
            Ok(Some((org, id)))
        })
    }

    /// One token of `org`. A token of another organisation is [`StoreError::NotFound`].
    pub async fn token(&self, org: &OrgId, id: &TokenId) -> Result<TokenInfo> {
        with_db!(self, db => {
            sqlx::query_as::<_, TokenInfo>(
                "SELECT id, org_id, name, prefix, created, created_by, last_used, revoked_at \
                 FROM service_tokens WHERE org_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .fetch_optional(db)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    /// The tokens of `org`, revoked ones included, newest first.
    pub async fn tokens(&self, org: &OrgId) -> Result<Vec<TokenInfo>> {
        Ok(with_db!(self, db => {
            sqlx::query_as::<_, TokenInfo>(
                "SELECT id, org_id, name, prefix, created, created_by, last_used, revoked_at \
                 FROM service_tokens WHERE org_id = $1 ORDER BY created DESC, id",
            )
            .bind(org)
            .fetch_all(db)
            .await?
        }))
    }

    /// Revokes a token of `org`: from now on it authenticates nothing. Revoking it again
    /// changes nothing (the first revocation time is kept); a token id of another organisation
    /// is [`StoreError::NotFound`]. Streams already authenticated with the token are the
    /// caller's to close.
    pub async fn revoke_token(&self, org: &OrgId, id: &TokenId) -> Result<()> {
        let now = self.now();
        with_db!(self, db => {
            let done = sqlx::query(
                "UPDATE service_tokens SET revoked_at = $3 \
                 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(org)
            .bind(id)
            .bind(now)
            .execute(db)
            .await?;
            if done.rows_affected() == 0 {
                let exists: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM service_tokens WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(id)
                        .fetch_optional(db)
                        .await?;
                exists.ok_or(StoreError::NotFound)?;
            }
        });
        Ok(())
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("token name is empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "token name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "token name contains control characters".into(),
        ));
    }
    Ok(name.to_string())
}
