//! OTLP/gRPC trace export: a tracer provider with a batch exporter, and the
//! `tracing-opentelemetry` layer that feeds it.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use tracing::Metadata;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::registry::LookupSpan;

/// The tracing layer returned by [`otlp_layer`]: spans of the subscriber `S`, minus those of the
/// exporter's own transport (see [`exportable`]).
pub type OtlpLayer<S> = Filtered<OpenTelemetryLayer<S, SdkTracer>, FilterFn, S>;

/// How long one export may take, retries included. Bounded so that a collector that accepts
/// connections but never answers stalls the batch thread for seconds, not the SDK's 10 s + retries.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP connect bound: a black-holed collector address must fail as quickly as a refused one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound for flushing the last batch at shutdown, so that exit never waits on a dead collector
/// for longer than this.
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(6);

/// Why the OTLP pipeline could not be built. Start-up goes on without trace export.
#[derive(Debug)]
pub enum OtlpError {
    /// The endpoint is not a URI tonic accepts.
    InvalidEndpoint(String),
    /// `https://` endpoints need a TLS stack, which this crate does not build in (yet).
    TlsUnsupported(String),
    /// The exporter's own runtime thread could not be started.
    Runtime(String),
    /// opentelemetry-otlp rejected the configuration (e.g. a malformed OTEL_EXPORTER_OTLP_HEADERS).
    Exporter(String),
}

impl fmt::Display for OtlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEndpoint(e) => write!(f, "invalid OTLP endpoint: {e}"),
            Self::TlsUnsupported(e) => write!(
                f,
                "OTLP endpoint {e} uses https, but TLS is not built in; point it at a plaintext \
                 gRPC collector (e.g. a local agent on http://127.0.0.1:4317)"
            ),
            Self::Runtime(e) => write!(f, "cannot start the OTLP exporter runtime: {e}"),
            Self::Exporter(e) => write!(f, "cannot build the OTLP exporter: {e}"),
        }
    }
}

impl std::error::Error for OtlpError {}

/// Builds an OTLP/gRPC trace pipeline to `endpoint` for `service_name` and returns the tracing
/// layer for a subscriber `S` plus the provider that owns the batch exporter.
///
/// Nothing global is touched: the layer can go into `tracing::subscriber::with_default` /
/// `set_default`, and the caller owns the provider (call `force_flush` / `shutdown` on it).
/// Connecting is lazy: an endpoint where nothing listens only makes exports fail later.
///
/// `endpoint` may omit the scheme (`collector:4317` means `http://collector:4317`).
pub fn otlp_layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<(OtlpLayer<S>, SdkTracerProvider), OtlpError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let provider = tracer_provider(endpoint, service_name)?;
    Ok((layer_for(&provider), provider))
}

