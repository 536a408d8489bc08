//! Does the map show the traffic that really flows? Real containers making ordinary, short
//! requests (HTTP without keep-alive: a connection of a few milliseconds once a second), a real
//! probe and app, and assertions on the containers view through the API: every pair's edge,
//! in the right direction, nothing invented, no flicker while the traffic goes on, and the edge
//! gone once the traffic stops and the window has passed.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// A user-defined Docker network, removed when dropped (after the containers on it).
struct Network(String);

impl Network {
    fn create() -> Network {
        let name = format!("scope-fidelity-{:08x}", rand::random::<u32>());
        docker(&["network", "create", &name]);
        Network(name)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &self.0])
            .output();
    }
}

/// Edges between the containers labelled in `labels`, as (from, to) labels.
fn edges_among(topo: &Value, labels: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    let Some(nodes) = topo["nodes"].as_object() else {
        return BTreeSet::new();
    };
    let label_of = |id: &str| nodes.get(id).and_then(|n| n["label"].as_str());
    let mut edges = BTreeSet::new();
    for n in nodes.values() {
        let Some(from) = n["label"].as_str().filter(|l| labels.contains(*l)) else {
            continue;
        };
        for to in n["adjacency"].as_array().into_iter().flatten() {
            if let Some(to) = to
                .as_str()
                .and_then(label_of)
                .filter(|l| labels.contains(*l))
            {
                edges.insert((from.to_owned(), to.to_owned()));
            }
        }
    }
    edges
}

#[tokio::test(flavor = "multi_thread")]
async fn short_lived_http_between_ten_pairs_shows_every_edge_and_nothing_else() {
    let stack = Stack::start().await;
    let net = Network::create();
    let mut pairs = Vec::new();
    for i in 0..10 {
        let server = Container::run_with(
            &format!("scope-fid-srv{i}"),
            &["--network", &net.0],
            &["httpd", "-f", "-p", "80", "-h", "/www"],
        );
        // What a user runs: one short request a second, by container name; `/tmp/stop` ends
        // the traffic while the container stays.
        let script = format!(
            "while [ ! -e /tmp/stop ]; do wget -q -O /dev/null http://{}/none; sleep 1; done; exec sleep 3600",
            server.name
        );
        let client = Container::run_with(
            &format!("scope-fid-cli{i}"),
            &["--network", &net.0],
            &["sh", "-c", &script],
        );
        pairs.push((client, server));
    }
    let labels: BTreeSet<String> = pairs
        .iter()
        .flat_map(|(c, s)| [c.name.clone(), s.name.clone()])
        .collect();
    let expected: BTreeSet<(String, String)> = pairs
        .iter()
        .map(|(c, s)| (c.name.clone(), s.name.clone()))
        .collect();

    let started = Instant::now();
    let first = eventually(
        Duration::from_secs(30),
        "all 10 client -> server edges in the containers view",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            let edges = edges_among(&topo, &labels);
            expected.is_subset(&edges).then_some(edges)
        },
    )
    .await;
    eprintln!(
        "all 10 edges {:.1} s after the containers started",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        first, expected,
        "only client -> server edges, none invented"
    );

    // While the traffic goes on, every edge stays in every view of the map: sampled twice a
    // publish interval for 10 s.
    let until = Instant::now() + Duration::from_secs(10);
    let mut samples = 0;
    while Instant::now() < until {
        let topo = stack.get("/api/topology/containers").await;
        let edges = edges_among(&topo, &labels);
        assert_eq!(
            edges, expected,
            "sample {samples}: edges flickered or were invented"
        );
        samples += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The edge of a pair whose traffic stops stays for the window (15 s), then goes; the
    // others stay.
    let (stopped_client, stopped_server) = &pairs[0];
    docker(&["exec", &stopped_client.name, "touch", "/tmp/stop"]);
    let gone = (stopped_client.name.clone(), stopped_server.name.clone());
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let topo = stack.get("/api/topology/containers").await;
    assert!(
        edges_among(&topo, &labels).contains(&gone),
        "the edge stays for the window after its last connection"
    );
    eventually(
        Duration::from_secs(30),
        "the stopped pair's edge to go after the window",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            (!edges_among(&topo, &labels).contains(&gone)).then_some(())
        },
    )
    .await;
    eprintln!(
        "the stopped pair's edge went {:.1} s after its last request",
        stopped_at.elapsed().as_secs_f64()
    );
    let topo = stack.get("/api/topology/containers").await;
    let edges = edges_among(&topo, &labels);
    let mut rest = expected.clone();
    rest.remove(&gone);
    assert_eq!(edges, rest, "the other pairs' edges stay");

    // A removed container's edges go with it.
    let (removed_client, removed_server) = &pairs[1];
    docker(&["rm", "-f", &removed_server.name]);
    let removed = (removed_client.name.clone(), removed_server.name.clone());
    eventually(
        Duration::from_secs(30),
        "the removed server's edge to go",
        || async {
            let topo = stack.get("/api/topology/containers?stopped=both").await;
            (!edges_among(&topo, &labels).contains(&removed)).then_some(())
        },
    )
    .await;
}

