//! Synthetic reports shaped like real ones, for benchmarks, load generation and render tests.
//!
//! Host `i` is `host-<i>` with address `10.<i/256>.<i%256>.1/24` and a Docker bridge
//! `172.17.0.0/16` whose container addresses are host-scoped. Each host runs containers with a
//! few processes each plus uncontained processes, and its processes hold connections to the next
//! host's processes (both ends reported, as real probes do) and to Internet addresses.

use std::net::{IpAddr, Ipv4Addr};

use crate::{Kind, Metric, Node, NodeId, Report, keys};

/// Shape of one synthetic host.
#[derive(Debug, Clone, Copy)]
pub struct HostShape {
    /// Containers on the host.
    pub containers: usize,
    /// Processes in each container.
    pub procs_per_container: usize,
    /// Processes outside containers.
    pub uncontained: usize,
    /// Outbound connections from this host (each yields two endpoint nodes here).
    pub connections: usize,
    /// Number of hosts in the fleet (connections go to the next host, modulo this).
    pub hosts: usize,
}

impl HostShape {
    /// 50 containers x 5 processes + 50 uncontained = 300 processes, 500 connections
    /// (1,000 endpoints): one host of the 100-host benchmark tenant.
    pub fn fleet_member(hosts: usize) -> HostShape {
        HostShape {
            containers: 50,
            procs_per_container: 5,
            uncontained: 50,
            connections: 500,
            hosts,
        }
    }
}

/// The host id of host `i`.
pub fn host_id(i: usize) -> String {
    format!("host-{i}")
}

/// The host address of host `i`.
pub fn host_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, 1)
}

/// A report as host `i`'s probe would send it, at time `ts`.
pub fn host_report(i: usize, shape: HostShape, ts: i64) -> Report {
    let host = host_id(i);
    let mut r = Report::new(ts);
    let host_node_id = NodeId::host(&host);
    let mut h = Node::new(host_node_id.clone(), Kind::Host)
        .with_latest(keys::HOST_NAME, ts, host.clone())
        .with_latest(keys::OS, ts, "linux")
        .with_latest(keys::KERNEL_VERSION, ts, "6.1.0")
        .with_latest(keys::CONTROL_PROBE_ID, ts, format!("probe-{i}"));
    h.add_to_set(
        keys::LOCAL_NETWORKS,
        [format!("{}/24", host_ip(i)), "172.17.0.1/16".to_owned()],
    );
    h.set_metric(keys::HOST_CPU, Metric::single(ts, 12.5, 0.0, 100.0));
    r.add_node(h);

    let image = NodeId::container_image(&format!("sha256:img{}", i % 10));
    let mut img = Node::new(image.clone(), Kind::ContainerImage).with_latest(
        keys::IMAGE_NAME,
        ts,
        format!("registry.example/app{}:1.0", i % 10),
    );
    img.add_parent(Kind::Host, host_node_id.clone());
    r.add_node(img);

    let mut pids = Vec::new();
    let mut pid = 1000u32;
    for c in 0..shape.containers {
        let cid = format!("c{i:03}x{c:04}");
        let cip = Ipv4Addr::new(172, 17, (c / 250) as u8, (c % 250 + 2) as u8);
        let mut cn = Node::new(NodeId::container(&cid), Kind::Container)
            .with_latest(keys::CONTAINER_ID, ts, cid.clone())
            .with_latest(keys::CONTAINER_NAME, ts, format!("app-{c}"))
            .with_latest(keys::CONTAINER_IMAGE, ts, "sha256:img")
            .with_latest(
                keys::CONTAINER_IMAGE_NAME,
                ts,
                format!("registry.example/app{}:1.0", i % 10),
            )
            .with_latest(keys::CONTAINER_STATE, ts, keys::state::RUNNING)
            .with_latest(keys::CONTAINER_HOSTNAME, ts, format!("app-{c}"))
            .with_latest(keys::HOST_NODE_ID, ts, host_node_id.as_str());
        cn.add_to_set(keys::CONTAINER_IPS, [cip.to_string()]);
        cn.add_to_set(keys::CONTAINER_IPS_WITH_SCOPES, [format!("{host};{cip}")]);
        cn.add_parent(Kind::Host, host_node_id.clone());
        cn.add_parent(Kind::ContainerImage, image.clone());
        cn.set_metric(keys::CONTAINER_CPU, Metric::single(ts, 1.5, 0.0, 100.0));
        cn.set_metric(keys::CONTAINER_MEMORY, Metric::single(ts, 5e7, 0.0, 1e9));
        r.add_node(cn);
        for _ in 0..shape.procs_per_container {
            r.add_node(process(&host, pid, Some(&cid), ts));
            pids.push(pid);
            pid += 1;
        }
    }
    for _ in 0..shape.uncontained {
        r.add_node(process(&host, pid, None, ts));
        pids.push(pid);
        pid += 1;
    }

    let me = IpAddr::V4(host_ip(i));
    let next = IpAddr::V4(host_ip((i + 1) % shape.hosts.max(1)));
    let prev = IpAddr::V4(host_ip((i + shape.hosts.max(1) - 1) % shape.hosts.max(1)));
    let internet = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34));
    for k in 0..shape.connections {
        let local_pid = pids[k % pids.len().max(1)];
        let port = 30000 + k as u16;
        // Every tenth connection leaves for the Internet.
        let (remote, remote_port) = if k % 10 == 0 {
            (internet, 443)
        } else {
            (next, 80)
        };
        let local = NodeId::endpoint("", me, port);
        let remote_id = NodeId::endpoint("", remote, remote_port);
        let mut ln = endpoint_node(local.clone(), &host, Some(local_pid), ts);
        ln.adjacency.insert(remote_id.clone());
        r.add_node(ln);
        r.add_node(Node::new(remote_id, Kind::Endpoint));
        // The server end of the previous host's connection to us: our pid listens on :80.
        if k % 10 != 0 {
            let server = NodeId::endpoint("", me, 80);
            let client = NodeId::endpoint("", prev, port);
            r.add_node(endpoint_node(server.clone(), &host, Some(pids[0]), ts));
            let mut cn = Node::new(client, Kind::Endpoint);
            cn.adjacency.insert(server);
            r.add_node(cn);
        }
    }
    r
}

