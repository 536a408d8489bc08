//! Docker API objects -> what we keep of them -> report nodes.
//!
//! Inspect results are distilled into small structs when they arrive (so the registry does not
//! hold whole API responses) and turned into nodes on every snapshot, because some values
//! (uptime, "Up 3 minutes") depend on the time of the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ImageSummary, Network, PortMap,
};
use ip_network::IpNetwork;
use scope_report::keys::{self, state};
use scope_report::{Kind, Millis, Node, NodeId};

use crate::controls;

/// What we keep of a container's inspect result.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ContainerInfo {
    pub id: String,
    /// Without Docker's leading '/'.
    pub name: String,
    pub image_id: String,
    /// `Config.Image`: the name the container was created from.
    pub image_name: String,
    pub command: String,
    /// One of `keys::state`.
    pub state: String,
    pub exit_code: i64,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// RFC 3339, as Docker reports it.
    pub created: String,
    pub restart_count: i64,
    pub hostname: String,
    /// Main process on the host; 0 when not running.
    pub pid: u32,
    pub network_mode: String,
    pub labels: BTreeMap<String, String>,
    pub endpoints: Vec<EndpointInfo>,
    /// Formatted like `docker ps`: "0.0.0.0:8080->80/tcp", or "80/tcp" when not published.
    pub ports: BTreeSet<String>,
    /// Memory limit in bytes; 0 for none.
    pub memory_limit: u64,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EndpointInfo {
    pub network: String,
    pub network_id: String,
    pub ips: Vec<IpAddr>,
}

/// What we keep of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnets: Vec<IpNetwork>,
}

/// What we keep of an image.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ImageInfo {
    pub id: String,
    /// The first repo tag ("busybox:1.36"), empty for untagged images.
    pub name: String,
    pub tag: String,
    pub size: i64,
    pub virtual_size: i64,
    pub labels: BTreeMap<String, String>,
}

/// Host facts every node needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeContext<'a> {
    pub host_id: &'a str,
    pub probe_id: &'a str,
    pub networks: &'a [NetworkInfo],
}

