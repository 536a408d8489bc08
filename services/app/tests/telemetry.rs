//! The tier's observability through the real binary: OTLP traces reach a gRPC receiver running
//! in the test when `OTEL_EXPORTER_OTLP_ENDPOINT` points at it, and `/metrics` carries
//! per-tenant series.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

const SCOPE: &str = env!("CARGO_BIN_EXE_scope");

/// Records the names of the spans it receives.
#[derive(Clone, Default)]
struct Receiver {
    names: Arc<Mutex<BTreeSet<String>>>,
    services: Arc<Mutex<BTreeSet<String>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        for rs in request.into_inner().resource_spans {
            for kv in rs.resource.iter().flat_map(|r| r.attributes.iter()) {
                if kv.key == "service.name"
                    && let Some(v) = &kv.value
                    && let Some(
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s),
                    ) = &v.value
                {
                    self.services.lock().unwrap().insert(s.clone());
                }
            }
            for ss in rs.scope_spans {
                for span in ss.spans {
                    self.names.lock().unwrap().insert(span.name);
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_reach_an_otlp_receiver_and_metrics_name_the_tenant() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    let server = TraceServiceServer::new(receiver.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(server)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });

    let port = free_port();
    let _app = Proc(
        Command::new(SCOPE)
            .args([
                "launch",
                "--no-docker",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("CHECKPOINT_DISABLE", "true")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
            .env_remove("OTEL_SERVICE_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run scope launch"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let wanted = ["http.request", "render", "ingest.report"];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Keep asking for a view, so renders happen once the probe has reported.
        let _ = http.get(format!("{base}/api/topology/hosts")).send().await;
        let names = receiver.names.lock().unwrap().clone();
        if wanted.iter().all(|w| names.contains(*w)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans {wanted:?} not all received within 60 s; got {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        receiver.services.lock().unwrap().contains("scope-app"),
        "service.name: {:?}",
        receiver.services.lock().unwrap()
    );

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "scope_reports_received_total{tenant=\"local\"}",
        "scope_report_bytes_received_total{tenant=\"local\"}",
        "scope_probes_connected{tenant=\"local\"} 1",
        "scope_render_seconds_count{tenant=\"local\",topology=\"hosts\"}",
        "scope_http_requests_total{route=\"/api/topology/{topology}\",method=\"GET\",status=\"200\"}",
    ] {
        assert!(
            metrics.contains(series),
            "/metrics lacks {series}:\n{metrics}"
        );
    }
}
