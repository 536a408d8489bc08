//! TCP connections as endpoint nodes, per network namespace so connections inside containers are
//! seen too.
//!
//! Each namespace's TCP table is cached and re-read only when its counters move (see `tcp_tables`),
//! and sockets are attributed to processes through a cache of fd links (see `owners`). Both
//! expensive parts share a CPU budget ([`ConnectionConfig::cpu_share`]): on a host where many
//! namespaces churn at once, the longest-stale are read first and the rest wait for later ticks.
//!
//! Socket tables only hold what exists at the instant they are read, so the flows conntrack
//! reports (see [`crate::conntrack`]) are added: every connection that netfilter saw since the
//! last tick, however short, with the direction the kernel knows (who sent the first packet) and
//! the real server behind a NAT. A flow that is also in a socket table is the same pair of
//! endpoint nodes, so it is one edge, not two.
//!
//! Direction comes from conntrack where it knows the flow; otherwise listening sockets decide:
//! a connection whose local port is listened on in the same namespace is inbound (the remote end
//! points at the local end), otherwise outbound (the local end points at the remote end); when
//! neither port is listened on, the lower port is taken as the server's, as Scope does. Both
//! ends become endpoint nodes; the local end carries its namespace and, when its owner is known,
//! its pid and host.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use scope_report::{Kind, Millis, Node, NodeId, keys};

use crate::conntrack::{self, Conntrack, Flow, FlowStats, Seen};
use crate::owners::{Allowance, SocketOwners};
use crate::process::ProcessTable;
use crate::read::Reader;
use crate::tcp_tables::{Tables, canonical, endpoint_id};
use crate::{Error, ProcFs};

pub use crate::owners::ResolveStats;

/// Default cap on endpoint nodes per report.
pub const DEFAULT_MAX_ENDPOINTS: usize = 10_000;
/// Default cap on fd symlinks read per tick to attribute sockets to processes.
pub const DEFAULT_MAX_FD_LINKS_PER_TICK: usize = 20_000;
/// Default average share of one core for table re-reads and fd scans.
pub const DEFAULT_CPU_SHARE: f64 = 0.005;

/// Exact socket lookups for new conntrack flows per tick (each a few microseconds); a storm's
/// flows beyond wait for the table re-reads.
const MAX_LOOKUPS_PER_TICK: usize = 512;

/// Default of [`ConnectionConfig::max_clients_per_pair`].
pub const DEFAULT_MAX_CLIENTS_PER_PAIR: usize = 8;

/// CPU time owner scans may use per tick whatever the budget says.
const OWNER_FLOOR: Duration = Duration::from_millis(2);

/// Unused budget accumulates for at most this long.
const BUDGET_BURST: Duration = Duration::from_secs(2);

/// What the caller decides about endpoint nodes.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Host id: the scope of host-local addresses, and part of loopback scopes.
    pub host_id: String,
    /// At most this many endpoint nodes per report; connections beyond it are counted in
    /// [`ConnectionScan::truncated`] and left out.
    pub max_endpoints: usize,
    /// At most this many fd symlinks read per tick to find socket owners; the rest waits for
    /// the next tick.
    pub max_fd_links_per_tick: usize,
    /// Average share of one core that the expensive parts may use: TCP table re-reads and fd
    /// scans for socket owners (0.005 = 0.5%). Unused budget accumulates for two seconds.
    /// Startup is not charged: a namespace never read is read at once, and the first tick scans
    /// fds without a time limit, so everything is attributed at startup. After that, work beyond
    /// the budget waits for the next ticks (see [`ConnectionScan::tables_stale`]).
    pub cpu_share: f64,
    /// Read TCP tables through sock_diag netlink, falling back to `/proc/PID/net/tcp{,6}` where
    /// that is not permitted. Off: always the proc files.
    pub netlink: bool,
    /// Follow conntrack's events for the flows that start and end between two ticks (needs
    /// CAP_NET_ADMIN; without it, or off, only the socket tables are read).
    pub conntrack: bool,
    /// Most client endpoints reported per (client address, server endpoint) pair in one tick;
    /// the flows beyond are counted in the kept endpoints' `conn_count`, so a storm of new
    /// connections costs a few nodes per pair, not one per connection.
    pub max_clients_per_pair: usize,
}