fn process(host: &str, pid: u32, container: Option<&str>, ts: i64) -> Node {
    let mut p = Node::new(NodeId::process(host, pid), Kind::Process)
        .with_latest(keys::PID, ts, pid.to_string())
        .with_latest(keys::PPID, ts, "1")
        .with_latest(keys::NAME, ts, format!("worker{}", pid % 7))
        .with_latest(
            keys::CMDLINE,
            ts,
            format!("/usr/bin/worker{} --serve", pid % 7),
        )
        .with_latest(keys::THREADS, ts, "4")
        .with_latest(keys::HOST_NODE_ID, ts, NodeId::host(host).as_str());
    if let Some(c) = container {
        p.set_latest(keys::DOCKER_CONTAINER_ID, ts, c);
        p.add_parent(Kind::Container, NodeId::container(c));
    }
    p.add_parent(Kind::Host, NodeId::host(host));
    p.set_metric(keys::PROCESS_CPU, Metric::single(ts, 0.5, 0.0, 100.0));
    p.set_metric(keys::PROCESS_MEMORY, Metric::single(ts, 1e7, 0.0, 1e9));
    p
}

fn endpoint_node(id: NodeId, host: &str, pid: Option<u32>, ts: i64) -> Node {
    let mut n = Node::new(id, Kind::Endpoint);
    if let Some(pid) = pid {
        n.set_latest(keys::PID, ts, pid.to_string());
        n.set_latest(keys::HOST_NODE_ID, ts, NodeId::host(host).as_str());
    }
    n
}

/// The merged report of a fleet of `hosts` hosts shaped like [`HostShape::fleet_member`].
pub fn fleet(hosts: usize, ts: i64) -> Report {
    let mut r = Report::new(ts);
    for i in 0..hosts {
        r.merge_owned(host_report(i, HostShape::fleet_member(hosts), ts));
    }
    r
}

/// A host report with about `nodes` nodes in all (for ingest benchmarks).
pub fn sized_host_report(nodes: usize, ts: i64) -> Report {
    // 1 host + 1 image + c containers + 4c processes + about 2 endpoints per connection.
    let containers = (nodes / 20).max(1);
    let shape = HostShape {
        containers,
        procs_per_container: 3,
        uncontained: containers,
        connections: (nodes.saturating_sub(containers * 5 + 2)) / 2,
        hosts: 2,
    };
    host_report(0, shape, ts)
}
