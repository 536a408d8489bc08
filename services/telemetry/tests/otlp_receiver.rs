//! Trace export against a real OTLP/gRPC receiver running in the test: the collector's
//! `TraceService` served by tonic on a loopback port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use scope_telemetry::{TelemetryOptions, otlp_layer};
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;

/// Records every export request it receives.
#[derive(Clone, Default)]
struct Receiver {
    requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.requests.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A received span with its resource's `service.name`.
struct Received {
    service_name: Option<String>,
    span: Span,
}

impl Receiver {
    fn spans(&self) -> Vec<Received> {
        let requests = self.requests.lock().unwrap();
        let mut out = Vec::new();
        for request in requests.iter() {
            for resource_spans in &request.resource_spans {
                let service_name = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|r| attr(&r.attributes, "service.name"))
                    .and_then(|v| match v {
                        Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    });
                for scope_spans in &resource_spans.scope_spans {
                    for span in &scope_spans.spans {
                        out.push(Received {
                            service_name: service_name.clone(),
                            span: span.clone(),
                        });
                    }
                }
            }
        }
        out
    }
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string(value: &str) -> Value {
    Value::StringValue(value.to_owned())
}

async fn start_receiver() -> (SocketAddr, Receiver, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let service = TraceServiceServer::new(receiver.clone());
    tokio::spawn(async move {
        Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
    });
    (addr, receiver, stop_tx)
}

/// Emits the app's three span shapes: a report ingest with a render inside it, and an HTTP
/// request whose status is recorded after the span was created.
fn emit_app_spans() {
    let ingest = tracing::info_span!(
        "ingest.report",
        tenant = "acme",
        probe_id = "probe-7",
        bytes = 1234i64,
        queue_depth = 5u64
    );
    ingest.in_scope(|| {
        tracing::info!(nodes = 42, "report merged");
        let render = tracing::info_span!("render", tenant = "acme", topology = "containers");
        render.in_scope(|| {});
    });
    drop(ingest);

    let http = tracing::info_span!(
        "http.request",
        method = "GET",
        route = "/api/topology/{id}",
        status = tracing::field::Empty
    );
    http.record("status", 200i64);
    drop(http);
}

// Multi-threaded: the receiver must keep serving while a test thread waits on a flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_real_otlp_receiver() {
    let (addr, receiver, stop) = start_receiver().await;
    let (layer, provider) =
        otlp_layer::<Registry>(&format!("http://{addr}"), "scope-app-test").unwrap();
    tracing::subscriber::with_default(Registry::default().with(layer), emit_app_spans);
    let flushed = tokio::task::spawn_blocking({
        let provider = provider.clone();
        move || provider.force_flush()
    })
    .await
    .unwrap();
    assert!(flushed.is_ok(), "flush: {flushed:?}");

    let spans = receiver.spans();
    let by_name: HashMap<&str, &Received> =
        spans.iter().map(|r| (r.span.name.as_str(), r)).collect();
    assert_eq!(spans.len(), 3, "names: {:?}", by_name.keys());
    for received in &spans {
        assert_eq!(received.service_name.as_deref(), Some("scope-app-test"));
    }

    let ingest = &by_name["ingest.report"].span;
    assert_eq!(attr(&ingest.attributes, "tenant"), Some(&string("acme")));
    assert_eq!(
        attr(&ingest.attributes, "probe_id"),
        Some(&string("probe-7"))
    );
    assert_eq!(
        attr(&ingest.attributes, "bytes"),
        Some(&Value::IntValue(1234))
    );
    // tracing-opentelemetry 0.34 has no unsigned visitor (u64 does not fit OTLP's i64), so
    // unsigned fields fall back to their Debug text. The crate docs tell callers to use i64.
    assert_eq!(attr(&ingest.attributes, "queue_depth"), Some(&string("5")));
    // Events inside a span travel as span events with their fields.
    let event = ingest
        .events
        .iter()
        .find(|e| e.name == "report merged")
        .expect("event");
    assert_eq!(attr(&event.attributes, "nodes"), Some(&Value::IntValue(42)));

    let render = &by_name["render"].span;
    assert_eq!(attr(&render.attributes, "tenant"), Some(&string("acme")));
    assert_eq!(
        attr(&render.attributes, "topology"),
        Some(&string("containers"))
    );
    assert_eq!(
        render.trace_id, ingest.trace_id,
        "render is in the ingest trace"
    );
    assert_eq!(
        render.parent_span_id, ingest.span_id,
        "render is a child of ingest"
    );

    let http = &by_name["http.request"].span;
    assert_eq!(attr(&http.attributes, "method"), Some(&string("GET")));
    assert_eq!(
        attr(&http.attributes, "route"),
        Some(&string("/api/topology/{id}"))
    );
    assert_eq!(
        attr(&http.attributes, "status"),
        Some(&Value::IntValue(200))
    );
    assert!(
        http.parent_span_id.is_empty(),
        "http.request is a root span"
    );
    assert_ne!(http.trace_id, ingest.trace_id);

    let shutdown = tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap();
    assert!(shutdown.is_ok(), "shutdown: {shutdown:?}");
    let _ = stop.send(());
}

// The guard from `scope_telemetry::subscriber` is what `init` hands out: dropping it must
// deliver spans still queued in the batch processor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_shutdown_flushes_queued_spans() {
    let (addr, receiver, stop) = start_receiver().await;
    let opts = TelemetryOptions::new("scope-guard-test").with_otlp_endpoint(addr.to_string());
    let (subscriber, guard) = scope_telemetry::subscriber(&opts, std::io::sink);
    assert!(guard.exporting());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("render", tenant = "globex", topology = "hosts").in_scope(|| {});
    });
    assert!(
        receiver.spans().is_empty(),
        "batch exporter sends on a timer, not per span"
    );
    let started = Instant::now();
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "render");
    assert_eq!(spans[0].service_name.as_deref(), Some("scope-guard-test"));
    assert_eq!(
        attr(&spans[0].span.attributes, "tenant"),
        Some(&string("globex"))
    );
    let _ = stop.send(());
}
