//! `scope`: `launch`, `app` and `probe`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use scope_app::config::{AppArgs, Cli, Command, LaunchArgs, LogFormat};
use scope_app::{AppOptions, Application, TlsIdentity, generate_token};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Reports are many small allocations (strings, map nodes) made and freed per report; mimalloc
/// handles that pattern markedly faster than the system allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    scope_probe::logging::init(matches!(cli.log_format, LogFormat::Json));
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
    if tokens.is_empty() {
        let t = generate_token();
        warn!(
            "no --service-token given; generated one for this run. Start probes with:\n\n    scope probe --service-token {t} {}\n",
            args.probe_listen
        );
        tokens.push(t);
    }
    let ingest_tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(TlsIdentity::from_files(c, k)?),
        _ => None,
    };
    let app = Application::start(AppOptions {
        listen: args.listen,
        probe_listen: args.probe_listen,
        ingest_tls,
        tokens,
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
        tokens: vec![token.clone()],
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
