//! The TCP tables of every network namespace, cached.
//!
//! Reading a namespace's TCP table is expensive whatever it holds: the kernel walks the host's
//! whole TCP hash table each time (see `diag`). So each table is cached, and re-read only when
//! the namespace's TCP counters (`/proc/PID/net/snmp`, one cheap `pread`) show that connections
//! were opened or closed, or when the copy is a minute old. Re-reads are paid from the caller's
//! CPU budget, longest-stale first; a namespace never read is read at once, whatever it costs.
//! Tables come through sock_diag netlink where permitted, else from `/proc/PID/net/tcp{,6}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rustix::fd::OwnedFd;
use scope_report::{NodeId, ids};

use crate::connections::AddressScope;
use crate::diag::DiagSocket;
use crate::parse::{self, TcpCounters, TcpSocket, tcp_state};
use crate::read::{Reader, is_vanished};

/// A table is re-read at least this often even if its namespace's counters did not move.
const MAX_TABLE_AGE: Duration = Duration::from_secs(60);
/// The socket states kept: connected ones (established or closing) are reported, listening
/// ones decide direction, connecting ones let the owner cache learn sockets before they are
/// established, and TIME_WAIT ones are connections that ended in the last minute, reported
/// once (see [`Sock::once`]).
const STATES: u32 = 1 << tcp_state::ESTABLISHED
    | 1 << tcp_state::SYN_SENT
    | 1 << tcp_state::LISTEN
    | 1 << tcp_state::FIN_WAIT1
    | 1 << tcp_state::FIN_WAIT2
    | 1 << tcp_state::TIME_WAIT
    | 1 << tcp_state::CLOSE_WAIT
    | 1 << tcp_state::LAST_ACK
    | 1 << tcp_state::CLOSING;
/// Initial buffer for the proc TCP tables, so they rarely need a second, growing pass.
const TABLE_BUFFER: usize = 256 * 1024;

/// An established connection of a cached table.
#[derive(Debug, Clone)]
pub(crate) struct Sock {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) inode: u64,
    /// The local port is listened on in the namespace: the remote end connected to us.
    pub(crate) inbound: bool,
    /// A connection that already ended (TIME_WAIT, first seen by the last read): reported by
    /// one tick, then dropped, so an HTTP request of a millisecond that the read caught in
    /// TIME_WAIT is on the map without staying there for the minute TIME_WAIT lasts.
    pub(crate) once: bool,
    /// The endpoint ids as last built, with the scopes they were built for: formatting ids is
    /// a good part of emitting, and a cached table emits the same ones every tick.
    ids: Option<(AddressScope, AddressScope, NodeId, NodeId)>,
}

/// The endpoint id of `addr` (canonical) seen from namespace `netns` of host `host`: the one
/// rule for socket-table and conntrack endpoints alike, so the same connection seen by both is
/// the same pair of nodes.
pub(crate) fn endpoint_id(
    host: &str,
    loopback_scopes: &mut HashMap<u64, String>,
    netns: u64,
    scope: AddressScope,
    addr: SocketAddr,
) -> NodeId {
    let scope = match scope {
        AddressScope::Loopback => loopback_scopes
            .entry(netns)
            .or_insert_with(|| ids::loopback_scope(host, netns))
            .as_str(),
        AddressScope::Host => host,
        AddressScope::Global => "",
    };
    NodeId::endpoint(scope, addr.ip(), addr.port())
}

/// The address with an IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 peer)
/// as the IPv4 address, the way conntrack and endpoint ids have it.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

impl Sock {
    fn new(local: SocketAddr, remote: SocketAddr, inode: u64, inbound: bool, once: bool) -> Sock {
        Sock {
            local,
            remote,
            inode,
            inbound,
            once,
            ids: None,
        }
    }

    /// (local, remote), canonical: how conntrack names either end of the connection.
    pub(crate) fn tuple(&self) -> (SocketAddr, SocketAddr) {
        (canonical(self.local), canonical(self.remote))
    }

