//! Command line of the `scope` binary.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scope_probe::config::{ProbeConfig, positive_duration};

fn byte_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.to_ascii_lowercase() {
        x if x.ends_with("mib") => (x.trim_end_matches("mib").to_owned(), 1 << 20),
        x if x.ends_with("kib") => (x.trim_end_matches("kib").to_owned(), 1 << 10),
        x if x.ends_with("mb") => (x.trim_end_matches("mb").to_owned(), 1_000_000),
        x if x.ends_with("kb") => (x.trim_end_matches("kb").to_owned(), 1_000),
        x => (x, 1),
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid size {s:?} (examples: 16MiB, 512KiB, 1048576)"))?;
    if n == 0 {
        return Err("must be greater than zero".into());
    }
    Ok(n * mult)
}

/// Scope: a live map of hosts, containers, processes and the connections between them.
#[derive(Debug, Parser)]
#[command(name = "scope", version, about)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "SCOPE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the app and a probe for this host in one process; UI on http://127.0.0.1:4040.
    Launch(LaunchArgs),
    /// Run the app tier: probe ingest (gRPC), the API and the console.
    App(AppArgs),
    /// Run a probe that reports this host to the app tier.
    Probe(ProbeConfig),
}

/// Settings of the app tier.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// Address of the API and console. Without --database only loopback addresses are allowed
    /// (reach a remote app through an SSH tunnel); with accounts on, any address.
    #[arg(long, env = "SCOPE_LISTEN", default_value = "127.0.0.1:4040")]
    pub listen: SocketAddr,

    /// Turns accounts on: users, organisations and service tokens live in this database
    /// (`postgres://user:password@host/db` for the cloud tier, or `sqlite:///path/scope.db?mode=rwc`).
    #[arg(long = "database", env = "SCOPE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Key that signs session cookies (at least 32 bytes; e.g. `openssl rand -hex 32`). Needed
    /// with --database; there is no built-in key. Prefer the environment variable: command lines
    /// are visible to other users of the host.
    #[arg(long, env = "SCOPE_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,

    /// Earlier session keys still accepted while rotating keys (comma-separated).
    #[arg(
        long,
        env = "SCOPE_PREVIOUS_SESSION_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub previous_session_keys: Vec<String>,

    /// One-time secret that lets the first user sign up (and become admin of the first
    /// organisation). When not given and the tier has no user, one is generated and printed.
    #[arg(long, env = "SCOPE_BOOTSTRAP_SECRET", hide_env_values = true)]
    pub bootstrap_secret: Option<String>,

    /// Who may sign up after the first admin: `open` (anyone, each sign-up creates a new empty
    /// organisation: a hosted service) or `closed` (invitations only).
    #[arg(long, env = "SCOPE_SIGNUP", default_value = "closed")]
    pub signup: SignupPolicy,

    /// Always mark the session cookie Secure (set this when users reach the console over
    /// HTTPS; `X-Forwarded-Proto: https` from a proxy does the same per request).
    #[arg(long, env = "SCOPE_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The address probes should connect to, shown in the `scope probe` command with each new
    /// token (e.g. https://scope.example.com:4041). Defaults to the probe listener.
    #[arg(long, env = "SCOPE_PROBE_ADDRESS")]
    pub probe_address: Option<String>,

    /// Serve Prometheus metrics on this address (`GET /metrics`).
    #[arg(long, env = "SCOPE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// NATS server the replicas share (e.g. nats://nats:4222): each replica publishes the probe
    /// reports it receives there, so every replica shows every probe.
    #[arg(long = "nats", env = "SCOPE_NATS_URL")]
    pub nats_url: Option<String>,

    /// This replica's name, shown with the probes it holds (defaults to a random id).
    #[arg(long, env = "SCOPE_REPLICA_ID")]
    pub replica_id: Option<String>,

    /// Address where probes connect (gRPC). Probes authenticate with service tokens, so this may
    /// listen on a public address.
    #[arg(long, env = "SCOPE_PROBE_LISTEN", default_value = "127.0.0.1:4041")]
    pub probe_listen: SocketAddr,

    /// Service tokens probes may use (comma-separated). When none is given, one is generated and
    /// printed at start.
    #[arg(
        long = "service-token",
        env = "SCOPE_SERVICE_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub service_tokens: Vec<String>,

    /// How long a silent probe's data stays on the map.
    #[arg(long, env = "SCOPE_WINDOW", default_value = "15s", value_parser = positive_duration)]
    pub window: Duration,

    /// Largest message accepted from a probe (e.g. 16MiB).
    #[arg(long, env = "SCOPE_MAX_MESSAGE_SIZE", default_value = "16MiB", value_parser = byte_size)]
    pub max_message_size: usize,

    /// Largest number of nodes accepted in one report.
    #[arg(long, env = "SCOPE_MAX_NODES_PER_REPORT", default_value_t = 50_000)]
    pub max_nodes_per_report: usize,

    /// Where to ask whether a newer version exists. Set CHECKPOINT_DISABLE to skip the check.
    #[arg(long, env = "SCOPE_CHECKPOINT_URL", default_value = scope_checkpoint::DEFAULT_CHECKPOINT_URL)]
    pub checkpoint_url: String,

    /// Certificate chain (PEM) for serving probe ingest over TLS (probes then use https://).
    #[arg(long, env = "SCOPE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// Private key (PEM) matching --tls-cert.
    #[arg(long, env = "SCOPE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignupPolicy {
    /// Anyone may create an organisation.
    Open,
    /// Invitations only.
    Closed,
}

/// Settings of `scope launch`.
#[derive(Debug, Clone, Args)]
pub struct LaunchArgs {
    /// Address of the API and console (loopback only).
    #[arg(long, env = "SCOPE_LISTEN", default_value = "127.0.0.1:4040")]
    pub listen: SocketAddr,

    /// Also accept probes from other hosts on this address (they need the printed token).
    /// By default the built-in probe talks to the app over a private loopback port.
    #[arg(long, env = "SCOPE_PROBE_LISTEN")]
    pub probe_listen: Option<SocketAddr>,

    /// How long a silent probe's data stays on the map.
    #[arg(long, env = "SCOPE_WINDOW", default_value = "15s", value_parser = positive_duration)]
    pub window: Duration,

    /// Controls the built-in probe runs: `none`, `lifecycle`, or control ids (comma-separated).
    #[arg(
        long,
        env = "SCOPE_CONTROLS",
        default_value = "none",
        value_delimiter = ','
    )]
    pub controls: Vec<String>,

    /// Do not talk to Docker.
    #[arg(long, env = "SCOPE_NO_DOCKER")]
    pub no_docker: bool,

    /// Where to ask whether a newer version exists. Set CHECKPOINT_DISABLE to skip the check.
    #[arg(long, env = "SCOPE_CHECKPOINT_URL", default_value = scope_checkpoint::DEFAULT_CHECKPOINT_URL)]
    pub checkpoint_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_defaults() {
        assert_eq!(byte_size("16MiB"), Ok(16 << 20));
        assert_eq!(byte_size("1000"), Ok(1000));
        assert!(byte_size("lots").is_err());
        let cli = Cli::try_parse_from(["scope", "app"]).unwrap();
        match cli.command {
            Command::App(a) => {
                assert_eq!(a.listen.to_string(), "127.0.0.1:4040");
                assert_eq!(a.window, Duration::from_secs(15));
                assert_eq!(a.max_message_size, 16 << 20);
            }
            _ => panic!("expected app"),
        }
        assert!(Cli::try_parse_from(["scope", "app", "--window", "soon"]).is_err());
    }
}
