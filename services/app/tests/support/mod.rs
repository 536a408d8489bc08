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
        mode: scope_app::Mode::Local {
            tokens: vec![token.to_owned()],
        },
        metrics_listen: None,
        replica_id: None,
        nats_url: None,
        window: Duration::from_secs(15),
        max_message_size: 16 << 20,
        max_nodes_per_report: 50_000,
        checkpoint_url: None,
        ingest_tls: None,
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
        let app = Application::start(app_options(&token))
            .await
            .expect("app starts");
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
    spawn_probe_to(&format!("http://{addr}"), token, extra)
}

/// Starts an in-process probe reporting to the app at `url`.
pub fn spawn_probe_to(url: &str, token: &str, extra: &[&str]) -> watch::Sender<bool> {
    let mut args = vec![
        "probe".to_owned(),
        "--service-token".to_owned(),
        token.to_owned(),
        "--publish-interval".to_owned(),
        "1s".to_owned(),
        "--spy-interval".to_owned(),
        "500ms".to_owned(),
        // Tests never ask the public checkpoint service; nothing listens on port 9 here.
        "--checkpoint-url".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_owned());
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
        Container::run_with(prefix, &[], args)
    }

    /// `docker run -d --name <unique> <options> IMAGE <args>`.
    pub fn run_with(prefix: &str, options: &[&str], args: &[&str]) -> Container {
        let name = format!("{prefix}-{:08x}", rand::random::<u32>());
        let mut cmd = Command::new("docker");
        cmd.args(["run", "-d", "--name", &name])
            .args(options)
            .arg(IMAGE)
            .args(args);
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
        docker(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.IPAddress}}",
            &self.name,
        ])
    }

    /// `docker stop -t 1`.
    pub fn stop(&self) {
        docker(&["stop", "-t", "1", &self.name]);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
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

/// A test host in its own network namespace, reachable from this host through a veth pair at
/// an address outside every network this host has (a documentation address, TEST-NET-3: the
/// traffic never leaves this machine).
pub struct NetnsHost {
    ns: String,
    veth: String,
    server: std::process::Child,
}

impl NetnsHost {
    /// The test host's address.
    pub const OUTSIDE_IP: &'static str = "203.0.113.10";
    /// This host's end of the veth pair (TEST-NET-2).
    pub const INSIDE_HOST_IP: &'static str = "198.51.100.1";
    /// The port its server listens on.
    pub const PORT: u16 = 8080;

    /// Creates the namespace, the veth pair and a TCP server inside whose accepted connection no
    /// process owns (see `ownerless_server.py`): processes in the namespace are still processes
    /// of this host, and the probe would rightly attribute a connection to them.
    pub fn create() -> NetnsHost {
        let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
        let ns = format!("scope-t-{tag}");
        let veth = format!("sth{tag}");
        let peer = format!("stp{tag}");
        let sh = |cmd: String| {
            let out = Command::new("sh").arg("-c").arg(&cmd).output().expect("sh");
            assert!(
                out.status.success(),
                "`{cmd}` failed: {} (needs root and iproute2)",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        // Refuse to run where these documentation addresses are in use (they must not shadow a
        // real gateway or peer).
        let routes = Command::new("sh")
            .arg("-c")
            .arg("ip -4 addr; ip -4 route")
            .output()
            .expect("ip");
        let routes = String::from_utf8_lossy(&routes.stdout);
        for a in [Self::INSIDE_HOST_IP, Self::OUTSIDE_IP] {
            assert!(
                !routes.contains(a),
                "{a} is already in use on this machine: {routes}"
            );
        }
        sh(format!("ip netns add {ns}"));
        sh(format!("ip link add {veth} type veth peer name {peer}"));
        sh(format!("ip link set {peer} netns {ns}"));
        sh(format!(
            "ip addr add {}/32 dev {veth} && ip link set {veth} up",
            Self::INSIDE_HOST_IP
        ));
        sh(format!("ip route add {}/32 dev {veth}", Self::OUTSIDE_IP));
        sh(format!(
            "ip netns exec {ns} sh -c 'ip link set lo up && ip addr add {}/32 dev {peer} && ip link set {peer} up && ip route add {}/32 dev {peer}'",
            Self::OUTSIDE_IP,
            Self::INSIDE_HOST_IP
        ));
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/ownerless_server.py"
        );
        let mut server = Command::new("ip")
            .args(["netns", "exec", &ns, "python3", script, Self::OUTSIDE_IP])
            .arg(Self::PORT.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the server in the namespace (needs python3)");
        let mut ready = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut ready)
            .expect("server output");
        assert_eq!(
            ready.trim(),
            "ready",
            "the test host's server did not start"
        );
        NetnsHost { ns, veth, server }
    }

    /// Opens a TCP connection from this process to the test host.
    pub fn connect(&self) -> std::net::TcpStream {
        let addr: SocketAddr = format!("{}:{}", Self::OUTSIDE_IP, Self::PORT)
            .parse()
            .unwrap();
        let start = Instant::now();
        loop {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(s) => return s,
                Err(e) if start.elapsed() > Duration::from_secs(10) => {
                    panic!("cannot connect to the test host {addr}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for NetnsHost {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// A PostgreSQL URL whose tables land in a fresh schema of the test database
/// (`SCOPE_TEST_DATABASE_URL`, from `scripts/ensure-postgres.sh`). The schema name carries its
/// creation time so ensure-postgres.sh sweeps the ones killed runs leave behind.
pub fn pg_schema_url() -> String {
    let base = std::env::var("SCOPE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "SCOPE_TEST_DATABASE_URL is not set: these tests need PostgreSQL. Run \
                 `bash scripts/ensure-postgres.sh` (as root) and export the URL it prints \
                 (or `source /var/lib/scope-test/pg.env`)"
            )
        });
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let schema = format!("scope_test_{secs}_{:08x}", rand::random::<u32>());
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            base.trim(),
            "-c",
            &format!("CREATE SCHEMA {schema}"),
        ])
        .output()
        .expect("psql (from Debian's postgresql-client) must be installed");
    assert!(
        out.status.success(),
        "cannot create schema {schema}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{}{sep}options%5Bsearch_path%5D={schema}", base.trim())
}