    /// Ids of the local and remote ends, rebuilt only when an address's scope changed (the
    /// caller's host-local networks can change).
    pub(crate) fn ids(
        &mut self,
        host: &str,
        loopback_scopes: &mut HashMap<u64, String>,
        netns: u64,
        is_host_local: &dyn Fn(IpAddr) -> bool,
    ) -> (NodeId, NodeId) {
        let local_ip = self.local.ip().to_canonical();
        let remote_ip = self.remote.ip().to_canonical();
        let local_scope = AddressScope::of(local_ip, is_host_local);
        let remote_scope = AddressScope::of(remote_ip, is_host_local);
        if let Some((l, r, local, remote)) = &self.ids
            && *l == local_scope
            && *r == remote_scope
        {
            return (local.clone(), remote.clone());
        }
        let mut id = |scope, ip, port| {
            endpoint_id(
                host,
                loopback_scopes,
                netns,
                scope,
                SocketAddr::new(ip, port),
            )
        };
        let local = id(local_scope, local_ip, self.local.port());
        let remote = id(remote_scope, remote_ip, self.remote.port());
        self.ids = Some((local_scope, remote_scope, local.clone(), remote.clone()));
        (local, remote)
    }
}

/// One network namespace and its cached table.
#[derive(Debug, Default)]
struct Namespace {
    /// `/proc/PID/net/snmp` through some process in the namespace, kept open. Holding it keeps
    /// the namespace alive, so it goes when the namespace has no process left.
    snmp: Option<OwnedFd>,
    /// Counters when the table was last read.
    counters: Option<TcpCounters>,
    diag: Option<DiagSocket>,
    diag_failed: bool,
    read_at: Option<Instant>,
    established: Vec<Sock>,
    /// Inodes of every kept socket, for the owner cache.
    live: Vec<u64>,
    /// (local, remote) of the TIME_WAIT sockets of the last read: those already reported.
    time_wait: HashSet<(SocketAddr, SocketAddr)>,
}

/// What one [`Tables::refresh`] did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RefreshStats {
    pub(crate) read: usize,
    pub(crate) read_netlink: usize,
    pub(crate) stale: usize,
    pub(crate) seconds: f64,
}

/// The cached TCP tables of all namespaces.
#[derive(Debug)]
pub(crate) struct Tables {
    netlink: bool,
    own_netns: Option<u64>,
    namespaces: HashMap<u64, Namespace>,
    /// Union of every namespace's `live`, rebuilt when a table changes.
    live: HashSet<u64>,
    netlink_buf: Vec<u8>,
    listening: HashSet<u16>,
    /// The namespace an address was last found in by [`Tables::find`], tried first next time.
    address_netns: HashMap<IpAddr, u64>,
}

impl Tables {
    /// `netlink`: try sock_diag before proc files.
    pub(crate) fn new(netlink: bool) -> Tables {
        let own_netns = std::fs::read_link("/proc/self/ns/net")
            .ok()
            .and_then(|p| parse::parse_bracketed_inode(p.as_os_str().as_encoded_bytes(), b"net"));
        Tables {
            netlink,
            own_netns,
            namespaces: HashMap::new(),
            live: HashSet::new(),
            netlink_buf: Vec::new(),
            listening: HashSet::new(),
            address_netns: HashMap::new(),
        }
    }

    /// Every TCP socket inode in the cached tables.
    pub(crate) fn live(&self) -> &HashSet<u64> {
        &self.live
    }

    /// (netns, inode) of every established connection.
    pub(crate) fn established(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.namespaces
            .iter()
            .flat_map(|(ns, n)| n.established.iter().map(move |s| (*ns, s.inode)))
    }

    /// Number of established connections.
    pub(crate) fn connections(&self) -> usize {
        self.namespaces.values().map(|n| n.established.len()).sum()
    }

    /// The established connections of `netns`.
    pub(crate) fn of(&mut self, netns: u64) -> &mut [Sock] {
        self.namespaces
            .get_mut(&netns)
            .map_or(&mut [], |n| &mut n.established[..])
    }

    /// (local, remote) of every established connection in the tables, IPv4-mapped addresses
    /// as IPv4.
    pub(crate) fn tuples(&self) -> HashSet<(SocketAddr, SocketAddr)> {
        self.namespaces
            .values()
            .flat_map(|n| n.established.iter())
            .map(Sock::tuple)
            .collect()
    }

