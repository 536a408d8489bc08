//! End-to-end tests against the real /proc of the machine running them: no fakes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use scope_probe_procfs::{
    Collectors, CollectorsConfig, ConnectionCollector, ConnectionConfig, ConnectionScan,
    HostCollector, HostConfig, ProcFs, ProcessCollector, ProcessConfig,
};
use scope_report::{Kind, Node, NodeId, ids, keys};

const HOST: &str = "test-host";

fn procfs() -> ProcFs {
    ProcFs::default()
}

fn netns_of(pid: &str) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let link = link.to_str().unwrap();
    link.trim_start_matches("net:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

fn own_netns() -> u64 {
    netns_of("self")
}

fn never_host_local(_: IpAddr) -> bool {
    false
}

fn process_collector(omit_cmd_args: bool) -> ProcessCollector {
    ProcessCollector::new(
        &procfs(),
        ProcessConfig {
            host_id: HOST.into(),
            omit_cmd_args,
        },
    )
}

/// A connected loopback pair: (listener, client, accepted server side).
fn loopback_pair(ip: IpAddr) -> Option<(TcpListener, TcpStream, TcpStream)> {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).ok()?;
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    // Make sure both ends are fully established before looking.
    (&client).write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    server.read_exact(&mut b).unwrap();
    Some((listener, client, server))
}

fn scan_connections(config: ConnectionConfig) -> ConnectionScan {
    let mut processes = process_collector(false);
    processes.collect(1).unwrap();
    let mut connections = ConnectionCollector::new(&procfs(), config);
    connections
        .collect(1, processes.table(), &never_host_local)
        .unwrap()
}

fn find<'a>(nodes: &'a [Node], id: &NodeId) -> &'a Node {
    nodes
        .iter()
        .find(|n| &n.id == id)
        .unwrap_or_else(|| panic!("no endpoint {id} among {} nodes", nodes.len()))
}

#[test]
fn this_process_is_reported_with_pid_name_and_cmdline() {
    let mut collector = process_collector(false);
    let nodes = collector.collect(1000).unwrap();
    let pid = std::process::id();
    let node = nodes
        .iter()
        .find(|n| n.id == NodeId::process(HOST, pid))
        .expect("this test process is in the process topology");
    assert_eq!(node.kind, Kind::Process);
    assert_eq!(node.get(keys::PID), Some(pid.to_string().as_str()));
    assert_eq!(
        node.get(keys::PPID),
        Some(std::os::unix::process::parent_id().to_string().as_str())
    );

    let argv0 = std::env::args().next().unwrap();
    let base = argv0.rsplit('/').next().unwrap();
    assert_eq!(node.get(keys::NAME), Some(base));
    let cmdline = node.get(keys::CMDLINE).unwrap();
    assert!(
        cmdline.starts_with(&argv0),
        "{cmdline:?} starts with {argv0:?}"
    );
    let expected_cmdline = std::env::args().collect::<Vec<_>>().join(" ");
    assert_eq!(cmdline, expected_cmdline);

    let threads: u32 = node.get(keys::THREADS).unwrap().parse().unwrap();
    assert!(threads >= 1);
    assert_eq!(
        node.get(keys::HOST_NODE_ID),
        Some(NodeId::host(HOST).as_str())
    );
    assert!(
        node.parents_of(Kind::Host)
            .any(|p| *p == NodeId::host(HOST))
    );
    let mem = &node.metrics[keys::PROCESS_MEMORY];
    assert!(mem.last().unwrap().value > 0.0 && mem.max > 0.0);
    assert!(node.metrics[keys::OPEN_FILES].last().unwrap().value >= 3.0);

    // The table knows us, our namespace and our parent chain.
    let table = collector.table();
    let me = table.get(pid).unwrap();
    assert_eq!(me.netns, Some(own_netns()));
    assert_eq!(&*me.name, base);
    let chain: Vec<u32> = table.ancestors(pid).map(|p| p.pid).collect();
    assert_eq!(chain[0], pid);
    assert!(table.namespaces()[&own_netns()].contains(&pid));

    // CPU appears from the second walk, as a share of one core.
    let busy = std::time::Instant::now();
    while busy.elapsed().as_millis() < 50 {
        std::hint::black_box((0..1000).sum::<u64>());
    }
    let nodes = collector.collect(2000).unwrap();
    let node = nodes
        .iter()
        .find(|n| n.id == NodeId::process(HOST, pid))
        .unwrap();
    let cpu = &node.metrics[keys::PROCESS_CPU];
    let pct = cpu.last().unwrap().value;
    assert!(pct > 0.0 && pct <= cpu.max, "cpu {pct} of {}", cpu.max);
}

