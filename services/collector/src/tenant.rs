//! The tenant actor and the registry of tenants.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scope_render::networks::LocalNetworks;
use scope_report::{Millis, Report, now_millis};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info};

use crate::probe_state::{ApplyError, ProbeReports, ProbeUpdate};

/// A tenant (organisation). Always resolved from credentials, never from client input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Wraps a tenant id taken from a credential store.
    pub fn new(id: impl Into<String>) -> TenantId {
        TenantId(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collector settings.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// How long a silent probe's report stays in the merged report (Scope's `--app.window`).
    pub window: Duration,
    /// Least time between two merges of a tenant's report; reports arriving in between are merged
    /// together. Shortcut reports use `shortcut_merge_delay` instead.
    pub merge_interval: Duration,
    /// Delay before merging after a shortcut report (batches bursts of Docker events).
    pub shortcut_merge_delay: Duration,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            window: Duration::from_secs(15),
            merge_interval: Duration::from_millis(500),
            shortcut_merge_delay: Duration::from_millis(50),
        }
    }
}

/// What a probe said about itself when it connected.
#[derive(Debug, Clone)]
pub struct Hello {
    /// Probe id (random per probe process).
    pub probe_id: String,
    /// Host name.
    pub hostname: String,
    /// Probe version.
    pub version: String,
    /// Capabilities.
    pub capabilities: Vec<String>,
}

/// What the app knows about a probe, as `/api/probes` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeInfo {
    /// Probe id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Probe version.
    pub version: String,
    /// Capabilities announced in the hello.
    pub capabilities: Vec<String>,
    /// Whether its stream is open now.
    pub connected: bool,
    /// When the app first saw it (ms).
    #[serde(rename = "firstSeen")]
    pub first_seen: Millis,
    /// When its last report arrived (ms).
    #[serde(rename = "lastSeen")]
    pub last_seen: Millis,
    /// Reports received.
    #[serde(rename = "reportsReceived")]
    pub reports_received: u64,
    /// Reports the probe says it could not send.
    #[serde(rename = "droppedReports")]
    pub dropped_reports: u64,
    /// Times it connected after the first time.
    pub reconnects: u64,
    /// The app replica holding (or that last held) its stream: where its controls go.
    pub replica: String,
}

/// A tenant's merged state at one moment. Cheap to clone (all `Arc`s).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every change; renderers cache on it.
    pub version: u64,
    /// All probes' reports merged.
    pub report: Arc<Report>,
    /// The tenant's local networks (trie), rebuilt only when they change.
    pub networks: Arc<LocalNetworks>,
    /// Probes, connected or fading out.
    pub probes: Arc<Vec<ProbeInfo>>,
}

enum Command {
    Connected {
        hello: Hello,
        replica: String,
        remote: bool,
    },
    /// A remote probe learned from a full report rather than from its connection.
    Seen {
        hello: Hello,
        replica: String,
    },
    Update {
        probe_id: String,
        replica: String,
        update: ProbeUpdate,
        dropped_reports: u64,
        reply: oneshot::Sender<Result<(), ApplyError>>,
    },
    Disconnected {
        probe_id: String,
        replica: String,
    },
}

/// Handle to one tenant's actor.
#[derive(Clone)]
pub struct TenantCollector {
    tenant: TenantId,
    tx: mpsc::Sender<Command>,
    snapshot: watch::Receiver<Snapshot>,
}

