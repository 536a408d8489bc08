//! Accounts mode end to end, on real PostgreSQL: sign-up and sign-in, sessions, CSRF, rate
//! limiting, roles, and tenant isolation over every route and WebSocket, including ids guessed or
//! copied from another organisation.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header;
use scope_app::{AccountsOptions, AppOptions, Application, Mode};
use serde_json::{Value, json};
use support::{eventually, pg_schema_url, spawn_probe};

const BOOTSTRAP: &str = "bootstrap-secret-for-tests";
const PASSWORD: &str = "correct horse battery staple";

fn session_key() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

async fn start_app(database_url: String, key: &str, signup: scope_api::Signup) -> Application {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Application::start(AppOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        probe_listen: "127.0.0.1:0".parse().unwrap(),
        mode: Mode::Accounts(AccountsOptions {
            database_url,
            session_key: key.to_owned(),
            previous_session_keys: vec![],
            bootstrap_secret: Some(BOOTSTRAP.to_owned()),
            signup,
            secure_cookies: false,
            probe_address: None,
        }),
        metrics_listen: None,
        replica_id: Some("test-replica".into()),
        nats_url: None,
        window: Duration::from_secs(15),
        max_message_size: 16 << 20,
        max_nodes_per_report: 50_000,
        checkpoint_url: None,
        ingest_tls: None,
    })
    .await
    .expect("app starts")
}