/// The tracing layer for an existing provider.
pub fn layer_for<S>(provider: &SdkTracerProvider) -> OtlpLayer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
        // Async tasks hop between worker threads, so the thread a span started on says nothing.
        .with_threads(false)
        .with_filter(FilterFn::new(exportable as fn(&Metadata<'_>) -> bool))
}

/// Whether spans and events of this callsite may go to the OTLP layer.
///
/// The exporter's own transport (tonic, h2, hyper, tower) and the OpenTelemetry crates are left
/// out: their spans would be exported by the very requests that create them, a feedback loop as
/// soon as someone runs with `RUST_LOG=trace`.
pub fn exportable(meta: &Metadata<'_>) -> bool {
    const OWN_TRANSPORT: [&str; 8] = [
        "h2",
        "hyper",
        "hyper_util",
        "tonic",
        "tower",
        "opentelemetry",
        "opentelemetry_sdk",
        "opentelemetry_otlp",
    ];
    let target = meta.target();
    !OWN_TRANSPORT.iter().any(|krate| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// A provider exporting in batches over OTLP/gRPC to `endpoint`.
pub fn tracer_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, OtlpError> {
    let endpoint = normalize_endpoint(endpoint)?;
    let channel = {
        // tonic spawns the channel's worker on the current runtime; using our own keeps export
        // independent of how (and whether) the application runs Tokio: `init` runs before the
        // app builds its runtime, and a current-thread runtime that blocks in `shutdown` would
        // otherwise deadlock with the very worker that has to send the last batch.
        let _enter = exporter_runtime()?.enter();
        tonic::transport::Endpoint::from_shared(endpoint.clone())
            .map_err(|e| OtlpError::InvalidEndpoint(format!("{endpoint}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(EXPORT_TIMEOUT)
            .connect_lazy()
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_channel(channel)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| OtlpError::Exporter(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(ExportHealth::new(exporter, endpoint))
        .with_resource(resource)
        .build())
}

/// Adds the default `http://` scheme and refuses `https://`, which would need TLS support.
fn normalize_endpoint(endpoint: &str) -> Result<String, OtlpError> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err(OtlpError::InvalidEndpoint("empty".into()));
    }
    if endpoint.starts_with("https://") {
        return Err(OtlpError::TlsUnsupported(endpoint.into()));
    }
    Ok(if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("http://{endpoint}")
    })
}

/// One small runtime per process for the exporter's connections, started on first use and
/// never dropped (it lives in a static), so no shutdown order can tear it down under an export.
fn exporter_runtime() -> Result<&'static tokio::runtime::Runtime, OtlpError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                // Export is a handful of small requests every few seconds.
                .worker_threads(1)
                .thread_name("scope-otlp")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| OtlpError::Runtime(e.clone()))
}

/// Wraps the OTLP exporter to report the collector's reachability once per change (failing,
/// recovered) instead of an error per batch: an unreachable collector must not flood the log.
/// The SDK's own per-batch error events are filtered out by the default log filter.
#[derive(Debug)]
struct ExportHealth<E> {
    inner: E,
    endpoint: String,
    failing: AtomicBool,
}

impl<E> ExportHealth<E> {
    fn new(inner: E, endpoint: String) -> Self {
        Self {
            inner,
            endpoint,
            failing: AtomicBool::new(false),
        }
    }
}

impl<E: SpanExporter> SpanExporter for ExportHealth<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(endpoint = %self.endpoint, "OTLP trace export recovered");
                }
            }
            Err(error) => {
                if self.failing.swap(true, Ordering::Relaxed) {
                    tracing::debug!(endpoint = %self.endpoint, spans, %error, "OTLP trace export failed");
                } else {
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        spans,
                        %error,
                        "OTLP trace export failing; spans are dropped until the collector is \
                         reachable (repeats are logged at debug)"
                    );
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // The resource reaches the exporter only through this call; dropping it would lose
        // service.name on the wire.
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_http_scheme_and_https_is_refused() {
        assert_eq!(
            normalize_endpoint("collector:4317").unwrap(),
            "http://collector:4317"
        );
        assert_eq!(
            normalize_endpoint(" http://127.0.0.1:4317 ").unwrap(),
            "http://127.0.0.1:4317"
        );
        assert!(matches!(
            normalize_endpoint("https://otel.example:4317"),
            Err(OtlpError::TlsUnsupported(_))
        ));
        assert!(matches!(
            normalize_endpoint("  "),
            Err(OtlpError::InvalidEndpoint(_))
        ));
    }

    #[test]
    fn transport_targets_are_not_exported() {
        use tracing::callsite::Identifier;
        use tracing::metadata::Kind;
        use tracing::{Level, Metadata};

        struct Cs;
        impl tracing::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let meta = |target: &'static str| {
            Metadata::new(
                "s",
                target,
                Level::INFO,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], Identifier(&CS)),
                Kind::SPAN,
            )
        };
        assert!(!exportable(&meta("h2::proto::connection")));
        assert!(!exportable(&meta("tonic")));
        assert!(!exportable(&meta("tower::buffer::worker")));
        assert!(!exportable(&meta("opentelemetry_sdk")));
        assert!(exportable(&meta("tower_http::trace")));
        assert!(exportable(&meta("scope_app::ingest")));
        assert!(exportable(&meta("h2o")));
    }
}
