//! The `scope` binary as a user runs it: `launch`, `app`, `probe`, signals and checkpoint.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SCOPE: &str = env!("CARGO_BIN_EXE_scope");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} failed");
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(
            start.elapsed() < within,
            "process did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn launch_serves_the_console_and_the_map_and_stops_on_sigterm() {
    init();
    let port = free_port();
    let child = Command::new(SCOPE)
        .args(["launch", "--listen", &format!("127.0.0.1:{port}")])
        .env("CHECKPOINT_DISABLE", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scope launch");
    let mut proc = Proc(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually(Duration::from_secs(15), "the console page", || async {
        let resp = reqwest::get(format!("http://{addr}/")).await.ok()?;
        let html = resp.text().await.ok()?;
        html.contains("<title>Scope</title>").then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), "this host on the map", || async {
        let hosts = get_json(addr, "/api/topology/hosts").await;
        (!hosts["nodes"].as_object()?.is_empty()).then_some(())
    })
    .await;
    let (status, body) = get(addr, "/api/nope").await;
    assert_eq!(status, 404, "{body}");
    // A hostile name resolving to 127.0.0.1 (DNS rebinding) gets nothing.
    let rebound = reqwest::Client::new()
        .get(format!("http://{addr}/api/topology/hosts"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    signal(&proc.0, "-TERM");
    let status = wait_exit(&mut proc.0, Duration::from_secs(10));
    assert!(status.success(), "scope launch exited with {status}");
}

#[test]
fn launch_refuses_a_public_address() {
    let out = Command::new(SCOPE)
        .args(["launch", "--listen", &format!("0.0.0.0:{}", free_port())])
        .env("CHECKPOINT_DISABLE", "true")
        .output()
        .expect("run scope launch");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to serve"), "{stderr}");
}

#[test]
fn a_public_address_needs_accounts_and_accounts_need_a_session_key() {
    // `scope app` without a database stays on loopback, like launch.
    let out = Command::new(SCOPE)
        .args(["app", "--listen", &format!("0.0.0.0:{}", free_port())])
        .env("CHECKPOINT_DISABLE", "true")
        .output()
        .expect("run scope app");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without user accounts"), "{stderr}");
    // Accounts without a signing key: refused, with how to make one. No built-in key.
    let out = Command::new(SCOPE)
        .args(["app", "--database", "sqlite::memory:"])
        .env("CHECKPOINT_DISABLE", "true")
        .env_remove("SCOPE_SESSION_KEY")
        .output()
        .expect("run scope app");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SCOPE_SESSION_KEY"), "{stderr}");
    // A key too short to be safe is refused too.
    let out = Command::new(SCOPE)
        .args(["app", "--database", "sqlite::memory:"])
        .env("CHECKPOINT_DISABLE", "true")
        .env("SCOPE_SESSION_KEY", "short")
        .output()
        .expect("run scope app");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
}

/// With accounts on, the app may listen on every address; a fresh tier prints a one-time
/// bootstrap secret, which is what lets the first account sign up.
#[tokio::test]
async fn accounts_mode_listens_publicly_and_prints_a_bootstrap_secret() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let mut child = Command::new(SCOPE)
        .args([
            "app",
            "--database",
            "sqlite::memory:",
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--probe-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("CHECKPOINT_DISABLE", "true")
        .env("SCOPE_SESSION_KEY", "0123456789abcdef".repeat(4))
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scope app");
    let stderr = child.stderr.take().unwrap();
    let secret = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut next_is_secret = false;
        for line in lines.by_ref().map_while(Result::ok) {
            if next_is_secret && !line.trim().is_empty() {
                // Keep draining so the app never blocks on a full pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return line.trim().to_owned();
            }
            if line.contains("bootstrap secret") {
                next_is_secret = true;
            }
        }
        panic!("no bootstrap secret printed");
    })
    .await
    .unwrap();
    let proc = Proc(child);
    let client = reqwest::Client::new();
    let signup = |secret: String| {
        let client = client.clone();
        async move {
            client
                .post(format!("http://127.0.0.1:{port}/api/auth/signup"))
                .json(&serde_json::json!({ "email": "root@example.com",
                    "password": "a long enough password", "orgName": "Ops", "bootstrapSecret": secret }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(signup("not-the-secret".into()).await, 403);
    assert_eq!(signup(secret).await, 201);
    signal(&proc.0, "-TERM");
}

/// A checkpoint server: records request lines, answers a newer version.
struct CheckpointServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl CheckpointServer {
    async fn start() -> CheckpointServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    seen.lock()
                        .unwrap()
                        .push(head.lines().next().unwrap_or("").to_owned());
                    let body = r#"{"product":"scope","current_version":"9.9.9","current_download_url":"https://example.invalid/scope","outdated":true}"#;
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        CheckpointServer { addr, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn probe_command(checkpoint: SocketAddr) -> Command {
    let mut cmd = Command::new(SCOPE);
    cmd.args([
        "probe",
        "--service-token",
        "unused",
        "--no-docker",
        "--checkpoint-url",
        &format!("http://{checkpoint}"),
        // Nothing listens there: the probe keeps retrying, which is fine for this test.
        "127.0.0.1:9",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_checks_for_a_new_version_once_at_start() {
    init();
    let server = CheckpointServer::start().await;
    let mut child = probe_command(server.addr)
        .env_remove("CHECKPOINT_DISABLE")
        .spawn()
        .expect("start scope probe");
    // Collect stderr lines in the background to find the update notice.
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let _proc = Proc(child);
    let line = eventually(Duration::from_secs(10), "a checkpoint request", || async {
        server.requests().first().cloned()
    })
    .await;
    assert!(line.starts_with("GET /v1/check/scope-probe?"), "{line}");
    for key in [
        "version=",
        "arch=",
        "os=linux",
        "signature=",
        "flag_kernel-version=",
        "flag_os=linux",
    ] {
        assert!(line.contains(key), "{key} missing from {line}");
    }
    eventually(
        Duration::from_secs(10),
        "the update notice in the log",
        || async {
            lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("9.9.9 is available"))
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.requests().len(), 1, "exactly one request at start");
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_disable_means_no_request() {
    init();
    let server = CheckpointServer::start().await;
    let child = probe_command(server.addr)
        .env("CHECKPOINT_DISABLE", "true")
        .spawn()
        .expect("start scope probe");
    let _proc = Proc(child);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(server.requests(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_shows_a_newer_version_in_the_api() {
    init();
    let server = CheckpointServer::start().await;
    let port = free_port();
    let child = Command::new(SCOPE)
        .args([
            "app",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--probe-listen",
            "127.0.0.1:0",
            "--service-token",
            "some-token",
            "--checkpoint-url",
            &format!("http://{}", server.addr),
        ])
        .env_remove("CHECKPOINT_DISABLE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scope app");
    let _proc = Proc(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let details = eventually(Duration::from_secs(15), "newVersion in /api", || async {
        let (status, body) = reqwest::get(format!("http://{addr}/api"))
            .await
            .ok()
            .map(|r| (r.status(), r))?;
        if !status.is_success() {
            return None;
        }
        let v: serde_json::Value = body.json().await.ok()?;
        v.get("newVersion").is_some().then_some(v)
    })
    .await;
    assert_eq!(details["newVersion"]["version"], "9.9.9");
    assert!(server.requests()[0].starts_with("GET /v1/check/scope-app?"));

    // The tier answers the checkpoint protocol itself, with the version it runs.
    let me = env!("CARGO_PKG_VERSION");
    let old = get_json(
        addr,
        "/v1/check/scope-probe?version=0.0.1&os=linux&arch=amd64",
    )
    .await;
    assert_eq!(old["current_version"], me);
    assert_eq!(old["outdated"], true);
    let same = get_json(addr, &format!("/v1/check/scope-probe?version={me}")).await;
    assert_eq!(same["outdated"], false);
    let (status, _) = get(addr, "/v1/check/other-product?version=1").await;
    assert_eq!(status, 404);
}
