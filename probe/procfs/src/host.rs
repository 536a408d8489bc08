//! The host node: identity, OS and kernel, uptime, local networks, CPU, memory and load.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use scope_report::{Kind, Metric, Millis, Node, NodeId, keys};

use crate::parse::{self, CpuTimes};
use rustix::fd::OwnedFd;

use crate::read::Reader;
use crate::{Error, ProcFs};

/// How long interface addresses are reused. `getifaddrs` costs a netlink dump per call (tens of
/// microseconds); until a new bridge is listed, the app counts its addresses as the Internet, so
/// the lag is kept to about one publish interval.
const NETWORKS_TTL: Duration = Duration::from_secs(3);

/// What the caller decides about the host node.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Host id; by default the hostname ([`ProcFs::hostname`]), or an operator override.
    pub host_id: String,
    /// This probe's version, reported as `host_scope_version`.
    pub scope_version: String,
    /// This probe's id, reported as `control_probe_id` so the app routes host controls here.
    pub probe_id: String,
    /// The os-release file to take `PRETTY_NAME` from. When the probe runs in a container with
    /// the host's /proc mounted elsewhere, point this at the host's copy too.
    pub os_release: PathBuf,
}

impl HostConfig {
    /// A config with the default os-release path.
    pub fn new(
        host_id: impl Into<String>,
        scope_version: impl Into<String>,
        probe_id: impl Into<String>,
    ) -> HostConfig {
        HostConfig {
            host_id: host_id.into(),
            scope_version: scope_version.into(),
            probe_id: probe_id.into(),
            os_release: PathBuf::from("/etc/os-release"),
        }
    }
}

/// Produces the host node. Keeps the previous `/proc/stat` sample for the CPU delta, and caches
/// what cannot change while the host runs (OS, kernel).
#[derive(Debug)]
pub struct HostCollector {
    reader: Reader,
    /// Files read every tick, kept open and re-read with `pread` (all are produced in one
    /// piece by the kernel), by path relative to the proc root.
    kept: Vec<(&'static str, OwnedFd)>,
    config: HostConfig,
    node_id: NodeId,
    prev_cpu: Option<CpuTimes>,
    os: Option<String>,
    kernel: Option<String>,
    networks: Vec<String>,
    networks_at: Option<Instant>,
}

impl HostCollector {
    /// A collector reading `procfs`.
    pub fn new(procfs: &ProcFs, config: HostConfig) -> HostCollector {
        HostCollector {
            reader: Reader::new(procfs.root()),
            kept: Vec::new(),
            node_id: NodeId::host(&config.host_id),
            config,
            prev_cpu: None,
            os: None,
            kernel: None,
            networks: Vec::new(),
            networks_at: None,
        }
    }

    /// The host node as of `now`. CPU usage needs two calls: the first only takes a sample.
    pub fn collect(&mut self, now: Millis) -> Result<Node, Error> {
        let mut node = Node::new(self.node_id.clone(), Kind::Host);
        node.set_latest(keys::HOST_NAME, now, self.hostname()?);
        let os = self.os().to_owned();
        node.set_latest(keys::OS, now, os);
        let kernel = self.kernel()?.to_owned();
        node.set_latest(keys::KERNEL_VERSION, now, kernel);
        node.set_latest(keys::SCOPE_VERSION, now, self.config.scope_version.clone());
        node.set_latest(keys::CONTROL_PROBE_ID, now, self.config.probe_id.clone());

        let uptime = self.parse_file("uptime", true, parse::parse_uptime)?;
        node.set_latest(keys::UPTIME, now, format!("{}", uptime as u64));

        let cpu = self.parse_file("stat", true, parse::parse_cpu_times)?;
        if let Some(pct) = self.prev_cpu.and_then(|prev| cpu.usage_since(&prev)) {
            node.set_metric(keys::HOST_CPU, Metric::single(now, pct, 0.0, 100.0));
        }
        self.prev_cpu = Some(cpu);

        let mem = self.parse_file("meminfo", true, parse::parse_meminfo)?;
        node.set_metric(
            keys::HOST_MEMORY,
            Metric::single(now, mem.used() as f64, 0.0, mem.total as f64),
        );

        let load = self.parse_file("loadavg", true, parse::parse_loadavg)?;
        for (key, value) in [keys::LOAD1, keys::LOAD5, keys::LOAD15]
            .into_iter()
            .zip(load)
        {
            node.set_metric(key, Metric::single(now, value, 0.0, 0.0));
        }

        node.add_to_set(keys::LOCAL_NETWORKS, self.local_networks().iter().cloned());
        Ok(node)
    }