    /// Finds the socket `local` -> `remote` (a connection conntrack reported that the cached
    /// tables do not hold yet) by one exact sock_diag lookup per namespace, the namespace the
    /// address was last seen in first, and adds it to that namespace's table so its owner is
    /// searched for like any other. Loopback addresses are looked for in the probe's own
    /// namespace only: that is the one whose loopback conntrack sees. Returns the number of
    /// lookups made (for the caller's bound) and whether it was found.
    pub(crate) fn find(
        &mut self,
        reader: &mut Reader,
        groups: &BTreeMap<u64, Vec<u32>>,
        local: SocketAddr,
        remote: SocketAddr,
        inbound: bool,
        max_lookups: usize,
    ) -> (usize, bool) {
        let own = self.own_netns;
        let candidates: Vec<u64> = if local.ip().is_loopback() {
            own.into_iter().collect()
        } else {
            let hint = self.address_netns.get(&local.ip()).copied();
            hint.into_iter()
                .chain(groups.keys().copied().filter(|ns| Some(*ns) != hint))
                .collect()
        };
        let mut lookups = 0;
        for netns in candidates {
            if lookups >= max_lookups {
                break;
            }
            let Some(pids) = groups.get(&netns) else {
                continue;
            };
            let Some(ns) = self.namespaces.get_mut(&netns) else {
                continue;
            };
            open_diag(reader, ns, netns, own, pids);
            let Some(diag) = ns.diag.as_mut() else {
                continue;
            };
            lookups += 1;
            match diag.lookup(local, remote, &mut self.netlink_buf) {
                Ok(Some(sock)) if sock.state == tcp_state::ESTABLISHED => {
                    if sock.inode != 0 {
                        ns.live.push(sock.inode);
                        self.live.insert(sock.inode);
                    }
                    ns.established.push(Sock::new(
                        sock.local,
                        sock.remote,
                        sock.inode,
                        inbound,
                        false,
                    ));
                    self.address_netns.insert(local.ip(), netns);
                    return (lookups, true);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(netns, error = %e, "sock_diag lookup failed"),
            }
        }
        (lookups, false)
    }

    /// Drops the ended connections (TIME_WAIT) that a tick has now reported.
    pub(crate) fn drop_reported_once(&mut self) {
        for ns in self.namespaces.values_mut() {
            if ns.established.iter().any(|s| s.once) {
                ns.established.retain(|s| !s.once);
            }
        }
    }

    /// Drops from the cached tables the connections conntrack says have ended (`tuples` as
    /// (local, remote) of either end): a table read before they closed still lists them.
    pub(crate) fn forget(&mut self, tuples: &HashSet<(SocketAddr, SocketAddr)>) {
        if tuples.is_empty() {
            return;
        }
        for ns in self.namespaces.values_mut() {
            ns.established.retain(|s| !tuples.contains(&s.tuple()));
        }
    }

    /// Brings the cache in line with `groups` (the pids of each namespace): forgets namespaces
    /// without processes, and re-reads the tables whose counters moved while `budget` (CPU
    /// seconds) lasts, subtracting what re-reads cost.
    pub(crate) fn refresh(
        &mut self,
        reader: &mut Reader,
        groups: &BTreeMap<u64, Vec<u32>>,
        budget: &mut f64,
    ) -> RefreshStats {
        let before = self.namespaces.len();
        self.namespaces.retain(|ns, _| groups.contains_key(ns));
        self.address_netns.retain(|_, ns| groups.contains_key(ns));
        let mut changed = self.namespaces.len() != before;

        let mut due: Vec<(Option<Instant>, u64, Option<TcpCounters>)> = Vec::new();
        for (&netns, pids) in groups {
            let ns = self.namespaces.entry(netns).or_default();
            let counters = read_counters(reader, ns, pids);
            let moved = match (ns.read_at, counters) {
                (None, _) | (_, None) => true,
                (Some(at), Some(c)) => ns.counters != Some(c) || at.elapsed() >= MAX_TABLE_AGE,
            };
            if moved {
                due.push((ns.read_at, netns, counters));
            }
        }
        // Never read first, then the longest stale.
        due.sort_unstable_by_key(|(at, ns, _)| (at.is_some(), *at, *ns));
        let mut stats = RefreshStats::default();
        for (read_at, netns, counters) in due {
            if read_at.is_some() && *budget <= 0.0 {
                stats.stale += 1;
                continue;
            }
            let started = Instant::now();
            let pids = groups.get(&netns).map_or(&[][..], Vec::as_slice);
            let Some(netlink) = self.read(reader, netns, pids) else {
                continue;
            };
            let seconds = started.elapsed().as_secs_f64();
            stats.seconds += seconds;
            if read_at.is_some() {
                *budget -= seconds;
            }
            if let Some(ns) = self.namespaces.get_mut(&netns) {
                ns.counters = counters;
                ns.read_at = Some(started);
            }
            stats.read += 1;
            stats.read_netlink += usize::from(netlink);
            changed = true;
        }
        if changed {
            self.live.clear();
            for ns in self.namespaces.values() {
                self.live.extend(ns.live.iter().copied());
            }
        }
        stats
    }

    /// Reads the table of `netns` into its cache: `Some(true)` through netlink, `Some(false)`
    /// through proc files, `None` if neither worked (the old copy stays).
    fn read(&mut self, reader: &mut Reader, netns: u64, pids: &[u32]) -> Option<bool> {
        let ns = self.namespaces.get_mut(&netns)?;
        let mut socks: Vec<TcpSocket> = Vec::new();
        let mut via_netlink = false;
        if self.netlink {
            open_diag(reader, ns, netns, self.own_netns, pids);
            if let Some(diag) = &mut ns.diag {
                let ipv6 = has_ipv6_sockets(reader, pids);
                let buf = &mut self.netlink_buf;
                let mut dump = |v6| diag.dump(v6, STATES, buf, |s| socks.push(s));
                match dump(false).and_then(|()| if ipv6 { dump(true) } else { Ok(()) }) {
                    Ok(()) => via_netlink = true,
                    Err(e) => {
                        tracing::debug!(netns, error = %e, "sock_diag failed, using /proc");
                        ns.diag = None;
                        ns.diag_failed = true;
                        socks.clear();
                    }
                }
            }
        }
        if !via_netlink && let Err(e) = read_proc_tables(reader, pids, &mut socks) {
            tracing::debug!(netns, error = %e, "cannot read the namespace's TCP tables");
            return None;
        }

        self.listening.clear();
        self.listening.extend(
            socks
                .iter()
                .filter(|s| s.state == tcp_state::LISTEN)
                .map(|s| s.local.port()),
        );
        ns.established.clear();
        ns.live.clear();
        let mut time_wait = HashSet::new();
        for s in &socks {
            if s.inode != 0 {
                ns.live.push(s.inode);
            }
            let once = s.state == tcp_state::TIME_WAIT;
            if once {
                time_wait.insert((s.local, s.remote));
                if ns.time_wait.contains(&(s.local, s.remote)) {
                    continue;
                }
            }
            if once || tcp_state::is_connected(s.state) {
                let inbound = is_inbound(&self.listening, s.local.port(), s.remote.port());
                ns.established
                    .push(Sock::new(s.local, s.remote, s.inode, inbound, once));
            }
        }
        ns.time_wait = time_wait;
        Some(via_netlink)
    }
}

/// Whether a connection was accepted here: its local port is listened on in the namespace or,
/// when nothing listens on either port (a server that stopped listening after accepting, as many
/// one-shot servers do), Scope's fallback: the lower port is the server's.
fn is_inbound(listening: &std::collections::HashSet<u16>, local: u16, remote: u16) -> bool {
    if listening.contains(&local) {
        return true;
    }
    !listening.contains(&remote) && local < remote
}

/// The namespace's TCP counters now, through its kept snmp file (opened through the first of
/// its processes that is still there). `None` if unreadable, which makes the table always due.
fn read_counters(reader: &mut Reader, ns: &mut Namespace, pids: &[u32]) -> Option<TcpCounters> {
    if ns.snmp.is_none() {
        ns.snmp = pids
            .iter()
            .find_map(|&pid| reader.open(Some(pid), "net/snmp").ok());
    }
    let fd = ns.snmp.as_ref()?;
    reader.pread(fd).ok().and_then(parse::parse_snmp_tcp)
}

/// Opens the namespace's netlink socket once; a namespace where that fails uses proc files.
fn open_diag(reader: &mut Reader, ns: &mut Namespace, netns: u64, own: Option<u64>, pids: &[u32]) {
    if ns.diag.is_some() || ns.diag_failed {
        return;
    }
    let result = if own == Some(netns) {
        DiagSocket::here()
    } else {
        match pids.first() {
            Some(&pid) => DiagSocket::in_namespace(reader.path_of(Some(pid), "ns/net")),
            None => return,
        }
    };
    match result {
        Ok(diag) => ns.diag = Some(diag),
        Err(e) => {
            tracing::debug!(netns, error = %e, "no sock_diag socket for namespace, using /proc");
            ns.diag_failed = true;
        }
    }
}

/// Whether a namespace has IPv6 TCP sockets: without any, the IPv6 dump (another full hash
/// walk) is skipped. True when unknown.
fn has_ipv6_sockets(reader: &mut Reader, pids: &[u32]) -> bool {
    pids.iter()
        .find_map(|&pid| {
            reader
                .read(Some(pid), "net/sockstat6")
                .ok()
                .map(parse::parse_sockstat6_tcp)
        })
        .flatten()
        .is_none_or(|n| n > 0)
}

/// Reads `net/tcp` and `net/tcp6` through the first process of the namespace still there.
fn read_proc_tables(
    reader: &mut Reader,
    pids: &[u32],
    out: &mut Vec<TcpSocket>,
) -> std::io::Result<()> {
    reader.reserve(TABLE_BUFFER);
    for &pid in pids {
        match reader.read(Some(pid), "net/tcp") {
            Ok(buf) => parse_table(buf, out),
            Err(e) if is_vanished(&e) => continue,
            Err(e) => return Err(e),
        }
        // Absent when IPv6 is disabled.
        if let Ok(buf) = reader.read(Some(pid), "net/tcp6") {
            parse_table(buf, out);
        }
        return Ok(());
    }
    Err(std::io::ErrorKind::NotFound.into())
}

fn parse_table(buf: &[u8], out: &mut Vec<TcpSocket>) {
    out.extend(
        buf.split(|&b| b == b'\n')
            .filter_map(parse::parse_tcp_line)
            .filter(|s| STATES & (1 << s.state) != 0),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_filter_keeps_connections_listeners_connecting_and_closing() {
        let table = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0
   2: 0100007F:D432 0100007F:1F90 02 00000000:00000000 00:00000000 00000000  1000        0 3 1 0
   3: 0100007F:D433 0100007F:1F90 06 00000000:00000000 00:00000000 00000000  1000        0 0 1 0
   4: 0100007F:D434 0100007F:1F90 08 00000000:00000000 00:00000000 00000000  1000        0 5 1 0
   5: 0100007F:D435 0100007F:1F90 07 00000000:00000000 00:00000000 00000000  1000        0 6 1 0
";
        let mut out = Vec::new();
        parse_table(table, &mut out);
        let inodes: Vec<u64> = out.iter().map(|s| s.inode).collect();
        // TIME_WAIT (inode 0) and CLOSE_WAIT kept; CLOSE (a socket with no connection) not.
        assert_eq!(inodes, [1, 2, 3, 0, 5]);
    }

    #[test]
    fn endpoint_ids_follow_scope_changes() {
        let mut sock = Sock {
            local: "172.17.0.2:5000".parse().unwrap(),
            remote: "[::ffff:10.0.0.9]:443".parse().unwrap(),
            inode: 1,
            inbound: false,
            once: false,
            ids: None,
        };
        let mut scopes = HashMap::new();
        let (local, remote) = sock.ids("h", &mut scopes, 7, &|_| false);
        assert_eq!(local.as_str(), ";172.17.0.2;5000");
        assert_eq!(remote.as_str(), ";10.0.0.9;443");
        // The docker collector now says 172.17/16 is a bridge network of this host.
        let bridge = |ip: IpAddr| ip.to_string().starts_with("172.17.");
        let (local, _) = sock.ids("h", &mut scopes, 7, &bridge);
        assert_eq!(local.as_str(), "h;172.17.0.2;5000");

        let mut lo = Sock {
            local: "127.0.0.1:80".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            inode: 2,
            inbound: true,
            once: false,
            ids: None,
        };
        let (local, remote) = lo.ids("h", &mut scopes, 7, &bridge);
        assert_eq!(local.as_str(), "h-7;127.0.0.1;80");
        assert_eq!(remote.as_str(), "h-7;127.0.0.1;40000");
    }
}

#[cfg(test)]
mod direction_tests {
    use super::is_inbound;
    use std::collections::HashSet;

    #[test]
    fn listening_ports_then_lower_port_decide_direction() {
        let listening: HashSet<u16> = [8080].into_iter().collect();
        assert!(is_inbound(&listening, 8080, 45070));
        assert!(!is_inbound(&listening, 45070, 8080));
        assert!(!is_inbound(&listening, 1000, 8080));
        let none = HashSet::new();
        assert!(is_inbound(&none, 8080, 45070));
        assert!(!is_inbound(&none, 45070, 8080));
    }
}
