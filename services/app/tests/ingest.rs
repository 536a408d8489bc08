//! Probe ingest end to end: authentication, limits, malformed input, and reconnecting probes.

mod support;

use std::time::Duration;

use prost::Message;
use scope_proto::v1 as pb;
use scope_proto::v1::probe_service_client::ProbeServiceClient;
use support::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect to ingest")
}

fn hello(id: &str) -> pb::ProbeMessage {
    pb::ProbeMessage {
        msg: Some(pb::probe_message::Msg::Hello(pb::Hello {
            probe_id: id.into(),
            hostname: format!("host-{id}"),
            version: "test".into(),
            capabilities: vec![],
        })),
    }
}

fn report_msg(seq: u64, report: pb::Report) -> pb::ProbeMessage {
    pb::ProbeMessage {
        msg: Some(pb::probe_message::Msg::Report(pb::ReportMessage {
            kind: pb::ReportKind::Full as i32,
            sequence: seq,
            report: Some(report),
            ..Default::default()
        })),
    }
}

/// Opens a stream with `token`, sends `msgs`, and returns how the stream ended.
async fn stream_outcome(
    addr: std::net::SocketAddr,
    token: &str,
    msgs: Vec<pb::ProbeMessage>,
) -> tonic::Status {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    for m in msgs {
        tx.send(m).await.unwrap();
    }
    let mut req = tonic::Request::new(ReceiverStream::new(rx));
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut client = ProbeServiceClient::new(channel(addr).await);
    match client.connect(req).await {
        Ok(r) => end_of(r.into_inner()).await,
        Err(status) => status,
    }
}

