//! A collector that is down is reported once, not once per batch. Its own test binary because
//! the report is logged from the SDK's batch thread, which only sees the global subscriber.

use std::io;
use std::sync::{Arc, Mutex};

use scope_telemetry::{LogFormat, TelemetryOptions, subscriber};

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

#[test]
fn unreachable_collector_is_reported_once_as_json_lines() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let buf = Buf::default();
    let writer = buf.clone();
    let opts = TelemetryOptions::new("scope-log-test")
        .with_otlp_endpoint(format!("127.0.0.1:{port}"))
        .with_log_format(LogFormat::Json);
    let (subscriber, guard) = subscriber(&opts, move || writer.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    for _ in 0..3 {
        tracing::info_span!("render", tenant = "acme", topology = "pods").in_scope(|| {});
        let _ = guard.provider().unwrap().force_flush();
    }
    guard.shutdown();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let failing: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("OTLP trace export failing"))
        })
        .collect();
    assert_eq!(failing.len(), 1, "{text}");
    assert_eq!(failing[0]["level"], "WARN");
    assert_eq!(
        failing[0]["endpoint"],
        format!("http://127.0.0.1:{port}").as_str()
    );
    // Nothing else at warn or above: the SDK's per-batch errors are filtered by default.
    let loud = lines
        .iter()
        .filter(|l| l["level"] == "WARN" || l["level"] == "ERROR")
        .count();
    assert_eq!(loud, 1, "{text}");
}
