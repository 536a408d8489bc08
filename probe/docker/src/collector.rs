//! The collector: a background task that owns the Docker connection and keeps the registry, and
//! the handle the probe reads snapshots from.
//!
//! The task writes the registry under a mutex that is only ever held for in-memory work and a few
//! small cgroup file reads, never across an await, so the probe's synchronous reads never wait on
//! Docker.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    ListNetworksOptions,
};
use futures::StreamExt;
use ip_network::IpNetwork;
use scope_report::{Kind, Metric, Millis, Node, Report, keys, now_millis};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::cgroup::{CgroupMounts, CgroupPaths, CpuTracker, Usage};
use crate::controls::{self, ContainerControl, ControlOutcome};
use crate::convert::{self, ContainerInfo, ImageInfo, NetworkInfo, NodeContext};
use crate::events::{self, EventAction};
use crate::stats::{self, FallbackSample};
use crate::{DockerConfig, DockerError};

/// Request timeout (until response headers). Stop and restart answer only after the container
/// exits, which takes up to their 10 s grace period, so this leaves room for that.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent inspects while listing: enough to list a busy host quickly without flooding dockerd.
const INSPECT_CONCURRENCY: usize = 4;

/// Handle to the Docker collector. Cheap reads; dropping it stops the background task.
pub struct DockerCollector {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// Connection state, for health reporting and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerStatus {
    /// Whether the collector is connected and following Docker's events.
    pub connected: bool,
    /// Containers in the registry (0 while disconnected).
    pub containers: usize,
    /// The error that ended the last connection (or attempt), if any.
    pub last_error: Option<String>,
}

struct Shared {
    config: DockerConfig,
    mounts: CgroupMounts,
    /// Memory metric maximum for containers without a limit.
    host_memory: u64,
    /// CPU metric maximum: 100% per core.
    cpu_max: f64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The client while connected; controls use it.
    client: Option<Docker>,
    last_error: Option<String>,
    containers: HashMap<String, Entry>,
    images: HashMap<String, ImageInfo>,
    networks: Vec<NetworkInfo>,
}

struct Entry {
    info: ContainerInfo,
    cgroup: CgroupState,
    cpu: CpuTracker,
    /// Latest sample from the stats API, for containers whose cgroup we cannot read.
    fallback: Option<FallbackSample>,
    last_fallback: Option<Instant>,
}

enum CgroupState {
    /// Not looked up yet (new container, or a new main process).
    Unresolved,
    Readable(CgroupPaths),
    /// Not visible from here: metrics come from the stats fallback.
    Unreadable,
}

impl DockerCollector {
    /// Starts the collector on the current tokio runtime. Shortcut reports (one container node
    /// each, sent on every container event) go to `shortcuts`; when that channel is full they are
    /// dropped, since the next full report carries the same state.
    ///
    /// Never fails: if Docker is unreachable the collector reports no containers and keeps
    /// retrying in the background. Must be called from within a tokio runtime.
    pub fn spawn(config: DockerConfig, shortcuts: mpsc::Sender<Report>) -> DockerCollector {
        let shared = Arc::new(Shared {
            mounts: CgroupMounts::load(&config.mountinfo),
            host_memory: host_memory(&config.proc_root),
            cpu_max: 100.0
                * std::thread::available_parallelism()
                    .map(|n| n.get() as f64)
                    .unwrap_or(1.0),
            state: Mutex::new(State::default()),
            config,
        });
        let task = tokio::spawn(supervise(shared.clone(), shortcuts));
        DockerCollector { shared, task }
    }

    /// Every known container and image as report nodes, with fresh CPU and memory metrics. Makes
    /// no Docker API calls: it reads the registry and each running container's cgroup counters.
    /// CPU is the use since the previous snapshot (or since the container was inspected).
    pub fn snapshot(&self) -> Report {
        let now = now_millis();
        let at = Instant::now();
        let shared = &self.shared;
        let mut report = Report::new(now);
        let mut guard = shared.lock();
        let State {
            containers,
            images,
            networks,
            ..
        } = &mut *guard;
        let cx = NodeContext {
            host_id: &shared.config.host_id,
            probe_id: &shared.config.probe_id,
            networks,
        };
        for entry in containers.values_mut() {
            let mut node = convert::container_node(&entry.info, &cx, now);
            shared.add_metrics(entry, &mut node, at, now);
            report.add_node(node);
        }
        for image in images.values() {
            report.add_node(convert::image_node(image, &cx, now));
        }
        drop(guard);
        if report.topology(Kind::Container).is_some() {
            report.topology_mut(Kind::Container).controls = controls::topology_controls();
        }
        report
    }

