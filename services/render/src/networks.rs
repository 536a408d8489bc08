//! Which addresses are "ours": the local-networks trie.
//!
//! Rendering decides for every endpoint without a process whether it is on one of the tenant's
//! networks (then it may belong to a container) or out on the Internet. With hundreds of networks
//! (k8s hosts with many /32 interface addresses) a linear scan per endpoint dominates rendering,
//! so [`LocalNetworks`] keeps the networks in a prefix trie (Scope PR #2625). [`LinearNetworks`]
//! is the plain scan with the same API, kept for tests and benchmarks.
//!
//! Building the trie costs far more than one render's lookups, so callers keep a
//! [`LocalNetworks`] per tenant and rebuild it only when [`LocalNetworks::networks_of`] changes.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

use ip_network::IpNetwork;
use ip_network_table::IpNetworkTable;
use scope_report::{Kind, Report, keys};

/// Parses a host's interface address with prefix ("10.0.3.1/24") into its network, dropping the
/// host bits. A bare address is a single-address network. `None` for anything unparsable.
pub fn parse_cidr(s: &str) -> Option<IpNetwork> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((addr, len)) => (addr.parse::<IpAddr>().ok()?, Some(len.parse::<u8>().ok()?)),
        None => (s.trim().parse::<IpAddr>().ok()?, None),
    };
    let addr = addr.to_canonical();
    let len = len.unwrap_or(match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    });
    IpNetwork::new_truncate(addr, len).ok()
}

/// Addresses that are local whatever the reported networks say: loopback and link-local never
/// leave the host, so they can never be the Internet.
fn always_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || is_v6_link_local(v6),
    }
}

fn is_v6_link_local(v6: Ipv6Addr) -> bool {
    (v6.segments()[0] & 0xffc0) == 0xfe80
}

/// One bit per IPv4 /16 block.
type Blocks = Box<[u64; 1024]>;

/// The tenant's local networks in a prefix trie.
///
/// Two /16 bitmaps sit in front of the trie for IPv4: blocks wholly inside some network answer
/// "local" at once, blocks no network touches answer "not local" at once (most Internet peers),
/// and only the rest walk the trie.
pub struct LocalNetworks {
    table: IpNetworkTable<()>,
    set: BTreeSet<String>,
    v4_covered: Blocks,
    v4_touched: Blocks,
}

fn set_bit(bits: &mut Blocks, block: u32) {
    bits[(block / 64) as usize] |= 1 << (block % 64);
}

fn bit(bits: &Blocks, block: u32) -> bool {
    bits[(block / 64) as usize] & (1 << (block % 64)) != 0
}

impl LocalNetworks {
    /// No networks: only loopback and link-local addresses are local.
    pub fn empty() -> LocalNetworks {
        LocalNetworks::from_set(&BTreeSet::new())
    }