#[test]
fn omitting_arguments_keeps_argv0_only() {
    let nodes = process_collector(true).collect(1).unwrap();
    let node = nodes
        .iter()
        .find(|n| n.id == NodeId::process(HOST, std::process::id()))
        .unwrap();
    assert_eq!(
        node.get(keys::CMDLINE),
        Some(std::env::args().next().unwrap().as_str())
    );
}

/// The CPU metric of `pid` in a walk's nodes.
fn cpu_of(nodes: &[Node], pid: u32) -> Option<f64> {
    let node = nodes.iter().find(|n| n.id == NodeId::process(HOST, pid))?;
    Some(node.metrics.get(keys::PROCESS_CPU)?.last()?.value)
}

#[test]
fn sleeping_processes_rest_but_stay_and_their_exit_is_seen_at_once() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    // Past exec, so it does not use CPU during the walks.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut collector = process_collector(false);
    // Well past the walks after which an idle process is read only now and then.
    for walk in 0..12 {
        let nodes = collector.collect(walk).unwrap();
        let node = nodes.iter().find(|n| n.id == NodeId::process(HOST, pid));
        let node = node.unwrap_or_else(|| panic!("sleep missing from walk {walk}"));
        assert_eq!(node.get(keys::NAME), Some("sleep"));
        assert!(node.metrics.contains_key(keys::PROCESS_MEMORY));
        if walk > 0 {
            assert_eq!(cpu_of(&nodes, pid), Some(0.0));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let nodes = collector.collect(13).unwrap();
    assert!(!nodes.iter().any(|n| n.id == NodeId::process(HOST, pid)));
}

#[test]
fn a_resting_process_that_gets_busy_shows_cpu_again() {
    let mut child = Command::new("sh")
        .args(["-c", "sleep 0.5; while :; do :; done"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut collector = process_collector(false);
    let mut busy = false;
    for walk in 0..40 {
        let nodes = collector.collect(walk).unwrap();
        if walk >= 8 && cpu_of(&nodes, pid).is_some_and(|c| c > 0.0) {
            busy = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(busy, "the busy loop never showed CPU");
}

#[test]
fn kernel_threads_and_zombies_are_skipped() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    // Let it exit without reaping it: a zombie for as long as we do not wait.
    let zombie = child.id();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let nodes = process_collector(false).collect(1).unwrap();
    assert!(
        !nodes.iter().any(|n| n.id == NodeId::process(HOST, 2)),
        "kthreadd is skipped"
    );
    assert!(
        !nodes.iter().any(|n| n.id == NodeId::process(HOST, zombie)),
        "zombie is skipped"
    );
    child.wait().unwrap();
}

#[test]
fn loopback_connection_has_both_ends_and_direction() {
    let (_listener, client, server) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let scan = scan_connections(ConnectionConfig::new(HOST));
    check_pair(&scan, &client, &server);
    assert!(scan.namespaces >= 1);
    assert!(
        scan.tables_read_netlink >= 1,
        "own namespace read through netlink"
    );
    assert_eq!(scan.truncated, 0);
}

#[test]
fn proc_files_give_the_same_connections_as_netlink() {
    // Enough sockets that the proc table spans several pages, which the kernel hands out one
    // read at a time: the last connection is only found if every page is read.
    let pairs: Vec<_> = (0..40)
        .map(|_| loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap())
        .collect();
    let mut config = ConnectionConfig::new(HOST);
    config.netlink = false;
    let scan = scan_connections(config);
    assert_eq!(scan.tables_read_netlink, 0);
    for (_, client, server) in [&pairs[0], &pairs[39]] {
        check_pair(&scan, client, server);
    }
    let with_netlink = scan_connections(ConnectionConfig::new(HOST));
    for (_, client, server) in &pairs {
        check_pair(&with_netlink, client, server);
    }
}

#[test]
fn ipv6_loopback_connection() {
    let Some((_listener, client, server)) = loopback_pair(IpAddr::V6(Ipv6Addr::LOCALHOST)) else {
        eprintln!("skipped: IPv6 loopback not available on this machine");
        return;
    };
    for netlink in [true, false] {
        let mut config = ConnectionConfig::new(HOST);
        config.netlink = netlink;
        let scan = scan_connections(config);
        check_pair(&scan, &client, &server);
    }
}

fn check_pair(scan: &ConnectionScan, client: &TcpStream, server: &TcpStream) {
    let pid = std::process::id().to_string();
    check_endpoints(
        scan,
        &pid,
        own_netns(),
        client.local_addr().unwrap(),
        server.local_addr().unwrap(),
    );
}

/// Both ends of a loopback connection of process `pid` in namespace `netns` are there, the
/// client end points at the server end and not the other way, and both carry pid and netns.
fn check_endpoints(
    scan: &ConnectionScan,
    pid: &str,
    netns: u64,
    client_addr: SocketAddr,
    server_addr: SocketAddr,
) {
    let scope = ids::loopback_scope(HOST, netns);
    assert!(scope.contains(&netns.to_string()));
    let client_id = NodeId::endpoint(&scope, client_addr.ip(), client_addr.port());
    let server_id = NodeId::endpoint(&scope, server_addr.ip(), server_addr.port());

    let client_end = find(&scan.nodes, &client_id);
    let server_end = find(&scan.nodes, &server_id);
    assert_eq!(client_end.kind, Kind::Endpoint);
    // Outbound from the client: the edge goes client -> server, and not back.
    assert!(client_end.adjacency.contains(&server_id), "{client_end:?}");
    assert!(!server_end.adjacency.contains(&client_id), "{server_end:?}");
    for end in [client_end, server_end] {
        assert_eq!(end.get(keys::PID), Some(pid), "{end:?}");
        assert_eq!(end.get(keys::NETNS), Some(netns.to_string().as_str()));
        assert_eq!(
            end.get(keys::HOST_NODE_ID),
            Some(NodeId::host(HOST).as_str())
        );
    }
}

/// Helper run as a child in its own network namespace (like a container): holds a loopback
/// connection until its stdin closes. A no-op in a normal test run.
#[test]
fn helper_hold_connection() {
    if std::env::var_os("SCOPE_PROCFS_TEST_HELPER").is_none() {
        return;
    }
    let (_l, client, server) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    println!(
        "ready {} {}",
        client.local_addr().unwrap(),
        server.local_addr().unwrap()
    );
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

#[test]
fn connections_inside_another_network_namespace() {
    if Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: creating a network namespace needs root (unshare -n)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // unshare and sh exec, so the child keeps one pid from here to the test binary.
    let mut child = Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" --exact helper_hold_connection --nocapture --test-threads=1",
        ])
        .arg(&exe)
        .env("SCOPE_PROCFS_TEST_HELPER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        // libtest may print "test helper_hold_connection ... " before it on the same line.
        .find_map(|l| l.find("ready ").map(|at| l[at..].to_owned()))
        .expect("helper reports its connection");
    let mut addrs = ready
        .split(' ')
        .skip(1)
        .map(|a| a.parse::<SocketAddr>().unwrap());
    let (client, server) = (addrs.next().unwrap(), addrs.next().unwrap());
    let netns = netns_of(&pid);
    assert_ne!(netns, own_netns());

    for netlink in [true, false] {
        let mut config = ConnectionConfig::new(HOST);
        config.netlink = netlink;
        let scan = scan_connections(config);
        check_endpoints(&scan, &pid, netns, client, server);
        if netlink {
            assert!(
                scan.tables_read_netlink >= 2,
                "joined the namespace for netlink"
            );
        }
    }
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn endpoints_are_capped() {
    let _pairs: Vec<_> = (0..3)
        .map(|_| loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap())
        .collect();
    let mut config = ConnectionConfig::new(HOST);
    config.max_endpoints = 2;
    let scan = scan_connections(config);
    assert!(scan.nodes.len() <= 2);
    assert!(
        scan.truncated >= 4,
        "6 sockets of 3 pairs, at most one fits: {}",
        scan.truncated
    );
}

/// Runs the process and connection collectors as the probe does, tick after tick.
struct Ticker {
    processes: ProcessCollector,
    connections: ConnectionCollector,
    tick: i64,
}

impl Ticker {
    fn new(config: ConnectionConfig) -> Ticker {
        Ticker {
            processes: process_collector(false),
            connections: ConnectionCollector::new(&procfs(), config),
            tick: 0,
        }
    }

    fn tick(&mut self) -> ConnectionScan {
        self.tick += 1;
        self.processes.collect(self.tick).unwrap();
        self.connections
            .collect(self.tick, self.processes.table(), &never_host_local)
            .unwrap()
    }
}

#[test]
fn new_connections_are_attributed_on_later_ticks() {
    // No CPU budget limit: this is about finding new sockets and their owners, not pacing.
    let mut config = ConnectionConfig::new(HOST);
    config.cpu_share = 1.0;
    let mut ticker = Ticker::new(config);
    ticker.tick();
    // A connection opened after the first tick: new inodes for the owner cache, and moved TCP
    // counters for the table cache.
    let (_l, client, server) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let scan = ticker.tick();
    assert!(scan.tables_read >= 1);
    check_pair(&scan, &client, &server);
    // Closed: reported once more by conntrack (it existed since the last tick), then gone.
    let gone = client.local_addr().unwrap();
    drop((client, server));
    std::thread::sleep(std::time::Duration::from_millis(20));
    ticker.tick();
    let scan = ticker.tick();
    assert!(
        !scan.nodes.iter().any(|n| {
            n.id.parse_endpoint()
                .is_some_and(|(_, ip, port)| ip == gone.ip() && port == gone.port())
                && !n.adjacency.is_empty()
        }),
        "closed connection still reported"
    );
}

#[test]
fn table_rereads_wait_for_the_cpu_budget() {
    let mut config = ConnectionConfig::new(HOST);
    config.cpu_share = 0.0;
    // Conntrack reports the connection whatever the table budget: this is about the tables.
    config.conntrack = false;
    let mut ticker = Ticker::new(config);
    let first = ticker.tick();
    assert!(first.tables_read >= 1, "first reads are never deferred");
    let (_l, client, _s) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let scan = ticker.tick();
    assert!(scan.tables_stale >= 1, "{scan:?}");
    let client = client.local_addr().unwrap();
    assert!(
        !scan.nodes.iter().any(|n| n
            .id
            .parse_endpoint()
            .is_some_and(|(_, _, p)| p == client.port())),
        "a table re-read happened without budget"
    );
}

#[test]
fn host_node_has_networks_and_metrics_after_two_calls() {
    let mut host = HostCollector::new(&procfs(), HostConfig::new(HOST, "0.0.1", "probe-1"));
    let first = host.collect(1).unwrap();
    assert_eq!(first.id, NodeId::host(HOST));
    assert_eq!(first.kind, Kind::Host);
    assert!(
        first.sets[keys::LOCAL_NETWORKS].contains("127.0.0.1/8"),
        "{:?}",
        first.sets
    );
    assert_eq!(
        first.get(keys::HOST_NAME),
        Some(procfs().hostname().unwrap().as_str())
    );
    assert_eq!(first.get(keys::SCOPE_VERSION), Some("0.0.1"));
    assert_eq!(first.get(keys::CONTROL_PROBE_ID), Some("probe-1"));
    assert!(first.get(keys::OS).is_some_and(|s| !s.is_empty()));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(
        first
            .get(keys::KERNEL_VERSION)
            .unwrap()
            .starts_with(release.trim())
    );
    assert!(first.get(keys::UPTIME).unwrap().parse::<u64>().is_ok());
    for key in [keys::LOAD1, keys::LOAD5, keys::LOAD15, keys::HOST_MEMORY] {
        assert!(first.metrics.contains_key(key), "{key}");
    }

    std::thread::sleep(std::time::Duration::from_millis(50));
    let second = host.collect(2).unwrap();
    let cpu = second.metrics[keys::HOST_CPU].last().unwrap().value;
    assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
    let mem = &second.metrics[keys::HOST_MEMORY];
    assert!(mem.last().unwrap().value > 0.0 && mem.last().unwrap().value <= mem.max);
}

#[test]
fn collectors_build_one_report() {
    let procfs = procfs();
    let mut collectors = Collectors::new(&procfs, CollectorsConfig::new(HOST, "0.0.1", "probe-1"));
    let (_l, _c, _s) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let report = collectors.report(5, &never_host_local);
    assert_eq!(report.timestamp, 5);
    assert!(report.node(Kind::Host, &NodeId::host(HOST)).is_some());
    assert!(
        report
            .node(Kind::Process, &NodeId::process(HOST, std::process::id()))
            .is_some()
    );
    assert!(report.nodes(Kind::Endpoint).count() >= 2);
    assert!(collectors.process_table().get(std::process::id()).is_some());
    assert!(collectors.stats().processes >= 1);
}

#[test]
fn a_missing_root_is_an_error_not_a_panic() {
    let bad = ProcFs::new("/nonexistent-proc-root");
    let mut processes = ProcessCollector::new(
        &bad,
        ProcessConfig {
            host_id: HOST.into(),
            omit_cmd_args: false,
        },
    );
    let err = processes.collect(1).unwrap_err();
    assert!(err.to_string().contains("/nonexistent-proc-root"), "{err}");
    let mut host = HostCollector::new(&bad, HostConfig::new(HOST, "v", "p"));
    assert!(host.collect(1).is_err());
    // The combined report still comes back, just empty of what failed. (Conntrack is the
    // kernel's, not the proc root's: it would still report the host's flows.)
    let mut config = CollectorsConfig::new(HOST, "v", "p");
    config.connections.conntrack = false;
    let mut collectors = Collectors::new(&bad, config);
    assert_eq!(collectors.report(1, &never_host_local).node_count(), 0);
}

/// Connections that open and close between two ticks (HTTP without keep-alive) are reported,
/// from conntrack, with the client pointing at the server; a storm of them between one pair
/// costs a few endpoints carrying the count, not one endpoint per connection.
#[test]
fn short_connections_between_ticks_are_reported_and_a_storm_summarised() {
    let mut ticker = Ticker::new(ConnectionConfig::new(HOST));
    let first = ticker.tick();
    assert!(
        first.flows.is_some(),
        "conntrack is not available: run the tests as root on a kernel with nf_conntrack"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            drop(s);
        }
    });
    let short = 200;
    for _ in 0..short {
        drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    // Let the last events arrive.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let scan = ticker.tick();
    let server_ids: Vec<_> = scan
        .nodes
        .iter()
        .filter(|n| n.id.parse_endpoint().is_some_and(|(_, _, p)| p == port))
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(server_ids.len(), 1, "one server endpoint");
    let clients: Vec<_> = scan
        .nodes
        .iter()
        .filter(|n| n.adjacency.contains(&server_ids[0]))
        .collect();
    let max = scope_probe_procfs::connections::DEFAULT_MAX_CLIENTS_PER_PAIR;
    assert!(
        !clients.is_empty() && clients.len() <= max,
        "{} client endpoints for one pair, expected 1..={max}",
        clients.len()
    );
    let counted: u64 = clients
        .iter()
        .map(|n| n.get("conn_count").map_or(1, |c| c.parse::<u64>().unwrap()))
        .sum();
    // Every connection is either a kept endpoint or counted on one (conntrack may hold a few
    // that began before the storm's last tick, never fewer).
    assert!(
        counted >= short as u64,
        "{counted} connections counted of {short}"
    );
    assert!(
        scan.summarised >= short - max,
        "{} summarised of {short}",
        scan.summarised
    );
    // Nothing points back from the server: the direction is the kernel's.
    let server = scan.nodes.iter().find(|n| n.id == server_ids[0]).unwrap();
    assert!(
        server.adjacency.is_empty(),
        "server -> client edge invented"
    );
}

/// A connection opened while its namespace's table waits for CPU budget still gets its
/// process at the next tick: conntrack names it, one exact sock_diag lookup finds its socket,
/// and the owner scan (which has a floor of its own) finds the pid.
#[test]
fn owners_of_new_connections_are_found_without_a_table_reread() {
    let mut config = ConnectionConfig::new(HOST);
    config.cpu_share = 0.0;
    let mut ticker = Ticker::new(config);
    let first = ticker.tick();
    assert!(first.flows.is_some(), "conntrack is not available");
    let (_l, client, server) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let scan = ticker.tick();
    assert!(
        scan.tables_stale >= 1,
        "the table re-read waits: {}",
        scan.tables_stale
    );
    assert!(
        scan.sockets_found >= 2,
        "both ends found: {}",
        scan.sockets_found
    );
    check_pair(&scan, &client, &server);
}

/// Without conntrack, a connection that opened and closed between two ticks is still seen
/// when the table read finds it in TIME_WAIT: reported by one tick, then gone, though TIME_WAIT
/// lasts a minute.
#[test]
fn time_wait_sockets_report_an_ended_connection_once() {
    let mut config = ConnectionConfig::new(HOST);
    config.cpu_share = 1.0;
    config.conntrack = false;
    let mut ticker = Ticker::new(config);
    ticker.tick();
    let (_l, client, server) = loopback_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let (c, s) = (client.local_addr().unwrap(), server.local_addr().unwrap());
    // The client closes first, so its end goes to TIME_WAIT.
    drop(client);
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(server);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let edge = |scan: &ConnectionScan| {
        let scope = ids::loopback_scope(HOST, own_netns());
        let client_id = NodeId::endpoint(&scope, c.ip(), c.port());
        let server_id = NodeId::endpoint(&scope, s.ip(), s.port());
        scan.nodes
            .iter()
            .any(|n| n.id == client_id && n.adjacency.contains(&server_id))
    };
    let scan = ticker.tick();
    assert!(
        edge(&scan),
        "the ended connection, client -> server, from TIME_WAIT"
    );
    let scan = ticker.tick();
    assert!(
        !edge(&scan),
        "reported once, not for the minute of TIME_WAIT"
    );
}