    /// Subnets of this host's bridge-driver Docker networks: addresses in them are private to
    /// this host, so endpoint ids on them are scoped by host id.
    pub fn host_local_networks(&self) -> Vec<IpNetwork> {
        convert::host_local_subnets(&self.shared.lock().networks)
    }

    /// Main pid -> container id of every running container, for attributing processes (the agent
    /// walks each process's ancestors up to one of these pids).
    pub fn container_pids(&self) -> HashMap<u32, String> {
        self.shared
            .lock()
            .containers
            .values()
            .filter(|e| e.info.is_running())
            .map(|e| (e.info.pid, e.info.id.clone()))
            .collect()
    }

    /// Runs a lifecycle control on a container. Stop and restart give it 10 s to exit. The
    /// registry follows through Docker's events (which also send shortcut reports), so the next
    /// snapshot shows the new state.
    pub async fn run_control(
        &self,
        container_id: &str,
        control: ContainerControl,
    ) -> Result<ControlOutcome, DockerError> {
        // Clone the client out so no lock is held while Docker works.
        let client = self.shared.lock().client.clone();
        let docker = client.ok_or(DockerError::Unavailable)?;
        controls::run(&docker, container_id, control).await
    }

    /// Whether Docker is connected, and the last connection error.
    pub fn status(&self) -> DockerStatus {
        let st = self.shared.lock();
        DockerStatus {
            connected: st.client.is_some(),
            containers: st.containers.len(),
            last_error: st.last_error.clone(),
        }
    }
}

