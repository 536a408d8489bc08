//! The probe's one stream to the app tier: connect, hello, send reports, answer controls,
//! reconnect with exponential backoff and jitter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use prost::Message;
use scope_proto::v1 as pb;
use scope_proto::v1::probe_service_client::ProbeServiceClient;
use scope_report::Report;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tracing::{debug, info, warn};

use crate::publisher::StreamEncoder;
use crate::queue::ReportQueue;

/// Default port of the app's probe ingest.
pub const DEFAULT_PORT: u16 = 4041;

/// Runs a control request and answers it.
pub trait ControlHandler: Send + Sync + 'static {
    /// Handles one request.
    fn handle(
        &self,
        req: pb::ControlRequest,
    ) -> Pin<Box<dyn Future<Output = pb::ControlReply> + Send>>;
}

/// Everything the stream needs.
pub struct ClientSettings {
    /// App addresses, tried in turn.
    pub addresses: Vec<String>,
    /// Service token.
    pub token: String,
    /// Extra CA certificate (PEM) for TLS.
    pub ca_pem: Option<Vec<u8>>,
    /// The hello to send.
    pub hello: pb::Hello,
    /// Full report every N.
    pub full_every: u32,
    /// First and last backoff.
    pub backoff: (Duration, Duration),
}

/// Normalises an address to a URI: `host:port` -> `http://host:port`; a missing port -> 4041.
pub fn address_uri(addr: &str) -> anyhow::Result<(String, bool)> {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_owned(), addr),
    };
    if scheme != "http" && scheme != "https" {
        return Err(anyhow!(
            "unsupported scheme {scheme:?} in {addr:?}; use http:// or https://"
        ));
    }
    let hostport = rest.trim_end_matches('/');
    if hostport.is_empty() {
        return Err(anyhow!("empty address"));
    }
    // An address without a port (or a bare IPv6 literal in brackets) gets the default one.
    let has_port = match hostport.rsplit_once(':') {
        Some((h, p)) => p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')),
        None => false,
    };
    let hostport = if has_port {
        hostport.to_owned()
    } else {
        format!("{hostport}:{DEFAULT_PORT}")
    };
    Ok((format!("{scheme}://{hostport}"), scheme == "https"))
}

/// Next backoff: doubles up to `max`; the wait is drawn from [backoff/2, backoff] (jitter keeps a
/// fleet of probes from reconnecting in lockstep after an app restart).
pub fn next_backoff(current: Duration, max: Duration) -> (Duration, Duration) {
    let wait_ms = current.as_millis() as u64;
    let jittered = Duration::from_millis(wait_ms / 2 + rand::random_range(0..=wait_ms / 2));
    ((current * 2).min(max), jittered)
}

/// Runs the stream until `shutdown` turns true: connect, send, and reconnect forever.
pub async fn run(
    settings: ClientSettings,
    queue: Arc<ReportQueue>,
    mut shortcuts: mpsc::Receiver<Report>,
    controls: Arc<dyn ControlHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (min, max) = settings.backoff;
    let mut backoff = min;
    let mut attempt = 0usize;
    loop {
        let addr = &settings.addresses[attempt % settings.addresses.len()];
        let started = Instant::now();
        let result = tokio::select! {
            r = session(&settings, addr, &queue, &mut shortcuts, &controls) => r,
            _ = stopped(&mut shutdown) => return,
        };
        match result {
            Ok(()) => info!(address = %addr, "stream to app ended; reconnecting"),
            Err(e) => warn!(address = %addr, "cannot report to app: {e:#}"),
        }
        // A stream that stayed up a while was healthy: start the backoff over.
        if started.elapsed() > max {
            backoff = min;
        }
        let (next, wait) = next_backoff(backoff, max);
        backoff = next;
        attempt += 1;
        debug!(
            wait_ms = wait.as_millis() as u64,
            "waiting before reconnecting"
        );
        // Shortcuts that arrive while disconnected are lost: count them.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut shutdown) => return,
        }
        let mut lost = 0;
        while shortcuts.try_recv().is_ok() {
            lost += 1;
        }
        queue.count_dropped(lost);
    }
}