    /// The normalised networks ("10.0.3.0/24") of every Host node's [`keys::LOCAL_NETWORKS`] set.
    /// Cheap compared with building the trie: compare it with the previous value to decide
    /// whether to rebuild.
    pub fn networks_of(report: &Report) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for host in report.nodes(Kind::Host) {
            for cidr in host.sets.get(keys::LOCAL_NETWORKS).into_iter().flatten() {
                if let Some(net) = parse_cidr(cidr) {
                    out.insert(net.to_string());
                }
            }
        }
        out
    }

    /// The trie of every network in `networks` (entries as [`parse_cidr`] takes them; bad
    /// entries are skipped).
    pub fn from_set(networks: &BTreeSet<String>) -> LocalNetworks {
        LocalNetworks::from_networks(networks.iter().filter_map(|s| parse_cidr(s)))
    }

    /// The trie of the given networks.
    pub fn from_networks(networks: impl IntoIterator<Item = IpNetwork>) -> LocalNetworks {
        let mut table = IpNetworkTable::new();
        let mut set = BTreeSet::new();
        let mut v4_covered: Blocks = Box::new([0; 1024]);
        let mut v4_touched: Blocks = Box::new([0; 1024]);
        for net in networks {
            table.insert(net, ());
            set.insert(net.to_string());
            if let IpNetwork::V4(n) = net {
                let first = u32::from(n.network_address()) >> 16;
                let len = u32::from(n.netmask());
                let blocks = if len >= 16 { 1 } else { 1 << (16 - len) };
                for b in first..first + blocks {
                    set_bit(&mut v4_touched, b);
                    if len <= 16 {
                        set_bit(&mut v4_covered, b);
                    }
                }
            }
        }
        LocalNetworks {
            table,
            set,
            v4_covered,
            v4_touched,
        }
    }

    /// Shorthand for `from_set(&networks_of(report))`.
    pub fn from_report(report: &Report) -> LocalNetworks {
        LocalNetworks::from_set(&LocalNetworks::networks_of(report))
    }

    /// Whether `ip` is on a local network (or loopback / link-local).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let block = u32::from(v4) >> 16;
                v4.is_loopback()
                    || v4.is_link_local()
                    || bit(&self.v4_covered, block)
                    || (bit(&self.v4_touched, block) && self.table.longest_match_ipv4(v4).is_some())
            }
            IpAddr::V6(v6) => {
                v6.is_loopback()
                    || is_v6_link_local(v6)
                    || self.table.longest_match_ipv6(v6).is_some()
            }
        }
    }

    /// The networks, normalised; equal sets mean equal tries.
    pub fn networks(&self) -> &BTreeSet<String> {
        &self.set
    }

    /// Number of networks.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether there are no networks.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

impl Default for LocalNetworks {
    fn default() -> Self {
        LocalNetworks::empty()
    }
}

impl Clone for LocalNetworks {
    fn clone(&self) -> Self {
        LocalNetworks::from_set(&self.set)
    }
}

impl PartialEq for LocalNetworks {
    fn eq(&self, other: &Self) -> bool {
        self.set == other.set
    }
}

impl Eq for LocalNetworks {}

impl std::fmt::Debug for LocalNetworks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LocalNetworks").field(&self.set).finish()
    }
}

/// The same membership test as [`LocalNetworks`] by scanning a list: the baseline the trie is
/// checked and benchmarked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinearNetworks {
    nets: Vec<IpNetwork>,
}

impl LinearNetworks {
    /// See [`LocalNetworks::from_set`].
    pub fn from_set(networks: &BTreeSet<String>) -> LinearNetworks {
        LinearNetworks::from_networks(networks.iter().filter_map(|s| parse_cidr(s)))
    }

    /// See [`LocalNetworks::from_networks`].
    pub fn from_networks(networks: impl IntoIterator<Item = IpNetwork>) -> LinearNetworks {
        let mut nets: Vec<IpNetwork> = networks.into_iter().collect();
        nets.sort();
        nets.dedup();
        LinearNetworks { nets }
    }