impl Drop for DockerCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    /// Locks the state. A poisoned lock (a panic elsewhere while holding it) still holds
    /// consistent plain data, so carry on rather than spread the panic into the probe.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn context<'a>(&'a self, networks: &'a [NetworkInfo]) -> NodeContext<'a> {
        NodeContext {
            host_id: &self.config.host_id,
            probe_id: &self.config.probe_id,
            networks,
        }
    }

    /// Reads the container's counters, resolving its cgroup on first use.
    fn read_cgroup(&self, entry: &mut Entry) -> Option<Usage> {
        if !entry.info.is_running() {
            return None;
        }
        if matches!(entry.cgroup, CgroupState::Unresolved) {
            entry.cgroup = match self.mounts.resolve(&self.config.proc_root, entry.info.pid) {
                Some(paths) => CgroupState::Readable(paths),
                None => {
                    debug!(container = %entry.info.id, "cgroup not readable, using docker stats");
                    CgroupState::Unreadable
                }
            };
        }
        let CgroupState::Readable(paths) = &entry.cgroup else {
            return None;
        };
        match paths.read() {
            Ok(usage) => Some(usage),
            Err(err) => {
                debug!(container = %entry.info.id, %err, "cgroup read failed, using docker stats");
                entry.cgroup = CgroupState::Unreadable;
                None
            }
        }
    }

    fn add_metrics(&self, entry: &mut Entry, node: &mut Node, at: Instant, now: Millis) {
        let limit = entry.info.memory_limit;
        let memory_max = |limit: u64| {
            if limit > 0 && limit < self.host_memory {
                limit as f64
            } else {
                self.host_memory as f64
            }
        };
        if let Some(usage) = self.read_cgroup(entry) {
            if let Some(pct) = entry.cpu.observe(at, usage.cpu_ns) {
                node.set_metric(
                    keys::CONTAINER_CPU,
                    Metric::single(now, pct, 0.0, self.cpu_max),
                );
            }
            let max = memory_max(limit);
            node.set_metric(
                keys::CONTAINER_MEMORY,
                Metric::single(now, usage.memory as f64, 0.0, max),
            );
        } else if entry.info.is_running()
            && let Some(s) = entry.fallback
        {
            if let Some(pct) = s.cpu_percent {
                node.set_metric(
                    keys::CONTAINER_CPU,
                    Metric::single(s.at, pct, 0.0, self.cpu_max),
                );
            }
            if let Some(mem) = s.memory {
                let max = memory_max(s.limit.unwrap_or(limit));
                node.set_metric(
                    keys::CONTAINER_MEMORY,
                    Metric::single(s.at, mem as f64, 0.0, max),
                );
            }
        }
    }

    /// Adds or updates a container; returns its node for a shortcut report.
    fn upsert(&self, info: ContainerInfo) -> Node {
        let now = now_millis();
        let mut guard = self.lock();
        let st = &mut *guard;
        let entry = match st.containers.remove(&info.id) {
            // Same main process: keep the cgroup and the CPU baseline.
            Some(mut e) if e.info.pid == info.pid => {
                e.info = info;
                e
            }
            _ => {
                let mut e = Entry {
                    info,
                    cgroup: CgroupState::Unresolved,
                    cpu: CpuTracker::default(),
                    fallback: None,
                    last_fallback: None,
                };
                // Take a CPU baseline now so the first snapshot already has a CPU figure.
                if let Some(usage) = self.read_cgroup(&mut e) {
                    e.cpu.observe(Instant::now(), usage.cpu_ns);
                }
                e
            }
        };
        let node = convert::container_node(&entry.info, &self.context(&st.networks), now);
        st.containers.insert(entry.info.id.clone(), entry);
        node
    }

    /// Drops a container; returns the "deleted" node for a shortcut report.
    fn remove(&self, id: &str) -> Node {
        let mut st = self.lock();
        st.containers.remove(id);
        convert::deleted_container_node(id, &self.context(&st.networks), now_millis())
    }

    /// Replaces the container registry after a full listing.
    fn replace_containers(&self, infos: Vec<ContainerInfo>) {
        let keep: HashSet<String> = infos.iter().map(|i| i.id.clone()).collect();
        self.lock().containers.retain(|id, _| keep.contains(id));
        for info in infos {
            self.upsert(info);
        }
    }

    fn connected(&self, docker: Docker) {
        self.lock().client = Some(docker);
    }

    /// Forgets everything: while Docker is away we report no containers rather than stale ones.
    fn disconnected(&self, err: &DockerError) {
        let mut st = self.lock();
        *st = State {
            last_error: Some(err.to_string()),
            ..State::default()
        };
    }

    /// Running containers due a stats call because their cgroup is unreadable.
    fn fallback_due(&self) -> Vec<String> {
        let interval = self.config.stats_fallback_interval;
        let now = Instant::now();
        let mut st = self.lock();
        let mut due = Vec::new();
        for e in st.containers.values_mut() {
            if e.info.is_running()
                && matches!(e.cgroup, CgroupState::Unreadable)
                && e.last_fallback
                    .is_none_or(|t| now.duration_since(t) >= interval)
            {
                e.last_fallback = Some(now);
                due.push(e.info.id.clone());
            }
        }
        due
    }

    fn set_fallback(&self, id: &str, sample: FallbackSample) {
        if let Some(e) = self.lock().containers.get_mut(id) {
            e.fallback = Some(sample);
        }
    }
}

/// Total memory of the host from `<proc_root>/meminfo`, in bytes; 0 if unreadable.
fn host_memory(proc_root: &Path) -> u64 {
    std::fs::read_to_string(proc_root.join("meminfo"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Reconnect delays: `initial`, doubling up to `max`; reset after a successful connection.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            next: initial.min(max),
        }
    }

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.initial.min(self.max);
    }
}

/// Logs outages once and recoveries once, however many attempts happen in between.
#[derive(Debug, Default)]
struct Health {
    outage_reported: bool,
    ever_connected: bool,
}

impl Health {
    fn connected(&mut self, containers: usize) {
        if self.outage_reported {
            info!(containers, "docker available again, reporting containers");
        } else if !self.ever_connected {
            info!(containers, "connected to docker");
        }
        self.outage_reported = false;
        self.ever_connected = true;
    }