/// A browser-like client: keeps the session cookie and sends the CSRF token on changes.
#[derive(Clone)]
struct Client {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            cookie: None,
            csrf: None,
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("scope_session={c}"));
        }
        if method != reqwest::Method::GET
            && let Some(t) = &self.csrf
        {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("scope_session=") {
                let token = rest.split(';').next().unwrap();
                self.cookie = (!token.is_empty()).then(|| token.to_owned());
            }
        }
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Some(t) = json.get("csrfToken").and_then(Value::as_str) {
            self.csrf = Some(t.to_owned());
        }
        (status, json)
    }

    async fn get(&mut self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&mut self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn ok(&mut self, path: &str) -> Value {
        let (s, v) = self.get(path).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    async fn signup(&mut self, email: &str, org: &str, bootstrap: Option<&str>) -> Value {
        let (s, me) = self
            .post(
                "/api/auth/signup",
                json!({ "email": email, "password": PASSWORD, "orgName": org,
                        "bootstrapSecret": bootstrap.unwrap_or("") }),
            )
            .await;
        assert_eq!(s, 201, "sign-up of {email}: {me}");
        me
    }

    async fn create_token(&mut self, name: &str) -> (String, String) {
        let (s, t) = self.post("/api/org/tokens", json!({ "name": name })).await;
        assert_eq!(s, 201, "token: {t}");
        (
            t["token"]["id"].as_str().unwrap().to_owned(),
            t["secret"].as_str().unwrap().to_owned(),
        )
    }
}

const VIEWS: [&str; 6] = [
    "processes",
    "processes-by-name",
    "containers",
    "containers-by-image",
    "containers-by-hostname",
    "hosts",
];

/// Every id-like string in a JSON document (node ids, probe ids, ...), to look for leaks.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

fn assert_no_leak(what: &str, v: &Value, secrets: &[String]) {
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in secrets {
        assert!(
            !all.iter().any(|x| x.contains(s.as_str())),
            "{what} leaks {s:?} of the other organisation: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_see_and_change_nothing_of_each_other() {
    let app = start_app(pg_schema_url(), &session_key(), scope_api::Signup::Open).await;
    let addr = app.http_addr();

    // Org A: the first account, with the bootstrap secret; its probe reports this host.
    let mut a = Client::new(addr);
    let me_a = a.signup("alice@a.example", "Org A", Some(BOOTSTRAP)).await;
    let org_a = me_a["org"]["id"].as_str().unwrap().to_owned();
    let alice = me_a["user"]["id"].as_str().unwrap().to_owned();
    let (token_a, secret_a) = a.create_token("a-prod").await;
    let (s, inv) = a
        .post(
            "/api/org/invites",
            json!({ "email": "vic@a.example", "role": "viewer" }),
        )
        .await;
    assert_eq!(s, 201, "{inv}");
    let invite_a = inv["invite"]["id"].as_str().unwrap().to_owned();
    let invite_secret_a = inv["secret"].as_str().unwrap().to_owned();
    let _probe_a = spawn_probe(app.probe_addr(), &secret_a, &["--no-docker"]);
    let hosts_a = eventually(Duration::from_secs(30), "org A's host", || {
        let mut a = a.clone();
        async move {
            let (_, v) = a.get("/api/topology/hosts").await;
            v["nodes"].as_object().filter(|n| !n.is_empty()).cloned()
        }
    })
    .await;
    let probes_a = a.ok("/api/probes").await;
    let probe_a = probes_a[0]["id"].as_str().unwrap().to_owned();
    let mut node_ids_a: Vec<String> = hosts_a.keys().cloned().collect();
    let procs = a.ok("/api/topology/processes").await;
    node_ids_a.extend(procs["nodes"].as_object().unwrap().keys().take(20).cloned());

    // Org B: signs up on the same tier (open sign-up, no bootstrap secret needed any more).
    let mut b = Client::new(addr);
    let me_b = b.signup("bob@b.example", "Org B", None).await;
    let org_b = me_b["org"]["id"].as_str().unwrap().to_owned();
    assert_ne!(org_a, org_b);
    assert_eq!(me_b["orgs"].as_array().unwrap().len(), 1, "{me_b}");
    let a_secrets = vec![
        org_a.clone(),
        alice.clone(),
        token_a.clone(),
        probe_a.clone(),
        invite_a.clone(),
        "alice@a.example".to_owned(),
        "Org A".to_owned(),
    ];

    // Reads: every data route shows B nothing of A.
    for view in VIEWS {
        let v = b.ok(&format!("/api/topology/{view}")).await;
        assert_eq!(v["nodes"], json!({}), "B's {view}: {v}");
    }
    for path in [
        "/api",
        "/api/topology",
        "/api/report",
        "/api/probes",
        "/api/org/probes",
        "/api/org/tokens",
        "/api/org/members",
        "/api/org/invites",
        "/api/org/audit",
        "/api/auth/me",
    ] {
        let v = b.ok(path).await;
        assert_no_leak(&format!("B's {path}"), &v, &a_secrets);
        for id in &node_ids_a {
            assert_no_leak(&format!("B's {path}"), &v, std::slice::from_ref(id));
        }
    }
    assert_eq!(b.ok("/api/probes").await, json!([]));
    assert_eq!(b.ok("/api/org/probes").await, json!([]));
    assert_eq!(b.ok("/api/org/tokens").await, json!([]));

    // Guessed or copied ids: A's nodes, token, member, invite, organisation.
    for id in node_ids_a.iter().take(5) {
        for view in ["hosts", "processes"] {
            let (s, v) = b
                .get(&format!("/api/topology/{view}/{}", urlencode(id)))
                .await;
            assert_eq!(s, 404, "B asking for A's node {id} in {view}: {v}");
        }
    }
    let (s, _) = b.delete(&format!("/api/org/tokens/{token_a}")).await;
    assert_eq!(s, 404, "B revoking A's token");
    let (s, _) = b
        .put(
            &format!("/api/org/members/{alice}"),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(s, 404, "B demoting A's admin");
    let (s, _) = b.delete(&format!("/api/org/members/{alice}")).await;
    assert_eq!(s, 404, "B removing A's admin");
    let (s, _) = b.delete(&format!("/api/org/invites/{invite_a}")).await;
    assert_eq!(s, 404, "B revoking A's invite");
    let (s, _) = b.post("/api/auth/org", json!({ "orgId": org_a })).await;
    assert_eq!(s, 404, "B switching into A's organisation");
    let (s, v) = b
        .post(
            "/api/auth/invite/accept",
            json!({ "secret": invite_secret_a }),
        )
        .await;
    assert_eq!(s, 403, "B using an invite meant for someone else: {v}");
    // A's WebSocket-visible world is not B's either.
    let frame = first_ws_frame(addr, b.cookie.as_deref().unwrap(), "hosts").await;
    assert_no_leak("B's hosts WebSocket", &frame, &node_ids_a);
    assert_eq!(
        (&frame["reset"], &frame["add"]),
        (&json!(true), &json!([])),
        "B's first frame resets to nothing: {frame}"
    );

    // None of that changed A: its token still works, its admin and invite are intact.
    let tokens = a.ok("/api/org/tokens").await;
    assert_eq!(tokens[0]["revoked_at"], Value::Null, "{tokens}");
    let members = a.ok("/api/org/members").await;
    assert_eq!(members[0]["role"], "admin");
    let invites = a.ok("/api/org/invites").await;
    assert_eq!(invites[0]["revoked_at"], Value::Null);
    assert!(a.ok("/api/probes").await.as_array().unwrap().len() == 1);
    // And A's audit log holds only A's actions, none of B's attempts or ids.
    let audit_a = a.ok("/api/org/audit").await;
    assert_no_leak(
        "A's audit log",
        &audit_a,
        &[org_b.clone(), "bob@b.example".into()],
    );

    // B's own probe shows up for B only.
    let (_, secret_b) = b.create_token("b-prod").await;
    let _probe_b = spawn_probe(app.probe_addr(), &secret_b, &["--no-docker"]);
    let probe_b = eventually(Duration::from_secs(30), "org B's probe", || {
        let mut b = b.clone();
        async move {
            let (_, v) = b.get("/api/probes").await;
            v.as_array()
                .and_then(|a| a.first())
                .and_then(|p| p["id"].as_str())
                .map(str::to_owned)
        }
    })
    .await;
    assert_ne!(probe_b, probe_a);
    let a_probes = a.ok("/api/probes").await;
    assert_no_leak("A's probes", &a_probes, std::slice::from_ref(&probe_b));
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn first_ws_frame(addr: SocketAddr, cookie: &str, view: &str) -> Value {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/api/topology/{view}/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", format!("scope_session={cookie}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket with a session opens");
    let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a first frame")
        .unwrap()
        .unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_roles_and_rate_limits() {
    let key = session_key();
    let app = start_app(pg_schema_url(), &key, scope_api::Signup::Closed).await;
    let addr = app.http_addr();

    // Before anyone signs up: sign-up needs the bootstrap secret.
    let mut anon = Client::new(addr);
    let cfg = anon.ok("/api/auth/config").await;
    assert_eq!(
        cfg,
        json!({ "mode": "accounts", "signup": "closed", "bootstrapRequired": true })
    );
    let (s, v) = anon
        .post(
            "/api/auth/signup",
            json!({ "email": "eve@x.example", "password": PASSWORD, "orgName": "Eve", "bootstrapSecret": "guess" }),
        )
        .await;
    assert_eq!(s, 403, "first sign-up without the right secret: {v}");
    let mut a = Client::new(addr);
    a.signup("alice@a.example", "Org A", Some(BOOTSTRAP)).await;
    assert_eq!(
        anon.ok("/api/auth/config").await["bootstrapRequired"],
        false
    );
    // Closed sign-up: no new organisations without an invite.
    let (s, v) = anon
        .post(
            "/api/auth/signup",
            json!({ "email": "eve@x.example", "password": PASSWORD, "orgName": "Eve", "bootstrapSecret": BOOTSTRAP }),
        )
        .await;
    assert_eq!(s, 403, "closed sign-up: {v}");

    // Without a session every data route and WebSocket is 401.
    for path in [
        "/api",
        "/api/topology",
        "/api/topology/hosts",
        "/api/topology/hosts/x",
        "/api/report",
        "/api/probes",
        "/api/auth/me",
        "/api/org/probes",
        "/api/org/tokens",
        "/api/org/members",
        "/api/org/audit",
    ] {
        let (s, _) = anon.get(path).await;
        assert_eq!(s, 401, "GET {path} without a session");
    }
    let (s, _) = anon.post("/api/org/tokens", json!({ "name": "x" })).await;
    assert_eq!(s, 401);
    let ws = tokio_tungstenite::connect_async(format!("ws://{addr}/api/topology/hosts/ws")).await;
    assert!(ws.is_err(), "WebSocket without a session must be refused");

    // Forged sessions: another key, a tampered payload.
    let other = scope_auth::SessionCodec::new(
        &scope_auth::SessionKey::parse(&session_key()).unwrap(),
        &[],
        scope_auth::SessionTimes::default(),
    );
    let real = a.cookie.clone().unwrap();
    let claims = scope_auth::SessionCodec::new(
        &scope_auth::SessionKey::parse(&key).unwrap(),
        &[],
        scope_auth::SessionTimes::default(),
    )
    .verify(&real, now_secs())
    .unwrap();
    let mut forged = anon.clone();
    forged.cookie = Some(other.issue(&claims));
    assert_eq!(
        forged.get("/api/topology").await.0,
        401,
        "token signed with another key"
    );
    let mut parts: Vec<&str> = real.split('.').collect();
    let payload = base64url(&serde_json::to_vec(&json!({ "sub": claims.sub, "sid": "made-up",
        "org": claims.org, "csrf": "x", "iat": claims.iat, "exp": claims.exp + 1_000_000, "auth": claims.auth })).unwrap());
    parts[1] = &payload;
    forged.cookie = Some(parts.join("."));
    assert_eq!(forged.get("/api/topology").await.0, 401, "tampered token");

    // CSRF: a change without the header, with a wrong one, or from another origin is refused.
    let mut no_csrf = a.clone();
    no_csrf.csrf = None;
    let (s, v) = no_csrf
        .post("/api/org/tokens", json!({ "name": "x" }))
        .await;
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (403, "missing or wrong X-CSRF-Token header")
    );
    no_csrf.csrf = Some("wrong".into());
    assert_eq!(
        no_csrf
            .post("/api/org/tokens", json!({ "name": "x" }))
            .await
            .0,
        403
    );
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/org/tokens"))
        .header(header::COOKIE, format!("scope_session={real}"))
        .header("x-csrf-token", a.csrf.clone().unwrap())
        .header(header::ORIGIN, "http://evil.example")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "cross-origin change");
    assert_eq!(
        a.ok("/api/org/tokens").await,
        json!([]),
        "none of those made a token"
    );

    // Roles: an invited viewer reads the map but cannot manage tokens or read the audit log.
    let (s, inv) = a
        .post(
            "/api/org/invites",
            json!({ "email": "vic@a.example", "role": "viewer" }),
        )
        .await;
    assert_eq!(s, 201);
    let mut vic = Client::new(addr);
    let (s, me) = vic
        .post(
            "/api/auth/signup",
            json!({ "email": "vic@a.example", "password": PASSWORD, "invite": inv["secret"] }),
        )
        .await;
    assert_eq!(s, 201, "invited sign-up: {me}");
    assert_eq!(me["role"], "viewer");
    assert_eq!(vic.get("/api/topology/hosts").await.0, 200);
    assert_eq!(vic.get("/api/org/members").await.0, 200);
    assert_eq!(
        vic.post("/api/org/tokens", json!({ "name": "x" })).await.0,
        403
    );
    assert_eq!(vic.get("/api/org/tokens").await.0, 403);
    assert_eq!(vic.get("/api/org/audit").await.0, 403);
    let vic_id = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        vic.put(
            &format!("/api/org/members/{vic_id}"),
            json!({ "role": "admin" })
        )
        .await
        .0,
        403,
        "a viewer cannot promote themself"
    );
    // The admin promotes them; the change shows on their next request.
    let (s, m) = a
        .put(
            &format!("/api/org/members/{vic_id}"),
            json!({ "role": "operator" }),
        )
        .await;
    assert_eq!((s, m["role"].as_str()), (200, Some("operator")));
    assert_eq!(vic.ok("/api/auth/me").await["role"], "operator");
    // The last admin cannot be demoted.
    let alice = a.ok("/api/auth/me").await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.put(
            &format!("/api/org/members/{alice}"),
            json!({ "role": "viewer" })
        )
        .await
        .0,
        409
    );
    // Removing a member cuts their access to the organisation's data at once.
    assert_eq!(a.delete(&format!("/api/org/members/{vic_id}")).await.0, 204);
    assert_eq!(vic.get("/api/topology/hosts").await.0, 403);

    // Sign-out ends the session on the server: the old cookie no longer works.
    let old = a.clone();
    assert_eq!(a.post("/api/auth/signout", json!({})).await.0, 204);
    assert!(a.cookie.is_none(), "sign-out clears the cookie");
    let mut replay = old.clone();
    assert_eq!(
        replay.get("/api/topology").await.0,
        401,
        "replayed cookie after sign-out"
    );

    // Rate limiting: wrong passwords are refused with 401, then 429 with Retry-After.
    let mut guess = Client::new(addr);
    for i in 0..5 {
        let (s, _) = guess
            .post(
                "/api/auth/signin",
                json!({ "email": "alice@a.example", "password": format!("wrong-{i}-password") }),
            )
            .await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/auth/signin"))
        .json(&json!({ "email": "alice@a.example", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429, "even the right password waits");
    let retry: u64 = resp.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");
    // Other accounts are not locked by it.
    let (s, _) = Client::new(addr)
        .post(
            "/api/auth/signin",
            json!({ "email": "vic@a.example", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 200);

    // The audit log recorded who did what.
    let mut a = Client::new(addr);
    let store = app.store().unwrap().clone();
    let org: scope_store::OrgId = claims.org.parse().unwrap();
    let actions: Vec<String> = store
        .audit_list(&org, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for wanted in [
        "org.create",
        "invite.create",
        "invite.accept",
        "member.role",
        "member.remove",
        "auth.signout",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "audit log lacks {wanted}: {actions:?}"
        );
    }
    let _ = a.get("/api/auth/config").await;
    app.stop().await;
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
