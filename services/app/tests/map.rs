//! The map end to end: a real probe on this host reporting real Docker containers and TCP
//! connections to a real app, read back through the HTTP and WebSocket API.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use support::*;

const TEN_SECONDS: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn a_started_container_appears_and_a_stopped_one_goes() {
    let stack = Stack::start().await;
    let web = Container::run("scope-e2e-web", &["httpd", "-f", "-p", "80", "-h", "/www"]);
    let ip = web.ip();
    let node = eventually(
        TEN_SECONDS,
        "the container in /api/topology/containers",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            node_by_label(&topo, &web.name).cloned()
        },
    )
    .await;
    // Scope shows the image name and tag as separate rows.
    assert_eq!(
        metadata(&node, "docker_image_name"),
        Some("scope-test-busybox")
    );
    let ips = metadata(&node, "docker_container_ips").unwrap_or_default();
    assert!(ips.contains(&ip), "IPs {ips:?} should contain {ip}");
    assert_eq!(node["shape"], "hexagon");

    web.stop();
    eventually(
        TEN_SECONDS,
        "the stopped container to leave the default view",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            node_by_label(&topo, &web.name).is_none().then_some(())
        },
    )
    .await;
    let stopped = eventually(
        TEN_SECONDS,
        "the stopped container with stopped=stopped",
        || async {
            let topo = stack.get("/api/topology/containers?stopped=stopped").await;
            node_by_label(&topo, &web.name).cloned()
        },
    )
    .await;
    let state = metadata(&stopped, "docker_container_state").unwrap_or_default();
    assert!(
        state.contains("xited") || state.contains("topped"),
        "state {state:?}"
    );

    let (status, body) = get(stack.http(), "/api/topology/containers?stopped=sometimes").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("stopped"), "{body}");
    let (status, _) = get(stack.http(), "/api/topology/pods").await;
    assert_eq!(status, 404);
}

/// A server container whose CGI answer takes 20 s: the long-lived connection case, where the
/// processes on both ends live long enough to be scanned and must carry their pids. Ordinary
/// short requests are `tests/fidelity.rs`; the pids of processes that live a few milliseconds
/// (wget) need the eBPF collector, which the probe does not have yet.
fn slow_server() -> Container {
    Container::run(
        "scope-e2e-server",
        &[
            "sh",
            "-c",
            "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nsleep 20\\necho done\\n' > /www/cgi-bin/slow && chmod +x /www/cgi-bin/slow && exec httpd -f -p 80 -h /www",
        ],
    )
}

fn client_of(server_ip: &str) -> Container {
    let script =
        format!("while true; do wget -q -O /dev/null http://{server_ip}/cgi-bin/slow; done");
    Container::run("scope-e2e-client", &["sh", "-c", &script])
}

fn id_of(topo: &Value, label: &str) -> Option<String> {
    topo["nodes"]
        .as_object()?
        .iter()
        .find(|(_, n)| n["label"].as_str() == Some(label))
        .map(|(id, _)| id.clone())
}