impl TenantCollector {
    /// Starts the actor for `tenant`. It stops when every handle is dropped.
    pub fn spawn(tenant: TenantId, config: CollectorConfig) -> TenantCollector {
        let (tx, rx) = mpsc::channel(256);
        let (snap_tx, snapshot) = watch::channel(Snapshot::default());
        let actor = Actor {
            tenant: tenant.clone(),
            config,
            probes: BTreeMap::new(),
            snap_tx,
            version: 0,
            networks_key: BTreeSet::new(),
            networks: Arc::new(LocalNetworks::default()),
            dirty: false,
        };
        tokio::spawn(actor.run(rx));
        TenantCollector {
            tenant,
            tx,
            snapshot,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// A probe opened its stream on this process, which is app replica `replica`. From now on
    /// only `replica`'s news about the probe counts (see [`TenantCollector::disconnected`]).
    pub async fn connected(&self, hello: Hello, replica: &str) {
        let cmd = Command::Connected {
            hello,
            replica: replica.to_owned(),
            remote: false,
        };
        let _ = self.tx.send(cmd).await;
    }

    /// A probe opened its stream on another replica, `replica` (news from the replica bus).
    /// Unlike a local probe, a remote one silent for longer than the window is forgotten even
    /// if no disconnect arrived: its replica may have died without a word, and if it is alive
    /// the probe's next full report brings the probe back ([`TenantCollector::remote_seen`]).
    pub async fn remote_connected(&self, hello: Hello, replica: &str) {
        let cmd = Command::Connected {
            hello,
            replica: replica.to_owned(),
            remote: true,
        };
        let _ = self.tx.send(cmd).await;
    }

    /// A full report from a probe on another replica, `replica`, came with its hello: records
    /// the probe as connected there if it is unknown here (this replica started, or forgot it,
    /// after it connected) or known as disconnected. A probe another replica holds is left
    /// alone: ownership only moves with a connection.
    pub async fn remote_seen(&self, hello: Hello, replica: &str) {
        let cmd = Command::Seen {
            hello,
            replica: replica.to_owned(),
        };
        let _ = self.tx.send(cmd).await;
    }

    /// The probe's stream on `replica` ended; its report fades out after the window. Ignored
    /// when another replica holds the probe now: a probe that moved from replica 1 to replica 2
    /// must not be marked disconnected by replica 1's late news.
    pub async fn disconnected(&self, probe_id: &str, replica: &str) {
        let cmd = Command::Disconnected {
            probe_id: probe_id.to_owned(),
            replica: replica.to_owned(),
        };
        let _ = self.tx.send(cmd).await;
    }

    /// Applies a report from a probe whose stream `replica` holds. Waits until the actor has
    /// taken it, so a slow actor slows its probes down (backpressure) instead of queueing without
    /// bound. A report from a replica that no longer holds the probe is refused
    /// ([`ApplyError::NotOwner`]).
    pub async fn update(
        &self,
        probe_id: &str,
        replica: &str,
        update: ProbeUpdate,
        dropped_reports: u64,
    ) -> Result<(), ApplyError> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Update {
            probe_id: probe_id.to_owned(),
            replica: replica.to_owned(),
            update,
            dropped_reports,
            reply,
        };
        if self.tx.send(cmd).await.is_err() {
            return Err(ApplyError::UnknownProbe(probe_id.to_owned()));
        }
        rx.await
            .unwrap_or_else(|_| Err(ApplyError::UnknownProbe(probe_id.to_owned())))
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.clone()
    }
}

struct ProbeEntry {
    info: ProbeInfo,
    reports: ProbeReports,
    /// When the stream ended, if it has.
    disconnected_at: Option<Millis>,
    /// Silent for longer than the window: left out of the merged report.
    stale: bool,
    /// Its stream is on another replica (learned from the bus).
    remote: bool,
}

struct Actor {
    tenant: TenantId,
    config: CollectorConfig,
    probes: BTreeMap<String, ProbeEntry>,
    snap_tx: watch::Sender<Snapshot>,
    version: u64,
    networks_key: BTreeSet<String>,
    networks: Arc<LocalNetworks>,
    dirty: bool,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut fade = tokio::time::interval(Duration::from_secs(1));
        fade.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_merge: Option<tokio::time::Instant> = None;
        let mut last_merge = tokio::time::Instant::now() - self.config.merge_interval;
        loop {
            let merge_at = next_merge;
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let urgent = self.handle(cmd);
                    if self.dirty {
                        let earliest = if urgent {
                            tokio::time::Instant::now() + self.config.shortcut_merge_delay
                        } else {
                            last_merge + self.config.merge_interval
                        };
                        next_merge = Some(match next_merge {
                            Some(t) => t.min(earliest),
                            None => earliest,
                        });
                    }
                }
                _ = async { tokio::time::sleep_until(merge_at.unwrap_or_else(tokio::time::Instant::now)).await }, if merge_at.is_some() => {
                    self.publish();
                    last_merge = tokio::time::Instant::now();
                    next_merge = None;
                }
                _ = fade.tick() => {
                    if self.expire(now_millis()) {
                        self.publish();
                        last_merge = tokio::time::Instant::now();
                        next_merge = None;
                    }
                }
            }
        }
        debug!(tenant = %self.tenant, "tenant collector stopped");
    }

    /// Handles one command; returns whether it asks for a prompt merge (shortcut).
    fn handle(&mut self, cmd: Command) -> bool {
        let now = now_millis();
        match cmd {
            Command::Connected {
                hello,
                replica,
                remote,
            } => {
                self.connect(hello, replica, remote, now);
                false
            }
            Command::Seen { hello, replica } => {
                // Sent before every remote full report: for a probe already connected here it
                // must change nothing (no reconnect counted, the base kept).
                let unknown_or_gone = self
                    .probes
                    .get(&hello.probe_id)
                    .is_none_or(|e| !e.info.connected);
                if unknown_or_gone {
                    self.connect(hello, replica, true, now);
                }
                false
            }
            Command::Disconnected { probe_id, replica } => {
                if let Some(e) = self.probes.get_mut(&probe_id) {
                    if e.info.replica != replica {
                        debug!(tenant = %self.tenant, probe_id = %probe_id, from = %replica, holder = %e.info.replica, "ignoring disconnect from a replica that no longer holds the probe");
                        return false;
                    }
                    if e.info.connected {
                        e.info.connected = false;
                        e.disconnected_at = Some(now);
                        info!(tenant = %self.tenant, probe_id = %probe_id, replica = %replica, "probe disconnected");
                        self.dirty = true;
                    }
                }
                false
            }
            Command::Update {
                probe_id,
                replica,
                update,
                dropped_reports,
                reply,
            } => {
                let Some(e) = self.probes.get_mut(&probe_id) else {
                    let _ = reply.send(Err(ApplyError::UnknownProbe(probe_id)));
                    return false;
                };
                if e.info.replica != replica {
                    let _ = reply.send(Err(ApplyError::NotOwner {
                        probe_id,
                        replica,
                        holder: e.info.replica.clone(),
                    }));
                    return false;
                }
                let urgent = update.is_shortcut();
                let since = now - self.config.window.as_millis() as Millis;
                let res = e.reports.apply(update, now, since);
                if res.is_ok() {
                    e.stale = false;
                    e.info.last_seen = now;
                    e.info.reports_received += 1;
                    e.info.dropped_reports = dropped_reports;
                    self.dirty = true;
                }
                let _ = reply.send(res);
                urgent
            }
        }
    }

    /// Records a (re)connection of `hello`'s probe on `replica`, which from now on holds it.
    fn connect(&mut self, hello: Hello, replica: String, remote: bool, now: Millis) {
        let entry = self
            .probes
            .entry(hello.probe_id.clone())
            .or_insert_with(|| ProbeEntry {
                info: ProbeInfo {
                    id: hello.probe_id.clone(),
                    hostname: hello.hostname.clone(),
                    version: hello.version.clone(),
                    capabilities: hello.capabilities.clone(),
                    connected: false,
                    first_seen: now,
                    last_seen: now,
                    reports_received: 0,
                    dropped_reports: 0,
                    reconnects: 0,
                    replica: replica.clone(),
                },
                reports: ProbeReports::default(),
                disconnected_at: None,
                stale: false,
                remote,
            });
        if entry.info.reports_received > 0 || entry.disconnected_at.is_some() {
            entry.info.reconnects += 1;
        }
        entry.info.connected = true;
        entry.info.hostname = hello.hostname;
        entry.info.version = hello.version;
        entry.info.capabilities = hello.capabilities;
        entry.info.replica = replica;
        entry.remote = remote;
        entry.disconnected_at = None;
        // A new stream starts with a full report; the old base is no longer valid.
        entry.reports.base_seq = None;
        info!(tenant = %self.tenant, probe_id = %entry.info.id, hostname = %entry.info.hostname, replica = %entry.info.replica, remote, "probe connected");
        self.dirty = true;
    }

    /// Fades out probes silent for longer than the window and forgets disconnected ones. Returns
    /// whether the merged report must change.
    fn expire(&mut self, now: Millis) -> bool {
        let window = self.config.window.as_millis() as Millis;
        let mut changed = false;
        self.probes.retain(|_, e| {
            let silent = now - e.info.last_seen > window;
            if silent && !e.stale {
                e.stale = true;
                changed = true;
            }
            // A disconnected probe is forgotten once it has faded; a connected but silent one
            // stays listed (its stream is open) but contributes nothing. Unless the stream is on
            // another replica: silence may mean that replica died without a disconnect, and a
            // live one brings the probe back with its next full report.
            !silent || (e.info.connected && !e.remote)
        });
        changed
    }

    fn publish(&mut self) {
        self.dirty = false;
        let mut merged = Report::new(0);
        for e in self.probes.values().filter(|e| !e.stale) {
            merged.merge_from(&e.reports.current);
        }
        let key = LocalNetworks::networks_of(&merged);
        if key != self.networks_key {
            self.networks = Arc::new(LocalNetworks::from_set(&key));
            self.networks_key = key;
        }
        self.version += 1;
        let probes: Vec<ProbeInfo> = self.probes.values().map(|e| e.info.clone()).collect();
        self.snap_tx.send_replace(Snapshot {
            version: self.version,
            report: Arc::new(merged),
            networks: self.networks.clone(),
            probes: Arc::new(probes),
        });
    }
}