impl ConnectionConfig {
    /// Defaults for `host_id`.
    pub fn new(host_id: impl Into<String>) -> ConnectionConfig {
        ConnectionConfig {
            host_id: host_id.into(),
            max_endpoints: DEFAULT_MAX_ENDPOINTS,
            max_fd_links_per_tick: DEFAULT_MAX_FD_LINKS_PER_TICK,
            cpu_share: DEFAULT_CPU_SHARE,
            netlink: true,
            conntrack: true,
            max_clients_per_pair: DEFAULT_MAX_CLIENTS_PER_PAIR,
        }
    }
}

/// The result of one [`ConnectionCollector::collect`].
#[derive(Debug, Clone, Default)]
pub struct ConnectionScan {
    /// Endpoint nodes, unique by id.
    pub nodes: Vec<Node>,
    /// Established connections seen (including truncated ones).
    pub connections: usize,
    /// Connections left out because of [`ConnectionConfig::max_endpoints`].
    pub truncated: usize,
    /// Network namespaces with at least one process.
    pub namespaces: usize,
    /// Namespaces whose TCP tables were read this tick.
    pub tables_read: usize,
    /// Namespaces whose tables changed but were not re-read this tick (budget); their
    /// connections are as of an earlier tick.
    pub tables_stale: usize,
    /// Namespaces read through netlink (the others through proc files), of `tables_read`.
    pub tables_read_netlink: usize,
    /// Time spent reading tables this tick, in seconds.
    pub tables_seconds: f64,
    /// Socket-owner resolution counters (the costly part).
    pub owners: ResolveStats,
    /// Sockets of new conntrack flows found by exact lookup this tick (not yet in the cached
    /// tables).
    pub sockets_found: usize,
    /// Conntrack flows reported this tick (`None`: conntrack is off or unavailable).
    pub flows: Option<usize>,
    /// Flows folded into another endpoint's `conn_count` this tick (see
    /// [`ConnectionConfig::max_clients_per_pair`]).
    pub summarised: usize,
    /// Conntrack's counters since start.
    pub conntrack: Option<FlowStats>,
}

/// Where an address means the same thing, which decides the scope part of its endpoint ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressScope {
    /// Loopback: private to one network namespace of one host.
    Loopback,
    /// Private to this host (e.g. a Docker bridge network), as the caller's predicate says.
    Host,
    /// The same everywhere.
    Global,
}

impl AddressScope {
    /// The scope of `ip`. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, how dual-stack sockets
    /// show IPv4 peers) count as the IPv4 address.
    pub fn of(ip: IpAddr, is_host_local: &dyn Fn(IpAddr) -> bool) -> AddressScope {
        let ip = ip.to_canonical();
        if ip.is_loopback() {
            AddressScope::Loopback
        } else if is_host_local(ip) {
            AddressScope::Host
        } else {
            AddressScope::Global
        }
    }
}

/// Reads TCP tables and produces endpoint nodes.
#[derive(Debug)]
pub struct ConnectionCollector {
    reader: Reader,
    config: ConnectionConfig,
    host_node_id: String,
    tables: Tables,
    owners: SocketOwners,
    tick: u64,
    tick_at: Option<Instant>,
    /// CPU budget left for table re-reads and fd scans, in seconds (negative after a burst).
    budget: f64,
    loopback_scopes: HashMap<u64, String>,
    /// Pids by namespace, rebuilt each tick.
    groups: BTreeMap<u64, Vec<u32>>,
    conntrack: Option<Conntrack>,
    /// The probe's own network namespace: where conntrack's loopback flows are.
    own_netns: Option<u64>,
}

