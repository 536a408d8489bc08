//! Linux collectors for the Scope probe: the host, its processes and their TCP connections, read
//! from a /proc root given as a parameter (`/proc` in production, another mount when the probe
//! runs in a container, a fixture tree for parser tests).
//!
//! They run every second, so they are built to be cheap (the probe as a whole gets 1% of a core
//! on a host with ~300 processes and 20 containers; `examples/procfs_cost.rs` measures them):
//! - files are read into reused buffers and parsed without allocating; files read every tick
//!   are kept open and re-read with one `pread`;
//! - what does not change is cached: a process's name, cmdline and fd limit for about a minute,
//!   kernel threads for their lifetime, socket owners until the socket closes;
//! - sleeping processes are read every fifth walk (see [`process`]);
//! - a namespace's TCP table, which costs a walk of the kernel's whole TCP hash table, is only
//!   re-read when the namespace's TCP counters move, preferably through sock_diag netlink;
//! - fd directories are only read to find the process of a socket not seen before, and those
//!   re-reads and scans share a CPU budget ([`ConnectionConfig::cpu_share`]).
//!
//! ```no_run
//! use scope_probe_procfs::{Collectors, CollectorsConfig, ProcFs};
//!
//! let procfs = ProcFs::default();
//! let host_id = procfs.hostname().unwrap();
//! let mut collectors = Collectors::new(&procfs, CollectorsConfig::new(host_id, "1.0.0", "probe-1"));
//! let report = collectors.report(scope_report::now_millis(), &|_ip| false);
//! ```

pub mod connections;
pub mod conntrack;
pub mod host;
pub mod parse;
pub mod process;

mod diag;
mod netlink;
mod owners;
mod process_table;
mod read;
mod tcp_tables;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use scope_report::{Millis, Report};

pub use connections::{
    AddressScope, ConnectionCollector, ConnectionConfig, ConnectionScan, ResolveStats,
};
pub use host::{HostCollector, HostConfig};
pub use process::{ProcessCollector, ProcessConfig, ProcessInfo, ProcessTable};

/// Errors of the collectors. A process that exits mid-walk is not an error: it is skipped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that must be readable was not (the /proc root, `/proc/stat`, ...).
    #[error("cannot read {path}: {source} (is the proc root right and mounted?)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file had an unexpected format.
    #[error("cannot parse {path}: unexpected format")]
    Parse {
        /// The file.
        path: PathBuf,
    },
}

/// A /proc mount to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcFs {
    root: PathBuf,
}

impl Default for ProcFs {
    /// The host's `/proc`.
    fn default() -> ProcFs {
        ProcFs::new("/proc")
    }
}

impl ProcFs {
    /// A /proc mounted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> ProcFs {
        ProcFs { root: root.into() }
    }

    /// The mount point.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The kernel's hostname (`sys/kernel/hostname`): the default host id.
    pub fn hostname(&self) -> Result<String, Error> {
        let path = self.root.join("sys/kernel/hostname");
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(s.trim().to_owned()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }
}

/// Configuration of [`Collectors`].
#[derive(Debug, Clone)]
pub struct CollectorsConfig {
    /// Host node.
    pub host: HostConfig,
    /// Process nodes.
    pub process: ProcessConfig,
    /// Endpoint nodes.
    pub connections: ConnectionConfig,
    /// Whether to report connections at all.
    pub spy_connections: bool,
}

impl CollectorsConfig {
    /// Defaults for a host id, probe version and probe id.
    pub fn new(
        host_id: impl Into<String>,
        scope_version: impl Into<String>,
        probe_id: impl Into<String>,
    ) -> CollectorsConfig {
        let host_id = host_id.into();
        CollectorsConfig {
            host: HostConfig::new(host_id.clone(), scope_version, probe_id),
            process: ProcessConfig {
                host_id: host_id.clone(),
                omit_cmd_args: false,
            },
            connections: ConnectionConfig::new(host_id),
            spy_connections: true,
        }
    }
}

/// What the last [`Collectors::report`] did, for the probe's own metrics and logs.
#[derive(Debug, Clone, Default)]
pub struct CollectStats {
    /// Process nodes in the last report.
    pub processes: usize,
    /// Established connections, namespaces, truncation and owner-resolution counters.
    pub connections: Option<ConnectionScan>,
}

/// The host, process and connection collectors run together, sharing one process walk.
#[derive(Debug)]
pub struct Collectors {
    /// Host node.
    pub host: HostCollector,
    /// Process nodes and the process table.
    pub processes: ProcessCollector,
    /// Endpoint nodes.
    pub connections: ConnectionCollector,
    spy_connections: bool,
    stats: CollectStats,
}

impl Collectors {
    /// All three collectors over `procfs`.
    pub fn new(procfs: &ProcFs, config: CollectorsConfig) -> Collectors {
        Collectors {
            host: HostCollector::new(procfs, config.host),
            processes: ProcessCollector::new(procfs, config.process),
            connections: ConnectionCollector::new(procfs, config.connections),
            spy_connections: config.spy_connections,
            stats: CollectStats::default(),
        }
    }

    /// One report with the host, process and endpoint topologies, stamped `now`. A collector
    /// that fails contributes nothing (and logs a warning), as a failing reporter does in Scope;
    /// the others still report.
    pub fn report(&mut self, now: Millis, is_host_local: &dyn Fn(IpAddr) -> bool) -> Report {
        let mut report = Report::new(now);
        let host = match self.host.collect(now) {
            Ok(node) => Some(node),
            Err(e) => {
                tracing::warn!(error = %e, "host collector failed");
                None
            }
        };
        match self.processes.collect(now) {
            Ok(nodes) => {
                self.stats.processes = nodes.len();
                nodes.into_iter().for_each(|n| report.add_node(n));
            }
            Err(e) => {
                self.stats.processes = 0;
                tracing::warn!(error = %e, "process collector failed");
            }
        }
        self.stats.connections = None;
        if self.spy_connections {
            match self
                .connections
                .collect(now, self.processes.table(), is_host_local)
            {
                Ok(mut scan) => {
                    if scan.truncated > 0 {
                        tracing::debug!(
                            truncated = scan.truncated,
                            "endpoint limit reached, connections left out"
                        );
                    }
                    std::mem::take(&mut scan.nodes)
                        .into_iter()
                        .for_each(|n| report.add_node(n));
                    self.stats.connections = Some(scan);
                }
                Err(e) => tracing::warn!(error = %e, "connection collector failed"),
            }
        }
        if let Some(mut host) = host {
            // What the map's connections are made of, so a viewer can tell a quiet host from
            // one whose probe cannot see short connections, or summarised a storm.
            if let Some(scan) = &self.stats.connections {
                let sources = if scan.flows.is_some() {
                    "conntrack+sockets"
                } else {
                    "sockets"
                };
                host.set_latest(scope_report::keys::CONNECTION_SOURCES, now, sources);
                if scan.summarised > 0 {
                    host.set_latest(
                        scope_report::keys::CONNECTIONS_SUMMARISED,
                        now,
                        scan.summarised.to_string(),
                    );
                }
            }
            report.add_node(host);
        }
        report
    }

    /// The processes of the last report, for container attribution.
    pub fn process_table(&self) -> &ProcessTable {
        self.processes.table()
    }

    /// Counters of the last report.
    pub fn stats(&self) -> &CollectStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    /// The agent runs the collectors on a blocking thread of its runtime.
    #[test]
    fn collectors_can_move_between_threads() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<super::Collectors>();
        assert_send::<super::ProcessTable>();
    }
}