    /// Reads and parses a file under the proc root; `keep` keeps it open for the next ticks.
    fn parse_file<T>(
        &mut self,
        rel: &'static str,
        keep: bool,
        parse: fn(&[u8]) -> Option<T>,
    ) -> Result<T, Error> {
        let read = if keep {
            let kept = match self.kept.iter().position(|(r, _)| *r == rel) {
                Some(i) => Ok(i),
                None => self.reader.open(None, rel).map(|fd| {
                    self.kept.push((rel, fd));
                    self.kept.len() - 1
                }),
            };
            kept.and_then(|i| self.reader.pread(&self.kept[i].1))
        } else {
            self.reader.read(None, rel)
        };
        let parsed = match read {
            Ok(buf) => parse(buf).ok_or(None),
            Err(e) => Err(Some(e)),
        };
        parsed.map_err(|e| {
            let path = self.reader.path_of(None, rel);
            match e {
                Some(source) => Error::Io { path, source },
                None => Error::Parse { path },
            }
        })
    }

    fn hostname(&mut self) -> Result<String, Error> {
        self.parse_file("sys/kernel/hostname", true, |b| {
            Some(String::from_utf8_lossy(b).trim().to_owned())
        })
    }

    fn os(&mut self) -> &str {
        let path = &self.config.os_release;
        self.os.get_or_insert_with(|| {
            std::fs::read_to_string(path)
                .ok()
                .or_else(|| std::fs::read_to_string("/usr/lib/os-release").ok())
                .and_then(|text| parse::parse_os_release(&text))
                .unwrap_or_else(|| "linux".to_owned())
        })
    }

    /// Release and build, as `uname -rv` prints them.
    fn kernel(&mut self) -> Result<&str, Error> {
        if self.kernel.is_none() {
            let text = |b: &[u8]| Some(String::from_utf8_lossy(b).trim().to_owned());
            let release = self.parse_file("sys/kernel/osrelease", false, text)?;
            let version = self.parse_file("sys/kernel/version", false, text)?;
            self.kernel = Some(format!("{release} {version}"));
        }
        Ok(self.kernel.as_deref().unwrap_or_default())
    }

    /// Every interface address of the probe's network namespace as `addr/prefix`, IPv4 and IPv6,
    /// loopback included: the app uses them to tell this host's addresses from remote ones.
    fn local_networks(&mut self) -> &[String] {
        let fresh = self.networks_at.is_some_and(|t| t.elapsed() < NETWORKS_TTL);
        if !fresh {
            match if_addrs::get_if_addrs() {
                Ok(ifaces) => {
                    self.networks = ifaces
                        .iter()
                        .map(|iface| {
                            let (ip, mask) = match &iface.addr {
                                if_addrs::IfAddr::V4(a) => {
                                    (IpAddr::V4(a.ip), IpAddr::V4(a.netmask))
                                }
                                if_addrs::IfAddr::V6(a) => {
                                    (IpAddr::V6(a.ip), IpAddr::V6(a.netmask))
                                }
                            };
                            format!("{ip}/{}", prefix_len(mask))
                        })
                        .collect();
                    self.networks.sort();
                    self.networks.dedup();
                }
                Err(e) => tracing::warn!(error = %e, "cannot list interface addresses"),
            }
            self.networks_at = Some(Instant::now());
        }
        &self.networks
    }
}

/// The prefix length of a netmask (leading one bits).
fn prefix_len(mask: IpAddr) -> u32 {
    match mask {
        IpAddr::V4(m) => u32::from(m).leading_ones(),
        IpAddr::V6(m) => u128::from(m).leading_ones(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix_len("255.0.0.0".parse().unwrap()), 8);
        assert_eq!(prefix_len("255.255.240.0".parse().unwrap()), 20);
        assert_eq!(prefix_len("ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
        assert_eq!(prefix_len("::".parse().unwrap()), 0);
    }
}
