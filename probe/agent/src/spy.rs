//! One scan of the host: the procfs and Docker collectors' output merged into one report, with
//! processes attributed to their containers.

use std::collections::HashMap;

use scope_probe_docker::DockerCollector;
use scope_probe_procfs::{Collectors, ProcessTable};
use scope_report::{Kind, Millis, NodeId, Report, keys};

/// The collectors of one probe.
pub struct Spy {
    /// Host, processes and connections.
    pub procfs: Collectors,
    /// Docker, when enabled.
    pub docker: Option<std::sync::Arc<DockerCollector>>,
    /// Whether process nodes are reported (the process walk still runs: it attributes
    /// connections and containers).
    pub report_processes: bool,
}

impl Spy {
    /// Scans everything once.
    pub fn scan(&mut self, now: Millis) -> Report {
        let bridges = self
            .docker
            .as_ref()
            .map(|d| d.host_local_networks())
            .unwrap_or_default();
        let is_host_local = |ip: std::net::IpAddr| bridges.iter().any(|n| n.contains(ip));
        let mut report = self.procfs.report(now, &is_host_local);
        if let Some(docker) = &self.docker {
            let containers = docker.snapshot();
            let pids = docker.container_pids();
            tag_processes(&mut report, self.procfs.process_table(), &pids, &containers);
            report.merge_owned(containers);
        }
        if !self.report_processes {
            report.topologies.remove(&Kind::Process);
        }
        report
    }
}

/// Gives every process inside a container its container: a process belongs to the container
/// whose main process is itself or its nearest ancestor.
pub fn tag_processes(
    report: &mut Report,
    table: &ProcessTable,
    container_pids: &HashMap<u32, String>,
    containers: &Report,
) {
    if container_pids.is_empty() {
        return;
    }
    let ts = report.timestamp;
    let Some(procs) = report.topologies.get_mut(&Kind::Process) else {
        return;
    };
    for node in procs.nodes.values_mut() {
        let Some(pid) = node.get(keys::PID).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // `ancestors` starts with the process itself.
        let owner = table
            .ancestors(pid)
            .find_map(|p| container_pids.get(&p.pid));
        let Some(container_id) = owner else { continue };
        let cid = NodeId::container(container_id);
        let node = std::sync::Arc::make_mut(node);
        node.set_latest(keys::DOCKER_CONTAINER_ID, ts, container_id.clone());
        if let Some(c) = containers.node(Kind::Container, &cid) {
            for image in c.parents_of(Kind::ContainerImage) {
                node.add_parent(Kind::ContainerImage, image.clone());
            }
        }
        node.add_parent(Kind::Container, cid);
    }
}
