//! Test parts: app replicas (collectors, ingest on a real tonic server, the replica bus) and a
//! probe driven through the generated gRPC client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scope_bus::Bus;
use scope_collector::{CollectorConfig, Collectors, Snapshot, TenantId};
use scope_ingest::{
    ControlServer, IngestConfig, IngestService, ProbeRouter, Subscriber, TokenResolver,
    spawn_subscriber,
};
use scope_proto::v1 as pb;
use scope_proto::v1::probe_service_client::ProbeServiceClient;
use scope_report::{now_millis, synthetic};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::Channel;

/// Long enough for a loaded two-core machine; only failures wait this long.
pub const WAIT: Duration = Duration::from_secs(15);

/// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout` saying `what`.
pub async fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// As [`eventually`], for checks that must await (store queries).
pub async fn eventually_async<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A random id of `[0-9a-f]`, shaped like the store's ids (tenants) or probe ids.
pub fn random_id(hex_digits: usize) -> String {
    let mut s = format!("{:032x}", rand::random::<u128>());
    s.truncate(hex_digits);
    s
}

/// Collector settings for tests: quick merges and a short window, so fading is observable. Not
/// too short: a silent remote probe is forgotten after the window, and on a loaded machine a
/// test's steps between two reports can take seconds.
pub fn collector_config() -> CollectorConfig {
    CollectorConfig {
        window: Duration::from_secs(5),
        merge_interval: Duration::from_millis(20),
        shortcut_merge_delay: Duration::from_millis(5),
    }
}

/// Serves `ingest` on a free loopback port until `stop` turns true.
pub async fn serve(ingest: IngestService, mut stop: watch::Receiver<bool>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(ingest.into_server())
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .expect("ingest server");
    });
    addr
}

/// One app replica: its collectors, its ingest on a real port, and its end of the bus.
pub struct Replica {
    pub id: String,
    pub addr: SocketAddr,
    pub collectors: Collectors,
    pub router: ProbeRouter,
    pub ingest: IngestService,
    pub subscriber: Subscriber,
    _controls: ControlServer,
    stop: watch::Sender<bool>,
}

impl Replica {
    /// Starts a replica named `<name>-<random>` on `bus`, accepting tokens via `resolver`.
    pub async fn start(name: &str, bus: Arc<dyn Bus>, resolver: Arc<dyn TokenResolver>) -> Replica {
        // Logs of the replicas show with a failing test's output (RUST_LOG, default errors).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let id = format!("{name}-{}", random_id(8));
        let collectors = Collectors::new(collector_config());
        let config = IngestConfig {
            app_id: id.clone(),
            ..IngestConfig::default()
        };
        let (router, controls) = ProbeRouter::new(Duration::from_secs(10))
            .with_bus(bus.clone(), &id, collectors.clone())
            .await
            .expect("serve controls on the bus");
        let subscriber = spawn_subscriber(bus.clone(), &id, collectors.clone(), &config)
            .await
            .expect("subscribe to probe events");
        let ingest = IngestService::new(config, resolver, collectors.clone(), router.clone())
            .with_replication(bus, id.clone());
        let (stop, stop_rx) = watch::channel(false);
        let addr = serve(ingest.clone(), stop_rx).await;
        Replica {
            id,
            addr,
            collectors,
            router,
            ingest,
            subscriber,
            _controls: controls,
            stop,
        }
    }

