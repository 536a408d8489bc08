//! Probes seen: which probes each organisation has had connected, where, and how they fare.
//! Written by the replica that holds a probe's stream; read by the console's probe list.

use serde::{Deserialize, Serialize};

use crate::{OrgId, Result, Store, StoreError, with_db};

/// Longest accepted probe id, hostname or replica name, in bytes.
const MAX_FIELD_LEN: usize = 256;
/// Longest accepted probe version, in bytes.
const MAX_VERSION_LEN: usize = 64;

/// What a probe's hello (or a later report) tells about it, for [`Store::upsert_probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeUpdate<'a> {
    /// The probe's own id (stable across restarts of the probe).
    pub probe_id: &'a str,
    /// The host it runs on.
    pub hostname: &'a str,
    /// The probe's version.
    pub version: &'a str,
    /// The app replica holding its stream.
    pub replica: &'a str,
    /// Whether the stream is up.
    pub connected: bool,
}

/// Counter increments for [`Store::update_probe_stats`]: what one replica counted since it
/// last reported. Increments rather than totals, so that a probe moving between replicas (each
/// counting from zero) still adds up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStatsDelta {
    /// Reports received from the probe.
    pub reports_received: u64,
    /// Reports dropped (over limits, malformed, ...).
    pub reports_dropped: u64,
    /// Reconnections of the probe's stream.
    pub reconnects: u64,
}

/// A probe as recorded for an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ProbeSeen {
    /// The probe's id.
    pub probe_id: String,
    /// Its host, as last reported.
    pub hostname: String,
    /// Its version, as last reported.
    pub version: String,
    /// The replica holding (or that last held) its stream.
    pub replica: String,
    /// Whether its stream is up, as far as the store knows.
    pub connected: bool,
    /// First time it was seen, unix milliseconds.
    pub first_seen: i64,
    /// Last time it was seen (connected, reporting or disconnecting), unix milliseconds.
    pub last_seen: i64,
    /// Reports received, in total.
    pub reports_received: i64,
    /// Reports dropped, in total.
    pub reports_dropped: i64,
    /// Reconnections, in total.
    pub reconnects: i64,
}

impl Store {
    /// Records that `probe` was seen at `now`: inserts it on first sight, otherwise updates what
    /// it reports and `last_seen`, keeping `first_seen` and the counters.
    pub async fn upsert_probe(&self, org: &OrgId, probe: &ProbeUpdate<'_>, now: i64) -> Result<()> {
        check("probe id", probe.probe_id, MAX_FIELD_LEN, false)?;
        check("hostname", probe.hostname, MAX_FIELD_LEN, true)?;
        check("version", probe.version, MAX_VERSION_LEN, true)?;
        check("replica", probe.replica, MAX_FIELD_LEN, false)?;
        with_db!(self, db => {
            sqlx::query(
                "INSERT INTO probes (org_id, probe_id, hostname, version, replica, connected, \
                 first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (org_id, probe_id) DO UPDATE SET hostname = excluded.hostname, \
                 version = excluded.version, replica = excluded.replica, \
                 connected = excluded.connected, last_seen = excluded.last_seen",
            )
            .bind(org)
            .bind(probe.probe_id)
            .bind(probe.hostname)
            .bind(probe.version)
            .bind(probe.replica)
            .bind(probe.connected)
            .bind(now)
            .execute(db)
            .await?;
        });
        Ok(())
    }

    /// Records that `replica` lost the probe's stream at `now`. Only the replica that holds the
    /// probe can mark it disconnected: if the probe has meanwhile reconnected elsewhere, a late
    /// disconnect from the old replica changes nothing. Returns whether the record changed.
    pub async fn probe_disconnected(
        &self,
        org: &OrgId,
        probe_id: &str,
        replica: &str,
        now: i64,
    ) -> Result<bool> {
        let done = with_db!(self, db => {
            sqlx::query(
                "UPDATE probes SET connected = $4, last_seen = $5 \
                 WHERE org_id = $1 AND probe_id = $2 AND replica = $3",
            )
            .bind(org)
            .bind(probe_id)
            .bind(replica)
            .bind(false)
            .bind(now)
            .execute(db)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// Adds `delta` to a probe's counters. A probe not recorded for `org` is
    /// [`StoreError::NotFound`].
    pub async fn update_probe_stats(
        &self,
        org: &OrgId,
        probe_id: &str,
        delta: ProbeStatsDelta,
    ) -> Result<()> {
        let n = |v: u64| {
            i64::try_from(v).map_err(|_| StoreError::Invalid("counter increment too large".into()))
        };
        let (received, dropped, reconnects) = (
            n(delta.reports_received)?,
            n(delta.reports_dropped)?,
            n(delta.reconnects)?,
        );
        let done = with_db!(self, db => {
            sqlx::query(
                "UPDATE probes SET reports_received = reports_received + $3, \
                 reports_dropped = reports_dropped + $4, reconnects = reconnects + $5 \
                 WHERE org_id = $1 AND probe_id = $2",
            )
            .bind(org)
            .bind(probe_id)
            .bind(received)
            .bind(dropped)
            .bind(reconnects)
            .execute(db)
            .await?
            .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// One probe of `org`.
    pub async fn probe(&self, org: &OrgId, probe_id: &str) -> Result<ProbeSeen> {
        with_db!(self, db => {
            sqlx::query_as::<_, ProbeSeen>(
                "SELECT probe_id, hostname, version, replica, connected, first_seen, last_seen, \
                 reports_received, reports_dropped, reconnects \
                 FROM probes WHERE org_id = $1 AND probe_id = $2",
            )
            .bind(org)
            .bind(probe_id)
            .fetch_optional(db)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    /// The probes of `org`, ordered by hostname then id.
    pub async fn probes(&self, org: &OrgId) -> Result<Vec<ProbeSeen>> {
        Ok(with_db!(self, db => {
            sqlx::query_as::<_, ProbeSeen>(
                "SELECT probe_id, hostname, version, replica, connected, first_seen, last_seen, \
                 reports_received, reports_dropped, reconnects \
                 FROM probes WHERE org_id = $1 ORDER BY hostname, probe_id",
            )
            .bind(org)
            .fetch_all(db)
            .await?
        }))
    }
}

/// Probe-supplied text is untrusted: bounded, and free of control characters that would garble
/// logs and the console.
fn check(what: &str, value: &str, max: usize, may_be_empty: bool) -> Result<()> {
    if value.is_empty() && !may_be_empty {
        return Err(StoreError::Invalid(format!("{what} is empty")));
    }
    if value.len() > max {
        return Err(StoreError::Invalid(format!(
            "{what} is longer than {max} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}