    fn lost(&mut self, err: &DockerError) {
        if self.outage_reported {
            debug!(%err, "docker still unavailable");
        } else {
            warn!("docker unavailable, reporting without containers: {err}; retrying");
            self.outage_reported = true;
        }
    }
}

/// The background task: connect, follow, and on any loss clear the registry and retry.
async fn supervise(shared: Arc<Shared>, shortcuts: mpsc::Sender<Report>) {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.backoff_initial, config.backoff_max);
    let mut health = Health::default();
    loop {
        let err = match connect(config).await {
            Ok(docker) => match follow(&shared, &shortcuts, &mut health, docker).await {
                Err(err) => err,
            },
            Err(err) => err,
        };
        // Only a connection that got as far as reporting containers restarts the backoff; one
        // that keeps failing half-way must not retry every second forever.
        let was_connected = shared.lock().client.is_some();
        shared.disconnected(&err);
        health.lost(&err);
        if was_connected {
            backoff.reset();
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Opens a client and agrees an API version with the daemon (bollard defaults to a newer version
/// than older engines accept). The version call doubles as the liveness check.
async fn connect(config: &DockerConfig) -> Result<Docker, DockerError> {
    let docker = match config.docker_host.as_deref() {
        None => Docker::connect_with_defaults()?,
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(h, REQUEST_TIMEOUT.as_secs(), bollard::API_DEFAULT_VERSION)?
        }
        Some(h) => Docker::connect_with_host(h)?,
    };
    Ok(docker
        .with_timeout(REQUEST_TIMEOUT)
        .negotiate_version()
        .await?)
}

/// Whether an error means the daemon is unreachable (end this connection) rather than one bad
/// answer (log it and carry on, or a malformed object would cause a reconnect loop).
fn is_connection_error(err: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    !matches!(
        err,
        E::DockerResponseServerError { .. } | E::JsonDataError { .. } | E::JsonSerdeError { .. }
    )
}

/// Lists everything, then follows events until the connection fails.
async fn follow(
    shared: &Arc<Shared>,
    shortcuts: &mpsc::Sender<Report>,
    health: &mut Health,
    docker: Docker,
) -> Result<Infallible, DockerError> {
    let since = now_millis() / 1000 - 1;
    let mut events = Box::pin(docker.events(Some(events::subscription(since))));
    refresh_networks(&docker, shared).await?;
    refresh_images(&docker, shared).await?;
    let infos = list_containers(&docker).await?;
    let count = infos.len();
    shared.replace_containers(infos);
    shared.connected(docker.clone());
    health.connected(count);

    let period = shared.config.refresh_interval;
    let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fallback = tokio::time::interval(
        shared
            .config
            .stats_fallback_interval
            .max(Duration::from_secs(1)),
    );
    fallback.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Stats calls take a second or more each, so they run beside the event loop; the set aborts
    // them when this connection ends.
    let mut stats_tasks = JoinSet::new();
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                None => return Err(DockerError::EventStreamEnded),
                Some(Err(err)) if is_connection_error(&err) => return Err(err.into()),
                Some(Err(err)) => debug!(%err, "skipping undecodable docker event"),
                Some(Ok(ev)) => {
                    if let Some(action) = events::classify(&ev) {
                        handle(&docker, shared, shortcuts, action).await?;
                    }
                }
            },
            _ = refresh.tick() => {
                refresh_images(&docker, shared).await?;
                refresh_networks(&docker, shared).await?;
            }
            _ = fallback.tick(), if stats_tasks.is_empty() => {
                let due = shared.fallback_due();
                if !due.is_empty() {
                    stats_tasks.spawn(fetch_stats(docker.clone(), shared.clone(), due));
                }
            }
            Some(_) = stats_tasks.join_next(), if !stats_tasks.is_empty() => {}
        }
    }
}