impl ConnectionCollector {
    /// A collector reading `procfs`.
    pub fn new(procfs: &ProcFs, config: ConnectionConfig) -> ConnectionCollector {
        let conntrack = if config.conntrack {
            match Conntrack::start(conntrack::DEFAULT_MAX_FLOWS) {
                Ok(ct) => Some(ct),
                Err(e) => {
                    tracing::warn!(error = %e, "conntrack is not available: connections shorter than a tick will be missed (run the probe as root with --net=host)");
                    None
                }
            }
        } else {
            None
        };
        ConnectionCollector {
            conntrack,
            own_netns: std::fs::read_link("/proc/self/ns/net").ok().and_then(|p| {
                crate::parse::parse_bracketed_inode(p.as_os_str().as_encoded_bytes(), b"net")
            }),
            reader: Reader::new(procfs.root()),
            host_node_id: NodeId::host(&config.host_id).as_str().to_owned(),
            tables: Tables::new(config.netlink),
            budget: config.cpu_share * BUDGET_BURST.as_secs_f64(),
            config,
            owners: SocketOwners::default(),
            tick: 0,
            tick_at: None,
            loopback_scopes: HashMap::new(),
            groups: BTreeMap::new(),
        }
    }

    /// Endpoint nodes for the established TCP connections of every namespace the processes in
    /// `processes` are in, stamped `now`. `is_host_local(ip)` says whether an address is private
    /// to this host (a Docker bridge network), which scopes its endpoints by host id.
    ///
    /// Namespaces whose tables cannot be read are skipped (logged at debug level), so this
    /// does not fail today; the `Result` leaves room for failures that should stop a report.
    pub fn collect(
        &mut self,
        now: Millis,
        processes: &ProcessTable,
        is_host_local: &dyn Fn(IpAddr) -> bool,
    ) -> Result<ConnectionScan, Error> {
        self.tick += 1;
        let tick_at = Instant::now();
        if let Some(prev) = self.tick_at {
            let share = self.config.cpu_share;
            let cap = share * BUDGET_BURST.as_secs_f64();
            self.budget = (self.budget + share * (tick_at - prev).as_secs_f64()).min(cap);
        }
        self.tick_at = Some(tick_at);

        self.group_namespaces(processes);
        let tables = self
            .tables
            .refresh(&mut self.reader, &self.groups, &mut self.budget);
        let (flows, found) = self.follow_flows();
        // Startup is a one-time cost, not charged: the budget is for keeping up. Owner scans get
        // a small floor even when table re-reads used the whole budget, so on a host whose tables
        // churn every tick new connections still get their processes (a little later).
        let seconds = (self.tick > 1).then_some(self.budget.max(OWNER_FLOOR.as_secs_f64()));
        let owners = self.owners.resolve(
            self.tick,
            &mut self.reader,
            processes,
            &self.groups,
            self.tables.established(),
            self.tables.live(),
            Allowance::new(self.config.max_fd_links_per_tick, seconds),
        );
        if self.tick > 1 {
            self.budget -= owners.seconds;
        }
        let mut scan = ConnectionScan {
            connections: self.tables.connections(),
            namespaces: self.groups.len(),
            tables_read: tables.read,
            tables_read_netlink: tables.read_netlink,
            tables_stale: tables.stale,
            tables_seconds: tables.seconds,
            owners,
            sockets_found: found,
            ..ConnectionScan::default()
        };
        if let Some(ct) = &self.conntrack {
            scan.flows = Some(flows.len());
            scan.conntrack = Some(ct.stats());
        }
        self.emit(now, is_host_local, &flows, &mut scan);
        self.tables.drop_reported_once();
        Ok(scan)
    }

