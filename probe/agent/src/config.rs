//! The probe's command line, shared by `scope probe` and the lean `scope-probe` binary.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret in clear, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<elided>")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("the service token is empty".into());
        }
        Ok(Secret(s.trim().to_owned()))
    }
}

/// Parses a flag's duration ("1s", "500ms", "2m"), refusing zero.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 1s, 500ms, 2m)"))?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

/// Lifecycle controls a probe can run on containers.
pub const LIFECYCLE_CONTROLS: &[&str] = &[
    "docker_stop_container",
    "docker_start_container",
    "docker_restart_container",
    "docker_pause_container",
    "docker_unpause_container",
    "docker_remove_container",
];

/// Probe settings. Every flag can also be set through the environment variable it names.
#[derive(Debug, Clone, Args)]
pub struct ProbeConfig {
    /// App tier address(es) to report to: `host:port`, `http://host:port` or `https://host:port`
    /// (TLS). The default port is 4041. With several, the probe fails over between them.
    #[arg(
        required = true,
        value_name = "ADDRESS",
        env = "SCOPE_APP_ADDRESSES",
        value_delimiter = ','
    )]
    pub addresses: Vec<String>,

    /// Service token identifying this probe's organisation.
    #[arg(long, env = "SCOPE_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: Secret,

    /// PEM file of the CA that signed the app's certificate (for self-signed deployments).
    #[arg(long, env = "SCOPE_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// How often to scan the host.
    #[arg(long, env = "SCOPE_SPY_INTERVAL", default_value = "1s", value_parser = positive_duration)]
    pub spy_interval: Duration,

    /// How often to publish a report.
    #[arg(long, env = "SCOPE_PUBLISH_INTERVAL", default_value = "3s", value_parser = positive_duration)]
    pub publish_interval: Duration,

    /// Send a full report every N publishes and deltas in between.
    #[arg(long, env = "SCOPE_FULL_REPORT_EVERY", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub full_report_every: u32,

    /// Reports held while the app is unreachable or slow; older ones are dropped and counted.
    #[arg(long, env = "SCOPE_QUEUE_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_size: u32,

    /// Host name to report (default: the kernel's host name).
    #[arg(long, env = "SCOPE_HOSTNAME")]
    pub hostname: Option<String>,

    /// Root of the proc file system to read.
    #[arg(long, env = "SCOPE_PROC_ROOT", default_value = "/proc")]
    pub proc_root: PathBuf,

    /// Do not talk to Docker.
    #[arg(long, env = "SCOPE_NO_DOCKER")]
    pub no_docker: bool,

    /// Do not report processes (and so no connections).
    #[arg(long, env = "SCOPE_NO_PROCESSES")]
    pub no_processes: bool,

    /// Do not report TCP connections.
    #[arg(long, env = "SCOPE_NO_CONNECTIONS")]
    pub no_connections: bool,

    /// Do not follow conntrack's events: only connections open at the instant of a scan are
    /// seen (short ones are missed). On by default when the probe may (root, host network).
    #[arg(long, env = "SCOPE_NO_CONNTRACK")]
    pub no_conntrack: bool,

    /// Report only argv[0] of command lines (they may hold secrets).
    #[arg(long, env = "SCOPE_OMIT_CMD_ARGS")]
    pub omit_cmd_args: bool,

    /// Most endpoints per report; the rest are cut and logged.
    #[arg(long, env = "SCOPE_MAX_ENDPOINTS", default_value_t = 10_000)]
    pub max_endpoints: usize,

    /// Controls this probe will run when the app asks, comma-separated, or `none` / `lifecycle`
    /// (stop, start, restart, pause, unpause, remove containers). The app checks the user's role
    /// too; this is the host's own say.
    #[arg(
        long,
        env = "SCOPE_CONTROLS",
        default_value = "none",
        value_delimiter = ','
    )]
    pub controls: Vec<String>,

    /// Where to ask whether a newer version exists. Set CHECKPOINT_DISABLE to skip the check.
    #[arg(long, env = "SCOPE_CHECKPOINT_URL", default_value = scope_checkpoint::DEFAULT_CHECKPOINT_URL)]
    pub checkpoint_url: String,
}

impl ProbeConfig {
    /// The control ids this probe allows.
    pub fn allowed_controls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.controls {
            match c.trim() {
                "" | "none" => {}
                "lifecycle" => out.extend(LIFECYCLE_CONTROLS.iter().map(|s| s.to_string())),
                other => out.push(other.to_owned()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        probe: ProbeConfig,
    }

    #[test]
    fn parses_flags_and_hides_the_token() {
        let cli = Cli::try_parse_from([
            "probe",
            "--service-token",
            "tok",
            "--publish-interval",
            "2s",
            "--controls",
            "lifecycle",
            "a:1",
            "b:2",
        ])
        .unwrap();
        assert_eq!(cli.probe.addresses, vec!["a:1", "b:2"]);
        assert_eq!(cli.probe.publish_interval, Duration::from_secs(2));
        assert_eq!(cli.probe.allowed_controls().len(), 6);
        assert!(!format!("{:?}", cli.probe).contains("tok\""));
        assert!(
            Cli::try_parse_from(["probe", "--service-token", "t", "--spy-interval", "0s", "a"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["probe", "--service-token", " ", "a"]).is_err());
    }
}

#[derive(clap::Parser)]
#[command(name = "scope-probe")]
struct ProbeCli {
    #[command(flatten)]
    probe: ProbeConfig,
}

impl ProbeConfig {
    /// Parses probe flags from `args` (the first item is the program name). Environment
    /// variables fill flags the args leave out.
    pub fn parse_args<I, S>(args: I) -> Result<ProbeConfig, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        ProbeCli::try_parse_from(args).map(|c| c.probe)
    }
}
