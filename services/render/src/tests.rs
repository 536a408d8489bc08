//! Render tests on a small hand-built report (two hosts, five containers, the Internet) and the
//! synthetic fleet.

use std::collections::BTreeMap;
use std::net::IpAddr;

use scope_report::{Control, Kind, Metric, Node, NodeId, Report, keys, synthetic};

use crate::*;

const TS: i64 = 1_700_000_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn host(r: &mut Report, h: &str, nets: &[&str]) {
    let mut n = Node::new(NodeId::host(h), Kind::Host)
        .with_latest(keys::HOST_NAME, TS, h)
        .with_latest(keys::OS, TS, "linux")
        .with_latest(keys::KERNEL_VERSION, TS, "6.1.0")
        .with_latest(keys::CONTROL_PROBE_ID, TS, format!("probe-{h}"));
    n.add_to_set(keys::LOCAL_NETWORKS, nets.iter().copied());
    n.set_metric(keys::HOST_CPU, Metric::single(TS, 12.5, 0.0, 100.0));
    r.add_node(n);
}

fn container(
    r: &mut Report,
    h: &str,
    cid: &str,
    name: &str,
    image: &str,
    state: &str,
    ip4: Option<&str>,
) {
    let mut n = Node::new(NodeId::container(cid), Kind::Container)
        .with_latest(keys::CONTAINER_ID, TS, cid)
        .with_latest(keys::CONTAINER_NAME, TS, name)
        .with_latest(keys::CONTAINER_IMAGE_NAME, TS, image)
        .with_latest(keys::CONTAINER_STATE, TS, state)
        .with_latest(keys::CONTAINER_HOSTNAME, TS, name.trim_start_matches('/'))
        .with_latest(keys::HOST_NODE_ID, TS, NodeId::host(h).as_str())
        .with_latest(keys::CONTROL_PROBE_ID, TS, format!("probe-{h}"));
    if let Some(a) = ip4 {
        n.add_to_set(keys::CONTAINER_IPS, [a]);
        n.add_to_set(keys::CONTAINER_IPS_WITH_SCOPES, [format!("{h};{a}")]);
    }
    n.add_parent(Kind::Host, NodeId::host(h));
    n.set_metric(keys::CONTAINER_CPU, Metric::single(TS, 2.0, 0.0, 100.0));
    n.set_metric(keys::CONTAINER_MEMORY, Metric::single(TS, 1e6, 0.0, 1e9));
    r.add_node(n);
}

fn process(r: &mut Report, h: &str, pid: u32, name: &str, cid: Option<&str>) {
    let mut n = Node::new(NodeId::process(h, pid), Kind::Process)
        .with_latest(keys::PID, TS, pid.to_string())
        .with_latest(keys::NAME, TS, name)
        .with_latest(keys::CMDLINE, TS, format!("/usr/bin/{name}"))
        .with_latest(keys::HOST_NODE_ID, TS, NodeId::host(h).as_str());
    if let Some(c) = cid {
        n.set_latest(keys::DOCKER_CONTAINER_ID, TS, c);
        n.add_parent(Kind::Container, NodeId::container(c));
    }
    n.add_parent(Kind::Host, NodeId::host(h));
    n.set_metric(keys::PROCESS_CPU, Metric::single(TS, 1.0, 0.0, 100.0));
    r.add_node(n);
}

/// An endpoint `<scope>;<ip>;<port>`, owned by `owner` = (host, pid) if given, with edges to
/// `to` (endpoint ids).
fn endpoint(
    r: &mut Report,
    id: (&str, &str, u16),
    owner: Option<(&str, u32)>,
    to: &[(&str, &str, u16)],
) {
    let mut n = Node::new(NodeId::endpoint(id.0, ip(id.1), id.2), Kind::Endpoint);
    if let Some((h, pid)) = owner {
        n.set_latest(keys::PID, TS, pid.to_string());
        n.set_latest(keys::HOST_NODE_ID, TS, NodeId::host(h).as_str());
    }
    for t in to {
        n.adjacency.insert(NodeId::endpoint(t.0, ip(t.1), t.2));
    }
    r.add_node(n);
}

