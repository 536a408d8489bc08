//! The audit log: who did what to which target in which organisation, when, with what result.
//! Append-only: the store has no API to change or delete an entry, and the schema's triggers
//! refuse such statements too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{OrgId, Result, Store, StoreError, UserId, with_db};

/// Longest accepted action name, in characters (actions are names chosen by the code).
const MAX_ACTION_CHARS: usize = 128;
/// Target and result texts are cut to this many characters rather than refused: an entry must
/// never be lost because an error message was long.
const MAX_TEXT_CHARS: usize = 1024;
/// Details larger than this (serialised) are replaced by a marker, for the same reason.
const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// Most entries one [`Store::audit_list`] call returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A signed-in user.
    User(UserId),
    /// The app itself (start-up, background jobs).
    System,
    /// A probe, by probe id.
    Probe(String),
}

impl fmt::Display for Actor {
    /// Stored form: the user id, `system`, or `probe:<id>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => f.write_str(id.as_str()),
            Actor::System => f.write_str("system"),
            Actor::Probe(id) => write!(f, "probe:{id}"),
        }
    }
}

impl FromStr for Actor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Actor> {
        if s == "system" {
            Ok(Actor::System)
        } else if let Some(probe) = s.strip_prefix("probe:") {
            Ok(Actor::Probe(probe.to_string()))
        } else {
            s.parse().map(Actor::User)
        }
    }
}

impl TryFrom<String> for Actor {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Actor> {
        s.parse()
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Actor, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry<'a> {
    /// Who.
    pub actor: Actor,
    /// What, as a dotted name: `token.create`, `member.remove`,
    /// `control.docker_stop_container`, ...
    pub action: &'a str,
    /// Which object: a node id, a token id, a user's email, ...
    pub target: &'a str,
    /// `ok`, or `error: <message>`.
    pub result: &'a str,
    /// Anything else worth keeping, as JSON (`Value::Null` for nothing).
    pub details: serde_json::Value,
    /// When, unix milliseconds.
    pub at: i64,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Random id; with `at`, the position for paging ([`AuditEntry::cursor`]).
    pub id: String,
    /// The organisation.
    pub org_id: OrgId,
    /// When, unix milliseconds.
    pub at: i64,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: String,
    /// Which object.
    pub target: String,
    /// `ok` or `error: ...`.
    pub result: String,
    /// Extra details.
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// The cursor that continues a listing after this entry.
    pub fn cursor(&self) -> AuditCursor {
        AuditCursor {
            at: self.at,
            id: Some(self.id.clone()),
        }
    }
}

/// Where a listing continues: entries strictly older than this position. From a bare
/// timestamp (`AuditCursor::from(ms)`: entries before that time) or from the last entry of the
/// previous page ([`AuditEntry::cursor`]), which also pages correctly through entries that share
/// one millisecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    /// Entries at or after this time are skipped (except, with `id`, those at exactly this time
    /// with a smaller id).
    pub at: i64,
    /// Tie-breaker within one millisecond.
    pub id: Option<String>,
}

impl From<i64> for AuditCursor {
    fn from(at: i64) -> AuditCursor {
        AuditCursor { at, id: None }
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    org_id: OrgId,
    at: i64,
    actor: String,
    action: String,
    target: String,
    result: String,
    details: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            actor: r.actor.parse()?,
            // Written by `audit_append` from a `Value`, so it parses; fall back to a string
            // rather than failing a whole page over one entry.
            details: serde_json::from_str(&r.details)
                .unwrap_or(serde_json::Value::String(r.details)),
            id: r.id,
            org_id: r.org_id,
            at: r.at,
            action: r.action,
            target: r.target,
            result: r.result,
        })
    }
}

impl Store {
    /// Appends an entry to `org`'s audit log and returns it as stored.
    pub async fn audit_append(&self, org: &OrgId, entry: &NewAuditEntry<'_>) -> Result<AuditEntry> {
        let action = entry.action.trim();
        if action.is_empty()
            || action.chars().count() > MAX_ACTION_CHARS
            || action.chars().any(char::is_control)
        {
            return Err(StoreError::Invalid(
                "audit action must be a short non-empty name".into(),
            ));
        }
        let mut details = serde_json::to_string(&entry.details)
            .map_err(|e| StoreError::Internal(format!("audit details: {e}")))?;
        if details.len() > MAX_DETAILS_BYTES {
            details = serde_json::json!({ "truncated": true, "bytes": details.len() }).to_string();
        }
        let stored = AuditEntry {
            id: crate::secret::random_id(),
            org_id: org.clone(),
            at: entry.at,
            actor: entry.actor.clone(),
            action: action.to_string(),
            target: truncate(entry.target),
            result: truncate(entry.result),
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        };
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO audit_log (id, org_id, at, actor, action, target, result, details) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&stored.id)
            .bind(org)
            .bind(stored.at)
            .bind(stored.actor.to_string())
            .bind(&stored.action)
            .bind(&stored.target)
            .bind(&stored.result)
            .bind(&details)
            .execute(db)
            .await?;
        });
        Ok(stored)
    }

    /// `org`'s audit entries, newest first, at most `limit` (capped at [`MAX_AUDIT_PAGE`]),
    /// starting after `before` when given.
    pub async fn audit_list(
        &self,
        org: &OrgId,
        before: Option<AuditCursor>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let limit = i64::from(limit.min(MAX_AUDIT_PAGE));
        if limit == 0 {
            return Ok(Vec::new());
        }
        // No cursor: everything (before the end of time). A bare time: `id < ''` never holds,
        // so only strictly older entries. A full cursor: older, or same time and smaller id.
        let (at, id) = match before {
            None => (i64::MAX, String::new()),
            Some(c) => (c.at, c.id.unwrap_or_default()),
        };
        let rows = with_db!(self, db => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, org_id, at, actor, action, target, result, details FROM audit_log \
                 WHERE org_id = $1 AND (at < $2 OR (at = $2 AND id < $3)) \
                 ORDER BY at DESC, id DESC LIMIT $4",
            )
            .bind(org)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
