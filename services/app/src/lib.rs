//! Wiring of the `scope` binary: the app tier ([`Application`]) and `scope launch`.

pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use scope_api::{Access, Accounts, AccountsConfig, ApiState, AppInfo, NewVersion, Signup};
use scope_bus::{Bus, InProcessBus, NatsBus};
use scope_collector::{CollectorConfig, Collectors, TenantId};
use scope_ingest::{
    IngestConfig, IngestService, ProbeRouter, StaticTokens, StoreTokens, TokenResolver,
};
use scope_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::{info, warn};

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The one tenant of a single-tenant app.
pub const LOCAL_TENANT: &str = "local";

/// How the app authenticates people and probes.
#[derive(Debug, Clone)]
pub enum Mode {
    /// One tenant, no accounts: `scope launch`, or `scope app` without a database. The API
    /// listens on loopback only.
    Local {
        /// Service tokens accepted from probes.
        tokens: Vec<String>,
    },
    /// The cloud tier: organisations, users and tokens in a database; people sign in.
    Accounts(AccountsOptions),
}

/// Settings of accounts mode.
#[derive(Clone)]
pub struct AccountsOptions {
    /// `sqlite:...` or `postgres://...`.
    pub database_url: String,
    /// Key signing session tokens (at least 32 bytes; hex is decoded).
    pub session_key: String,
    /// Older keys still accepted while rotating.
    pub previous_session_keys: Vec<String>,
    /// The one-time secret for the first admin; generated and printed when `None` and the tier
    /// has no user yet.
    pub bootstrap_secret: Option<String>,
    /// Who may sign up.
    pub signup: Signup,
    /// Always mark the session cookie `Secure`.
    pub secure_cookies: bool,
    /// The address probes use, for the command shown with new tokens; derived from the probe
    /// listener when `None`.
    pub probe_address: Option<String>,
}

impl std::fmt::Debug for AccountsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets (the key, the bootstrap secret, a password in the URL) stay out of logs.
        f.debug_struct("AccountsOptions")
            .field("signup", &self.signup)
            .field("secure_cookies", &self.secure_cookies)
            .field("probe_address", &self.probe_address)
            .finish_non_exhaustive()
    }
}

/// Settings of the app tier.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// API and console address. Loopback only in local mode.
    pub listen: SocketAddr,
    /// Probe ingest address.
    pub probe_listen: SocketAddr,
    /// Local or accounts mode.
    pub mode: Mode,
    /// Where to serve Prometheus metrics (accounts mode; local mode serves `/metrics` on the API).
    pub metrics_listen: Option<SocketAddr>,
    /// This replica's name (probes seen, logs); random when `None`.
    pub replica_id: Option<String>,
    /// NATS server shared by the replicas; `None` for a single process (in-process bus).
    pub nats_url: Option<String>,
    /// Merge window.
    pub window: Duration,
    /// Largest probe message.
    pub max_message_size: usize,
    /// Most nodes per report.
    pub max_nodes_per_report: usize,
    /// Checkpoint base URL; `None` when checkpoint is disabled.
    pub checkpoint_url: Option<String>,
    /// Certificate and key (PEM) to serve probe ingest over TLS; plain HTTP/2 when `None`.
    pub ingest_tls: Option<TlsIdentity>,
}

/// A TLS certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// Private key (PEM).
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity(<elided>)")
    }
}

impl TlsIdentity {
    /// Reads the certificate and key files.
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> anyhow::Result<TlsIdentity> {
        Ok(TlsIdentity {
            cert_pem: std::fs::read(cert)
                .with_context(|| format!("cannot read TLS certificate {}", cert.display()))?,
            key_pem: std::fs::read(key)
                .with_context(|| format!("cannot read TLS key {}", key.display()))?,
        })
    }
}

/// Refuses to expose an app without accounts beyond this machine.
pub fn require_loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        bail!(
            "refusing to serve the API and console on {addr} without user accounts: anyone who can \
             reach that address could see and control your fleet. Either listen on 127.0.0.1 and reach \
             it through an SSH tunnel (ssh -L 4040:127.0.0.1:4040 host), or turn accounts on with \
             --database (plus --session-key)"
        );
    }
    Ok(())
}

