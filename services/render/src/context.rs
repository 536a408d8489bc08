//! Indexes over one report, built once per render and shared by the views rendered from it.
//!
//! Everything borrows from the report: lookups are keyed by `&str` slices of ids and latest
//! values, so indexing 100,000 endpoints allocates only the tables themselves.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::OnceLock;

use scope_report::{Kind, Node, NodeId, Report, keys};

use crate::filters;
use crate::fxhash::{FxHashMap, map_with_capacity};
use crate::latest::scan;
use crate::names::{container_name, image_name_without_tag, truncate};
use crate::networks::LocalNetworks;

/// A process, from the Process topology or (`node == None`) only known from an endpoint's pid.
pub(crate) struct Proc<'r> {
    pub node: Option<&'r Node>,
    pub id: Cow<'r, str>,
    pub host: &'r str,
    /// The host's number ([`Ctx::host_ids`]): views group by it without hashing strings.
    pub host_no: u32,
    pub name: Option<&'r str>,
    /// Index into [`Ctx::containers`].
    pub container: Option<u32>,
}

/// A container, from the Container topology or (`node == None`) only known from a process's
/// `docker_container_id`, with what every view asks of it read once.
pub(crate) struct Cont<'r> {
    pub node: Option<&'r Node>,
    pub id: Cow<'r, str>,
    pub host: Option<&'r str>,
    /// Docker's container id.
    pub cid: &'r str,
    /// Display name.
    pub name: &'r str,
    /// Full image name, tag included.
    pub image: Option<&'r str>,
    /// Image name for grouping ([`crate::names::image_name_without_tag`]).
    pub image_group: Option<&'r str>,
    pub hostname: Option<&'r str>,
    pub state: Option<&'r str>,
    pub system: bool,
}

impl<'r> Cont<'r> {
    fn new(node: &'r Node, images: &FxHashMap<&'r str, &'r Node>) -> Cont<'r> {
        let [cid, image, image_id, hostname, state, host_node_id] = scan(
            node,
            &[
                keys::CONTAINER_ID,
                keys::CONTAINER_IMAGE_NAME,
                keys::CONTAINER_IMAGE,
                keys::CONTAINER_HOSTNAME,
                keys::CONTAINER_STATE,
                keys::HOST_NODE_ID,
            ],
        );
        let cid = cid.unwrap_or_else(|| node.id.first_part());
        let image = image.or_else(|| images.get(image_id?)?.get(keys::IMAGE_NAME));
        let image_group = image.map(image_name_without_tag).filter(|g| !g.is_empty());
        Cont {
            node: Some(node),
            id: Cow::Borrowed(node.id.as_str()),
            host: host_node_id
                .map(host_of)
                .or_else(|| node.parents_of(Kind::Host).next().map(|h| h.first_part())),
            cid,
            name: container_name(node, cid),
            image,
            image_group,
            hostname,
            state,
            system: filters::is_system(node, image),
        }
    }

    fn unknown(cid: &'r str, host: &'r str) -> Cont<'r> {
        Cont {
            node: None,
            id: Cow::Owned(NodeId::container(cid).as_str().to_owned()),
            host: Some(host),
            cid,
            name: truncate(cid, 12),
            image: None,
            image_group: None,
            hostname: None,
            state: None,
            system: false,
        }
    }

    /// Deleted containers are gone: never shown, whatever the options.
    pub fn deleted(&self) -> bool {
        self.state == Some(keys::state::DELETED)
    }
}

/// What an endpoint belongs to, decided once per render. Kept to 8 bytes: there are 100,000
/// endpoints, and the rare cases that need more (pid-less local endpoints) re-read their node.
#[derive(Clone, Copy)]
pub(crate) enum EpClass {
    /// Owned by a process (index into [`Ctx::procs`]).
    Process(u32),
    /// A remote address outside every local network.
    Internet { inbound: bool },
    /// A local address with no process: maybe a container's, by address (see [`Ep::local`]).
    Local,
    /// Unparsable id.
    Unknown,
}

pub(crate) struct Ep<'r> {
    pub node: &'r Node,
    pub class: EpClass,
}

impl<'r> Ep<'r> {
    /// Scope, address and port of a [`EpClass::Local`] endpoint.
    pub fn local(&self) -> Option<(&'r str, IpAddr, u16)> {
        self.node.id.parse_endpoint()
    }