impl ContainerInfo {
    /// Distils an inspect result. `None` if it has no id.
    pub(crate) fn from_inspect(c: &ContainerInspectResponse) -> Option<ContainerInfo> {
        let id = c.id.clone().filter(|id| !id.is_empty())?;
        let st = c.state.as_ref();
        let config = c.config.as_ref();
        let host_config = c.host_config.as_ref();
        let flag = |f: fn(&bollard::models::ContainerState) -> Option<bool>| {
            st.and_then(f).unwrap_or(false)
        };
        let started_at = st
            .and_then(|s| s.started_at.as_deref())
            .and_then(parse_rfc3339_millis);
        let finished_at = st
            .and_then(|s| s.finished_at.as_deref())
            .and_then(parse_rfc3339_millis);
        let state = container_state(
            st.and_then(|s| s.status),
            flag(|s| s.running),
            flag(|s| s.paused),
            flag(|s| s.restarting),
            flag(|s| s.dead),
            started_at.is_some(),
        );
        let mut command = c.path.clone().unwrap_or_default();
        for arg in c.args.iter().flatten() {
            command.push(' ');
            command.push_str(arg);
        }
        let mut hostname = config.and_then(|c| c.hostname.clone()).unwrap_or_default();
        if let Some(domain) = config
            .and_then(|c| c.domainname.as_deref())
            .filter(|d| !d.is_empty())
        {
            hostname = format!("{hostname}.{domain}");
        }
        let settings = c.network_settings.as_ref();
        let mut endpoints: Vec<EndpointInfo> = settings
            .and_then(|s| s.networks.as_ref())
            .into_iter()
            .flatten()
            .map(|(name, ep)| EndpointInfo {
                network: name.clone(),
                network_id: ep.network_id.clone().unwrap_or_default(),
                ips: [ep.ip_address.as_deref(), ep.global_ipv6_address.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter_map(|ip| ip.parse().ok())
                    .collect(),
            })
            .collect();
        endpoints.sort_by(|a, b| a.network.cmp(&b.network));
        let running =
            state == state::RUNNING || state == state::PAUSED || state == state::RESTARTING;
        Some(ContainerInfo {
            name: c
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned(),
            image_id: c.image.clone().unwrap_or_default(),
            image_name: config.and_then(|c| c.image.clone()).unwrap_or_default(),
            command,
            exit_code: st.and_then(|s| s.exit_code).unwrap_or(0),
            started_at,
            finished_at,
            // Serialising covers every date type bollard may be built with (string, chrono, time):
            // all of them serialise to RFC 3339.
            created: serde_json::to_value(&c.created)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            restart_count: c.restart_count.unwrap_or(0),
            hostname,
            pid: if running {
                st.and_then(|s| s.pid)
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or(0)
            } else {
                0
            },
            network_mode: host_config
                .and_then(|h| h.network_mode.clone())
                .unwrap_or_default(),
            labels: config
                .and_then(|c| c.labels.as_ref())
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            endpoints,
            ports: settings
                .and_then(|s| s.ports.as_ref())
                .map(format_ports)
                .unwrap_or_default(),
            memory_limit: host_config
                .and_then(|h| h.memory)
                .and_then(|m| u64::try_from(m).ok())
                .unwrap_or(0),
            state,
            id,
        })
    }

    /// Whether the container has processes (and so a cgroup with counters).
    pub(crate) fn is_running(&self) -> bool {
        self.pid != 0
    }
}

/// The state as Weave Scope named it: from the flags first, since they mean the same in every
/// API version, then Docker's status string for what the flags cannot tell apart.
fn container_state(
    status: Option<ContainerStateStatusEnum>,
    running: bool,
    paused: bool,
    restarting: bool,
    dead: bool,
    started: bool,
) -> String {
    let s = if running {
        if paused {
            state::PAUSED
        } else if restarting {
            state::RESTARTING
        } else {
            state::RUNNING
        }
    } else if dead || status == Some(ContainerStateStatusEnum::DEAD) {
        state::DEAD
    } else if status == Some(ContainerStateStatusEnum::CREATED) || !started {
        state::CREATED
    } else {
        state::EXITED
    };
    s.to_owned()
}

/// `docker ps`-style port list.
pub(crate) fn format_ports(ports: &PortMap) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (port, bindings) in ports {
        let bindings = bindings.as_deref().unwrap_or_default();
        if bindings.is_empty() {
            out.insert(port.clone());
        }
        for b in bindings {
            let ip = b
                .host_ip
                .as_deref()
                .filter(|ip| !ip.is_empty())
                .unwrap_or("0.0.0.0");
            let host_port = b.host_port.as_deref().unwrap_or_default();
            if ip.contains(':') {
                out.insert(format!("[{ip}]:{host_port}->{port}"));
            } else {
                out.insert(format!("{ip}:{host_port}->{port}"));
            }
        }
    }
    out
}

impl NetworkInfo {
    /// Distils a network from the network list. `None` without an id.
    pub(crate) fn from_api(n: &Network) -> Option<NetworkInfo> {
        Some(NetworkInfo {
            id: n.id.clone().filter(|id| !id.is_empty())?,
            name: n.name.clone().unwrap_or_default(),
            driver: n.driver.clone().unwrap_or_default(),
            subnets: n
                .ipam
                .as_ref()
                .and_then(|i| i.config.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|c| c.subnet.as_deref().and_then(parse_cidr))
                .collect(),
        })
    }

    /// Whether addresses on this network are private to this host. Bridge networks live on one
    /// host's bridge device; overlay, macvlan and the like reach beyond it.
    pub(crate) fn is_host_local(&self) -> bool {
        self.driver == "bridge"
    }
}

/// "172.17.0.0/16" -> network; host bits are cleared rather than rejected.
fn parse_cidr(s: &str) -> Option<IpNetwork> {
    let (ip, len) = s.split_once('/')?;
    IpNetwork::new_truncate(ip.parse::<IpAddr>().ok()?, len.parse().ok()?).ok()
}