/// All tenants' collectors, created on first use.
#[derive(Clone, Default)]
pub struct Collectors {
    config: Arc<CollectorConfig>,
    tenants: Arc<Mutex<HashMap<TenantId, TenantCollector>>>,
}

impl Collectors {
    /// A registry whose tenants use `config`.
    pub fn new(config: CollectorConfig) -> Collectors {
        Collectors {
            config: Arc::new(config),
            tenants: Arc::default(),
        }
    }

    /// The collector of `tenant`, started if needed.
    pub fn tenant(&self, tenant: &TenantId) -> TenantCollector {
        let mut map = self.tenants.lock().expect("collector registry poisoned");
        map.entry(tenant.clone())
            .or_insert_with(|| TenantCollector::spawn(tenant.clone(), (*self.config).clone()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scope_report::{Kind, synthetic};

    fn hello(id: &str) -> Hello {
        Hello {
            probe_id: id.into(),
            hostname: format!("host-{id}"),
            version: "t".into(),
            capabilities: vec![],
        }
    }

    const R1: &str = "replica-1";
    const R2: &str = "replica-2";

    fn config(window_ms: u64) -> CollectorConfig {
        CollectorConfig {
            window: Duration::from_millis(window_ms),
            merge_interval: Duration::from_millis(20),
            shortcut_merge_delay: Duration::from_millis(5),
        }
    }

    async fn wait_for(
        rx: &mut watch::Receiver<Snapshot>,
        f: impl Fn(&Snapshot) -> bool,
    ) -> Snapshot {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if f(&rx.borrow_and_update()) {
                    return rx.borrow().clone();
                }
                rx.changed().await.expect("collector alive");
            }
        })
        .await
        .expect("snapshot in time")
    }