    /// See [`LocalNetworks::contains`].
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        always_local(ip) || self.nets.iter().any(|n| n.contains(ip))
    }

    /// Number of networks.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// Whether there are no networks.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use scope_report::{Node, NodeId};
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn truncates_host_bits_and_reads_hosts() {
        assert_eq!(
            parse_cidr("10.0.3.1/24").unwrap().to_string(),
            "10.0.3.0/24"
        );
        assert_eq!(parse_cidr("fd00::1/64").unwrap().to_string(), "fd00::/64");
        assert_eq!(
            parse_cidr("192.168.1.7").unwrap().to_string(),
            "192.168.1.7/32"
        );
        assert!(parse_cidr("10.0.0.1/33").is_none());
        assert!(parse_cidr("nonsense").is_none());

        let mut r = Report::new(1);
        let mut h = Node::new(NodeId::host("h1"), Kind::Host);
        h.add_to_set(
            keys::LOCAL_NETWORKS,
            ["10.0.3.1/24", "fd00::1/64", "garbage", "172.17.0.1/16"],
        );
        r.add_node(h);
        let set = LocalNetworks::networks_of(&r);
        assert_eq!(
            set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["10.0.3.0/24", "172.17.0.0/16", "fd00::/64"]
        );
        let nets = LocalNetworks::from_set(&set);
        assert!(nets.contains(ip("10.0.3.200")));
        assert!(nets.contains(ip("172.17.44.2")));
        assert!(nets.contains(ip("fd00::abcd")));
        assert!(
            nets.contains(ip("::ffff:10.0.3.9")),
            "v4-mapped v6 is the v4 address"
        );
        assert!(!nets.contains(ip("10.0.4.1")));
        assert!(!nets.contains(ip("93.184.216.34")));
        assert_eq!(nets, LocalNetworks::from_report(&r));
        assert_eq!(nets.clone(), nets);
    }

    #[test]
    fn loopback_and_link_local_are_always_local() {
        let nets = LocalNetworks::empty();
        for a in ["127.0.0.1", "127.9.9.9", "::1", "169.254.1.1", "fe80::1"] {
            assert!(nets.contains(ip(a)), "{a}");
            assert!(LinearNetworks::default().contains(ip(a)), "{a}");
        }
        assert!(!nets.contains(ip("8.8.8.8")));
        assert!(!nets.contains(ip("2001:db8::1")));
    }

    #[test]
    fn block_bitmaps_agree_at_the_edges() {
        let set: BTreeSet<String> = ["10.2.0.0/15", "10.4.7.9/32", "192.168.0.0/17"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let nets = LocalNetworks::from_set(&set);
        for (a, want) in [
            ("10.1.255.255", false),
            ("10.2.0.0", true),
            ("10.3.255.255", true),
            ("10.4.0.0", false),
            ("10.4.7.9", true),
            ("10.4.7.10", false),
            ("192.168.127.255", true),
            ("192.168.128.0", false),
        ] {
            assert_eq!(nets.contains(ip(a)), want, "{a}");
        }
        let everything = LocalNetworks::from_set(&["0.0.0.0/0".to_string()].into());
        assert!(everything.contains(ip("8.8.8.8")));
        assert!(!everything.contains(ip("2001:db8::1")));
    }

    fn arb_v4_net() -> impl Strategy<Value = IpNetwork> {
        (
            any::<u32>(),
            prop::sample::select(vec![0u8, 1, 8, 12, 15, 16, 17, 20, 24, 28, 31, 32]),
        )
            .prop_map(|(a, len)| IpNetwork::new_truncate(Ipv4Addr::from(a), len).unwrap())
    }

    fn arb_v6_net() -> impl Strategy<Value = IpNetwork> {
        (
            any::<u128>(),
            prop::sample::select(vec![16u8, 32, 48, 64, 128]),
        )
            .prop_map(|(a, len)| IpNetwork::new_truncate(Ipv6Addr::from(a), len).unwrap())
    }

    proptest! {
        #[test]
        fn trie_agrees_with_linear_scan(
            nets in prop::collection::vec(prop_oneof![3 => arb_v4_net(), 1 => arb_v6_net()], 0..60),
            probes in prop::collection::vec(any::<u32>(), 0..200),
            probes6 in prop::collection::vec(any::<u128>(), 0..50),
        ) {
            let trie = LocalNetworks::from_networks(nets.iter().copied());
            let linear = LinearNetworks::from_networks(nets.iter().copied());
            // Addresses inside each network too, or random probes would almost never hit.
            let inside = nets.iter().map(|n| n.network_address());
            let all = probes
                .into_iter()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
                .chain(probes6.into_iter().map(|a| IpAddr::V6(Ipv6Addr::from(a))))
                .chain(inside);
            for a in all {
                prop_assert_eq!(trie.contains(a), linear.contains(a), "{}", a);
            }
        }
    }
}
