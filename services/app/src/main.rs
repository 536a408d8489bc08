//! `scope`: `launch`, `app` and `probe`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use scope_api::Signup;
use scope_app::config::{AppArgs, Cli, Command, LaunchArgs, LogFormat, SignupPolicy};
use scope_app::{AccountsOptions, AppOptions, Application, Mode, TlsIdentity, generate_token};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Reports are many small allocations (strings, map nodes) made and freed per report; mimalloc
/// handles that pattern markedly faster than the system allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let service = match cli.command {
        Command::Probe(_) => "scope-probe",
        _ => "scope-app",
    };
    // Logs (text or JSON) and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, traces over OTLP. The
    // guard flushes queued spans when main returns.
    let mut telemetry =
        scope_telemetry::TelemetryOptions::from_env().with_log_format(match cli.log_format {
            LogFormat::Json => scope_telemetry::LogFormat::Json,
            LogFormat::Text => scope_telemetry::LogFormat::Text,
        });
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        telemetry.service_name = service.to_owned();
    }
    let _telemetry = scope_telemetry::init(telemetry);
    // One rustls provider for every TLS client and server in the process (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Launch(args) => launch(args).await,
            Command::App(args) => app(args).await,
            Command::Probe(cfg) => {
                let (tx, rx) = watch::channel(false);
                tokio::spawn(async move {
                    scope_probe::shutdown_signal().await;
                    let _ = tx.send(true);
                });
                scope_probe::run(cfg, rx).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn checkpoint_url(url: String) -> Option<String> {
    (!scope_checkpoint::checkpoint_disabled_from_env()).then_some(url)
}

async fn app(args: AppArgs) -> anyhow::Result<()> {
    let mut tokens = args.service_tokens.clone();
    tokens.retain(|t| !t.trim().is_empty());
    let mode = match &args.database_url {
        Some(url) => {
            if !tokens.is_empty() {
                anyhow::bail!(
                    "--service-token cannot be combined with --database: with accounts on, admins \
                     create service tokens in the console (Tokens page)"
                );
            }
            let Some(key) = args.session_key.clone().filter(|k| !k.trim().is_empty()) else {
                anyhow::bail!(
                    "--database needs a session key to sign session cookies: set SCOPE_SESSION_KEY \
                     (e.g. to the output of `openssl rand -hex 32`); there is no built-in key"
                );
            };
            Mode::Accounts(AccountsOptions {
                database_url: url.clone(),
                session_key: key,
                previous_session_keys: args.previous_session_keys.clone(),
                bootstrap_secret: args.bootstrap_secret.clone(),
                signup: match args.signup {
                    SignupPolicy::Open => Signup::Open,
                    SignupPolicy::Closed => Signup::Closed,
                },
                secure_cookies: args.secure_cookies,
                probe_address: args.probe_address.clone(),
            })
        }
        None => {
            if tokens.is_empty() {
                let t = generate_token();
                warn!(
                    "no --service-token given; generated one for this run. Start probes with:\n\n    scope probe --service-token {t} {}\n",
                    args.probe_listen
                );
                tokens.push(t);
            }
            Mode::Local { tokens }
        }
    };
    let ingest_tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(TlsIdentity::from_files(c, k)?),
        _ => None,
    };
    let app = Application::start(AppOptions {
        listen: args.listen,
        probe_listen: args.probe_listen,
        mode,
        metrics_listen: args.metrics_listen,
        replica_id: args.replica_id.clone(),
        nats_url: args.nats_url.clone(),
        ingest_tls,
        window: args.window,
        max_message_size: args.max_message_size,
        max_nodes_per_report: args.max_nodes_per_report,
        checkpoint_url: checkpoint_url(args.checkpoint_url),
    })
    .await?;
    eprintln!(
        "Scope app: console and API on http://{}, probes connect to {}",
        app.http_addr(),
        app.probe_addr()
    );
    scope_probe::shutdown_signal().await;
    info!("shutting down");
    app.stop().await;
    Ok(())
}

async fn launch(args: LaunchArgs) -> anyhow::Result<()> {
    let token = generate_token();
    let probe_listen = args
        .probe_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let app = Application::start(AppOptions {
        listen: args.listen,
        probe_listen,
        ingest_tls: None,
        mode: Mode::Local {
            tokens: vec![token.clone()],
        },
        metrics_listen: None,
        replica_id: None,
        nats_url: None,
        window: args.window,
        max_message_size: 16 << 20,
        max_nodes_per_report: 50_000,
        checkpoint_url: checkpoint_url(args.checkpoint_url.clone()),
    })
    .await?;
    if args.probe_listen.is_some() {
        eprintln!(
            "Other hosts can report here with:\n\n    scope probe --service-token {token} {}\n",
            app.probe_addr()
        );
    }
    let mut probe_args = vec![
        "probe".to_owned(),
        "--service-token".to_owned(),
        token,
        "--checkpoint-url".to_owned(),
        args.checkpoint_url,
        "--controls".to_owned(),
        args.controls.join(","),
    ];
    if args.no_docker {
        probe_args.push("--no-docker".to_owned());
    }
    probe_args.push(format!("http://{}", app.probe_addr()));
    let probe_cfg = scope_probe::config::ProbeConfig::parse_args(probe_args)
        .context("built-in probe configuration")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let probe = tokio::spawn(scope_probe::run(probe_cfg, stop_rx));
    eprintln!(
        "Scope is running: open http://{} (Ctrl-C to stop)",
        app.http_addr()
    );
    scope_probe::shutdown_signal().await;
    info!("shutting down");
    let _ = stop_tx.send(true);
    match probe.await {
        Ok(Err(e)) => warn!("probe stopped with an error: {e:#}"),
        Err(e) => warn!("probe task failed: {e}"),
        Ok(Ok(())) => {}
    }
    app.stop().await;
    Ok(())
}