    #[tokio::test]
    async fn merges_probes_and_fades_out_silent_ones() {
        let c = TenantCollector::spawn(TenantId::new("t"), config(1_500));
        let mut rx = c.subscribe();
        let shape = synthetic::HostShape::fleet_member(2);
        for i in 0..2 {
            let id = format!("p{i}");
            c.connected(hello(&id), R1).await;
            let report = synthetic::host_report(i, shape, now_millis());
            c.update(&id, R1, ProbeUpdate::Full { seq: 1, report }, 0)
                .await
                .unwrap();
        }
        let snap = wait_for(&mut rx, |s| s.report.nodes(Kind::Host).count() == 2).await;
        assert_eq!(snap.probes.len(), 2);
        assert!(snap.networks.contains("10.0.0.1".parse().unwrap()));
        assert!(!snap.networks.contains("8.8.8.8".parse().unwrap()));
        // p1 disconnects; p0 keeps reporting. p1's host fades after the window.
        c.disconnected("p1", R1).await;
        let keep_alive = {
            let c = c.clone();
            tokio::spawn(async move {
                for seq in 2..20 {
                    let report = synthetic::host_report(0, shape, now_millis());
                    let _ = c
                        .update("p0", R1, ProbeUpdate::Full { seq, report }, 3)
                        .await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        let snap = wait_for(&mut rx, |s| {
            s.report.nodes(Kind::Host).count() == 1 && s.probes.len() == 1
        })
        .await;
        assert_eq!(snap.probes[0].id, "p0");
        assert_eq!(snap.probes[0].dropped_reports, 3);
        keep_alive.abort();
    }

    #[tokio::test]
    async fn deltas_without_base_are_refused_and_reconnects_are_counted() {
        let c = TenantCollector::spawn(TenantId::new("t"), config(15_000));
        c.connected(hello("p"), R1).await;
        let d = scope_report::delta::diff(&Report::default(), &Report::default());
        let err = c
            .update(
                "p",
                R1,
                ProbeUpdate::Delta {
                    seq: 2,
                    base_seq: 1,
                    delta: d,
                },
                0,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApplyError::MissingBase { .. }));
        assert!(matches!(
            c.update(
                "ghost",
                R1,
                ProbeUpdate::Full {
                    seq: 1,
                    report: Report::default()
                },
                0
            )
            .await,
            Err(ApplyError::UnknownProbe(_))
        ));
        c.update(
            "p",
            R1,
            ProbeUpdate::Full {
                seq: 1,
                report: Report::new(1),
            },
            0,
        )
        .await
        .unwrap();
        c.disconnected("p", R1).await;
        c.connected(hello("p"), R1).await;
        let mut rx = c.subscribe();
        let snap = wait_for(&mut rx, |s| {
            s.probes
                .first()
                .is_some_and(|p| p.reconnects == 1 && p.connected)
        })
        .await;
        assert_eq!(snap.probes[0].reports_received, 1);
    }

    #[tokio::test]
    async fn registry_keeps_tenants_apart() {
        let reg = Collectors::new(config(15_000));
        let a = reg.tenant(&TenantId::new("a"));
        let b = reg.tenant(&TenantId::new("b"));
        a.connected(hello("pa"), R1).await;
        let report = synthetic::host_report(0, synthetic::HostShape::fleet_member(1), now_millis());
        a.update("pa", R1, ProbeUpdate::Full { seq: 1, report }, 0)
            .await
            .unwrap();
        let mut rx = reg.tenant(&TenantId::new("a")).subscribe();
        wait_for(&mut rx, |s| s.report.node_count() > 0).await;
        assert_eq!(b.snapshot().report.node_count(), 0);
        assert!(b.snapshot().probes.is_empty());
        // Probe ids are per tenant: b cannot report as a's probe.
        assert!(
            b.update(
                "pa",
                R1,
                ProbeUpdate::Full {
                    seq: 1,
                    report: Report::new(1)
                },
                0
            )
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn only_the_replica_holding_a_probe_counts() {
        let c = TenantCollector::spawn(TenantId::new("t"), config(15_000));
        let mut rx = c.subscribe();
        let full = |seq| ProbeUpdate::Full {
            seq,
            report: synthetic::host_report(0, synthetic::HostShape::fleet_member(1), now_millis()),
        };
        c.remote_connected(hello("p"), R1).await;
        c.update("p", R1, full(1), 0).await.unwrap();
        // The probe moves to replica 2; replica 1's late report and disconnect are old news.
        c.remote_connected(hello("p"), R2).await;
        assert_eq!(
            c.update("p", R1, full(9), 0).await,
            Err(ApplyError::NotOwner {
                probe_id: "p".into(),
                replica: R1.into(),
                holder: R2.into()
            })
        );
        c.disconnected("p", R1).await;
        c.update("p", R2, full(1), 0).await.unwrap();
        let snap = wait_for(&mut rx, |s| {
            s.probes.first().is_some_and(|p| p.reports_received == 2)
        })
        .await;
        let p = &snap.probes[0];
        assert!(p.connected, "replica 1's late disconnect must not count");
        assert_eq!(p.replica, R2);
        assert_eq!(p.reconnects, 1);
        // Replica 2's disconnect does.
        c.disconnected("p", R2).await;
        wait_for(&mut rx, |s| s.probes.first().is_some_and(|p| !p.connected)).await;
        let json = serde_json::to_value(&c.snapshot().probes[0]).unwrap();
        assert_eq!(json["replica"], R2);
    }

    #[tokio::test]
    async fn a_remote_probe_is_learned_from_its_full_report_hello() {
        let c = TenantCollector::spawn(TenantId::new("t"), config(15_000));
        let mut rx = c.subscribe();
        c.remote_seen(hello("p"), R1).await;
        let report = synthetic::host_report(0, synthetic::HostShape::fleet_member(1), now_millis());
        c.update("p", R1, ProbeUpdate::Full { seq: 5, report }, 0)
            .await
            .unwrap();
        // Seen again before the next full report: changes nothing (no reconnect, base kept).
        c.remote_seen(hello("p"), R1).await;
        let d = scope_report::delta::diff(&Report::default(), &Report::default());
        c.update(
            "p",
            R1,
            ProbeUpdate::Delta {
                seq: 6,
                base_seq: 5,
                delta: d,
            },
            0,
        )
        .await
        .unwrap();
        // Another replica's hello does not take the probe from replica 1: only a connection does.
        c.remote_seen(hello("p"), R2).await;
        let snap = wait_for(&mut rx, |s| {
            s.probes.first().is_some_and(|p| p.reports_received == 2)
        })
        .await;
        assert_eq!(snap.probes[0].replica, R1);
        assert_eq!(snap.probes[0].reconnects, 0);
        assert!(snap.probes[0].connected);
    }

    #[tokio::test]
    async fn a_silent_remote_probe_is_forgotten_but_a_silent_local_one_stays_listed() {
        let c = TenantCollector::spawn(TenantId::new("t"), config(300));
        let mut rx = c.subscribe();
        c.connected(hello("local"), R1).await;
        c.remote_connected(hello("remote"), R2).await;
        wait_for(&mut rx, |s| s.probes.len() == 2).await;
        // Neither reports; after the window the remote one (its replica may be dead) is gone.
        let snap = wait_for(&mut rx, |s| s.probes.len() == 1).await;
        assert_eq!(snap.probes[0].id, "local");
        assert!(snap.probes[0].connected);
    }
}