    /// The host id its probe recorded, if any.
    pub fn host(&self) -> Option<&'r str> {
        self.node.get(keys::HOST_NODE_ID).map(host_of)
    }
}

/// Container attribution by address, for endpoints without a process (short-lived connections,
/// conntrack-only flows). `None` values mark addresses shared by several containers.
#[derive(Default)]
pub(crate) struct IpIndex<'r> {
    scoped: FxHashMap<(&'r str, IpAddr), Option<u32>>,
    unscoped: FxHashMap<IpAddr, Option<u32>>,
    ports: FxHashMap<(IpAddr, u16), Option<u32>>,
    /// Addresses of the hosts themselves (their interfaces, from `local_networks`), by (host
    /// id, address): a connection from one with no known process is the host's.
    host_addresses: FxHashMap<(&'r str, IpAddr), &'r str>,
}

impl<'r> IpIndex<'r> {
    /// The container an endpoint address belongs to. Scoped addresses are exact, so they are
    /// tried first; a match on a shared address stops the search rather than guessing.
    pub fn lookup(&self, scope: &str, ip: IpAddr, port: u16) -> Option<u32> {
        if let Some(hit) = self.scoped.get(&(scope, ip)) {
            return *hit;
        }
        if let Some(hit) = self.unscoped.get(&ip) {
            return *hit;
        }
        self.ports.get(&(ip, port)).copied().flatten()
    }

    /// The host whose own address `ip` is, in the endpoint scope `scope` (a host id).
    pub fn host_address(&self, scope: &str, ip: IpAddr) -> Option<&'r str> {
        self.host_addresses.get(&(scope, ip)).copied()
    }
}

fn claim<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Option<u32>>, key: K, c: u32) {
    map.entry(key)
        .and_modify(|v| {
            if *v != Some(c) {
                *v = None;
            }
        })
        .or_insert(Some(c));
}

/// The host id of a `host_node_id` value ("<host>;<host>").
pub(crate) fn host_of(host_node_id: &str) -> &str {
    host_node_id.split(';').next().unwrap_or("")
}

/// The host id a node says it is on: `host_node_id`, else its first host parent.
pub(crate) fn node_host(n: &Node) -> Option<&str> {
    if let Some(h) = n.get(keys::HOST_NODE_ID) {
        return Some(host_of(h));
    }
    n.parents_of(Kind::Host).next().map(|h| h.first_part())
}

pub(crate) struct Ctx<'r> {
    pub report: &'r Report,
    /// Host ids by host number (hosts of processes, numbered as first seen).
    pub host_ids: Vec<&'r str>,
    pub procs: Vec<Proc<'r>>,
    pub containers: Vec<Cont<'r>>,
    pub container_index: FxHashMap<&'r str, u32>,
    pub hosts: FxHashMap<&'r str, &'r Node>,
    pub images: FxHashMap<&'r str, &'r Node>,
    pub eps: Vec<Ep<'r>>,
    pub ep_index: FxHashMap<&'r str, u32>,
    ip_index: OnceLock<IpIndex<'r>>,
}

/// Reports at least this big index their endpoints on a second thread while the first reads
/// processes: both passes wait on memory, not arithmetic, so two cores nearly halve them.
const PARALLEL_ENDPOINTS: usize = 8_192;

/// An endpoint as the first pass reads it, before pids are matched to processes.
struct PreEp<'r> {
    node: &'r Node,
    owner: Option<(&'r str, u32)>,
    class: EpClass,
}

fn pre_endpoints<'r>(
    report: &'r Report,
    nets: &LocalNetworks,
) -> (Vec<PreEp<'r>>, FxHashMap<&'r str, u32>) {
    let n_ep = report.topology(Kind::Endpoint).map_or(0, |t| t.nodes.len());
    let mut eps = Vec::with_capacity(n_ep);
    let mut ep_index = map_with_capacity(n_ep);
    for e in report.nodes(Kind::Endpoint) {
        let [host, pid] = scan(e, &[keys::HOST_NODE_ID, keys::PID]);
        let owner = match (host, pid.and_then(|s| s.parse::<u32>().ok())) {
            (Some(host), Some(pid)) => Some((host_of(host), pid)),
            _ => None,
        };
        let class = match owner {
            Some(_) => EpClass::Unknown,
            None => match e.id.parse_endpoint() {
                Some((_, ip, _)) if nets.contains(ip) => EpClass::Local,
                // Someone who connected to us has adjacency (an edge to our endpoint).
                Some(_) => EpClass::Internet {
                    inbound: !e.adjacency.is_empty(),
                },
                None => EpClass::Unknown,
            },
        };
        ep_index.insert(e.id.as_str(), eps.len() as u32);
        eps.push(PreEp {
            node: e,
            owner,
            class,
        });
    }
    (eps, ep_index)
}