/// Opens the store, retrying for a while: in a compose file the database may still be starting.
async fn connect_store(url: &str) -> anyhow::Result<Store> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match Store::connect(url).await {
            Ok(s) => return Ok(s),
            Err(scope_store::StoreError::Database(e)) if tokio::time::Instant::now() < deadline => {
                warn!("database not reachable yet ({e}); retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("cannot open the database: {e}")),
        }
    }
}

/// The address to show in `scope probe ... ADDRESS` when none is configured.
fn default_probe_address(probe: SocketAddr, hostname: &str) -> String {
    if probe.ip().is_unspecified() && !hostname.is_empty() {
        format!("http://{hostname}:{}", probe.port())
    } else {
        format!("http://{probe}")
    }
}

/// A new random service token: 256 bits, hex-encoded.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// A running app tier.
pub struct Application {
    http_addr: SocketAddr,
    probe_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    collectors: Collectors,
    store: Option<Store>,
    /// Held for their lifetime: dropping them stops the bus subscriptions.
    _replication: (
        scope_ingest::replication::Subscriber,
        scope_ingest::ControlServer,
    ),
}

/// Opens the store and sets up accounts mode; prints the bootstrap secret when the tier still
/// needs its first admin and none was configured.
async fn accounts_mode(
    a: &AccountsOptions,
    probe_addr: SocketAddr,
    hostname: &str,
) -> anyhow::Result<(Store, Accounts)> {
    let session_key = scope_auth::SessionKey::parse(&a.session_key)
        .context("invalid --session-key / SCOPE_SESSION_KEY")?;
    let previous = a
        .previous_session_keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| scope_auth::SessionKey::parse(k))
        .collect::<Result<Vec<_>, _>>()
        .context("invalid --previous-session-keys")?;
    let store = connect_store(&a.database_url).await?;
    let mut bootstrap = a.bootstrap_secret.clone().filter(|s| !s.trim().is_empty());
    if store.user_count().await? == 0 && bootstrap.is_none() {
        let secret = scope_auth::random_token(24);
        // Printed, not logged as a field: an operator reads it once from the terminal or the
        // container log and types it into the sign-up page. It stops working once a user exists.
        eprintln!(
            "\nScope has no user yet. Sign up in the console with this one-time bootstrap secret to \
             create the first organisation and its admin:\n\n    {secret}\n"
        );
        bootstrap = Some(secret);
    }
    let accounts = Accounts::new(AccountsConfig {
        store: store.clone(),
        session_key,
        previous_session_keys: previous,
        times: scope_auth::SessionTimes::default(),
        signup: a.signup,
        bootstrap_secret: bootstrap,
        secure_cookies: a.secure_cookies,
        probe_address: a
            .probe_address
            .clone()
            .unwrap_or_else(|| default_probe_address(probe_addr, hostname)),
        limiter: scope_auth::LimiterConfig::default(),
    });
    Ok((store, accounts))
}

