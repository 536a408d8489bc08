//! `scope-probe`: the lean probe binary for hosts (same flags as `scope probe`). It links no
//! database, web server or console assets.

use std::process::ExitCode;

use clap::Parser;
use scope_probe::config::ProbeConfig;
use tokio::sync::watch;

/// Reports this host to the Scope app tier.
#[derive(Parser)]
#[command(name = "scope-probe", version, about)]
struct Cli {
    /// Log lines as JSON.
    #[arg(long, env = "SCOPE_LOG_JSON")]
    log_json: bool,
    #[command(flatten)]
    probe: ProbeConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    scope_probe::logging::init(cli.log_json);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        // Two workers are plenty for a probe and keep its footprint small.
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scope-probe: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            scope_probe::shutdown_signal().await;
            let _ = tx.send(true);
        });
        scope_probe::run(cli.probe, rx).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