/// Subnets of this host's host-local (bridge) networks.
pub(crate) fn host_local_subnets(networks: &[NetworkInfo]) -> Vec<IpNetwork> {
    let mut out: Vec<IpNetwork> = networks
        .iter()
        .filter(|n| n.is_host_local())
        .flat_map(|n| n.subnets.iter().copied())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `ip` of a container on `ep` is private to this host: the network is a bridge, or, if
/// we have not listed that network yet, the address falls in a known bridge subnet.
fn is_host_local(networks: &[NetworkInfo], ep: &EndpointInfo, ip: IpAddr) -> bool {
    match networks
        .iter()
        .find(|n| n.id == ep.network_id || n.name == ep.network)
    {
        Some(n) => n.is_host_local(),
        None => networks
            .iter()
            .filter(|n| n.is_host_local())
            .any(|n| n.subnets.iter().any(|s| s.contains(ip))),
    }
}

impl ImageInfo {
    /// Distils an image summary.
    pub(crate) fn from_api(i: &ImageSummary) -> ImageInfo {
        let name = i
            .repo_tags
            .iter()
            .find(|t| t.as_str() != "<none>:<none>")
            .cloned()
            .unwrap_or_default();
        ImageInfo {
            id: i.id.clone(),
            tag: image_tag(&name).to_owned(),
            name,
            size: i.size,
            // The API stopped reporting VirtualSize separately (1.44) because it had become equal
            // to Size; keep the key for consumers that read it.
            virtual_size: i.size,
            labels: i
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// "registry:5000/app:1.2" -> "1.2"; "" when the name has no tag.
pub(crate) fn image_tag(name: &str) -> &str {
    match name.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') => tag,
        _ => "",
    }
}

/// The container's node (without metrics, which the collector adds).
pub(crate) fn container_node(c: &ContainerInfo, cx: &NodeContext<'_>, now: Millis) -> Node {
    let mut n = Node::new(NodeId::container(&c.id), Kind::Container);
    let host_node = NodeId::host(cx.host_id);
    let mut set = |key: &str, value: &str| n.set_latest(key, now, value);
    set(keys::CONTAINER_ID, &c.id);
    set(keys::CONTAINER_NAME, &c.name);
    set(keys::CONTAINER_IMAGE, &c.image_id);
    set(keys::CONTAINER_IMAGE_NAME, &c.image_name);
    set(keys::CONTAINER_COMMAND, &c.command);
    set(keys::CONTAINER_STATE, &c.state);
    set(keys::CONTAINER_STATE_HUMAN, &state_human(c, now));
    set(keys::CONTAINER_CREATED, &c.created);
    set(keys::CONTAINER_RESTART_COUNT, &c.restart_count.to_string());
    set(keys::CONTAINER_HOSTNAME, &c.hostname);
    set(keys::CONTAINER_NETWORK_MODE, &c.network_mode);
    set(keys::HOST_NODE_ID, host_node.as_str());
    set(keys::CONTROL_PROBE_ID, cx.probe_id);
    set(
        keys::ACTIVE_CONTROLS,
        &controls::active_controls_value(&c.state),
    );
    if c.pid != 0 {
        set(keys::CONTAINER_PID, &c.pid.to_string());
    }
    if c.state == state::RUNNING
        && let Some(started) = c.started_at
    {
        set(
            keys::CONTAINER_UPTIME,
            &((now - started).max(0) / 1000).to_string(),
        );
    }
    for (k, v) in &c.labels {
        n.set_latest(&format!("{}{k}", keys::LABEL_PREFIX), now, v.as_str());
    }
    let mut ips = Vec::new();
    let mut scoped = Vec::new();
    for ep in &c.endpoints {
        for &ip in &ep.ips {
            ips.push(ip.to_string());
            let scope = if is_host_local(cx.networks, ep, ip) {
                cx.host_id
            } else {
                ""
            };
            // Same "<scope>;<ip>" shape as address ids, so render can join endpoints to containers.
            scoped.push(NodeId::address(scope, ip).as_str().to_owned());
        }
    }
    n.add_to_set(keys::CONTAINER_IPS, ips);
    n.add_to_set(keys::CONTAINER_IPS_WITH_SCOPES, scoped);
    n.add_to_set(
        keys::CONTAINER_NETWORKS,
        c.endpoints.iter().map(|e| e.network.clone()),
    );
    n.add_to_set(keys::CONTAINER_PORTS, c.ports.iter().cloned());
    n.add_parent(Kind::Host, host_node);
    if !c.image_id.is_empty() {
        n.add_parent(Kind::ContainerImage, NodeId::container_image(&c.image_id));
    }
    n
}

/// The node a shortcut sends when a container is destroyed: newer than anything reported before,
/// so it wins the merge and the app drops the container.
pub(crate) fn deleted_container_node(id: &str, cx: &NodeContext<'_>, now: Millis) -> Node {
    Node::new(NodeId::container(id), Kind::Container)
        .with_latest(keys::CONTAINER_ID, now, id)
        .with_latest(keys::CONTAINER_STATE, now, state::DELETED)
        .with_latest(keys::CONTAINER_STATE_HUMAN, now, "Deleted")
        .with_latest(keys::ACTIVE_CONTROLS, now, "")
        .with_latest(keys::HOST_NODE_ID, now, NodeId::host(cx.host_id).as_str())
        .with_latest(keys::CONTROL_PROBE_ID, now, cx.probe_id)
}

/// An image's node.
pub(crate) fn image_node(i: &ImageInfo, cx: &NodeContext<'_>, now: Millis) -> Node {
    let host_node = NodeId::host(cx.host_id);
    let mut n = Node::new(NodeId::container_image(&i.id), Kind::ContainerImage)
        .with_latest(keys::IMAGE_ID, now, i.id.as_str())
        .with_latest(keys::IMAGE_SIZE, now, i.size.to_string())
        .with_latest(keys::IMAGE_VIRTUAL_SIZE, now, i.virtual_size.to_string())
        .with_latest(keys::HOST_NODE_ID, now, host_node.as_str());
    if !i.name.is_empty() {
        n.set_latest(keys::IMAGE_NAME, now, i.name.as_str());
        n.set_latest(keys::IMAGE_TAG, now, i.tag.as_str());
    }
    for (k, v) in &i.labels {
        n.set_latest(
            &format!("{}{k}", scope_report::keys::IMAGE_LABEL_PREFIX),
            now,
            v.as_str(),
        );
    }
    n.add_parent(Kind::Host, host_node);
    n
}

/// Docker's own status line ("Up 3 minutes", "Exited (0) 5 seconds ago"), from
/// `container.State.String()`.
pub(crate) fn state_human(c: &ContainerInfo, now: Millis) -> String {
    let since = |t: Option<Millis>| human_duration(now - t.unwrap_or(now));
    match c.state.as_str() {
        state::PAUSED => format!("Up {} (Paused)", since(c.started_at)),
        state::RESTARTING => format!("Restarting ({}) {} ago", c.exit_code, since(c.finished_at)),
        state::RUNNING => format!("Up {}", since(c.started_at)),
        state::DEAD => "Dead".to_owned(),
        state::CREATED => "Created".to_owned(),
        _ if c.finished_at.is_none() => "Exited".to_owned(),
        _ => format!("Exited ({}) {} ago", c.exit_code, since(c.finished_at)),
    }
}

/// Docker's `units.HumanDuration`.
pub(crate) fn human_duration(ms: Millis) -> String {
    let secs = ms / 1000;
    let minutes = secs / 60;
    // Docker rounds hours to the nearest.
    let hours = (ms + 1_800_000) / 3_600_000;
    match () {
        _ if secs < 1 => "Less than a second".to_owned(),
        _ if secs == 1 => "1 second".to_owned(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".to_owned(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_owned(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", ms / 3_600_000 / 24 / 365),
    }
}

/// Parses an RFC 3339 time ("2026-11-23T03:48:19.776689495Z", "...+02:00") to Unix
/// milliseconds. Go's zero time ("0001-01-01T00:00:00Z"), which Docker uses for "never", is `None`.
pub(crate) fn parse_rfc3339_millis(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if year <= 1 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let ms_digits = &frac[..digits.min(3)];
        millis = ms_digits.parse::<i64>().ok()? * 10_i64.pow(3 - ms_digits.len() as u32);
        rest = &frac[digits..];
    }
    let offset_secs = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let secs = h * 3600 + m * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real `docker inspect` of API 1.41 (Docker 20.10).
    const INSPECT: &str = r#"{
      "Id": "bda9c267bcf3807e24e8ffaba9d44ac3d32599e49f2c7a56c5bb7759fb7e31c7",
      "Created": "2026-11-23T03:48:19.491777486Z",
      "Path": "httpd",
      "Args": ["-f", "-p", "80", "-h", "/www"],
      "State": {"Status": "running", "Running": true, "Paused": false, "Restarting": false,
        "OOMKilled": false, "Dead": false, "Pid": 12156, "ExitCode": 0, "Error": "",
        "StartedAt": "2026-11-23T03:48:19.776689495Z", "FinishedAt": "0001-01-01T00:00:00Z"},
      "Image": "sha256:7124be656702ecc1aec63b7ea28221ae9d74c5fe625eccad9d38da5225d08299",
      "Name": "/web",
      "RestartCount": 2,
      "HostConfig": {"NetworkMode": "default", "Memory": 0,
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
      "Config": {"Hostname": "bda9c267bcf3", "Domainname": "", "Image": "scope-test-busybox:latest",
        "ExposedPorts": {"80/tcp": {}}, "Labels": {"app": "web", "tier": "front"}},
      "NetworkSettings": {
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
                  "443/tcp": null},
        "IPAddress": "172.17.0.2",
        "Networks": {
          "bridge": {"NetworkID": "7b00e7c98a10", "IPAddress": "172.17.0.2", "IPPrefixLen": 16,
                     "GlobalIPv6Address": ""},
          "overlay1": {"NetworkID": "ov1", "IPAddress": "10.0.9.3", "IPPrefixLen": 24}
        }
      }
    }"#;

    fn networks() -> Vec<NetworkInfo> {
        vec![
            NetworkInfo {
                id: "7b00e7c98a10".into(),
                name: "bridge".into(),
                driver: "bridge".into(),
                subnets: vec![parse_cidr("172.17.0.0/16").unwrap()],
            },
            NetworkInfo {
                id: "ov1".into(),
                name: "overlay1".into(),
                driver: "overlay".into(),
                subnets: vec![parse_cidr("10.0.9.0/24").unwrap()],
            },
        ]
    }

    fn info() -> ContainerInfo {
        let inspect: ContainerInspectResponse = serde_json::from_str(INSPECT).unwrap();
        ContainerInfo::from_inspect(&inspect).unwrap()
    }

    #[test]
    fn inspect_is_distilled() {
        let c = info();
        assert_eq!(c.name, "web");
        assert_eq!(c.command, "httpd -f -p 80 -h /www");
        assert_eq!(c.state, state::RUNNING);
        assert_eq!(c.pid, 12156);
        assert_eq!(c.image_name, "scope-test-busybox:latest");
        assert_eq!(c.created, "2026-11-23T03:48:19.491777486Z");
        assert_eq!(c.finished_at, None);
        assert_eq!(c.restart_count, 2);
        assert_eq!(
            c.ports.iter().map(String::as_str).collect::<Vec<_>>(),
            ["0.0.0.0:8080->80/tcp", "443/tcp", "[::]:8080->80/tcp"]
        );
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(
            c.endpoints[0].ips,
            ["172.17.0.2".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn container_node_has_metadata_scopes_parents_and_controls() {
        let nets = networks();
        let cx = NodeContext {
            host_id: "h1",
            probe_id: "p1",
            networks: &nets,
        };
        let c = info();
        let now = c.started_at.unwrap() + 200_000;
        let n = container_node(&c, &cx, now);
        assert_eq!(n.id, NodeId::container(&c.id));
        assert_eq!(n.get(keys::CONTAINER_NAME), Some("web"));
        assert_eq!(n.get(keys::CONTAINER_STATE_HUMAN), Some("Up 3 minutes"));
        assert_eq!(n.get(keys::CONTAINER_UPTIME), Some("200"));
        assert_eq!(n.get(keys::CONTAINER_PID), Some("12156"));
        assert_eq!(n.get(keys::CONTAINER_NETWORK_MODE), Some("default"));
        assert_eq!(n.get("docker_label_app"), Some("web"));
        assert_eq!(n.get(keys::HOST_NODE_ID), Some("h1;<host>"));
        assert_eq!(n.get(keys::CONTROL_PROBE_ID), Some("p1"));
        assert_eq!(
            n.get(keys::ACTIVE_CONTROLS),
            Some("docker_restart_container;docker_pause_container;docker_stop_container")
        );
        let scoped: Vec<&str> = n.sets[keys::CONTAINER_IPS_WITH_SCOPES]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(scoped, [";10.0.9.3", "h1;172.17.0.2"]);
        assert!(n.sets[keys::CONTAINER_NETWORKS].contains("overlay1"));
        assert!(n.parents[&Kind::Host].contains(&NodeId::host("h1")));
        assert!(n.parents[&Kind::ContainerImage].contains(&NodeId::container_image(&c.image_id)));
    }

    #[test]
    fn unknown_network_falls_back_to_bridge_subnets() {
        let nets = networks();
        let ep = EndpointInfo {
            network: "new".into(),
            network_id: "n2".into(),
            ips: vec![],
        };
        assert!(is_host_local(&nets, &ep, "172.17.5.5".parse().unwrap()));
        assert!(!is_host_local(&nets, &ep, "192.168.0.1".parse().unwrap()));
        assert_eq!(
            host_local_subnets(&nets),
            vec![parse_cidr("172.17.0.0/16").unwrap()]
        );
        assert_eq!(parse_cidr("172.18.0.1/16"), parse_cidr("172.18.0.0/16"));
    }

    #[test]
    fn stopped_states() {
        let exited = r#"{"Id": "x", "State": {"Status": "exited", "Running": false, "ExitCode": 137,
            "Pid": 0, "StartedAt": "2026-01-01T00:00:00Z", "FinishedAt": "2026-01-01T00:00:10Z"}}"#;
        let c = ContainerInfo::from_inspect(&serde_json::from_str(exited).unwrap()).unwrap();
        assert_eq!(c.state, state::EXITED);
        assert!(!c.is_running());
        assert_eq!(
            state_human(&c, c.finished_at.unwrap() + 5_000),
            "Exited (137) 5 seconds ago"
        );
        let created = r#"{"Id": "y", "State": {"Status": "created", "Running": false, "Pid": 0,
            "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}}"#;
        let c = ContainerInfo::from_inspect(&serde_json::from_str(created).unwrap()).unwrap();
        assert_eq!(c.state, state::CREATED);
        assert_eq!(state_human(&c, 0), "Created");
        let paused = r#"{"Id": "z", "State": {"Status": "paused", "Running": true, "Paused": true,
            "Pid": 7, "StartedAt": "2026-01-01T00:00:00Z"}}"#;
        let c = ContainerInfo::from_inspect(&serde_json::from_str(paused).unwrap()).unwrap();
        assert_eq!(c.state, state::PAUSED);
        assert_eq!(c.pid, 7);
    }

    #[test]
    fn image_node_from_summary() {
        let summary = r#"{"Id": "sha256:abc", "ParentId": "", "RepoTags": ["localhost:5000/app:1.2"],
            "RepoDigests": null, "Created": 1, "Size": 2000, "SharedSize": -1, "VirtualSize": 2000,
            "Labels": {"maintainer": "me"}, "Containers": -1}"#;
        let img = ImageInfo::from_api(&serde_json::from_str(summary).unwrap());
        assert_eq!(img.name, "localhost:5000/app:1.2");
        assert_eq!(img.tag, "1.2");
        let nets = networks();
        let cx = NodeContext {
            host_id: "h1",
            probe_id: "p1",
            networks: &nets,
        };
        let n = image_node(&img, &cx, 1);
        assert_eq!(n.id, NodeId::container_image("sha256:abc"));
        assert_eq!(n.get(keys::IMAGE_SIZE), Some("2000"));
        assert_eq!(n.get("docker_image_label_maintainer"), Some("me"));
        assert_eq!(image_tag("localhost:5000/app"), "");
        let untagged = r#"{"Id": "sha256:d", "ParentId": "", "RepoTags": ["<none>:<none>"],
            "RepoDigests": [], "Created": 1, "Size": 1, "SharedSize": -1, "Labels": null, "Containers": -1}"#;
        let img = ImageInfo::from_api(&serde_json::from_str(untagged).unwrap());
        assert_eq!(img.name, "");
        assert_eq!(image_node(&img, &cx, 1).get(keys::IMAGE_NAME), None);
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_millis("2026-11-23T03:48:19.776689495Z"),
            Some(1_795_405_699_776)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-23T05:48:19.5+02:00"),
            Some(1_795_405_699_500)
        );
        assert_eq!(parse_rfc3339_millis("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_millis("garbage"), None);
    }

    #[test]
    fn human_durations_match_docker() {
        assert_eq!(human_duration(500), "Less than a second");
        assert_eq!(human_duration(1_000), "1 second");
        assert_eq!(human_duration(45_000), "45 seconds");
        assert_eq!(human_duration(90_000), "About a minute");
        assert_eq!(human_duration(180_000), "3 minutes");
        assert_eq!(human_duration(3_600_000), "About an hour");
        assert_eq!(human_duration(5 * 3_600_000), "5 hours");
        assert_eq!(human_duration(3 * 86_400_000), "3 days");
    }
}