async fn session(
    settings: &ClientSettings,
    addr: &str,
    queue: &ReportQueue,
    shortcuts: &mut mpsc::Receiver<Report>,
    controls: &Arc<dyn ControlHandler>,
) -> anyhow::Result<()> {
    let (uri, tls) = address_uri(addr)?;
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .with_context(|| format!("invalid address {addr:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    if tls {
        let mut cfg = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = &settings.ca_pem {
            cfg = cfg.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(cfg).context("TLS configuration")?;
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("cannot connect to {uri}"))?;
    let mut client = ProbeServiceClient::new(channel)
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);

    let (out_tx, out_rx) = mpsc::channel::<pb::ProbeMessage>(8);
    // The hello must be queued before the call: the app answers the call only after reading it.
    out_tx
        .send(pb::ProbeMessage {
            msg: Some(pb::probe_message::Msg::Hello(settings.hello.clone())),
        })
        .await
        .map_err(|_| anyhow!("stream closed"))?;
    let mut req = tonic::Request::new(ReceiverStream::new(out_rx));
    let bearer = format!("Bearer {}", settings.token)
        .parse()
        .map_err(|_| anyhow!("the service token contains characters not allowed in a header"))?;
    req.metadata_mut().insert("authorization", bearer);
    let mut inbound = client
        .connect(req)
        .await
        .map_err(status_error)?
        .into_inner();
    info!(address = %uri, "connected to app");

    let mut encoder = StreamEncoder::new(settings.full_every);
    let mut max_bytes: usize = 16 * 1024 * 1024;
    loop {
        tokio::select! {
            msg = inbound.message() => {
                let Some(msg) = msg.map_err(status_error)? else { return Ok(()) };
                match msg.msg {
                    Some(pb::app_message::Msg::Ack(_)) => {}
                    Some(pb::app_message::Msg::Configuration(c)) => {
                        if c.max_message_bytes > 0 {
                            max_bytes = c.max_message_bytes as usize;
                        }
                        if c.request_full_report {
                            info!("app asked for a full report");
                            encoder.force_full();
                        }
                    }
                    Some(pb::app_message::Msg::ControlRequest(req)) => {
                        let tx = out_tx.clone();
                        let fut = controls.handle(req);
                        tokio::spawn(async move {
                            let reply = fut.await;
                            let _ = tx.send(pb::ProbeMessage { msg: Some(pb::probe_message::Msg::ControlReply(reply)) }).await;
                        });
                    }
                    None => {}
                }
            }
            report = queue.pop() => {
                let msg = encoder.encode(report, queue.dropped());
                send_report(&out_tx, msg, max_bytes, queue, &mut encoder).await?;
            }
            Some(sc) = shortcuts.recv() => {
                let msg = encoder.shortcut(&sc, queue.dropped());
                send_report(&out_tx, msg, max_bytes, queue, &mut encoder).await?;
            }
        }
    }
}

async fn send_report(
    out: &mpsc::Sender<pb::ProbeMessage>,
    msg: pb::ReportMessage,
    max_bytes: usize,
    queue: &ReportQueue,
    encoder: &mut StreamEncoder,
) -> anyhow::Result<()> {
    let msg = pb::ProbeMessage {
        msg: Some(pb::probe_message::Msg::Report(msg)),
    };
    let len = msg.encoded_len();
    if len > max_bytes {
        // The app would close the stream; drop this one and say so instead.
        warn!(
            bytes = len,
            limit = max_bytes,
            "report larger than the app accepts; dropped (reduce --max-endpoints)"
        );
        queue.count_dropped(1);
        encoder.force_full();
        return Ok(());
    }
    out.send(msg).await.map_err(|_| anyhow!("stream closed"))
}

/// Resolves when `shutdown` turns true (or its sender is gone). Returns `()` so no watch guard is
/// held across awaits in `select!`.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow!("{:?}: {}", s.code(), s.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_scheme_and_port() {
        assert_eq!(
            address_uri("app:4041").unwrap(),
            ("http://app:4041".into(), false)
        );
        assert_eq!(
            address_uri("app").unwrap(),
            ("http://app:4041".into(), false)
        );
        assert_eq!(
            address_uri("https://app").unwrap(),
            ("https://app:4041".into(), true)
        );
        assert_eq!(
            address_uri("[::1]:9").unwrap(),
            ("http://[::1]:9".into(), false)
        );
        assert_eq!(
            address_uri("[::1]").unwrap(),
            ("http://[::1]:4041".into(), false)
        );
        assert!(address_uri("ftp://x").is_err());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let max = Duration::from_secs(60);
        let mut b = Duration::from_secs(1);
        for _ in 0..10 {
            let (next, wait) = next_backoff(b, max);
            assert!(
                wait >= b / 2 && wait <= b,
                "{wait:?} outside [{:?}, {b:?}]",
                b / 2
            );
            b = next;
        }
        assert_eq!(b, max);
    }
}
