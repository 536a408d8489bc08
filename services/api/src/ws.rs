//! `GET /api/topology/{topology}/ws`: the first frame resets the view with every node; later
//! frames carry only what changed, sent when the tenant's report changes (at most once per `t`).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use scope_collector::TenantCollector;
use tracing::debug;

use crate::views::{QueryParams, RenderCache};

const PING_EVERY: Duration = Duration::from_secs(30);

/// What one WebSocket viewer watches.
pub(crate) struct Viewer {
    pub(crate) collector: TenantCollector,
    pub(crate) cache: RenderCache,
    pub(crate) topology: String,
    pub(crate) params: QueryParams,
    pub(crate) min_interval: Duration,
}

/// Streams `viewer`'s topology until the client leaves or `ended` resolves (the session behind
/// the socket was signed out or lost its membership), then closes with 4001.
pub(crate) async fn serve(
    socket: WebSocket,
    viewer: Viewer,
    ended: impl std::future::Future<Output = ()> + Send,
) {
    let Viewer {
        collector,
        cache,
        topology,
        params,
        min_interval,
    } = viewer;
    let _viewer = scope_telemetry::metrics().viewer_guard(collector.tenant().as_str());
    let (mut sink, mut stream) = socket.split();
    let mut ended = std::pin::pin!(ended);
    let mut snapshots = collector.subscribe();
    let mut previous = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    loop {
        let snap = snapshots.borrow_and_update().clone();
        let rendered = match cache
            .topology(collector.tenant(), &snap, &topology, &params)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let _ = sink
                    .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1011,
                        reason: e.to_string().into(),
                    })))
                    .await;
                return;
            }
        };
        if let Some(frame) = crate::views::diff_frame(previous.as_deref(), &rendered)
            && sink.send(Message::Text(frame.into())).await.is_err()
        {
            return;
        }
        previous = Some(rendered);
        let next_allowed = tokio::time::Instant::now() + min_interval;
        // Wait for a change, answering pings and dropping whatever the browser sends.
        loop {
            tokio::select! {
                changed = snapshots.changed() => {
                    if changed.is_err() { return; }
                    tokio::time::sleep_until(next_allowed).await;
                    break;
                }
                msg = stream.next() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        debug!("topology websocket closed by client");
                        return;
                    }
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() { return; }
                }
                () = &mut ended => {
                    let _ = sink
                        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                            code: 4001,
                            reason: "session ended; sign in again".into(),
                        })))
                        .await;
                    return;
                }
            }
        }
    }
}
