use super::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as seen by the test server: target (path + query) and lowercased headers.
#[derive(Debug)]
struct Seen {
    target: String,
    headers: HashMap<String, String>,
}

impl Seen {
    fn url(&self) -> Url {
        Url::parse(&format!("http://test{}", self.target)).unwrap()
    }
    fn query(&self) -> HashMap<String, String> {
        self.url().query_pairs().into_owned().collect()
    }
}

/// A real HTTP/1.1 server on 127.0.0.1:0 answering every request with `status` and `body`,
/// reporting each request on the returned channel.
async fn serve(
    status: &'static str,
    body: &'static str,
) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                let mut lines = text.split("\r\n");
                let target = lines.next().unwrap().split(' ').nth(1).unwrap().to_owned();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                    .collect();
                let _ = tx.send(Seen { target, headers });
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (base, rx)
}

fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn params(base: &str) -> CheckParams {
    CheckParams {
        base_url: base.to_owned(),
        flags: vec![("mode".into(), "weave net".into())],
        ..CheckParams::new("scope-probe", "1.13.0")
    }
}

const OUTDATED: &str = r#"{"product":"scope","current_version":"1.13.2","current_release_date":1600000000,
"current_download_url":"https://github.com/weaveworks/scope/releases","outdated":true,
"alerts":[{"id":1,"message":"hi","level":"info"}],"unknown_field":42}"#;

#[tokio::test]
async fn one_request_at_start_with_expected_query_and_result() {
    init_tls();
    let (base, mut rx) = serve("200 OK", OUTDATED).await;
    let (res_tx, mut res_rx) = mpsc::unbounded_channel();
    let checker = Checker::new(&params(&base), false).unwrap();
    let handle = checker
        .spawn(Duration::from_secs(3600), move |r| {
            res_tx.send(r.clone()).unwrap()
        })
        .expect("enabled checker spawns");

    let seen = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.url().path(), "/v1/check/scope-probe");
    let q = seen.query();
    assert_eq!(q["version"], "1.13.0");
    assert_eq!(q["arch"], go_arch());
    assert_eq!(q["os"], "linux");
    assert_eq!(q["signature"], machine_signature());
    assert_eq!(q["flag_kernel-version"], kernel_version());
    assert!(!q["flag_kernel-version"].is_empty());
    assert_eq!(q["flag_os"], "linux");
    assert_eq!(
        q["flag_mode"], "weave net",
        "caller flags are sent and decoded back"
    );
    if std::env::consts::ARCH == "x86_64" {
        assert_eq!(q["arch"], "amd64");
    }
    assert_eq!(seen.headers["accept"], "application/json");
    assert_eq!(seen.headers["user-agent"], USER_AGENT);

    let resp = tokio::time::timeout(Duration::from_secs(5), res_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(resp.outdated);
    assert_eq!(resp.current_version, "1.13.2");
    assert_eq!(resp.current_release_date, 1_600_000_000);
    assert_eq!(resp.alerts[0].message, "hi");
    assert_eq!(resp.project_website, "", "missing fields default");

    // Exactly one request at start: nothing more within the (long) interval.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.try_recv().is_err(), "only one request at start");
    handle.abort();
}