/// A server container with a published port, reached through the host's address: from another
/// container (DNAT by the host, so the map must show container -> container, not an edge to the
/// host or the Internet) and from a process on the host.
#[tokio::test(flavor = "multi_thread")]
async fn a_published_port_maps_to_its_container_from_a_container_and_from_the_host() {
    let stack = Stack::start().await;
    let net = Network::create();
    let gateway = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        &net.0,
    ]);
    // Published on the network's gateway address only: reachable from its containers and from
    // this host, nowhere else.
    let server = Container::run_with(
        "scope-fid-published",
        &["--network", &net.0, "-p", &format!("{gateway}::80")],
        &["httpd", "-f", "-p", "80", "-h", "/www"],
    );
    let port = docker(&["port", &server.name, "80/tcp"]);
    let port = port
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or_default()
        .to_owned();
    assert!(!port.is_empty(), "published port of {}", server.name);
    let script =
        format!("while true; do wget -q -O /dev/null http://{gateway}:{port}/; sleep 1; done");
    let client = Container::run_with(
        "scope-fid-natclient",
        &["--network", &net.0],
        &["sh", "-c", &script],
    );
    let labels: BTreeSet<String> = [client.name.clone(), server.name.clone()].into();
    let want = (client.name.clone(), server.name.clone());
    eventually(
        Duration::from_secs(30),
        "the client -> server edge through the host's published port",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            edges_among(&topo, &labels).contains(&want).then_some(())
        },
    )
    .await;
    // Nothing of that traffic points at the Internet or back at the client.
    let topo = stack.get("/api/topology/containers").await;
    let client_id = topo["nodes"]
        .as_object()
        .and_then(|m| m.iter().find(|(_, n)| n["label"] == client.name.as_str()))
        .map(|(id, _)| id.clone())
        .expect("client node");
    let out: Vec<&str> = topo["nodes"][&client_id]["adjacency"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert!(
        !out.iter().any(|id| id.contains("theinternet")),
        "the NATed traffic went to the Internet: {out:?}"
    );
    assert!(
        !edges_among(&topo, &labels).contains(&(server.name.clone(), client.name.clone())),
        "server -> client edge invented"
    );

    // From a process on this host, one short connection a second to the same address.
    let target = format!("{gateway}:{port}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_flag = stop.clone();
    let traffic = std::thread::spawn(move || {
        use std::io::{Read, Write};
        while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(mut s) = std::net::TcpStream::connect(&target) {
                let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
                let _ = s.read_to_end(&mut Vec::new());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let server_name = server.name.clone();
    eventually(
        Duration::from_secs(30),
        "an edge from this host's processes to the server container",
        || async {
            // The host's processes are the "uncontained" node, shown on request.
            let topo = stack.get("/api/topology/containers?pseudo=show").await;
            let nodes = topo["nodes"].as_object()?;
            let server_id = nodes
                .iter()
                .find(|(_, n)| n["label"] == server_name.as_str())
                .map(|(id, _)| id.clone())?;
            nodes
                .iter()
                .filter(|(id, _)| **id != server_id && id.as_str() != client_id)
                .any(|(_, n)| {
                    n["adjacency"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(server_id.as_str())))
                })
                .then_some(())
        },
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    traffic.join().expect("traffic thread");
}
