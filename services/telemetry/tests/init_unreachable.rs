//! `init` against an OTLP endpoint where nothing listens: start-up must not fail, exit must not
//! hang. Its own test binary because `init` installs the process-global subscriber.

use std::time::{Duration, Instant};

use scope_telemetry::{LogFormat, TelemetryOptions, init};

/// A loopback port that was just free: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// No Tokio runtime here on purpose: the `scope` binary calls `init` before it builds its runtime.
#[test]
fn init_with_nothing_listening_starts_and_shuts_down_in_bounded_time() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let guard = init(
        TelemetryOptions::new("scope-unreachable-test")
            .with_otlp_endpoint(endpoint)
            .with_log_format(LogFormat::Json),
    );
    assert!(guard.exporting());
    assert!(started.elapsed() < Duration::from_secs(2), "init blocked");

    for i in 0..3 {
        tracing::info_span!("ingest.report", tenant = "acme", bytes = i).in_scope(|| {});
        // The failed export comes back as an error, quickly (connection refused, few retries).
        let flush_started = Instant::now();
        let flushed = guard.provider().unwrap().force_flush();
        assert!(
            flushed.is_err(),
            "nothing listens, so the export cannot succeed"
        );
        assert!(
            flush_started.elapsed() < Duration::from_secs(6),
            "flush hung"
        );
    }

    let shutdown_started = Instant::now();
    guard.shutdown();
    assert!(
        shutdown_started.elapsed() < Duration::from_secs(8),
        "shutdown took {:?}",
        shutdown_started.elapsed()
    );
}