impl Application {
    /// Binds the listeners and starts serving.
    pub async fn start(opts: AppOptions) -> anyhow::Result<Application> {
        if let Mode::Local { tokens } = &opts.mode {
            require_loopback(opts.listen)?;
            if tokens.is_empty() {
                bail!("no service token configured");
            }
        }
        let http = TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("cannot listen on {} (API and console)", opts.listen))?;
        let grpc = TcpListener::bind(opts.probe_listen)
            .await
            .with_context(|| format!("cannot listen on {} (probe ingest)", opts.probe_listen))?;
        let metrics_listener = match opts.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (metrics)"))?,
            ),
            None => None,
        };
        let http_addr = http.local_addr()?;
        let probe_addr = grpc.local_addr()?;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let app_id = opts
            .replica_id
            .clone()
            .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));

        let collectors = Collectors::new(CollectorConfig {
            window: opts.window,
            ..CollectorConfig::default()
        });
        let (resolver, access, store): (Arc<dyn TokenResolver>, Access, Option<Store>) =
            match &opts.mode {
                Mode::Local { tokens } => {
                    let tenant = TenantId::new(LOCAL_TENANT);
                    (
                        Arc::new(StaticTokens::new(tenant.clone(), tokens)),
                        Access::Local(tenant),
                        None,
                    )
                }
                Mode::Accounts(a) => {
                    let (store, accounts) = accounts_mode(a, probe_addr, &hostname).await?;
                    (
                        Arc::new(StoreTokens::new(store.clone())),
                        Access::Accounts(Arc::new(accounts)),
                        Some(store),
                    )
                }
            };
        let ingest_config = IngestConfig {
            max_message_bytes: opts.max_message_size,
            max_nodes_per_report: opts.max_nodes_per_report,
            app_id: app_id.clone(),
            ..IngestConfig::default()
        };
        // The replica bus: NATS for the cloud tier, in-process otherwise. Every replica applies
        // the others' probe events to its collectors, and serves controls for the probes whose
        // streams it holds.
        let bus: Arc<dyn Bus> = match &opts.nats_url {
            Some(url) => Arc::new(
                NatsBus::connect(url, &format!("scope-app {app_id}"))
                    .await
                    .with_context(|| format!("cannot connect to NATS at {url}"))?,
            ),
            None => Arc::new(InProcessBus::default()),
        };
        let subscriber = scope_ingest::replication::spawn_subscriber(
            bus.clone(),
            &app_id,
            collectors.clone(),
            &ingest_config,
        )
        .await
        .context("cannot subscribe to other replicas' probe events")?;
        let (router, control_server) = ProbeRouter::new(Duration::from_secs(60))
            .with_bus(bus.clone(), &app_id, collectors.clone())
            .await
            .context("cannot serve controls over the bus")?;
        let mut ingest = IngestService::new(ingest_config, resolver, collectors.clone(), router)
            .with_replication(bus, app_id.clone());
        if let Some(store) = &store {
            ingest = ingest.with_store(store.clone(), app_id.clone());
        }
        let api_state = ApiState::new(
            collectors.clone(),
            access,
            AppInfo {
                id: app_id,
                version: VERSION.to_owned(),
                hostname,
            },
        );

        let (shutdown, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let ingest = ingest.with_shutdown(shutdown.subscribe());

        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = &opts.ingest_tls {
            let identity = tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem);
            server = server
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .context("invalid TLS certificate or key for probe ingest")?;
        }
        let mut stop = shutdown.subscribe();
        tasks.push(tokio::spawn(async move {
            let res = server
                .http2_keepalive_interval(Some(Duration::from_secs(30)))
                .http2_keepalive_timeout(Some(Duration::from_secs(20)))
                .add_service(ingest.into_server())
                .serve_with_incoming_shutdown(TcpListenerStream::new(grpc), async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = res {
                warn!("probe ingest stopped: {e}");
            }
        }));

        if let Some(listener) = metrics_listener {
            let mut stop = shutdown.subscribe();
            tasks.push(tokio::spawn(async move {
                let res = axum::serve(listener, scope_api::metrics_router())
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
                if let Err(e) = res {
                    warn!("metrics server stopped: {e}");
                }
            }));
        }

        let mut stop = shutdown.subscribe();
        let router = scope_api::router(api_state.clone());
        tasks.push(tokio::spawn(async move {
            // Client addresses reach the handlers (sign-in rate limiting, logs).
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let res = axum::serve(http, service)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = res {
                warn!("API server stopped: {e}");
            }
        }));

        if let Some(url) = opts.checkpoint_url {
            let mut params = scope_checkpoint::CheckParams::new("scope-app", VERSION);
            params.base_url = url;
            let state = api_state.clone();
            if let Some(h) = scope_checkpoint::spawn(params, move |resp| {
                if resp.outdated {
                    state.set_new_version(Some(NewVersion {
                        version: resp.current_version.clone(),
                        download_url: resp.current_download_url.clone(),
                    }));
                }
            }) {
                tasks.push(h);
            }
        }

        info!(api = %http_addr, probes = %probe_addr, "app listening");
        Ok(Application {
            http_addr,
            probe_addr,
            shutdown,
            tasks,
            collectors,
            store,
            _replication: (subscriber, control_server),
        })
    }

    /// Where the API and console listen.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where probes connect.
    pub fn probe_addr(&self) -> SocketAddr {
        self.probe_addr
    }

    /// The store, in accounts mode.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The tenants' collectors (for tests and embedding).
    pub fn collectors(&self) -> &Collectors {
        &self.collectors
    }

    /// Stops serving: open streams and sockets get a few seconds to finish, then are cut.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
