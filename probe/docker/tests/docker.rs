//! Tests against the real Docker engine. They fail (never skip) when Docker is not running, with
//! a message saying to run `bash scripts/ensure-docker.sh`.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ip_network::IpNetwork;
use scope_probe_docker::{ContainerControl, DockerCollector, DockerConfig, DockerError};
use scope_report::keys::{self, state};
use scope_report::{Kind, Node, NodeId, Report};
use support::{ContainerGuard, SocketProxy, eventually};
use tokio::sync::mpsc;

/// A command that exits promptly on SIGTERM (a plain `sleep` as PID 1 ignores it, which would make
/// every stop wait the full 10 s grace period).
const QUICK_STOP: &[&str] = &[
    "sh",
    "-c",
    "trap 'exit 0' TERM; while true; do sleep 1; done",
];

fn config() -> DockerConfig {
    DockerConfig::new("test-host", "test-probe")
}

fn container(report: &Report, id: &NodeId) -> Option<Node> {
    report.node(Kind::Container, id).cloned()
}

/// Waits for a shortcut report carrying container `id` in `want` state, skipping others (every
/// collector sees every container on the host, including other tests').
async fn shortcut(rx: &mut mpsc::Receiver<Report>, id: &NodeId, want: &str) -> Node {
    let wait = async {
        loop {
            let report = rx.recv().await.expect("shortcut channel open");
            if let Some(node) = container(&report, id)
                && node.get(keys::CONTAINER_STATE) == Some(want)
            {
                assert_eq!(
                    report.node_count(),
                    1,
                    "a shortcut holds just the one container"
                );
                assert!(
                    !report
                        .topology(Kind::Container)
                        .unwrap()
                        .controls
                        .is_empty(),
                    "shortcut carries the topology's controls"
                );
                return node;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .unwrap_or_else(|_| panic!("no shortcut with state {want} for {id} within 15 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_container_appears_in_snapshot_with_metadata_and_metrics() {
    let docker = support::docker().await;
    let (tx, _rx) = mpsc::channel(1024);
    let collector = DockerCollector::spawn(config(), tx);
    let c = ContainerGuard::run(&docker, "snap", &["httpd", "-f", "-p", "80", "-h", "/www"]).await;
    let id = NodeId::container(&c.id);

    let node = eventually(
        Duration::from_secs(10),
        "container with metrics in snapshot",
        || {
            let snap = collector.snapshot();
            let found = container(&snap, &id).filter(|n| {
                n.metrics.contains_key(keys::CONTAINER_CPU)
                    && n.metrics.contains_key(keys::CONTAINER_MEMORY)
            });
            async move { found }
        },
    )
    .await;

    assert_eq!(node.get(keys::CONTAINER_ID), Some(c.id.as_str()));
    assert_eq!(node.get(keys::CONTAINER_NAME), Some(c.name.as_str()));
    assert_eq!(node.get(keys::CONTAINER_IMAGE_NAME), Some(support::IMAGE));
    assert_eq!(node.get(keys::CONTAINER_STATE), Some(state::RUNNING));
    assert!(
        node.get(keys::CONTAINER_STATE_HUMAN)
            .unwrap()
            .starts_with("Up ")
    );
    assert_eq!(
        node.get(keys::CONTAINER_COMMAND),
        Some("httpd -f -p 80 -h /www")
    );
    assert_eq!(node.get("docker_label_scope.test"), Some("snap"));
    assert_eq!(node.get(keys::HOST_NODE_ID), Some("test-host;<host>"));
    assert_eq!(node.get(keys::CONTROL_PROBE_ID), Some("test-probe"));
    assert_eq!(
        node.get(keys::ACTIVE_CONTROLS),
        Some("docker_restart_container;docker_pause_container;docker_stop_container")
    );
    assert!(node.sets[keys::CONTAINER_NETWORKS].contains("bridge"));
    let ip = node.sets[keys::CONTAINER_IPS]
        .iter()
        .next()
        .expect("container ip")
        .clone();
    assert!(ip.starts_with("172.17."), "{ip}");
    assert!(
        node.sets[keys::CONTAINER_IPS_WITH_SCOPES].contains(&format!("test-host;{ip}")),
        "bridge IPs are scoped to the host: {:?}",
        node.sets[keys::CONTAINER_IPS_WITH_SCOPES]
    );
    let image_id = node.get(keys::CONTAINER_IMAGE).unwrap().to_owned();
    assert!(node.parents[&Kind::Host].contains(&NodeId::host("test-host")));
    assert!(node.parents[&Kind::ContainerImage].contains(&NodeId::container_image(&image_id)));
    let mem = node.metrics[keys::CONTAINER_MEMORY].last().unwrap().value;
    assert!(mem > 0.0, "memory {mem}");
    assert!(node.metrics[keys::CONTAINER_MEMORY].max >= mem);
    let cpu = node.metrics[keys::CONTAINER_CPU].last().unwrap().value;
    assert!((0.0..=200.0).contains(&cpu), "cpu {cpu}");

    let snap = collector.snapshot();
    let image = snap
        .node(Kind::ContainerImage, &NodeId::container_image(&image_id))
        .expect("image node");
    assert_eq!(image.get(keys::IMAGE_NAME), Some(support::IMAGE));
    assert_eq!(image.get(keys::IMAGE_TAG), Some("latest"));
    assert_eq!(snap.topology(Kind::Container).unwrap().controls.len(), 6);

    let docker0: IpNetwork = "172.17.0.0/16".parse().unwrap();
    assert!(
        collector.host_local_networks().contains(&docker0),
        "{:?}",
        collector.host_local_networks()
    );
    let pid = node
        .get(keys::CONTAINER_PID)
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert_eq!(collector.container_pids().get(&pid), Some(&c.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortcuts_and_controls_follow_the_lifecycle() {
    let docker = support::docker().await;
    let (tx, mut rx) = mpsc::channel(1024);
    let collector = DockerCollector::spawn(config(), tx);
    eventually(Duration::from_secs(10), "collector connected", || {
        let connected = collector.status().connected;
        async move { connected.then_some(()) }
    })
    .await;

    let c = ContainerGuard::run(&docker, "life", QUICK_STOP).await;
    let id = NodeId::container(&c.id);
    shortcut(&mut rx, &id, state::RUNNING).await;

    let out = collector
        .run_control(&c.id, ContainerControl::Stop)
        .await
        .expect("stop");
    assert_eq!(out.removed_node, None);
    let stopped = shortcut(&mut rx, &id, state::EXITED).await;
    assert_eq!(
        stopped.get(keys::ACTIVE_CONTROLS),
        Some("docker_start_container;docker_remove_container")
    );
    let snap = container(&collector.snapshot(), &id).expect("stopped container still reported");
    assert_eq!(snap.get(keys::CONTAINER_STATE), Some(state::EXITED));
    assert!(
        snap.get(keys::CONTAINER_STATE_HUMAN)
            .unwrap()
            .starts_with("Exited (0)")
    );
    assert_eq!(
        snap.get(keys::ACTIVE_CONTROLS),
        Some("docker_start_container;docker_remove_container")
    );
    assert!(!snap.metrics.contains_key(keys::CONTAINER_CPU));

    collector
        .run_control(&c.id, ContainerControl::Start)
        .await
        .expect("start");
    shortcut(&mut rx, &id, state::RUNNING).await;

    collector
        .run_control(&c.id, ContainerControl::Pause)
        .await
        .expect("pause");
    let paused = shortcut(&mut rx, &id, state::PAUSED).await;
    assert_eq!(
        paused.get(keys::ACTIVE_CONTROLS),
        Some("docker_unpause_container")
    );

    collector
        .run_control(&c.id, ContainerControl::Unpause)
        .await
        .expect("unpause");
    shortcut(&mut rx, &id, state::RUNNING).await;

    collector
        .run_control(&c.id, ContainerControl::Restart)
        .await
        .expect("restart");
    shortcut(&mut rx, &id, state::RUNNING).await;

    collector
        .run_control(&c.id, ContainerControl::Stop)
        .await
        .expect("stop again");
    shortcut(&mut rx, &id, state::EXITED).await;

    let out = collector
        .run_control(&c.id, ContainerControl::Remove)
        .await
        .expect("remove");
    assert_eq!(out.removed_node, Some(id.clone()));
    shortcut(&mut rx, &id, state::DELETED).await;
    assert!(container(&collector.snapshot(), &id).is_none());

    let err = collector
        .run_control(&c.id, ContainerControl::Start)
        .await
        .expect_err("gone");
    assert!(matches!(err, DockerError::NoSuchContainer(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_cgroups_fall_back_to_docker_stats() {
    let docker = support::docker().await;
    let mut cfg = config();
    // No mount table: no container's cgroup can be found, as when the probe cannot see the
    // host's cgroup filesystem.
    cfg.mountinfo = "/nonexistent/mountinfo".into();
    cfg.stats_fallback_interval = Duration::from_secs(1);
    let (tx, _rx) = mpsc::channel(1024);
    let collector = DockerCollector::spawn(cfg, tx);
    let c = ContainerGuard::run(&docker, "stats", &["sleep", "3600"]).await;
    let id = NodeId::container(&c.id);
    let node = eventually(Duration::from_secs(15), "metrics from docker stats", || {
        let found = container(&collector.snapshot(), &id).filter(|n| {
            n.metrics.contains_key(keys::CONTAINER_CPU)
                && n.metrics.contains_key(keys::CONTAINER_MEMORY)
        });
        async move { found }
    })
    .await;
    assert!(node.metrics[keys::CONTAINER_MEMORY].last().unwrap().value > 0.0);
}

/// Captured log output.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Routes this thread's tracing output here (tests run the collector on a current-thread
    /// runtime, so its task logs on this thread too).
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WARNING: &str = "docker unavailable, reporting without containers";

#[tokio::test(flavor = "current_thread")]
async fn absent_docker_reports_empty_and_warns_once() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let mut cfg = config().with_docker_host(format!(
        "unix:///tmp/scope-nope-{}.sock",
        std::process::id()
    ));
    // Fast retries, so the test sees several failed attempts but only one warning.
    cfg.backoff_initial = Duration::from_millis(50);
    cfg.backoff_max = Duration::from_millis(200);
    let (tx, _rx) = mpsc::channel(16);
    let collector = DockerCollector::spawn(cfg, tx);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(collector.snapshot().node_count(), 0);
    assert!(collector.host_local_networks().is_empty());
    assert!(collector.container_pids().is_empty());
    let status = collector.status();
    assert!(!status.connected);
    assert!(status.last_error.is_some());
    assert!(matches!(
        collector.run_control("abc", ContainerControl::Stop).await,
        Err(DockerError::Unavailable)
    ));
    let text = logs.text();
    assert_eq!(text.matches(WARNING).count(), 1, "logs:\n{text}");
    assert!(text.contains("retrying"), "logs:\n{text}");
    assert!(text.contains("WARN"), "logs:\n{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn recovers_when_docker_appears_and_after_it_restarts() {
    let docker = support::docker().await;
    let c = ContainerGuard::run(&docker, "recover", &["sleep", "3600"]).await;
    let id = NodeId::container(&c.id);
    let logs = Logs::default();
    let _guard = logs.capture();

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    let mut cfg = config().with_docker_host(format!("unix://{}", sock.display()));
    cfg.backoff_initial = Duration::from_millis(100);
    cfg.backoff_max = Duration::from_millis(500);
    let (tx, _rx) = mpsc::channel(1024);
    let collector = DockerCollector::spawn(cfg, tx);

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!collector.status().connected);
    assert_eq!(collector.snapshot().node_count(), 0);

    // "Docker" appears.
    let proxy = SocketProxy::start(&sock);
    eventually(
        Duration::from_secs(10),
        "container after docker appeared",
        || {
            let found = container(&collector.snapshot(), &id);
            async move { found }
        },
    )
    .await;

    // The daemon goes away: every connection is cut and the socket vanishes.
    proxy.stop().await;
    eventually(
        Duration::from_secs(10),
        "empty report after docker left",
        || {
            let gone = !collector.status().connected && collector.snapshot().node_count() == 0;
            async move { gone.then_some(()) }
        },
    )
    .await;

    // It comes back: the collector re-lists and re-subscribes by itself.
    let _proxy = SocketProxy::start(&sock);
    eventually(
        Duration::from_secs(10),
        "container after docker came back",
        || {
            let found = container(&collector.snapshot(), &id);
            async move { found }
        },
    )
    .await;
    assert!(collector.status().connected);

    let text = logs.text();
    assert_eq!(
        text.matches(WARNING).count(),
        2,
        "one warning per outage; logs:\n{text}"
    );
    assert_eq!(
        text.matches("docker available again").count(),
        2,
        "one info line per recovery; logs:\n{text}"
    );
}
