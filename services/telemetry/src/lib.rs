//! Telemetry for the `scope` binaries: logging and OTLP trace export set-up ([`init`]), and the
//! per-replica Prometheus registry behind `/metrics` ([`metrics()`]).
//!
//! Span fields become OTLP span attributes under the same names, so the app's spans
//! (`ingest.report{tenant, probe_id, bytes}`, `render{tenant, topology}`,
//! `http.request{method, route, status}`) arrive at the collector as they are written. Fields
//! declared `tracing::field::Empty` and filled in later with `Span::record` are exported too.
//!
//! Record numbers as `i64` (`bytes = len as i64`, `status = code as i64`): tracing-opentelemetry
//! 0.34 has no unsigned visitor, so a `u64`/`u16` field arrives as a *string* attribute.

mod init;
mod metrics;
mod otlp;

pub use init::{
    DEFAULT_DIRECTIVES, DEFAULT_SERVICE_NAME, LogFormat, TelemetryGuard, TelemetryOptions,
    env_filter, init, subscriber,
};
pub use metrics::{ConnectionGuard, Metrics, PROMETHEUS_CONTENT_TYPE, ViewerGuard, metrics};
pub use otlp::{OtlpError, OtlpLayer, exportable, layer_for, otlp_layer, tracer_provider};

/// The OpenTelemetry SDK's provider type, re-exported so callers of [`otlp_layer`] can name it
/// without depending on the SDK crate themselves.
pub use opentelemetry_sdk::trace::SdkTracerProvider;