fn has_edge(topo: &Value, from: &str, to: &str) -> bool {
    topo["nodes"][from]["adjacency"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(to)))
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_between_containers_are_edges_in_containers_and_processes() {
    let stack = Stack::start().await;
    let server = slow_server();
    let client = client_of(&server.ip());
    eventually(
        Duration::from_secs(20),
        "an edge client -> server in containers",
        || async {
            let topo = stack.get("/api/topology/containers").await;
            let c = id_of(&topo, &client.name)?;
            let s = id_of(&topo, &server.name)?;
            has_edge(&topo, &c, &s).then_some(())
        },
    )
    .await;
    // In processes: a wget process in the client container connects to an httpd process.
    eventually(
        Duration::from_secs(30),
        "an edge wget -> httpd in processes",
        || async {
            let topo = stack.get("/api/topology/processes").await;
            let nodes = topo["nodes"].as_object()?;
            let httpds: Vec<&String> = nodes
                .iter()
                .filter(|(_, n)| n["label"] == "httpd")
                .map(|(id, _)| id)
                .collect();
            nodes
                .iter()
                .filter(|(_, n)| n["label"] == "wget")
                .any(|(id, _)| httpds.iter().any(|h| has_edge(&topo, id, h)))
                .then_some(())
        },
    )
    .await;
    // The client's details list the server among its outbound connections.
    let topo = stack.get("/api/topology/containers").await;
    let c = id_of(&topo, &client.name).expect("client");
    let details = stack
        .get(&format!("/api/topology/containers/{}", urlencode(&c)))
        .await;
    let outbound = details["node"]["connections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "outgoing-connections"))
        .cloned()
        .expect("outbound connections table");
    assert!(
        outbound.to_string().contains(&server.name),
        "outbound table should name the server: {outbound}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_resets_then_sends_a_diff_when_a_container_starts() {
    let stack = Stack::start().await;
    // Let the first report land so the reset frame is not empty.
    eventually(TEN_SECONDS, "hosts on the map", || async {
        let topo = stack.get("/api/topology/hosts").await;
        (!topo["nodes"].as_object()?.is_empty()).then_some(())
    })
    .await;
    let url = format!(
        "ws://{}/api/topology/containers/ws?t=200ms&stopped=both",
        stack.http()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    let first = next_frame(&mut ws).await;
    assert_eq!(first["reset"], true, "first frame resets: {first}");
    let now = stack.get("/api/topology/containers?stopped=both").await;
    let listed: Vec<&String> = now["nodes"].as_object().unwrap().keys().collect();
    let added: Vec<&str> = first["add"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n["id"].as_str()).collect())
        .unwrap_or_default();
    for id in &listed {
        assert!(added.contains(&id.as_str()), "reset frame lacks {id}");
    }

    let web = Container::run("scope-e2e-ws", &["httpd", "-f", "-p", "80", "-h", "/www"]);
    let frame = tokio::time::timeout(TEN_SECONDS, async {
        loop {
            let f = next_frame(&mut ws).await;
            assert_ne!(f["reset"], true, "only the first frame resets");
            let has = |key: &str| {
                f[key]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n["label"] == web.name.as_str()))
            };
            if has("add") || has("update") {
                return f;
            }
        }
    })
    .await
    .expect("a diff frame with the new container within 10 s");
    assert!(frame["add"].to_string().contains(&web.name), "{frame}");
}

async fn next_frame<S>(ws: &mut S) -> Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a frame within 15 s")
            .expect("stream open")
            .expect("frame");
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("JSON frame");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_lists_its_networks_and_outside_addresses_are_the_internet() {
    let stack = Stack::start().await;
    // A test host in its own network namespace, at an address outside every network of this
    // host, holding a TCP connection from this test process.
    let outside = NetnsHost::create();
    let _conn = outside.connect();
    // Interfaces are re-read every 3 s; allow for a refresh and a slow, busy machine.
    let nets = eventually(
        Duration::from_secs(20),
        "the host node listing the veth's network",
        || async {
            let topo = stack.get("/api/topology/hosts").await;
            let host = topo["nodes"]
                .as_object()?
                .iter()
                .find(|(id, _)| id.ends_with(";<host>"))
                .map(|(_, n)| n.clone())?;
            let nets = metadata(&host, "local_networks")?.to_owned();
            nets.contains(NetnsHost::INSIDE_HOST_IP).then_some(nets)
        },
    )
    .await;
    assert!(nets.contains("127.0.0.1/8"), "local networks {nets:?}");
    assert!(
        nets.contains("172.17.0.1/16"),
        "docker0 missing from {nets:?}"
    );
    assert!(!nets.contains(NetnsHost::OUTSIDE_IP), "{nets:?}");

    let me = format!(";{}", std::process::id());
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let topo = stack.get("/api/topology/processes").await;
            let edge = topo["nodes"].as_object().and_then(|nodes| {
                let (id, _) = nodes.iter().find(|(id, _)| id.ends_with(&me))?;
                has_edge(&topo, id, "out-theinternet").then_some(())
            });
            if edge.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    if found.is_err() {
        // Say what the probe saw of the connection, to tell a collection problem from a render one.
        let report = stack.get("/api/report").await;
        let eps: Vec<String> = report["topologies"]["endpoint"]["nodes"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.contains(NetnsHost::OUTSIDE_IP))
                    .map(|(k, v)| format!("{k} {}", v["latest"]))
                    .collect()
            })
            .unwrap_or_default();
        panic!("no edge from this process to out-theinternet within 20 s; endpoints seen: {eps:?}");
    }
    let topo = stack.get("/api/topology/processes").await;
    assert_eq!(topo["nodes"]["out-theinternet"]["shape"], "cloud");
}