#[tokio::test]
async fn disabled_makes_no_request() {
    let (base, mut rx) = serve("200 OK", OUTDATED).await;
    let checker = Checker::new(&params(&base), true).unwrap();
    assert!(checker.is_disabled());
    assert!(matches!(checker.check().await, Err(CheckError::Disabled)));
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    let handle = checker.spawn(Duration::from_millis(10), move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert!(handle.is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.try_recv().is_err(), "no request reached the server");
    assert_eq!(called.load(Ordering::SeqCst), 0);
}

#[test]
fn disable_env_values() {
    assert!(!disabled_by(None));
    assert!(!disabled_by(Some("")));
    assert!(disabled_by(Some("1")));
    assert!(disabled_by(Some("false")), "any non-empty value disables");
}

#[test]
fn jitter_stays_within_bounds() {
    let interval = Duration::from_secs(6 * 3600);
    let (lo, hi) = (interval.mul_f64(0.75), interval.mul_f64(1.25));
    let samples: Vec<_> = (0..10_000).map(|_| jittered(interval)).collect();
    assert!(samples.iter().all(|d| (lo..=hi).contains(d)));
    // It really is staggered, not a constant.
    assert!(samples.iter().any(|d| *d < interval) && samples.iter().any(|d| *d > interval));
}

#[tokio::test]
async fn server_errors_and_bad_json_are_errors() {
    init_tls();
    let (base, _rx) = serve("500 Internal Server Error", "{}").await;
    let err = Checker::new(&params(&base), false)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckError::Status(s) if s.as_u16() == 500),
        "{err}"
    );

    let (base, _rx) = serve("200 OK", "not json").await;
    let err = Checker::new(&params(&base), false)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Decode(_)), "{err}");

    let (base, _rx) = serve("200 OK", "{}").await;
    let resp = Checker::new(&params(&base), false)
        .unwrap()
        .check()
        .await
        .unwrap();
    assert_eq!(
        resp,
        CheckResponse::default(),
        "empty object parses leniently"
    );

    // Nothing listening: a connection error, not a panic.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Checker::new(&params(&format!("http://127.0.0.1:{port}")), false)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Request(_)), "{err}");

    assert!(matches!(
        Checker::new(&params("not a url"), false),
        Err(CheckError::InvalidUrl { .. })
    ));
}

#[tokio::test]
async fn runner_keeps_going_after_errors() {
    init_tls();
    let (base, mut rx) = serve("503 Service Unavailable", "").await;
    let handle = Checker::new(&params(&base), false)
        .unwrap()
        .spawn(Duration::from_millis(20), |_| panic!("no result on error"))
        .unwrap();
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
    }
    assert!(!handle.is_finished());
    handle.abort();
}

#[test]
fn url_encoding_and_base_path() {
    let mut p = params("http://example.com/api/");
    p.flags.push(("os".into(), "custom&os".into()));
    let url = request_url(&p, "6.1.0-1 #1", "sig").unwrap();
    assert_eq!(url.path(), "/api/v1/check/scope-probe");
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["flag_os"], "custom&os", "caller flags override built-ins");
    assert_eq!(q["flag_kernel-version"], "6.1.0-1 #1");
    assert!(
        url.query()
            .unwrap()
            .contains("flag_kernel-version=6.1.0-1+%231")
    );
}

#[test]
fn signature_hashes_first_readable_id() {
    let dir = std::env::temp_dir().join(format!("scope-checkpoint-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let id = dir.join("machine-id");
    std::fs::write(&id, "abc\n").unwrap();
    let missing = dir.join("missing");
    let sig = signature_from(&[&missing, &id]);
    // sha256("abc")
    assert_eq!(
        sig,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(signature_from(&[&missing]), "");
    let real = machine_signature();
    assert!(real.is_empty() || (real.len() == 64 && real.bytes().all(|b| b.is_ascii_hexdigit())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn version_ordering() {
    assert!(version_newer("0.10.0", "0.9.1"));
    assert!(!version_newer("0.9.1", "0.10.0"));
    assert!(version_newer("1.13.2", "1.13.1"));
    assert!(!version_newer("1.13.2", "1.13.2"));
    assert!(version_newer("1.14", "1.13.9"));
    assert!(!version_newer("1.13.0", "1.13"), "missing parts are zero");
    assert!(version_newer("v2.0.0", "1.99.99"));
    assert!(
        version_newer("1.13.2", "1.13.2-rc1"),
        "release beats its pre-release"
    );
    assert!(!version_newer("1.13.2-rc1", "1.13.2"));
    assert!(
        !version_newer("1.13.2-rc2", "1.13.2-rc1"),
        "suffixes alone do not order"
    );
    assert!(version_newer("1.13.3-rc1", "1.13.2"));
    assert!(version_newer("1.0.0", "dev"));
}

#[test]
fn check_response_for_computes_outdated() {
    let r = check_response_for("scope-app", "1.13.1", "1.13.2", "https://dl");
    assert!(r.outdated);
    assert_eq!(
        (
            r.product.as_str(),
            r.current_version.as_str(),
            r.current_download_url.as_str()
        ),
        ("scope-app", "1.13.2", "https://dl")
    );
    assert!(!check_response_for("scope-app", "1.13.2", "1.13.2", "https://dl").outdated);
    assert!(!check_response_for("scope-app", "1.14.0", "1.13.2", "https://dl").outdated);
}
