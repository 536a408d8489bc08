//! Docker collector for the Scope probe.
//!
//! [`DockerCollector::spawn`] starts one background task that owns the Docker client. It keeps a
//! registry of every container (running and stopped), image and network on this host up to date
//! from Docker's event stream, and sends a *shortcut* report for every container event so the app
//! hears about starts, stops and removals without waiting for the next publish.
//!
//! The probe reads state through cheap, synchronous calls that never talk to Docker:
//! [`DockerCollector::snapshot`] (container and image nodes with fresh CPU and memory metrics read
//! straight from the containers' cgroup files), [`DockerCollector::host_local_networks`] and
//! [`DockerCollector::container_pids`]. Controls (stop, start, restart, pause, unpause, remove) go
//! through [`DockerCollector::run_control`].
//!
//! When Docker is absent or restarts, the collector logs one warning, reports no containers and
//! reconnects by itself with exponential backoff.

#![warn(missing_docs)]

mod cgroup;
mod collector;
mod controls;
mod convert;
mod events;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

pub use collector::{DockerCollector, DockerStatus};
pub use controls::{ContainerControl, ControlOutcome};

/// Where the collector finds Docker and the host's files, and how often it refreshes.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// This host's id: the `<host>` of host node ids and the scope of host-local container IPs.
    pub host_id: String,
    /// This probe's id, written to `control_probe_id` so the app routes controls back here.
    pub probe_id: String,
    /// Docker endpoint, e.g. `unix:///var/run/docker.sock` or `tcp://10.0.0.1:2375`. `None` uses
    /// bollard's local defaults, which honour `DOCKER_HOST` and fall back to
    /// `unix:///var/run/docker.sock`.
    pub docker_host: Option<String>,
    /// Root of the proc filesystem whose pids Docker reports (`/proc`, or the host's proc mounted
    /// elsewhere when the probe runs in a container).
    pub proc_root: PathBuf,
    /// Our own mount table, used to find where the cgroup hierarchies are mounted.
    pub mountinfo: PathBuf,
    /// How often images and networks are re-listed (they also refresh on their events).
    pub refresh_interval: Duration,
    /// Minimum time between two Docker stats calls for one container whose cgroup files cannot be
    /// read (the fallback is expensive on the daemon side, so it is rate limited).
    pub stats_fallback_interval: Duration,
    /// First reconnect delay after Docker is lost; doubled after each failure.
    pub backoff_initial: Duration,
    /// Cap on the reconnect delay.
    pub backoff_max: Duration,
}

impl DockerConfig {
    /// Defaults for the local Docker daemon: 10 s refresh, backoff 1 s doubling to 30 s.
    pub fn new(host_id: impl Into<String>, probe_id: impl Into<String>) -> DockerConfig {
        DockerConfig {
            host_id: host_id.into(),
            probe_id: probe_id.into(),
            docker_host: None,
            proc_root: PathBuf::from("/proc"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            refresh_interval: Duration::from_secs(10),
            stats_fallback_interval: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }

    /// Uses `host` (e.g. `unix:///run/docker.sock`) instead of the local defaults.
    pub fn with_docker_host(mut self, host: impl Into<String>) -> DockerConfig {
        self.docker_host = Some(host.into());
        self
    }
}

/// Why a Docker operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The collector is not connected to Docker right now (it keeps retrying in the background).
    #[error("docker is not connected; is dockerd running and its socket reachable?")]
    Unavailable,
    /// Docker does not know the container.
    #[error("no such container: {0}")]
    NoSuchContainer(String),
    /// The control id is not one this collector implements.
    #[error("unknown docker control: {0}")]
    UnknownControl(String),
    /// The Docker API answered with an error or the connection failed.
    #[error("docker api: {0}")]
    Api(#[from] bollard::errors::Error),
    /// The event stream ended, which happens when dockerd stops.
    #[error("docker event stream ended")]
    EventStreamEnded,
}