async fn handle(
    docker: &Docker,
    shared: &Shared,
    shortcuts: &mpsc::Sender<Report>,
    action: EventAction,
) -> Result<(), DockerError> {
    let node = match action {
        EventAction::Inspect(id) => match inspect(docker, &id).await {
            Ok(Some(info)) => shared.upsert(info),
            // Already gone (the destroy event follows).
            Ok(None) => shared.remove(&id),
            Err(DockerError::Api(err)) if !is_connection_error(&err) => {
                debug!(container = %id, %err, "cannot inspect container, skipping event");
                return Ok(());
            }
            Err(err) => return Err(err),
        },
        EventAction::Destroyed(id) => shared.remove(&id),
        EventAction::RefreshImages => return refresh_images(docker, shared).await,
        EventAction::RefreshNetworks => return refresh_networks(docker, shared).await,
    };
    let mut report = Report::new(now_millis());
    report.topology_mut(Kind::Container).controls = controls::topology_controls();
    report.add_node(node);
    match shortcuts.try_send(report) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            debug!("shortcut channel full, dropping a shortcut report")
        }
        // Nobody listens for shortcuts: snapshots still work.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
    Ok(())
}

/// Inspects one container; `Ok(None)` if it no longer exists.
async fn inspect(docker: &Docker, id: &str) -> Result<Option<ContainerInfo>, DockerError> {
    match docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => Ok(ContainerInfo::from_inspect(&c)),
        Err(err) if controls::is_not_found(&err) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Every container, running or stopped, inspected.
async fn list_containers(docker: &Docker) -> Result<Vec<ContainerInfo>, DockerError> {
    let opts = ListContainersOptionsBuilder::default().all(true).build();
    let ids: Vec<String> = docker
        .list_containers(Some(opts))
        .await?
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    let results: Vec<_> = futures::stream::iter(ids)
        .map(|id| async move { inspect(docker, &id).await })
        .buffer_unordered(INSPECT_CONCURRENCY)
        .collect()
        .await;
    let mut infos = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(info) => infos.extend(info),
            // One container Docker cannot describe must not keep the others from being reported.
            Err(DockerError::Api(err)) if !is_connection_error(&err) => {
                debug!(%err, "cannot inspect container, leaving it out")
            }
            Err(err) => return Err(err),
        }
    }
    Ok(infos)
}

async fn refresh_images(docker: &Docker, shared: &Shared) -> Result<(), DockerError> {
    let opts = ListImagesOptionsBuilder::default().build();
    match docker.list_images(Some(opts)).await {
        Ok(list) => {
            let images = list
                .iter()
                .map(ImageInfo::from_api)
                .map(|i| (i.id.clone(), i))
                .collect();
            shared.lock().images = images;
            Ok(())
        }
        Err(err) if !is_connection_error(&err) => {
            debug!(%err, "cannot list images");
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

async fn refresh_networks(docker: &Docker, shared: &Shared) -> Result<(), DockerError> {
    match docker.list_networks(None::<ListNetworksOptions>).await {
        Ok(list) => {
            let networks = list.iter().filter_map(NetworkInfo::from_api).collect();
            shared.lock().networks = networks;
            Ok(())
        }
        Err(err) if !is_connection_error(&err) => {
            debug!(%err, "cannot list networks");
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Stats for containers whose cgroup we cannot read, one at a time to spare the daemon.
async fn fetch_stats(docker: Docker, shared: Arc<Shared>, ids: Vec<String>) {
    for id in ids {
        if let Some(sample) = stats::fetch(&docker, &id).await {
            shared.set_fallback(&id, sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let delays: Vec<u64> = (0..7).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn connection_errors_are_told_apart_from_bad_answers() {
        use bollard::errors::Error as E;
        assert!(is_connection_error(&E::RequestTimeoutError));
        assert!(is_connection_error(&E::SocketNotFoundError("/x".into())));
        assert!(!is_connection_error(&E::DockerResponseServerError {
            status_code: 500,
            message: "boom".into()
        }));
    }

    #[test]
    fn host_memory_from_meminfo() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("meminfo"),
            "MemTotal:       2048 kB\nMemFree: 1 kB\n",
        )
        .unwrap();
        assert_eq!(host_memory(tmp.path()), 2048 * 1024);
        assert_eq!(host_memory(Path::new("/nonexistent")), 0);
    }
}
