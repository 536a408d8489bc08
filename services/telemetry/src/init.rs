//! Process-wide logging and tracing set-up for the `scope` binaries.

use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::otlp;

/// Service name used when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "scope-app";

/// Filter directives applied before `RUST_LOG`. A `RUST_LOG` directive for the same target
/// replaces one of these (e.g. `RUST_LOG=debug` replaces `info`, `RUST_LOG=h2=debug` replaces
/// `h2=warn`), while a bare `RUST_LOG=debug` still leaves the transport crates at `warn`: their
/// debug output is per-frame and drowns everything else.
///
/// Targets match by prefix, so `tower` also covers `tower_http` and `hyper` covers `hyper_util`;
/// name the crate in `RUST_LOG` to see more of it.
///
/// The OpenTelemetry crates are off because they log an error for every failed batch (every few
/// seconds while a collector is down); this crate reports export health once per change instead.
pub const DEFAULT_DIRECTIVES: &str = "info,h2=warn,hyper=warn,hyper_util=warn,tower=warn,\
    tonic=warn,sqlx=warn,rustls=warn,async_nats=warn,opentelemetry=off,opentelemetry_sdk=off,\
    opentelemetry_otlp=off";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured when stderr is a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// What [`init`] sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryOptions {
    pub log_format: LogFormat,
    /// `service.name` of exported spans.
    pub service_name: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`. `None`: no trace export.
    pub otlp_endpoint: Option<String>,
    /// `RUST_LOG`-style directives layered over [`DEFAULT_DIRECTIVES`].
    pub log_filter: Option<String>,
}

impl TelemetryOptions {
    /// Text logs, no export, no extra filter.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            log_format: LogFormat::Text,
            service_name: service_name.into(),
            otlp_endpoint: None,
            log_filter: None,
        }
    }

    /// Reads `OTEL_EXPORTER_OTLP_ENDPOINT` (or the trace-specific
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, which wins), `OTEL_SERVICE_NAME`, `OTEL_SDK_DISABLED`
    /// and `RUST_LOG` from the process environment. The log format stays text: the binary's
    /// `--log-format` flag decides it.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// [`from_env`](Self::from_env) over any key lookup, so tests need not mutate the process
    /// environment (which is `unsafe` in edition 2024 and racy across test threads).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        // Blank values count as unset, as the OpenTelemetry spec asks.
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let disabled =
            get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let otlp_endpoint = if disabled {
            None
        } else {
            get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        };
        Self {
            log_format: LogFormat::Text,
            service_name: get("OTEL_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE_NAME.into()),
            otlp_endpoint: otlp_endpoint.map(|e| e.trim().to_owned()),
            log_filter: get("RUST_LOG"),
        }
    }

    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }
}

/// The filter [`init`] installs: [`DEFAULT_DIRECTIVES`], then `extra` (`RUST_LOG` syntax; invalid
/// directives are reported on stderr and skipped rather than failing start-up).
pub fn env_filter(extra: Option<&str>) -> EnvFilter {
    let directives = match extra {
        Some(extra) => format!("{DEFAULT_DIRECTIVES},{extra}"),
        None => DEFAULT_DIRECTIVES.to_owned(),
    };
    EnvFilter::builder().parse_lossy(directives)
}

/// Keeps trace export alive; flushes the last spans and stops the exporter when dropped.
#[must_use = "dropping the guard stops trace export"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether spans are being exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// The tracer provider, when exporting (e.g. to `force_flush` before a planned pause).
    pub fn provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Flushes pending spans and stops the exporter, waiting a bounded time when the collector
    /// is unreachable. Blocks: from async code, call it on a blocking thread if convenient.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown_with_timeout(otlp::SHUTDOWN_TIMEOUT)
        {
            tracing::debug!(%error, "OTLP exporter shutdown incomplete");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Installs the global subscriber: [`env_filter`], the stderr log layer in the chosen format,
/// and the OTLP layer when an endpoint is set.
///
/// Never fails start-up: a bad endpoint is logged and export is skipped; a collector where
/// nothing listens only produces one warning once spans are exported. If a global subscriber is
/// already installed, it is kept and the returned guard exports nothing.
pub fn init(opts: TelemetryOptions) -> TelemetryGuard {
    let (subscriber, provider, otlp_error) =
        build(&opts, std::io::stderr, std::io::stderr().is_terminal());
    if subscriber.try_init().is_err() {
        if let Some(provider) = provider {
            let _ = provider.shutdown_with_timeout(otlp::SHUTDOWN_TIMEOUT);
        }
        return TelemetryGuard::default();
    }
    if let Some(error) = otlp_error {
        tracing::warn!(%error, "trace export disabled");
    } else if let Some(endpoint) = &opts.otlp_endpoint {
        tracing::info!(%endpoint, service = %opts.service_name, "exporting traces over OTLP/gRPC");
    }
    TelemetryGuard { provider }
}

/// The subscriber [`init`] would install, writing logs to `writer`, without installing it; for
/// scoped use (`tracing::subscriber::with_default`) and tests.
pub fn subscriber<W>(
    opts: &TelemetryOptions,
    writer: W,
) -> (impl Subscriber + Send + Sync + 'static, TelemetryGuard)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (subscriber, provider, otlp_error) = build(opts, writer, false);
    if let Some(error) = otlp_error {
        tracing::warn!(%error, "trace export disabled");
    }
    (subscriber, TelemetryGuard { provider })
}

type Filtered = tracing_subscriber::layer::Layered<EnvFilter, Registry>;
type WithFmt = tracing_subscriber::layer::Layered<Box<dyn Layer<Filtered> + Send + Sync>, Filtered>;

fn build<W>(
    opts: &TelemetryOptions,
    writer: W,
    ansi: bool,
) -> (
    impl Subscriber + Send + Sync + 'static,
    Option<SdkTracerProvider>,
    Option<otlp::OtlpError>,
)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt_layer: Box<dyn Layer<Filtered> + Send + Sync> = match opts.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            // Event fields at the top level next to "message", where log shippers look for them.
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
    };
    let (otel_layer, provider, error) = match opts.otlp_endpoint.as_deref() {
        Some(endpoint) => match otlp::otlp_layer::<WithFmt>(endpoint, &opts.service_name) {
            Ok((layer, provider)) => (Some(layer), Some(provider), None),
            Err(error) => (None, None, Some(error)),
        },
        None => (None, None, None),
    };
    let subscriber = Registry::default()
        .with(env_filter(opts.log_filter.as_deref()))
        .with(fmt_layer)
        .with(otel_layer);
    (subscriber, provider, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing::Level;

    /// A log sink the tests can read back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| vars.get(key).cloned()
    }

    #[test]
    fn from_lookup_reads_the_standard_variables() {
        let opts = TelemetryOptions::from_lookup(lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", " http://collector:4317 "),
            ("OTEL_SERVICE_NAME", "scope-app-eu1"),
            ("RUST_LOG", "scope_app=debug"),
        ]));
        assert_eq!(
            opts,
            TelemetryOptions {
                log_format: LogFormat::Text,
                service_name: "scope-app-eu1".into(),
                otlp_endpoint: Some("http://collector:4317".into()),
                log_filter: Some("scope_app=debug".into()),
            }
        );
    }

    #[test]
    fn from_lookup_defaults_and_overrides() {
        let opts = TelemetryOptions::from_lookup(lookup(&[]));
        assert_eq!(opts, TelemetryOptions::new(DEFAULT_SERVICE_NAME));

        // Blank counts as unset.
        let opts = TelemetryOptions::from_lookup(lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "  "),
            ("OTEL_SERVICE_NAME", ""),
        ]));
        assert_eq!(opts.otlp_endpoint, None);
        assert_eq!(opts.service_name, DEFAULT_SERVICE_NAME);

        // The trace-specific endpoint wins over the generic one.
        let opts = TelemetryOptions::from_lookup(lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4317"),
        ]));
        assert_eq!(opts.otlp_endpoint.as_deref(), Some("http://b:4317"));

        let opts = TelemetryOptions::from_lookup(lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ]));
        assert_eq!(opts.otlp_endpoint, None);
    }

    #[test]
    fn filter_defaults_quiet_noisy_crates_and_rust_log_overrides() {
        let enabled = |filter: EnvFilter, target: &str, level: Level| -> bool {
            let subscriber = Registry::default().with(filter);
            tracing::subscriber::with_default(subscriber, || target_enabled(target, level))
        };
        assert!(enabled(env_filter(None), "scope_app", Level::INFO));
        assert!(!enabled(env_filter(None), "scope_app", Level::DEBUG));
        assert!(!enabled(env_filter(None), "h2", Level::INFO));
        assert!(enabled(env_filter(None), "h2", Level::WARN));
        assert!(!enabled(env_filter(None), "sqlx::query", Level::INFO));
        assert!(!enabled(
            env_filter(None),
            "opentelemetry_sdk",
            Level::ERROR
        ));

        // RUST_LOG=debug raises the default but leaves the transport crates quiet.
        assert!(enabled(
            env_filter(Some("debug")),
            "scope_app",
            Level::DEBUG
        ));
        assert!(!enabled(env_filter(Some("debug")), "hyper", Level::INFO));
        // Naming a crate explicitly replaces its default directive.
        assert!(enabled(env_filter(Some("h2=debug")), "h2", Level::DEBUG));
        assert!(!enabled(env_filter(Some("warn")), "scope_app", Level::INFO));
        // Garbage is skipped, not fatal.
        assert!(enabled(env_filter(Some("=[bad")), "scope_app", Level::INFO));
    }

    /// `tracing::enabled!` needs a literal target; this asks the current dispatcher about
    /// metadata built for any `target`.
    fn target_enabled(target: &str, level: Level) -> bool {
        use tracing::callsite::Identifier;
        use tracing::metadata::Kind;
        struct Cs;
        impl tracing::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let target: &'static str = Box::leak(target.to_owned().into_boxed_str());
        let meta = tracing::Metadata::new(
            "probe",
            target,
            level,
            None,
            None,
            None,
            tracing::field::FieldSet::new(&[], Identifier(&CS)),
            Kind::EVENT,
        );
        let meta: &'static tracing::Metadata<'static> = Box::leak(Box::new(meta));
        tracing::dispatcher::get_default(|d| d.enabled(meta))
    }

    #[test]
    fn json_format_writes_one_object_per_line() {
        let buf = Buf::default();
        let opts = TelemetryOptions::new("scope-test").with_log_format(LogFormat::Json);
        let writer = buf.clone();
        let (subscriber, guard) = subscriber(&opts, move || writer.clone());
        assert!(!guard.exporting());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("ingest.report", tenant = "acme", bytes = 12u64);
            let _entered = span.enter();
            tracing::info!(probe_id = "p-1", "report\nwith \"quotes\"");
            tracing::debug!("filtered out at the default level");
            tracing::warn!(reason = "too_large", "rejected");
        });
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "report\nwith \"quotes\"");
        assert_eq!(first["probe_id"], "p-1");
        assert_eq!(first["span"]["name"], "ingest.report");
        assert_eq!(first["span"]["tenant"], "acme");
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["level"], "WARN");
        assert_eq!(second["reason"], "too_large");
    }

    #[test]
    fn text_format_is_plain_lines() {
        let buf = Buf::default();
        let writer = buf.clone();
        let (subscriber, _guard) =
            subscriber(&TelemetryOptions::new("scope-test"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(tenant = "acme", "hello");
        });
        let text = buf.text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("INFO") && text.contains("hello") && text.contains("tenant=\"acme\"")
        );
        // No colour codes when not writing to a terminal.
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}
