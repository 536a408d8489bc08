//! Several app replicas sharing one PostgreSQL and one NATS, as the cloud tier runs: a probe held
//! by one replica is visible through another within a publish interval; killing the replica that
//! holds it makes the probe reconnect to another and loses no tenant, user, token or audit row; a
//! revoked token cuts its probe off on whichever replica holds it.

mod support;

use std::time::Duration;

use reqwest::header;
use scope_app::{AccountsOptions, AppOptions, Application, Mode};
use serde_json::{Value, json};
use support::{eventually, pg_schema_url, spawn_probe_to};

const BOOTSTRAP: &str = "replica-test-bootstrap";
const PASSWORD: &str = "correct horse battery staple";

fn nats_url() -> String {
    std::env::var("SCOPE_TEST_NATS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "SCOPE_TEST_NATS_URL is not set: these tests need a NATS server. Run \
                 `bash scripts/ensure-nats.sh` (as root) and export the URL it prints"
            )
        })
}

async fn replica(name: &str, db: &str, key: &str) -> Application {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Application::start(AppOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        probe_listen: "127.0.0.1:0".parse().unwrap(),
        mode: Mode::Accounts(AccountsOptions {
            database_url: db.to_owned(),
            session_key: key.to_owned(),
            previous_session_keys: vec![],
            bootstrap_secret: Some(BOOTSTRAP.to_owned()),
            signup: scope_api::Signup::Open,
            secure_cookies: false,
            probe_address: None,
        }),
        metrics_listen: None,
        replica_id: Some(name.to_owned()),
        nats_url: Some(nats_url()),
        window: Duration::from_secs(15),
        max_message_size: 16 << 20,
        max_nodes_per_report: 50_000,
        checkpoint_url: None,
        ingest_tls: None,
    })
    .await
    .unwrap_or_else(|e| panic!("replica {name} starts: {e:#}"))
}

/// A session valid on every replica (same key, same database).
struct Session {
    cookie: String,
    csrf: String,
}

async fn call(
    base: &str,
    s: Option<&Session>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(s) = s {
        req = req
            .header(header::COOKIE, format!("scope_session={}", s.cookie))
            .header("x-csrf-token", &s.csrf);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("scope_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, cookie)
}

async fn get(base: &str, s: &Session, path: &str) -> Value {
    let (status, v, _) = call(base, Some(s), reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {base}{path}: {v}");
    v
}

async fn probe_state(base: &str, s: &Session) -> Option<(String, bool, String)> {
    let probes = get(base, s, "/api/org/probes").await;
    let p = probes.as_array()?.first()?;
    Some((
        p["id"].as_str()?.to_owned(),
        p["connected"].as_bool()?,
        p["replica"].as_str().unwrap_or("").to_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_probes_and_survive_losing_one() {
    let db = pg_schema_url();
    let key = hex::encode(rand::random::<[u8; 32]>());
    let r1 = replica("r1", &db, &key).await;
    let r2 = replica("r2", &db, &key).await;
    let (b1, b2) = (
        format!("http://{}", r1.http_addr()),
        format!("http://{}", r2.http_addr()),
    );

    // Sign up and make a token through replica 1; the session works on replica 2 as well.
    let (status, me, cookie) = call(
        &b1,
        None,
        reqwest::Method::POST,
        "/api/auth/signup",
        Some(
            json!({ "email": "ops@a.example", "password": PASSWORD, "orgName": "A",
                     "bootstrapSecret": BOOTSTRAP }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{me}");
    let s = Session {
        cookie: cookie.unwrap(),
        csrf: me["csrfToken"].as_str().unwrap().to_owned(),
    };
    let (status, t, _) = call(
        &b1,
        Some(&s),
        reqwest::Method::POST,
        "/api/org/tokens",
        Some(json!({ "name": "fleet" })),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    let token_id = t["token"]["id"].as_str().unwrap().to_owned();
    let secret = t["secret"].as_str().unwrap().to_owned();

    // The probe knows both replicas and connects to the first.
    // (The helper puts its URL argument last: addresses are tried in order.)
    let first = format!("http://{}", r1.probe_addr());
    let fallback = format!("http://{}", r2.probe_addr());
    let _probe = spawn_probe_to(&fallback, &secret, &["--no-docker", &first]);

    // A viewer on replica 2 sees the host the probe on replica 1 reports.
    eventually(Duration::from_secs(20), "the host on replica 2", || {
        let (b2, s) = (b2.clone(), &s);
        async move {
            let v = get(&b2, s, "/api/topology/hosts").await;
            v["nodes"].as_object().filter(|n| !n.is_empty()).map(|_| ())
        }
    })
    .await;
    let (probe_id, connected, held_by) = probe_state(&b2, &s).await.unwrap();
    assert!(connected);
    assert_eq!(held_by, "r1");

    // Replica 1 goes away: the probe reconnects to replica 2, which keeps showing its host.
    r1.stop().await;
    eventually(
        Duration::from_secs(30),
        "the probe held by replica 2",
        || {
            let (b2, s, probe_id) = (b2.clone(), &s, probe_id.clone());
            async move {
                let (id, connected, held_by) = probe_state(&b2, s).await?;
                (id == probe_id && connected && held_by == "r2").then_some(())
            }
        },
    )
    .await;
    let hosts = get(&b2, &s, "/api/topology/hosts").await;
    assert!(!hosts["nodes"].as_object().unwrap().is_empty());
    // Nothing durable was lost: the user signs in on replica 2, the token is listed, the audit
    // log still has the organisation's creation.
    let (status, _, _) = call(
        &b2,
        None,
        reqwest::Method::POST,
        "/api/auth/signin",
        Some(json!({ "email": "ops@a.example", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 200);
    let tokens = get(&b2, &s, "/api/org/tokens").await;
    assert_eq!(tokens[0]["id"], token_id.as_str());
    let audit = get(&b2, &s, "/api/org/audit").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "org.create"),
        "{audit}"
    );

    // Revoking the token on replica 2 cuts the probe off within about one publish interval (the
    // test probe publishes every second; allow for a loaded machine).
    let (status, v, _) = call(
        &b2,
        Some(&s),
        reqwest::Method::DELETE,
        &format!("/api/org/tokens/{token_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{v}");
    eventually(
        Duration::from_secs(6),
        "the revoked probe disconnected",
        || {
            let (b2, s) = (b2.clone(), &s);
            async move {
                let (_, connected, _) = probe_state(&b2, s).await?;
                (!connected).then_some(())
            }
        },
    )
    .await;
    r2.stop().await;
}
