//! Helpers for end-to-end tests: a real app with a real probe on this host, real Docker
//! containers, HTTP and WebSocket clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use scope_app::{AppOptions, Application};
use serde_json::Value;
use tokio::sync::watch;

/// The local test image (see scripts/ensure-docker.sh).
pub const IMAGE: &str = "scope-test-busybox:latest";

/// Polls `f` every 250 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Installs the process-wide rustls provider (reqwest and tonic need one).
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    scope_probe::logging::init(false);
    require_docker();
}

/// Fails the test loudly when Docker is not running.
pub fn require_docker() {
    let ok = Command::new("docker")
        .arg("info")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these tests need a running Docker engine and the local test image: run `bash scripts/ensure-docker.sh` (as root)"
    );
}

/// Options for an app on free loopback ports with one token.
pub fn app_options(token: &str) -> AppOptions {
    AppOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        probe_listen: "127.0.0.1:0".parse().unwrap(),
        tokens: vec![token.to_owned()],
        window: Duration::from_secs(15),
        max_message_size: 16 << 20,
        max_nodes_per_report: 50_000,
        checkpoint_url: None,
    }
}

/// A running app plus a probe of this host.
pub struct Stack {
    pub app: Application,
    pub probe_stop: watch::Sender<bool>,
    pub token: String,
}

impl Stack {
    /// Starts an app and a probe (publishing every second) reporting to it.
    pub async fn start() -> Stack {
        init();
        let token = scope_app::generate_token();
        let app = Application::start(app_options(&token)).await.expect("app starts");
        let probe_stop = spawn_probe(app.probe_addr(), &token, &[]);
        Stack {
            app,
            probe_stop,
            token,
        }
    }

    pub fn http(&self) -> SocketAddr {
        self.app.http_addr()
    }

    pub async fn get(&self, path: &str) -> Value {
        get_json(self.http(), path).await
    }
}

/// Starts an in-process probe reporting to `addr` with `token`, publishing quickly.
pub fn spawn_probe(addr: SocketAddr, token: &str, extra: &[&str]) -> watch::Sender<bool> {
    let mut args = vec![
        "probe".to_owned(),
        "--service-token".to_owned(),
        token.to_owned(),
        "--publish-interval".to_owned(),
        "1s".to_owned(),
        "--spy-interval".to_owned(),
        "500ms".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("http://{addr}"));
    let cfg = scope_probe::config::ProbeConfig::parse_args(args).expect("probe args");
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if let Err(e) = scope_probe::run(cfg, rx).await {
            panic!("probe failed: {e:#}");
        }
    });
    tx
}

/// GET a JSON document; panics on a non-200 answer.
pub async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = get(addr, path).await;
    assert_eq!(status, 200, "GET {path} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: invalid JSON ({e}): {body}"))
}

/// GET, returning the status and body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// A Docker container removed when dropped.
pub struct Container {
    pub name: String,
    pub id: String,
}

impl Container {
    /// `docker run -d --name <unique> IMAGE <args>`.
    pub fn run(prefix: &str, args: &[&str]) -> Container {
        let name = format!("{prefix}-{:08x}", rand::random::<u32>());
        let mut cmd = Command::new("docker");
        cmd.args(["run", "-d", "--name", &name, IMAGE]).args(args);
        let out = cmd.output().expect("docker run");
        assert!(
            out.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Container { name, id }
    }

    /// The container's IP on the default bridge.
    pub fn ip(&self) -> String {
        docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &self.name])
    }

    /// `docker stop -t 1`.
    pub fn stop(&self) {
        docker(&["stop", "-t", "1", &self.name]);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.name]).output();
    }
}

/// Runs a docker command and returns its trimmed stdout; panics on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The node of `topology` whose label is `label`, if present.
pub fn node_by_label<'a>(topology: &'a Value, label: &str) -> Option<&'a Value> {
    topology["nodes"]
        .as_object()?
        .values()
        .find(|n| n["label"].as_str() == Some(label))
}

/// The metadata value with id `id` of a node summary.
pub fn metadata<'a>(node: &'a Value, id: &str) -> Option<&'a str> {
    node["metadata"]
        .as_array()?
        .iter()
        .find(|m| m["id"].as_str() == Some(id))?["value"]
        .as_str()
}