/// Two hosts. h1 runs web (c1), db (c2), a stopped box (c3) and Scope itself (c4); h2 runs a
/// second web (c5). curl on h2 calls nginx; nginx calls postgres and the Internet; someone on
/// the Internet reaches sshd (uncontained); a short-lived pid-less flow goes web -> db.
fn fixture() -> Report {
    let mut r = Report::new(TS);
    host(&mut r, "h1", &["10.0.0.10/24", "172.17.0.1/16"]);
    host(&mut r, "h2", &["10.0.1.5/24"]);
    container(
        &mut r,
        "h1",
        "c1",
        "/web",
        "quay.io/acme/web:1.2",
        "running",
        Some("172.17.0.2"),
    );
    container(
        &mut r,
        "h1",
        "c2",
        "db",
        "postgres:16",
        "running",
        Some("172.17.0.3"),
    );
    container(&mut r, "h1", "c3", "old", "busybox:latest", "exited", None);
    container(
        &mut r,
        "h1",
        "c4",
        "weavescope",
        "weaveworks/scope:1.13.2",
        "running",
        None,
    );
    container(
        &mut r,
        "h2",
        "c5",
        "web-2",
        "quay.io/acme/web:1.3",
        "running",
        Some("172.17.0.2"),
    );
    {
        let c1 = r
            .topology_mut(Kind::Container)
            .nodes
            .get_mut(&NodeId::container("c1"))
            .map(std::sync::Arc::make_mut)
            .unwrap();
        c1.set_latest(
            keys::ACTIVE_CONTROLS,
            TS,
            "docker_stop_container;docker_pause_container",
        );
        c1.set_latest("docker_label_app", TS, "web");
        c1.set_latest("docker_label_tier", TS, "front");
    }
    let controls = &mut r.topology_mut(Kind::Container).controls;
    for (id, human, rank) in [
        ("docker_stop_container", "Stop", 7),
        ("docker_pause_container", "Pause", 5),
        ("docker_remove_container", "Remove", 8),
    ] {
        controls.insert(
            id.to_owned(),
            Control {
                id: id.to_owned(),
                human: human.to_owned(),
                icon: "fa fa-x".to_owned(),
                confirmation: String::new(),
                rank,
            },
        );
    }
    process(&mut r, "h1", 100, "nginx", Some("c1"));
    process(&mut r, "h1", 200, "postgres", Some("c2"));
    process(&mut r, "h1", 300, "sshd", None);
    process(&mut r, "h1", 400, "lonely", None);
    process(&mut r, "h1", 600, "scope", Some("c4"));
    process(&mut r, "h2", 500, "curl", Some("c5"));

    // nginx -> postgres (container addresses are host-scoped).
    endpoint(
        &mut r,
        ("h1", "172.17.0.2", 41000),
        Some(("h1", 100)),
        &[("h1", "172.17.0.3", 5432)],
    );
    endpoint(&mut r, ("h1", "172.17.0.3", 5432), Some(("h1", 200)), &[]);
    // curl (h2) -> nginx (h1).
    endpoint(
        &mut r,
        ("", "10.0.1.5", 50000),
        Some(("h2", 500)),
        &[("", "10.0.0.10", 80)],
    );
    endpoint(&mut r, ("", "10.0.0.10", 80), Some(("h1", 100)), &[]);
    // nginx -> the Internet.
    endpoint(
        &mut r,
        ("", "10.0.0.10", 42000),
        Some(("h1", 100)),
        &[("", "93.184.216.34", 443)],
    );
    endpoint(&mut r, ("", "93.184.216.34", 443), None, &[]);
    // The Internet -> sshd.
    endpoint(
        &mut r,
        ("", "203.0.113.9", 61000),
        None,
        &[("", "10.0.0.10", 22)],
    );
    endpoint(&mut r, ("", "10.0.0.10", 22), Some(("h1", 300)), &[]);
    // NAT artefact: an Internet address "connecting" to another.
    endpoint(
        &mut r,
        ("", "198.51.100.1", 1000),
        None,
        &[("", "198.51.100.2", 2000)],
    );
    endpoint(&mut r, ("", "198.51.100.2", 2000), None, &[]);
    // Scope's own container talks to postgres.
    endpoint(
        &mut r,
        ("", "10.0.0.10", 44000),
        Some(("h1", 600)),
        &[("h1", "172.17.0.3", 5432)],
    );
    // A short-lived flow seen only by conntrack: web -> db by container address, no pids.
    endpoint(
        &mut r,
        ("h1", "172.17.0.2", 43000),
        None,
        &[("h1", "172.17.0.3", 5433)],
    );
    endpoint(&mut r, ("h1", "172.17.0.3", 5433), None, &[]);
    // A local address no container owns, without a pid: neither Internet nor anything.
    endpoint(
        &mut r,
        ("", "10.0.0.99", 1234),
        None,
        &[("", "10.0.0.10", 80)],
    );
    r
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn opts(view: View, pairs: &[(&str, &str)]) -> Options {
    Options::from_pairs(view, &params(pairs)).unwrap()
}

fn render_ids(r: &Report, view: View, o: &Options) -> BTreeMap<String, Vec<String>> {
    let nets = LocalNetworks::from_report(r);
    summaries(r, view, o, &nets)
        .nodes
        .into_iter()
        .map(|(id, s)| (id, s.adjacency.into_iter().map(String::from).collect()))
        .collect()
}

fn v(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn view_ids_round_trip() {
    for view in View::ALL {
        assert_eq!(View::from_id(view.id()), Some(view));
    }
    assert_eq!(View::from_id("pods"), None);
    assert_eq!(View::ContainersByImage.id(), "containers-by-image");
}

#[test]
fn endpoints_become_process_edges() {
    let r = fixture();
    let g = render_ids(&r, View::Processes, &Options::default());
    assert_eq!(g["h1;100"], v(&["h1;200", "out-theinternet"]));
    assert_eq!(g["h2;500"], v(&["h1;100"]));
    assert_eq!(g["h1;600"], v(&["h1;200"]));
    assert_eq!(g["h1;200"], Vec::<String>::new());
    assert_eq!(g["in-theinternet"], v(&["h1;300"]), "no in -> out edge");
    assert!(g.contains_key("out-theinternet"));
    assert!(!g.contains_key("h1;400"), "unconnected hidden by default");
    let shown = render_ids(
        &r,
        View::Processes,
        &opts(View::Processes, &[("unconnected", "show")]),
    );
    assert!(shown.contains_key("h1;400"));

    let nets = LocalNetworks::from_report(&r);
    let s = summaries(&r, View::Processes, &Options::default(), &nets);
    assert_eq!(s.stats.filtered_nodes, 1);
    let nginx = &s.nodes["h1;100"];
    assert_eq!(
        (nginx.label.as_str(), nginx.label_minor.as_str()),
        ("nginx", "h1 (100)")
    );
    assert_eq!(nginx.shape, "square");
    assert!(
        nginx
            .metadata
            .iter()
            .any(|m| m.id == "pid" && m.value == "100")
    );
    assert_eq!(
        nginx
            .parents
            .iter()
            .map(|p| (p.id.as_str(), p.label.as_str(), p.topology_id))
            .collect::<Vec<_>>(),
        [
            ("c1;<container>", "web", "containers"),
            ("h1;<host>", "h1", "hosts")
        ]
    );
    assert_eq!(nginx.metrics[0].id, keys::PROCESS_CPU);
    assert_eq!(nginx.metrics[0].format, "percent");
    let internet = &s.nodes["out-theinternet"];
    assert!(internet.pseudo);
    assert_eq!(internet.shape, "cloud");
    assert_eq!(internet.label, "The Internet");
}

#[test]
fn internet_classification_uses_local_networks() {
    let mut r = Report::new(TS);
    host(&mut r, "h1", &["10.0.0.1/24"]);
    process(&mut r, "h1", 1, "app", None);
    // Outbound to a public address and to a local one, both without pids.
    endpoint(
        &mut r,
        ("", "10.0.0.1", 3000),
        Some(("h1", 1)),
        &[("", "8.8.8.8", 53), ("", "10.0.0.77", 9000)],
    );
    endpoint(&mut r, ("", "8.8.8.8", 53), None, &[]);
    endpoint(&mut r, ("", "10.0.0.77", 9000), None, &[]);
    // Inbound from a public address, and from a local and a loopback one.
    endpoint(&mut r, ("", "10.0.0.1", 80), Some(("h1", 1)), &[]);
    endpoint(&mut r, ("", "1.2.3.4", 5555), None, &[("", "10.0.0.1", 80)]);
    endpoint(
        &mut r,
        ("", "10.0.0.200", 5556),
        None,
        &[("", "10.0.0.1", 80)],
    );
    endpoint(
        &mut r,
        ("h1-4026531840", "127.0.0.1", 5557),
        None,
        &[("", "10.0.0.1", 80)],
    );
    let g = render_ids(&r, View::Processes, &Options::default());
    assert_eq!(g["h1;1"], v(&["out-theinternet"]));
    assert_eq!(g["in-theinternet"], v(&["h1;1"]));
    assert_eq!(g.len(), 3, "local addresses are never the Internet: {g:?}");

    // Without the host's networks, 10.0.0.x is the Internet too (but loopback never is).
    let empty = LocalNetworks::empty();
    let s = summaries(&r, View::Processes, &Options::default(), &empty);
    let detail = node_details(
        &r,
        View::Processes,
        &Options::default(),
        &empty,
        "in-theinternet",
    )
    .unwrap();
    assert_eq!(s.nodes.len(), 3);
    let inbound = &detail.connections[0];
    assert_eq!(inbound.id, "incoming-connections");
    let outbound = &detail.connections[1];
    assert_eq!(
        outbound
            .connections
            .iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>(),
        ["app", "app"]
    );
    // The Internet node's table breaks out its own side's addresses in a "remote" column.
    assert_eq!(outbound.columns[0].id, "remote");
    let remotes: Vec<&str> = outbound
        .connections
        .iter()
        .flat_map(|c| &c.metadata)
        .filter(|m| m.id == "remote")
        .map(|m| m.value.as_str())
        .collect();
    assert_eq!(remotes, ["1.2.3.4", "10.0.0.200"]);
    assert!(inbound.connections.is_empty());
    let counts: usize = outbound
        .connections
        .iter()
        .flat_map(|c| &c.metadata)
        .filter(|m| m.id == "count")
        .map(|m| m.value.parse::<usize>().unwrap())
        .sum();
    assert_eq!(counts, 2);
}

#[test]
fn containers_view_defaults() {
    let r = fixture();
    let g = render_ids(&r, View::Containers, &Options::default());
    assert_eq!(
        g.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "c1;<container>",
            "c2;<container>",
            "c5;<container>",
            "out-theinternet"
        ],
        "stopped, system and uncontained hidden; inbound Internet left without edges"
    );
    assert_eq!(
        g["c1;<container>"],
        v(&["c2;<container>", "out-theinternet"])
    );
    assert_eq!(g["c5;<container>"], v(&["c1;<container>"]));
    let nets = LocalNetworks::from_report(&r);
    let s = summaries(&r, View::Containers, &Options::default(), &nets);
    let web = &s.nodes["c1;<container>"];
    assert_eq!(
        (web.label.as_str(), web.label_minor.as_str()),
        ("web", "h1")
    );
    assert_eq!(web.shape, "hexagon");
    assert_eq!(web.rank, "acme/web");
    let md: BTreeMap<&str, &str> = web
        .metadata
        .iter()
        .map(|m| (m.id, m.value.as_str()))
        .collect();
    assert_eq!(md[keys::IMAGE_NAME], "quay.io/acme/web");
    assert_eq!(md[keys::IMAGE_TAG], "1.2");
    assert_eq!(md[keys::CONTAINER_STATE], "running");
    assert_eq!(md[keys::CONTAINER_IPS], "172.17.0.2");
    let id_row = web
        .metadata
        .iter()
        .find(|m| m.id == keys::CONTAINER_ID)
        .unwrap();
    assert_eq!(id_row.truncate, Some(12));
    assert_eq!(web.tables[0].rows.len(), 2);
    assert_eq!(web.tables[0].rows[0].entries.label, "app");
    assert_eq!(web.parents[0].id, "acme/web;<container_image>");
    assert_eq!(web.parents[0].topology_id, "containers-by-image");
}

#[test]
fn pidless_endpoints_are_attributed_to_containers_by_ip() {
    let mut r = Report::new(TS);
    host(&mut r, "h1", &["172.17.0.1/16"]);
    container(&mut r, "h1", "a", "a", "a:1", "running", Some("172.17.0.2"));
    container(&mut r, "h1", "b", "b", "b:1", "running", Some("172.17.0.3"));
    // Two containers sharing an address: it attributes to neither.
    container(&mut r, "h1", "x", "x", "x:1", "running", Some("172.17.0.9"));
    container(&mut r, "h1", "y", "y", "y:1", "running", Some("172.17.0.9"));
    endpoint(
        &mut r,
        ("h1", "172.17.0.2", 43000),
        None,
        &[("h1", "172.17.0.3", 5433)],
    );
    endpoint(&mut r, ("h1", "172.17.0.3", 5433), None, &[]);
    endpoint(
        &mut r,
        ("h1", "172.17.0.9", 1),
        None,
        &[("h1", "172.17.0.3", 5433)],
    );
    // Unscoped: matches the one container with that address.
    endpoint(
        &mut r,
        ("", "172.17.0.2", 43001),
        None,
        &[("", "172.17.0.3", 80)],
    );
    endpoint(&mut r, ("", "172.17.0.3", 80), None, &[]);
    let g = render_ids(&r, View::Containers, &Options::default());
    assert_eq!(g["a;<container>"], v(&["b;<container>"]));
    assert!(g["x;<container>"].is_empty() && g["y;<container>"].is_empty());
    // The processes view cannot attribute them.
    let p = render_ids(&r, View::Processes, &Options::default());
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn pidless_endpoints_at_the_hosts_own_address_are_its_uncontained_processes() {
    let mut r = Report::new(TS);
    host(&mut r, "h1", &["172.17.0.1/16"]);
    container(
        &mut r,
        "h1",
        "web",
        "web",
        "web:1",
        "running",
        Some("172.17.0.2"),
    );
    // A short connection from a process on h1 to a port web publishes on the bridge address,
    // DNATed to web: conntrack names the host's address and the container's, no pid.
    endpoint(
        &mut r,
        ("h1", "172.17.0.1", 52988),
        None,
        &[("h1", "172.17.0.2", 80)],
    );
    endpoint(&mut r, ("h1", "172.17.0.2", 80), None, &[]);
    let shown = opts(View::Containers, &[("pseudo", "show")]);
    let g = render_ids(&r, View::Containers, &shown);
    assert_eq!(g["pseudo:uncontained:h1"], v(&["web;<container>"]));
    // Another host's address is not h1's.
    let mut r2 = r.clone();
    endpoint(
        &mut r2,
        ("h2", "172.17.0.1", 40000),
        None,
        &[("h1", "172.17.0.2", 80)],
    );
    let g = render_ids(&r2, View::Containers, &shown);
    assert!(!g.contains_key("pseudo:uncontained:h2"), "{g:?}");
}

#[test]
fn uncontained_pseudo_nodes() {
    let r = fixture();
    let g = render_ids(
        &r,
        View::Containers,
        &opts(View::Containers, &[("pseudo", "show")]),
    );
    assert_eq!(g["in-theinternet"], v(&["pseudo:uncontained:h1"]));
    assert!(g.contains_key("pseudo:uncontained:h1"));
    let nets = LocalNetworks::from_report(&r);
    let s = summaries(
        &r,
        View::Containers,
        &opts(View::Containers, &[("pseudo", "show")]),
        &nets,
    );
    let u = &s.nodes["pseudo:uncontained:h1"];
    assert_eq!(
        (u.label.as_str(), u.label_minor.as_str()),
        ("Uncontained", "h1")
    );
    assert!(u.pseudo && u.stack);
}

#[test]
fn stopped_and_system_options() {
    let r = fixture();
    let ids = |pairs: &[(&str, &str)]| -> Vec<String> {
        render_ids(&r, View::Containers, &opts(View::Containers, pairs))
            .into_keys()
            .filter(|k| k.ends_with("<container>"))
            .collect()
    };
    assert_eq!(ids(&[("stopped", "stopped")]), v(&["c3;<container>"]));
    assert_eq!(ids(&[("system", "system")]), v(&["c4;<container>"]));
    assert_eq!(
        ids(&[("system", "all"), ("stopped", "both")]),
        v(&[
            "c1;<container>",
            "c2;<container>",
            "c3;<container>",
            "c4;<container>",
            "c5;<container>"
        ])
    );
    // A role label marks a system container too; deleted containers never show.
    let mut r2 = r.clone();
    let c2 = r2
        .topology_mut(Kind::Container)
        .nodes
        .get_mut(&NodeId::container("c2"))
        .map(std::sync::Arc::make_mut)
        .unwrap();
    c2.set_latest("docker_label_works.weave.role", TS, "system");
    let c5 = r2
        .topology_mut(Kind::Container)
        .nodes
        .get_mut(&NodeId::container("c5"))
        .map(std::sync::Arc::make_mut)
        .unwrap();
    c5.set_latest(keys::CONTAINER_STATE, TS + 1, "deleted");
    let g = render_ids(
        &r2,
        View::Containers,
        &opts(
            View::Containers,
            &[("system", "system"), ("stopped", "both")],
        ),
    );
    assert!(g.contains_key("c2;<container>") && g.contains_key("c4;<container>"));
    let all = render_ids(
        &r2,
        View::Containers,
        &opts(View::Containers, &[("system", "all"), ("stopped", "both")]),
    );
    assert!(!all.contains_key("c5;<container>"));
}

#[test]
fn invalid_option_values_are_errors() {
    let err = Options::from_pairs(View::Containers, &params(&[("stopped", "foo")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "foo" for option "stopped"; expected one of running, stopped, both"#
    );
    let err =
        Options::from_pairs(View::Processes, &params(&[("unconnected", "maybe")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "maybe" for option "unconnected"; expected one of hide, show"#
    );
    let err = Options::parse(View::Containers, [("system", "none")]).unwrap_err();
    assert_eq!(err.expected, ["application", "system", "all"]);
    // Unknown keys, and other views' options, are ignored.
    let ok = Options::from_pairs(
        View::Processes,
        &params(&[
            ("t", "5s"),
            ("timestamp", "2024-01-01T00:00:00Z"),
            ("stopped", "foo"),
        ]),
    );
    assert_eq!(ok, Ok(Options::default()));
    let mut map = std::collections::HashMap::new();
    map.insert("pseudo".to_string(), "show".to_string());
    assert!(
        Options::parse(View::ContainersByImage, &map)
            .unwrap()
            .show_uncontained
    );
}

#[test]
fn grouping_by_image_strips_tag_and_registry() {
    let r = fixture();
    let nets = LocalNetworks::from_report(&r);
    let s = summaries(&r, View::ContainersByImage, &Options::default(), &nets);
    assert_eq!(
        s.nodes.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "acme/web;<container_image>",
            "out-theinternet",
            "postgres;<container_image>"
        ]
    );
    let web = &s.nodes["acme/web;<container_image>"];
    assert_eq!(
        (web.label.as_str(), web.label_minor.as_str()),
        ("acme/web", "2 containers")
    );
    assert!(web.stack);
    assert_eq!(web.shape, "hexagon");
    assert_eq!(
        web.adjacency,
        v(&["out-theinternet", "postgres;<container_image>"])
    );
    assert_eq!(
        s.nodes["postgres;<container_image>"].label_minor,
        "1 container"
    );
    // Metrics of a group are its members' sums.
    let cpu = web
        .metrics
        .iter()
        .find(|m| m.id == keys::CONTAINER_CPU)
        .unwrap();
    assert_eq!(cpu.value, 4.0);

    let by_host = summaries(&r, View::ContainersByHostname, &Options::default(), &nets);
    assert!(by_host.nodes.contains_key("web;<container_hostname>"));
    assert_eq!(
        by_host.nodes["web-2;<container_hostname>"].adjacency,
        v(&["web;<container_hostname>"])
    );

    let by_name = summaries(&r, View::ProcessesByName, &Options::default(), &nets);
    assert_eq!(
        by_name.nodes["curl;<process_name>"].adjacency,
        v(&["nginx;<process_name>"])
    );
    assert_eq!(
        by_name.nodes["nginx;<process_name>"].label_minor,
        "1 process"
    );
    assert!(!by_name.nodes.contains_key("lonely;<process_name>"));
}

#[test]
fn hosts_view() {
    let r = fixture();
    let g = render_ids(&r, View::Hosts, &Options::default());
    assert_eq!(g["h2;<host>"], v(&["h1;<host>"]));
    assert_eq!(g["h1;<host>"], v(&["out-theinternet"]));
    assert_eq!(g["in-theinternet"], v(&["h1;<host>"]));
    let nets = LocalNetworks::from_report(&r);
    let d = node_details(&r, View::Hosts, &Options::default(), &nets, "h1;<host>").unwrap();
    assert_eq!(d.summary.shape, "circle");
    let kinds: Vec<(&str, usize)> = d
        .children
        .iter()
        .map(|c| (c.topology_id, c.nodes.len()))
        .collect();
    assert_eq!(kinds, [("containers", 4), ("processes", 5)]);
}

#[test]
fn node_details_ignore_filters_and_list_controls() {
    let r = fixture();
    let nets = LocalNetworks::from_report(&r);
    let o = Options::default();
    // c3 is stopped and c4 a system container: hidden from the view, but found.
    assert!(node_details(&r, View::Containers, &o, &nets, "c3;<container>").is_some());
    assert!(node_details(&r, View::Containers, &o, &nets, "c4;<container>").is_some());
    assert!(node_details(&r, View::Processes, &o, &nets, "h1;400").is_some());
    assert!(node_details(&r, View::Containers, &o, &nets, "nope;<container>").is_none());
    assert!(
        node_details(
            &r,
            View::ContainersByImage,
            &o,
            &nets,
            "busybox;<container_image>"
        )
        .is_some()
    );

    let d = node_details(&r, View::Containers, &o, &nets, "c1;<container>").unwrap();
    let controls: Vec<(&str, &str, &str, i32)> = d
        .controls
        .iter()
        .map(|c| {
            (
                c.probe_id.as_str(),
                c.node_id.as_str(),
                c.id.as_str(),
                c.rank,
            )
        })
        .collect();
    assert_eq!(
        controls,
        [
            ("probe-h1", "c1;<container>", "docker_pause_container", 5),
            ("probe-h1", "c1;<container>", "docker_stop_container", 7),
        ]
    );
    assert_eq!(d.children.len(), 1);
    assert_eq!(d.children[0].nodes[0].id, "h1;100");
    let out = &d.connections[1];
    let rows: Vec<(&str, Vec<&str>)> = out
        .connections
        .iter()
        .map(|c| {
            (
                c.node_id.as_str(),
                c.metadata.iter().map(|m| m.value.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("c2;<container>", vec!["5432", "1"]),
            ("c2;<container>", vec!["5433", "1"]),
            ("out-theinternet", vec!["443", "1"]),
        ]
    );
    let inbound = &d.connections[0];
    assert_eq!(inbound.connections.len(), 1);
    assert_eq!(inbound.connections[0].label, "web-2");

    let group = node_details(
        &r,
        View::ContainersByImage,
        &o,
        &nets,
        "acme/web;<container_image>",
    )
    .unwrap();
    assert_eq!(group.children[0].nodes.len(), 2);
    assert!(group.controls.is_empty());
}

#[test]
fn diff_add_update_remove() {
    let r = fixture();
    let nets = LocalNetworks::from_report(&r);
    let before = summaries(&r, View::Containers, &Options::default(), &nets).nodes;
    assert!(diff(&before, &before).is_empty());

    let mut r2 = r.clone();
    let c1 = r2
        .topology_mut(Kind::Container)
        .nodes
        .get_mut(&NodeId::container("c1"))
        .map(std::sync::Arc::make_mut)
        .unwrap();
    c1.set_latest(keys::CONTAINER_COMMAND, TS + 1, "nginx -g daemon off;");
    let c5 = r2
        .topology_mut(Kind::Container)
        .nodes
        .get_mut(&NodeId::container("c5"))
        .map(std::sync::Arc::make_mut)
        .unwrap();
    c5.set_latest(keys::CONTAINER_STATE, TS + 1, "exited");
    let c3 = r2
        .topology_mut(Kind::Container)
        .nodes
        .get_mut(&NodeId::container("c3"))
        .map(std::sync::Arc::make_mut)
        .unwrap();
    c3.set_latest(keys::CONTAINER_STATE, TS + 1, "running");
    let after = summaries(&r2, View::Containers, &Options::default(), &nets).nodes;
    let d = diff(&before, &after);
    assert_eq!(
        d.add.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["c3;<container>"]
    );
    assert_eq!(
        d.update.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["c1;<container>"]
    );
    assert_eq!(d.remove, v(&["c5;<container>"]));
    assert!(!d.reset);

    let json = serde_json::to_value(&d).unwrap();
    assert!(json.get("reset").is_none());
    assert_eq!(json["remove"], serde_json::json!(["c5;<container>"]));
    let first = serde_json::to_value(reset(&after)).unwrap();
    assert_eq!(first["reset"], true);
    assert_eq!(first["add"].as_array().unwrap().len(), after.len());
    assert!(first.get("remove").is_none());
    let empty_reset = serde_json::to_value(reset(&BTreeMap::new())).unwrap();
    assert_eq!(empty_reset, serde_json::json!({"reset": true, "add": []}));
}

#[test]
fn json_field_names_match_scope() {
    let r = fixture();
    let nets = LocalNetworks::from_report(&r);
    let s = summaries(&r, View::Containers, &Options::default(), &nets);
    let json = serde_json::to_value(&s).unwrap();
    let web = &json["nodes"]["c1;<container>"];
    for key in [
        "id",
        "label",
        "labelMinor",
        "rank",
        "shape",
        "metadata",
        "parents",
        "metrics",
        "tables",
        "adjacency",
    ] {
        assert!(web.get(key).is_some(), "missing {key}: {web}");
    }
    assert!(web.get("pseudo").is_none() && web.get("stack").is_none() && web.get("tag").is_none());
    assert_eq!(web["parents"][1]["topologyId"], "hosts");
    let id_row = web["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == keys::CONTAINER_ID)
        .unwrap();
    assert_eq!(id_row["truncate"], 12);
    let metric = &web["metrics"][0];
    for key in ["id", "label", "format", "value", "min", "max", "priority"] {
        assert!(metric.get(key).is_some(), "missing {key}: {metric}");
    }
    // As Scope's MetricRow.Summary(): the view carries values, details carry sparklines.
    assert!(metric.get("samples").is_none());
    let table = &web["tables"][0];
    assert_eq!(table["id"], "docker_label_");
    assert_eq!(table["type"], "property-list");
    assert_eq!(table["rows"][0]["entries"]["label"], "app");
    assert_eq!(json["nodes"]["out-theinternet"]["pseudo"], true);

    let d = node_details(
        &r,
        View::Containers,
        &Options::default(),
        &nets,
        "c1;<container>",
    )
    .unwrap();
    let dj = serde_json::to_value(&d).unwrap();
    assert_eq!(dj["id"], "c1;<container>", "summary fields are inlined");
    assert_eq!(
        dj["metrics"][0]["samples"],
        serde_json::json!([{"date": rfc3339(TS), "value": 2.0}])
    );
    assert!(
        dj["children"][0]["nodes"][0]["metrics"][0]
            .get("samples")
            .is_none()
    );
    let control = &dj["controls"][0];
    for key in ["probeId", "nodeId", "id", "human", "icon", "rank"] {
        assert!(control.get(key).is_some(), "missing {key}: {control}");
    }
    assert!(control.get("confirmation").is_none());
    assert_eq!(dj["children"][0]["topologyId"], "processes");
    assert!(dj["children"][0]["columns"].is_array());
    let conns = &dj["connections"][1];
    assert_eq!(conns["id"], "outgoing-connections");
    assert_eq!(conns["label"], "Outbound");
    assert_eq!(conns["topologyId"], "containers");
    assert_eq!(
        conns["columns"][0],
        serde_json::json!({"id": "port", "label": "Port", "dataType": "number"})
    );
    assert_eq!(conns["columns"][1]["id"], "count");
    let row = &conns["connections"][0];
    for key in ["id", "nodeId", "label", "labelMinor", "metadata"] {
        assert!(row.get(key).is_some(), "missing {key}: {row}");
    }
}

#[test]
fn topology_list_has_views_options_and_stats() {
    let r = fixture();
    let nets = LocalNetworks::from_report(&r);
    let list = topology_list(&r, &nets, [("stopped", "both")]).unwrap();
    let json = serde_json::to_value(&list).unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t.id).collect();
    assert_eq!(ids, ["processes", "containers", "hosts"]);
    let containers = &json[1];
    assert_eq!(containers["url"], "/api/topology/containers");
    assert_eq!(containers["rank"], 2);
    let subs: Vec<&str> = list[1].sub_topologies.iter().map(|t| t.id).collect();
    assert_eq!(subs, ["containers-by-hostname", "containers-by-image"]);
    assert_eq!(containers["options"][1]["id"], "stopped");
    assert_eq!(containers["options"][1]["defaultValue"], "running");
    assert_eq!(containers["options"][1]["selectType"], "one");
    assert_eq!(
        containers["options"][1]["options"][2],
        serde_json::json!({"value": "both", "label": "Both"})
    );
    // stopped=both: c1, c2, c3, c5 and the outbound Internet; c4 is a system container.
    assert_eq!(containers["stats"]["node_count"], 5);
    assert_eq!(containers["stats"]["nonpseudo_node_count"], 4);
    assert_eq!(containers["stats"]["edge_count"], 3);
    assert!(containers["stats"]["filtered_nodes"].as_u64().unwrap() >= 2);
    assert_eq!(json[0]["sub_topologies"][0]["id"], "processes-by-name");
    assert!(json[2].get("sub_topologies").is_none());
    assert!(topology_list(&r, &nets, [("system", "bogus")]).is_err());
}

#[test]
fn synthetic_fleet_renders_every_view() {
    let r = synthetic::fleet(4, TS);
    let nets = LocalNetworks::from_report(&r);
    let renderer = Renderer::new(&r, &nets);
    let o = Options::default();
    let procs = renderer.summaries(View::Processes, &o);
    assert_eq!(
        procs.nodes.len(),
        4 * 300 + 1,
        "every process is connected, plus the Internet"
    );
    let containers = renderer.summaries(View::Containers, &o);
    assert_eq!(containers.stats.nonpseudo_node_count, 4 * 50);
    assert!(containers.nodes.contains_key("out-theinternet"));
    let images = renderer.summaries(View::ContainersByImage, &o);
    assert!(
        images
            .nodes
            .contains_key("registry.example/app0;<container_image>")
    );
    let hosts = renderer.summaries(View::Hosts, &o);
    assert_eq!(
        hosts.nodes["host-0;<host>"].adjacency,
        v(&["host-1;<host>", "out-theinternet"])
    );
    let shown = renderer.summaries(
        View::Containers,
        &opts(View::Containers, &[("pseudo", "show")]),
    );
    assert_eq!(
        shown.nodes["pseudo:uncontained:host-2"].label_minor,
        "host-2"
    );
    let d = renderer
        .node_details(View::Hosts, &o, "host-1;<host>")
        .unwrap();
    assert_eq!(d.children[1].nodes.len(), 300);
    let list = renderer
        .topology_list(Vec::<(String, String)>::new())
        .unwrap();
    assert_eq!(list[0].stats.node_count, procs.nodes.len());
}

#[test]
fn host_labels_split_the_domain() {
    let mut r = Report::new(TS);
    host(&mut r, "web-1.example.com", &["10.9.0.1/24"]);
    let nets = LocalNetworks::from_report(&r);
    let d = node_details(
        &r,
        View::Hosts,
        &Options::default(),
        &nets,
        "web-1.example.com;<host>",
    )
    .unwrap();
    assert_eq!(
        (d.summary.label.as_str(), d.summary.label_minor.as_str()),
        ("web-1", "example.com")
    );
    let md: Vec<(&str, &str)> = d
        .summary
        .metadata
        .iter()
        .map(|m| (m.id, m.value.as_str()))
        .collect();
    assert!(
        md.contains(&(keys::LOCAL_NETWORKS, "10.9.0.1/24")),
        "{md:?}"
    );
    assert_eq!(
        d.summary.metrics[0].samples.len(),
        1,
        "details keep the sparkline"
    );
}

#[test]
fn options_echo_their_values() {
    for view in View::ALL {
        for group in view.option_groups() {
            for (value, _) in group.values {
                let o = Options::parse(view, [(group.id, *value)]).unwrap();
                assert_eq!(o.value_of(group), *value, "{view} {}", group.id);
            }
        }
    }
    assert_eq!(View::Hosts.option_groups().len(), 0);
}

#[test]
fn text_behaves_like_a_string() {
    let t = Text::from("abc");
    assert_eq!(t, "abc");
    assert_eq!(t.as_str(), "abc");
    assert_eq!(t, String::from("abc"));
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""abc""#);
    let (a, b) = (Text::from("a"), Text::from("b"));
    assert!(a < b, "orders as str");
    assert_eq!(String::from(t.clone()), "abc");
    assert_eq!(format!("{t}/{t:?}"), r#"abc/"abc""#);
}