    /// Conntrack's flows since the last tick, with the socket tables brought up to date from
    /// them: the sockets of new connections are looked up by their exact four-tuple (a hash
    /// lookup in the kernel, where a table re-read walks the whole hash), so their owners are
    /// found at once even when the namespace's table is not re-read this tick; those of ended
    /// ones leave the cached tables. Returns the flows and the sockets found.
    fn follow_flows(&mut self) -> (Vec<Flow>, usize) {
        let Some(ct) = &self.conntrack else {
            return (Vec::new(), 0);
        };
        let mut flows = Vec::new();
        let mut new = Vec::new();
        let mut ended = HashSet::new();
        ct.report(|f, seen| {
            flows.push(*f);
            match seen {
                Seen::New => new.push(*f),
                Seen::Ended => {
                    ended.insert((f.orig.src, f.orig.dst));
                    ended.insert((f.reply.src, f.reply.dst));
                }
                Seen::Open => {}
            }
        });
        self.tables.forget(&ended);
        let known = if new.is_empty() {
            HashSet::new()
        } else {
            self.tables.tuples()
        };
        let (mut lookups, mut found) = (0, 0);
        'flows: for f in &new {
            // Both ends may be here (two containers on one host): the client's socket, and the
            // server's, which sees the client as the reply tuple's destination.
            for (local, remote, inbound) in [
                (f.orig.src, f.orig.dst, false),
                (f.reply.src, f.reply.dst, true),
            ] {
                if known.contains(&(local, remote)) {
                    continue;
                }
                let left = MAX_LOOKUPS_PER_TICK.saturating_sub(lookups);
                if left == 0 {
                    break 'flows;
                }
                let (n, ok) =
                    self.tables
                        .find(&mut self.reader, &self.groups, local, remote, inbound, left);
                lookups += n;
                found += usize::from(ok);
            }
        }
        (flows, found)
    }

    fn emit(
        &mut self,
        now: Millis,
        is_host_local: &dyn Fn(IpAddr) -> bool,
        flows: &[Flow],
        scan: &mut ConnectionScan,
    ) {
        // Who connected in each flow: (local, remote) as either end's socket would show it ->
        // whether that local end is the client.
        let mut client_side: HashMap<(SocketAddr, SocketAddr), bool> =
            HashMap::with_capacity(flows.len() * 2);
        for f in flows {
            client_side.insert((f.orig.src, f.orig.dst), true);
            client_side.insert((f.reply.src, f.reply.dst), false);
        }

        let capacity = ((scan.connections + flows.len()) * 2).min(self.config.max_endpoints);
        let mut nodes: HashMap<NodeId, Node> = HashMap::with_capacity(capacity);
        let max_endpoints = self.config.max_endpoints;
        // Makes room for an edge's two ends, or counts it as truncated.
        let fits = |nodes: &HashMap<NodeId, Node>, a: &NodeId, b: &NodeId| {
            let new = usize::from(!nodes.contains_key(a)) + usize::from(!nodes.contains_key(b));
            nodes.len() + new <= max_endpoints
        };
        // Namespaces in a fixed order, so truncation drops the same connections every tick.
        for &netns in self.groups.keys() {
            let netns_value = netns.to_string();
            for sock in self.tables.of(netns) {
                let (local_id, remote_id) = sock.ids(
                    &self.config.host_id,
                    &mut self.loopback_scopes,
                    netns,
                    is_host_local,
                );
                if !fits(&nodes, &local_id, &remote_id) {
                    scan.truncated += 1;
                    continue;
                }
                let inbound = client_side
                    .get(&sock.tuple())
                    .map_or(sock.inbound, |client| !client);
                let local = nodes
                    .entry(local_id.clone())
                    .or_insert_with(|| Node::new(local_id.clone(), Kind::Endpoint));
                local.set_latest(keys::NETNS, now, netns_value.as_str());
                if let Some(pid) = self.owners.owner(sock.inode) {
                    local.set_latest(keys::PID, now, pid.to_string());
                    local.set_latest(keys::HOST_NODE_ID, now, self.host_node_id.as_str());
                }
                if !inbound {
                    local.adjacency.insert(remote_id.clone());
                }
                let remote = nodes
                    .entry(remote_id.clone())
                    .or_insert_with(|| Node::new(remote_id, Kind::Endpoint));
                if inbound {
                    remote.adjacency.insert(local_id);
                }
            }
        }

        // Conntrack's flows: client -> real server. Those a socket table also holds are the
        // same two nodes (and the same edge); the rest are the short ones and those between
        // other hosts' addresses NATed here. In a storm, each (client address, server) pair
        // keeps a few client endpoints and counts the rest on them.
        let host_netns = self.own_netns.unwrap_or(0);
        let mut endpoints = Vec::with_capacity(flows.len());
        for f in flows {
            let (client, server) = (canonical(f.client()), canonical(f.server()));
            // Conntrack's loopback flows are those of the probe's own namespace.
            let mut id = |addr: SocketAddr| {
                let scope = AddressScope::of(addr.ip(), is_host_local);
                endpoint_id(
                    &self.config.host_id,
                    &mut self.loopback_scopes,
                    host_netns,
                    scope,
                    addr,
                )
            };
            endpoints.push(((client.ip(), server), id(client), id(server)));
        }
        // Per pair: client endpoints reported so far (those the socket tables already hold
        // count first) and the last one kept, which carries the count of those folded in.
        let mut pairs: HashMap<(IpAddr, SocketAddr), (usize, Option<NodeId>)> = HashMap::new();
        for (pair, client_id, _) in &endpoints {
            if nodes.contains_key(client_id) {
                let p = pairs.entry(*pair).or_insert((0, None));
                p.0 += 1;
                p.1 = Some(client_id.clone());
            }
        }
        for (pair, client_id, server_id) in endpoints {
            if !nodes.contains_key(&client_id) {
                let p = pairs.entry(pair).or_insert((0, None));
                if p.0 >= self.config.max_clients_per_pair
                    && let Some(n) = p.1.as_ref().and_then(|kept| nodes.get_mut(kept))
                {
                    scan.summarised += 1;
                    let count = n
                        .get(keys::CONN_COUNT)
                        .and_then(|c| c.parse::<u64>().ok())
                        .unwrap_or(1);
                    n.set_latest(keys::CONN_COUNT, now, (count + 1).to_string());
                    continue;
                }
                if !fits(&nodes, &client_id, &server_id) {
                    scan.truncated += 1;
                    continue;
                }
                p.0 += 1;
                p.1 = Some(client_id.clone());
            }
            nodes
                .entry(client_id.clone())
                .or_insert_with(|| Node::new(client_id, Kind::Endpoint))
                .adjacency
                .insert(server_id.clone());
            nodes
                .entry(server_id.clone())
                .or_insert_with(|| Node::new(server_id, Kind::Endpoint));
        }
        scan.nodes = nodes.into_values().collect();
    }

    fn group_namespaces(&mut self, processes: &ProcessTable) {
        self.groups.values_mut().for_each(Vec::clear);
        for p in processes.iter() {
            if let Some(ns) = p.netns {
                self.groups.entry(ns).or_default().push(p.pid);
            }
        }
        self.groups.retain(|_, pids| !pids.is_empty());
        // Lowest pid first: usually the namespace's oldest, longest-lived process.
        self.groups.values_mut().for_each(|v| v.sort_unstable());
        let groups = &self.groups;
        self.loopback_scopes.retain(|ns, _| groups.contains_key(ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_scopes() {
        let docker = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => v4.octets()[..2] == [172, 17],
            IpAddr::V6(_) => false,
        };
        let scope = |s: &str| AddressScope::of(s.parse().unwrap(), &docker);
        assert_eq!(scope("127.0.0.1"), AddressScope::Loopback);
        assert_eq!(scope("127.1.2.3"), AddressScope::Loopback);
        assert_eq!(scope("::1"), AddressScope::Loopback);
        assert_eq!(scope("::ffff:127.0.0.1"), AddressScope::Loopback);
        assert_eq!(scope("172.17.0.2"), AddressScope::Host);
        assert_eq!(scope("::ffff:172.17.0.2"), AddressScope::Host);
        assert_eq!(scope("93.184.216.34"), AddressScope::Global);
        assert_eq!(scope("2001:db8::1"), AddressScope::Global);
    }
}
