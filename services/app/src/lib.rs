//! Wiring of the `scope` binary: the app tier ([`Application`]) and `scope launch`.

pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use scope_api::{ApiState, AppInfo, NewVersion, SingleTenant};
use scope_collector::{CollectorConfig, Collectors, TenantId};
use scope_ingest::{IngestConfig, IngestService, ProbeRouter, StaticTokens};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::{info, warn};

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The one tenant of a single-tenant app.
pub const LOCAL_TENANT: &str = "local";

/// Settings of the app tier.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// API and console address (loopback only for now).
    pub listen: SocketAddr,
    /// Probe ingest address.
    pub probe_listen: SocketAddr,
    /// Service tokens accepted from probes.
    pub tokens: Vec<String>,
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

/// Refuses to expose the API beyond this machine while it has no authentication.
pub fn require_loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        bail!(
            "refusing to serve the API and console on {addr}: Scope has no user authentication yet, and \
             anyone who can reach that address could see your fleet. Listen on 127.0.0.1 and reach it \
             through an SSH tunnel (ssh -L 4040:127.0.0.1:4040 host)"
        );
    }
    Ok(())
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
}

impl Application {
    /// Binds the listeners and starts serving.
    pub async fn start(opts: AppOptions) -> anyhow::Result<Application> {
        require_loopback(opts.listen)?;
        if opts.tokens.is_empty() {
            bail!("no service token configured");
        }
        let http = TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("cannot listen on {} (API and console)", opts.listen))?;
        let grpc = TcpListener::bind(opts.probe_listen)
            .await
            .with_context(|| format!("cannot listen on {} (probe ingest)", opts.probe_listen))?;
        let http_addr = http.local_addr()?;
        let probe_addr = grpc.local_addr()?;
        let app_id = format!("{:016x}", rand::random::<u64>());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();

        let collectors = Collectors::new(CollectorConfig {
            window: opts.window,
            ..CollectorConfig::default()
        });
        let tenant = TenantId::new(LOCAL_TENANT);
        let resolver = Arc::new(StaticTokens::new(tenant.clone(), &opts.tokens));
        let ingest = IngestService::new(
            IngestConfig {
                max_message_bytes: opts.max_message_size,
                max_nodes_per_report: opts.max_nodes_per_report,
                app_id: app_id.clone(),
                ..IngestConfig::default()
            },
            resolver,
            collectors.clone(),
            ProbeRouter::new(Duration::from_secs(60)),
        );
        let api_state = ApiState::new(
            collectors.clone(),
            Arc::new(SingleTenant(tenant)),
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

        let mut stop = shutdown.subscribe();
        let router = scope_api::router(api_state.clone());
        tasks.push(tokio::spawn(async move {
            let res = axum::serve(http, router)
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