/// Processes and containers, and an index of processes by (host number, pid): hosts are
/// numbered so that matching an endpoint's pid compares two integers, not two strings.
struct ProcIndex<'r> {
    procs: Vec<Proc<'r>>,
    containers: Vec<Cont<'r>>,
    container_index: FxHashMap<&'r str, u32>,
    host_numbers: FxHashMap<&'r str, u32>,
    host_ids: Vec<&'r str>,
    by_pid: FxHashMap<u64, u32>,
}

impl<'r> ProcIndex<'r> {
    fn build(report: &'r Report, images: &FxHashMap<&'r str, &'r Node>) -> ProcIndex<'r> {
        let n_cont = report
            .topology(Kind::Container)
            .map_or(0, |t| t.nodes.len());
        let mut containers = Vec::with_capacity(n_cont);
        let mut container_index = map_with_capacity(n_cont);
        for c in report.nodes(Kind::Container) {
            let cont = Cont::new(c, images);
            container_index.insert(cont.cid, containers.len() as u32);
            containers.push(cont);
        }
        let n_proc = report.topology(Kind::Process).map_or(0, |t| t.nodes.len());
        let mut idx = ProcIndex {
            procs: Vec::with_capacity(n_proc),
            containers,
            container_index,
            host_numbers: FxHashMap::default(),
            host_ids: Vec::new(),
            by_pid: map_with_capacity(n_proc),
        };
        for p in report.nodes(Kind::Process) {
            let [cid, name] = scan(p, &[keys::DOCKER_CONTAINER_ID, keys::NAME]);
            let (host, pid) = p.id.parse_process().unwrap_or_else(|| {
                let [pid, host] = scan(p, &[keys::PID, keys::HOST_NODE_ID]);
                (
                    host.map(host_of).unwrap_or(""),
                    pid.and_then(|s| s.parse().ok()).unwrap_or(0),
                )
            });
            let container = cid.map(|cid| {
                *idx.container_index.entry(cid).or_insert_with(|| {
                    idx.containers.push(Cont::unknown(cid, host));
                    idx.containers.len() as u32 - 1
                })
            });
            let host_no = idx.host_no(host);
            idx.by_pid.insert(key(host_no, pid), idx.procs.len() as u32);
            idx.procs.push(Proc {
                node: Some(p),
                id: Cow::Borrowed(p.id.as_str()),
                host,
                host_no,
                name: name.filter(|n| !n.is_empty()),
                container,
            });
        }
        idx
    }

    fn host_no(&mut self, host: &'r str) -> u32 {
        let next = self.host_ids.len() as u32;
        let no = *self.host_numbers.entry(host).or_insert(next);
        if no == next {
            self.host_ids.push(host);
        }
        no
    }

    /// The process owning pid `pid` on `host`; one only known from endpoints is made up.
    fn process(&mut self, host: &'r str, pid: u32) -> u32 {
        let host_no = self.host_no(host);
        *self.by_pid.entry(key(host_no, pid)).or_insert_with(|| {
            // A pid the process walker has not reported (yet): still a process.
            self.procs.push(Proc {
                node: None,
                id: Cow::Owned(NodeId::process(host, pid).as_str().to_owned()),
                host,
                host_no,
                name: None,
                container: None,
            });
            self.procs.len() as u32 - 1
        })
    }
}

fn key(host_no: u32, pid: u32) -> u64 {
    (u64::from(host_no) << 32) | u64::from(pid)
}

impl<'r> Ctx<'r> {
    pub fn new(report: &'r Report, nets: &'r LocalNetworks) -> Ctx<'r> {
        let mut hosts = FxHashMap::default();
        for h in report.nodes(Kind::Host) {
            hosts.insert(h.id.first_part(), h);
        }
        let mut images = FxHashMap::default();
        for i in report.nodes(Kind::ContainerImage) {
            images.insert(i.id.first_part(), i);
        }