/// Reads app messages until the stream ends; how it ended (OK for a clean end).
async fn end_of(mut inbound: tonic::Streaming<pb::AppMessage>) -> tonic::Status {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), inbound.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return tonic::Status::ok("stream ended"),
            Ok(Err(status)) => return status,
            Err(_) => return tonic::Status::deadline_exceeded("no end within 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_refused_and_contributes_nothing() {
    init();
    let token = scope_app::generate_token();
    let app = scope_app::Application::start(app_options(&token))
        .await
        .unwrap();
    let status = stream_outcome(app.probe_addr(), "not-the-token", vec![hello("intruder")]).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // A real probe with a wrong token retries in the background and never gets in.
    let _stop = spawn_probe(app.probe_addr(), "wrong-token", &[]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        get_json(app.http_addr(), "/api/probes").await,
        serde_json::json!([])
    );
    let hosts = get_json(app.http_addr(), "/api/topology/hosts").await;
    assert_eq!(hosts["nodes"], serde_json::json!({}));
    // The right token works.
    let _ok = spawn_probe(app.probe_addr(), &token, &[]);
    eventually(
        Duration::from_secs(10),
        "the probe with the right token",
        || async {
            let p = get_json(app.http_addr(), "/api/probes").await;
            (p.as_array()?.len() == 1).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_malformed_messages_close_only_that_stream() {
    init();
    let token = scope_app::generate_token();
    let mut opts = app_options(&token);
    // Limits well above what this host's own probe sends (its report must keep passing while
    // other tests run), with test messages built to cross each one.
    opts.max_message_size = 4 << 20;
    opts.max_nodes_per_report = 5_000;
    let app = scope_app::Application::start(opts).await.unwrap();
    // A well-behaved probe keeps reporting throughout.
    let _good = spawn_probe(app.probe_addr(), &token, &["--no-docker"]);
    eventually(Duration::from_secs(10), "the good probe", || async {
        let p = get_json(app.http_addr(), "/api/probes").await;
        (p.as_array()?.len() == 1).then_some(())
    })
    .await;

    // Larger than the message limit.
    let big = scope_report::synthetic::sized_host_report(40_000, 1);
    let big = pb::Report::from(&big);
    assert!(big.encoded_len() > 4 << 20, "{}", big.encoded_len());
    let status = stream_outcome(
        app.probe_addr(),
        &token,
        vec![hello("big"), report_msg(1, big)],
    )
    .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");

    // Within the byte limit but over the node limit.
    let many = pb::Report::from(&scope_report::synthetic::sized_host_report(6_000, 1));
    assert!(many.encoded_len() < 4 << 20, "{}", many.encoded_len());
    let status = stream_outcome(
        app.probe_addr(),
        &token,
        vec![hello("many"), report_msg(1, many)],
    )
    .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("limit is 5000"), "{status:?}");

    // Well-formed protobuf, invalid report: an unknown topology.
    let bad = pb::Report {
        topologies: vec![pb::Topology {
            name: "pods".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let status = stream_outcome(
        app.probe_addr(),
        &token,
        vec![hello("bad"), report_msg(1, bad)],
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("unknown topology"), "{status:?}");

    // Not protobuf at all.
    let status = garbage_stream(app.probe_addr(), &token).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // A report before the hello.
    let status = stream_outcome(
        app.probe_addr(),
        &token,
        vec![report_msg(1, pb::Report::default())],
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // None of that touched the good probe or let the bad ones in.
    let before = reports_received(app.http_addr()).await;
    eventually(
        Duration::from_secs(10),
        "the good probe still reporting",
        || async { (reports_received(app.http_addr()).await > before).then_some(()) },
    )
    .await;
    // The rejected streams are listed as disconnected (an operator sees which host misbehaves)
    // once the collector has taken their ends, and contributed no nodes.
    eventually(
        Duration::from_secs(10),
        "rejected probes shown disconnected",
        || async {
            let probes = get_json(app.http_addr(), "/api/probes").await;
            probes
                .as_array()?
                .iter()
                .all(|p| {
                    let rejected = p["hostname"]
                        .as_str()
                        .is_some_and(|h| h.starts_with("host-"));
                    p["connected"] == !rejected && (!rejected || p["reportsReceived"] == 0)
                })
                .then_some(())
        },
    )
    .await;
    let hosts = get_json(app.http_addr(), "/api/topology/hosts").await;
    let labels: Vec<&str> = hosts["nodes"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|n| n["label"].as_str())
        .collect();
    assert!(!labels.iter().any(|l| l.starts_with("host-")), "{labels:?}");
}

/// Reports received from the good probe (the rejected ones, named `host-*`, are listed too).
async fn reports_received(addr: std::net::SocketAddr) -> u64 {
    let probes = get_json(addr, "/api/probes").await;
    probes
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["hostname"]
                .as_str()
                .is_some_and(|h| !h.starts_with("host-"))
        })
        .and_then(|p| p["reportsReceived"].as_u64())
        .unwrap_or(0)
}

/// A message whose second field is a report made of bytes that do not decode.
#[derive(Clone, PartialEq, prost::Message)]
struct RawProbeMessage {
    #[prost(bytes = "vec", tag = "2")]
    report: Vec<u8>,
}

async fn garbage_stream(addr: std::net::SocketAddr, token: &str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    grpc.ready().await.unwrap();
    // First a valid hello (encoded by hand as bytes of field 1), then garbage as field 2.
    let hello_bytes = hello("garbage").encode_to_vec();
    let hello_raw = RawHello { raw: hello_bytes };
    let (tx, rx) = tokio::sync::mpsc::channel::<RawFrame>(4);
    tx.send(RawFrame::Hello(hello_raw)).await.unwrap();
    tx.send(RawFrame::Report(RawProbeMessage {
        report: vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
    }))
    .await
    .unwrap();
    let mut req = tonic::Request::new(ReceiverStream::new(rx));
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let codec = RawCodec;
    let path = http::uri::PathAndQuery::from_static("/scope.v1.ProbeService/Connect");
    match grpc.streaming(req, path, codec).await {
        Ok(r) => end_of(r.into_inner()).await,
        Err(s) => s,
    }
}

/// An already-encoded hello.
struct RawHello {
    raw: Vec<u8>,
}

enum RawFrame {
    Hello(RawHello),
    Report(RawProbeMessage),
}

/// Encodes frames as given; decodes app messages normally.
#[derive(Clone, Copy)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = RawFrame;
    type Decode = pb::AppMessage;
    type Encoder = RawEncoder;
    type Decoder = tonic_prost::ProstDecoder<pb::AppMessage>;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

struct RawEncoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = RawFrame;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: RawFrame,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        match item {
            RawFrame::Hello(h) => dst.put_slice(&h.raw),
            RawFrame::Report(r) => r
                .encode(dst)
                .map_err(|e| tonic::Status::internal(e.to_string()))?,
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_survives_an_app_restart() {
    init();
    let token = scope_app::generate_token();
    let app = scope_app::Application::start(app_options(&token))
        .await
        .unwrap();
    let (http, grpc) = (app.http_addr(), app.probe_addr());
    let _probe = spawn_probe(grpc, &token, &["--no-docker"]);
    let first = eventually(
        Duration::from_secs(10),
        "the probe on the first app",
        || async {
            let p = get_json(http, "/api/probes").await;
            p.as_array()?.first()?["id"].as_str().map(str::to_owned)
        },
    )
    .await;
    app.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut opts = app_options(&token);
    opts.listen = http;
    opts.probe_listen = grpc;
    let app = scope_app::Application::start(opts)
        .await
        .expect("restart on the same ports");
    // Backoff after two failed attempts is at most 4 s; allow for one more step.
    let again = eventually(
        Duration::from_secs(15),
        "the probe back on the new app",
        || async {
            let p = get_json(app.http_addr(), "/api/probes").await;
            let p = p.as_array()?.first()?.clone();
            (p["connected"] == true && p["reportsReceived"].as_u64()? > 0)
                .then(|| p["id"].as_str().map(str::to_owned))
                .flatten()
        },
    )
    .await;
    assert_eq!(first, again, "the same probe process reconnected");
    let hosts = get_json(app.http_addr(), "/api/topology/hosts").await;
    assert!(!hosts["nodes"].as_object().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_report_over_tls_with_a_private_ca() {
    init();
    let dir = std::env::temp_dir().join(format!("scope-tls-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let cert = params.self_signed(&key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, cert.pem()).unwrap();

    let token = scope_app::generate_token();
    let mut opts = app_options(&token);
    opts.ingest_tls = Some(scope_app::TlsIdentity {
        cert_pem: cert.pem().into_bytes(),
        key_pem: key.serialize_pem().into_bytes(),
    });
    let app = scope_app::Application::start(opts).await.unwrap();
    let port = app.probe_addr().port();
    let ca = ca_file.to_str().unwrap();

    // Without the CA the certificate is not trusted, and plain HTTP/2 is not TLS: neither gets in.
    let url = format!("https://localhost:{port}");
    let _untrusted = spawn_probe_to(&url, &token, &["--no-docker"]);
    let _plain = spawn_probe(app.probe_addr(), &token, &["--no-docker"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        get_json(app.http_addr(), "/api/probes").await,
        serde_json::json!([])
    );

    let _trusted = spawn_probe_to(&url, &token, &["--no-docker", "--ca-file", ca]);
    eventually(Duration::from_secs(10), "the probe over TLS", || async {
        let p = get_json(app.http_addr(), "/api/probes").await;
        (p.as_array()?.len() == 1 && p[0]["reportsReceived"].as_u64()? > 0).then_some(())
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