    pub fn snapshot(&self, tenant: &TenantId) -> Snapshot {
        self.collectors.tenant(tenant).snapshot()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The host name `synthetic::host_report(i, ..)` reports.
pub fn host_of(i: usize) -> String {
    synthetic::host_id(i)
}

/// Whether `snap` holds host `i`'s host node.
pub fn has_host(snap: &Snapshot, i: usize) -> bool {
    let id = scope_report::NodeId::host(&host_of(i));
    snap.report
        .nodes(scope_report::Kind::Host)
        .any(|n| n.id == id)
}

/// A full report of synthetic host `i`.
pub fn full_report(seq: u64, host: usize) -> pb::ProbeMessage {
    let r = synthetic::host_report(host, synthetic::HostShape::fleet_member(1), now_millis());
    pb::ProbeMessage {
        msg: Some(pb::probe_message::Msg::Report(pb::ReportMessage {
            kind: pb::ReportKind::Full as i32,
            sequence: seq,
            report: Some(pb::Report::from(&r)),
            ..Default::default()
        })),
    }
}

/// A probe stream driven by hand through the generated client.
pub struct TestProbe {
    pub id: String,
    tx: Option<mpsc::Sender<pb::ProbeMessage>>,
    inbound: tonic::Streaming<pb::AppMessage>,
    /// Control requests received while waiting for something else.
    pub controls: Vec<pb::ControlRequest>,
}

impl TestProbe {
    /// Opens a stream to `addr` with `token` and says hello as `probe_id`, reporting `hostname`.
    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        probe_id: &str,
        hostname: &str,
    ) -> TestProbe {
        Self::try_connect(addr, token, probe_id, hostname)
            .await
            .unwrap_or_else(|s| panic!("stream refused: {s:?}"))
    }

    /// As [`TestProbe::connect`], returning the refusal.
    pub async fn try_connect(
        addr: SocketAddr,
        token: &str,
        probe_id: &str,
        hostname: &str,
    ) -> Result<TestProbe, tonic::Status> {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect to ingest");
        let (tx, rx) = mpsc::channel(16);
        tx.send(pb::ProbeMessage {
            msg: Some(pb::probe_message::Msg::Hello(pb::Hello {
                probe_id: probe_id.into(),
                hostname: hostname.into(),
                version: "test".into(),
                capabilities: vec!["controls".into()],
            })),
        })
        .await
        .unwrap();
        let mut req = tonic::Request::new(ReceiverStream::new(rx));
        req.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let inbound = ProbeServiceClient::new(channel)
            .connect(req)
            .await?
            .into_inner();
        Ok(TestProbe {
            id: probe_id.to_owned(),
            tx: Some(tx),
            inbound,
            controls: Vec::new(),
        })
    }

    pub async fn send(&self, msg: pb::ProbeMessage) {
        self.tx
            .as_ref()
            .expect("stream open")
            .send(msg)
            .await
            .expect("stream open");
    }

    /// Sends a full report of host `host` and waits for its ack.
    pub async fn report_full(&mut self, seq: u64, host: usize) {
        self.send(full_report(seq, host)).await;
        self.wait_ack(seq).await;
    }

    /// The next app message, or how the stream ended.
    pub async fn next(&mut self) -> Result<Option<pb::AppMessage>, tonic::Status> {
        match tokio::time::timeout(WAIT, self.inbound.message()).await {
            Ok(r) => r,
            Err(_) => panic!("no message from the app within {WAIT:?}"),
        }
    }

    /// Waits for the ack of `seq`, keeping control requests that arrive meanwhile.
    pub async fn wait_ack(&mut self, seq: u64) {
        loop {
            match self.next().await {
                Ok(Some(pb::AppMessage {
                    msg: Some(pb::app_message::Msg::Ack(a)),
                })) if a.sequence >= seq => return,
                Ok(Some(pb::AppMessage {
                    msg: Some(pb::app_message::Msg::ControlRequest(c)),
                })) => self.controls.push(c),
                Ok(Some(_)) => {}
                other => panic!("stream ended while waiting for ack {seq}: {other:?}"),
            }
        }
    }

    /// Ends the stream from the probe's side.
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Answers every control request with `{"ran": <control>, "args": <args>}` until the stream
    /// ends. Consumes the probe: it now belongs to the answering task.
    pub fn answer_controls(mut self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok(Some(m)) = self.inbound.message().await {
                if let Some(pb::app_message::Msg::ControlRequest(c)) = m.msg {
                    let args: HashMap<_, _> = c.args.clone();
                    let value = format!(
                        "{{\"ran\":\"{}\",\"node\":\"{}\",\"args\":{}}}",
                        c.control,
                        c.node_id,
                        args.len()
                    );
                    let reply = pb::ProbeMessage {
                        msg: Some(pb::probe_message::Msg::ControlReply(pb::ControlReply {
                            request_id: c.request_id,
                            value_json: value,
                            ..Default::default()
                        })),
                    };
                    if let Some(tx) = &self.tx {
                        let _ = tx.send(reply).await;
                    }
                }
            }
        })
    }

    /// Sends a full report of `host` every `every`, each after the previous one's ack, until the
    /// stream ends; how it ended.
    pub async fn report_until_closed(&mut self, host: usize, every: Duration) -> tonic::Status {
        let mut seq = 100;
        loop {
            seq += 1;
            if let Some(tx) = &self.tx {
                // Fails only once the stream is gone; the read below says how it ended.
                let _ = tx.send(full_report(seq, host)).await;
            }
            loop {
                match self.next().await {
                    Ok(Some(pb::AppMessage {
                        msg: Some(pb::app_message::Msg::Ack(a)),
                    })) if a.sequence == seq => break,
                    Ok(Some(_)) => continue,
                    Ok(None) => return tonic::Status::ok("stream ended"),
                    Err(status) => return status,
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Reads until the stream ends; how it ended.
    pub async fn end(&mut self) -> tonic::Status {
        loop {
            match self.next().await {
                Ok(Some(_)) => continue,
                Ok(None) => return tonic::Status::ok("stream ended"),
                Err(status) => return status,
            }
        }
    }
}