        let n_ep = report.topology(Kind::Endpoint).map_or(0, |t| t.nodes.len());
        let (mut pi, (pre, ep_index)) = if n_ep >= PARALLEL_ENDPOINTS {
            std::thread::scope(|s| {
                // No thread to be had (limits) just means doing both passes here.
                let eps = std::thread::Builder::new()
                    .name("render-endpoints".into())
                    .spawn_scoped(s, || pre_endpoints(report, nets))
                    .ok();
                let pi = ProcIndex::build(report, &images);
                let eps = match eps {
                    // A panic in the endpoint pass is a bug; surface it rather than hide it.
                    Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    None => pre_endpoints(report, nets),
                };
                (pi, eps)
            })
        } else {
            (
                ProcIndex::build(report, &images),
                pre_endpoints(report, nets),
            )
        };
        let eps = pre
            .into_iter()
            .map(|p| Ep {
                node: p.node,
                class: match p.owner {
                    Some((host, pid)) => EpClass::Process(pi.process(host, pid)),
                    None => p.class,
                },
            })
            .collect();

        Ctx {
            report,
            host_ids: pi.host_ids,
            procs: pi.procs,
            containers: pi.containers,
            container_index: pi.container_index,
            hosts,
            images,
            eps,
            ep_index,
            ip_index: OnceLock::new(),
        }
    }

    /// The address index, built on first use (only the container views need it).
    pub fn ip_index(&self) -> &IpIndex<'r> {
        self.ip_index.get_or_init(|| self.build_ip_index())
    }

    fn build_ip_index(&self) -> IpIndex<'r> {
        let mut idx = IpIndex::default();
        for (&host, node) in &self.hosts {
            // "172.17.0.1/16": the interface's own address, then its prefix.
            for cidr in node.sets.get(keys::LOCAL_NETWORKS).into_iter().flatten() {
                let addr = cidr.split('/').next().unwrap_or_default();
                if let Ok(ip) = addr.parse::<IpAddr>()
                    && !ip.is_loopback()
                {
                    idx.host_addresses.insert((host, ip), host);
                }
            }
        }
        for (i, c) in self.containers.iter().enumerate() {
            let Some(n) = c.node else { continue };
            let i = i as u32;
            // A container in the host's network namespace shares the host's addresses: any
            // process on the host could own a connection to them.
            let host_net = n.get("docker_is_in_host_network").is_some()
                || n.get(keys::CONTAINER_NETWORK_MODE) == Some("host");
            if host_net || c.deleted() {
                continue;
            }
            for addr in n
                .sets
                .get(keys::CONTAINER_IPS_WITH_SCOPES)
                .into_iter()
                .flatten()
            {
                let Some((scope, ip)) = addr.rsplit_once(';') else {
                    continue;
                };
                match ip.parse::<IpAddr>() {
                    Ok(ip) if !ip.is_loopback() => claim(&mut idx.scoped, (scope, ip), i),
                    _ => {}
                }
            }
            for ip in n.sets.get(keys::CONTAINER_IPS).into_iter().flatten() {
                match ip.parse::<IpAddr>() {
                    Ok(ip) if !ip.is_loopback() => claim(&mut idx.unscoped, ip, i),
                    _ => {}
                }
            }
            for mapping in n.sets.get(keys::CONTAINER_PORTS).into_iter().flatten() {
                if let Some(key) = parse_port_mapping(mapping) {
                    claim(&mut idx.ports, key, i);
                }
            }
        }
        idx
    }

    /// The display name of a host id: its `host_name`, else the id.
    pub fn host_name<'a>(&'a self, host: &'a str) -> &'a str {
        self.hosts
            .get(host)
            .and_then(|h| h.get(keys::HOST_NAME))
            .unwrap_or(host)
    }
}

/// "0.0.0.0:8080->80/tcp" -> (0.0.0.0, 8080): the host side of a published port.
fn parse_port_mapping(s: &str) -> Option<(IpAddr, u16)> {
    let (host_side, rest) = s.split_once("->")?;
    if !rest.ends_with("/tcp") {
        return None;
    }
    let (ip, port) = host_side.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some((ip.parse().ok()?, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mappings() {
        assert_eq!(
            parse_port_mapping("10.0.0.1:8080->80/tcp"),
            Some(("10.0.0.1".parse().unwrap(), 8080))
        );
        assert_eq!(parse_port_mapping("80/tcp"), None);
        assert_eq!(parse_port_mapping("0.0.0.0:53->53/udp"), None);
    }
}
