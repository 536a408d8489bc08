//! Probes seen, recorded in the store: which replica holds each probe, whether it is connected,
//! and its counters, for the console's probe list across replicas.
//!
//! The store is a side record, never a gate: a failed or slow write is logged and the probe's
//! stream carries on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scope_collector::{Hello, TenantId};
use scope_report::now_millis;
use scope_store::{OrgId, ProbeStatsDelta, ProbeUpdate, Store, StoreError};
use tracing::{debug, warn};

/// Longest a store write may hold up the session that makes it (only at connect and disconnect;
/// periodic writes run on their own task).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One stream's record keeper.
pub(crate) struct Recorder {
    store: Store,
    org: OrgId,
    replica: Arc<str>,
    probe_id: String,
    flush_every: Duration,
    pending: ProbeStatsDelta,
    last_flush: Instant,
}

async fn timed<T>(what: &str, f: impl Future<Output = Result<T, StoreError>>) -> Option<T> {
    match tokio::time::timeout(WRITE_TIMEOUT, f).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            warn!("cannot record {what} in the store: {e}");
            None
        }
        Err(_) => {
            warn!("cannot record {what} in the store: no answer within {WRITE_TIMEOUT:?}");
            None
        }
    }
}

impl Recorder {
    /// Records the probe as connected on `replica`. `None` when the tenant is not an
    /// organisation of the store (then there is nothing to record).
    pub(crate) async fn connect(
        store: &Store,
        replica: Arc<str>,
        flush_every: Duration,
        tenant: &TenantId,
        hello: &Hello,
    ) -> Option<Recorder> {
        let Ok(org) = tenant.as_str().parse::<OrgId>() else {
            debug!(tenant = %tenant, "tenant is not an organisation id; probe not recorded");
            return None;
        };
        // A probe already on record is reconnecting (probe ids are per probe process).
        let known =
            match tokio::time::timeout(WRITE_TIMEOUT, store.probe(&org, &hello.probe_id)).await {
                Ok(Ok(_)) => true,
                Ok(Err(StoreError::NotFound)) => false,
                Ok(Err(e)) => {
                    warn!(probe_id = %hello.probe_id, "cannot read the probe's record: {e}");
                    false
                }
                Err(_) => false,
            };
        let update = ProbeUpdate {
            probe_id: &hello.probe_id,
            hostname: &hello.hostname,
            version: &hello.version,
            replica: &replica,
            connected: true,
        };
        timed(
            "a probe connection",
            store.upsert_probe(&org, &update, now_millis()),
        )
        .await;
        Some(Recorder {
            store: store.clone(),
            org,
            replica,
            probe_id: hello.probe_id.clone(),
            flush_every,
            pending: ProbeStatsDelta {
                reconnects: u64::from(known),
                ..ProbeStatsDelta::default()
            },
            // The reconnect is written with the first flush, not now: one write fewer per
            // connection, and the counters are not urgent.
            last_flush: Instant::now(),
        })
    }

    /// A report was accepted.
    pub(crate) fn received(&mut self) {
        self.pending.reports_received += 1;
    }

    /// A report was refused (no base, invalid, too large, from a replica that lost the probe).
    pub(crate) fn dropped(&mut self) {
        self.pending.reports_dropped += 1;
    }

    /// Writes the counters if the last write is old enough, on a task of its own.
    pub(crate) fn maybe_flush(&mut self) {
        if self.last_flush.elapsed() < self.flush_every
            || self.pending == ProbeStatsDelta::default()
        {
            return;
        }
        self.last_flush = Instant::now();
        let delta = std::mem::take(&mut self.pending);
        let (store, org, probe_id) = (self.store.clone(), self.org.clone(), self.probe_id.clone());
        tokio::spawn(async move {
            timed(
                "probe counters",
                store.update_probe_stats(&org, &probe_id, delta),
            )
            .await;
        });
    }

    /// The stream ended: writes the last counters and the disconnection. Done in line, so that a
    /// probe reconnecting to this replica (after at least a second of backoff) finds the
    /// disconnection already written and its new connection is not overwritten by it.
    pub(crate) async fn disconnect(self) {
        if self.pending != ProbeStatsDelta::default() {
            timed(
                "probe counters",
                self.store
                    .update_probe_stats(&self.org, &self.probe_id, self.pending),
            )
            .await;
        }
        timed(
            "a probe disconnection",
            self.store
                .probe_disconnected(&self.org, &self.probe_id, &self.replica, now_millis()),
        )
        .await;
    }
}
