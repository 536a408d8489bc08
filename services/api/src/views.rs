//! Glue between HTTP requests and the pure render crate, and the per-tenant render cache that
//! makes every viewer of a view share one render per report change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scope_collector::{Snapshot, TenantId};
use scope_render::{NodeDetails, Options, Renderer, Summaries, TopologyDesc, View};

use crate::error::ApiError;

/// Query parameters in order, as sent.
pub type QueryParams = Vec<(String, String)>;

fn parse_view(topology: &str) -> Result<View, ApiError> {
    View::from_id(topology).ok_or_else(|| ApiError::NotFound(format!("no topology {topology:?}")))
}

fn parse_options(view: View, params: &QueryParams) -> Result<Options, ApiError> {
    Options::from_pairs(view, params).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Checks a topology name and its options (before a WebSocket upgrade).
pub(crate) fn check_topology(topology: &str, params: &QueryParams) -> Result<(), ApiError> {
    parse_options(parse_view(topology)?, params).map(|_| ())
}

/// The `t` parameter: least time between two WebSocket frames (Go-style duration, default 1s).
pub(crate) fn min_interval(params: &QueryParams) -> Result<Duration, ApiError> {
    match params.iter().rev().find(|(k, _)| k == "t") {
        None => Ok(Duration::from_secs(1)),
        Some((_, v)) => humantime::parse_duration(v)
            .map(|d| d.clamp(Duration::from_millis(100), Duration::from_secs(60)))
            .map_err(|e| {
                ApiError::BadRequest(format!("invalid value {v:?} for t: {e} (e.g. t=5s)"))
            }),
    }
}

/// A key naming one rendering: the view and the value of each of its options.
fn cache_key(view: View, options: &Options) -> String {
    let mut key = view.id().to_owned();
    for g in view.option_groups() {
        key.push('&');
        key.push_str(g.id);
        key.push('=');
        key.push_str(options.value_of(g));
    }
    key
}

/// A rendering and the report version it was made from.
type CacheSlot<T> = Arc<tokio::sync::Mutex<Option<(u64, Arc<T>)>>>;

/// The slots of one kind of rendering, by tenant and rendering key.
type Slots<T> = Mutex<HashMap<(TenantId, String), CacheSlot<T>>>;

/// Renders per tenant, view, options and report version, at most once each: viewers that ask for
/// the same thing wait for the one render in progress and share its result.
#[derive(Clone, Default)]
pub struct RenderCache {
    views: Arc<Slots<Summaries>>,
    lists: Arc<Slots<Vec<TopologyDesc>>>,
    renders: Arc<std::sync::atomic::AtomicU64>,
}

impl RenderCache {
    /// How many renders ran (for tests and metrics).
    pub fn render_count(&self) -> u64 {
        self.renders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The summaries of `topology` for `snap`.
    pub(crate) async fn topology(
        &self,
        tenant: &TenantId,
        snap: &Snapshot,
        topology: &str,
        params: &QueryParams,
    ) -> Result<Arc<Summaries>, ApiError> {
        let view = parse_view(topology)?;
        let options = parse_options(view, params)?;
        let key = (tenant.clone(), cache_key(view, &options));
        let (rendered, fresh) = render_once(&self.views, key, snap, move |report, networks| {
            Ok(Renderer::new(report, networks).summaries(view, &options))
        })
        .await?;
        if fresh {
            self.renders
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(rendered)
    }

    /// The topology menu with counts for `snap`.
    pub(crate) async fn topology_list(
        &self,
        tenant: &TenantId,
        snap: &Snapshot,
        params: &QueryParams,
    ) -> Result<Arc<Vec<TopologyDesc>>, ApiError> {
        // Validate each view's options, and key the cache on their canonical values.
        let mut key = String::new();
        for view in View::ALL {
            key.push_str(&cache_key(view, &parse_options(view, params)?));
            key.push('|');
        }
        let params = params.clone();
        let (list, _) = render_once(
            &self.lists,
            (tenant.clone(), key),
            snap,
            move |report, networks| {
                Renderer::new(report, networks)
                    .topology_list(params)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))
            },
        )
        .await?;
        Ok(list)
    }
}

/// One cached rendering per key and report version: the first caller renders (off the async
/// workers), callers arriving meanwhile wait on the slot and share the result. Returns the result
/// and whether this call rendered it.
async fn render_once<T, F>(
    slots: &Slots<T>,
    key: (TenantId, String),
    snap: &Snapshot,
    render: F,
) -> Result<(Arc<T>, bool), ApiError>
where
    T: Send + Sync + 'static,
    F: FnOnce(&scope_report::Report, &scope_render::LocalNetworks) -> Result<T, ApiError>
        + Send
        + 'static,
{
    let key_for_metrics = key.clone();
    let slot = slots
        .lock()
        .expect("render cache poisoned")
        .entry(key)
        .or_default()
        .clone();
    let mut guard = slot.lock().await;
    if let Some((version, cached)) = guard.as_ref()
        && *version == snap.version
    {
        return Ok((cached.clone(), false));
    }
    let (report, networks) = (snap.report.clone(), snap.networks.clone());
    let (tenant, what) = (&key_for_metrics.0, &key_for_metrics.1);
    let span = tracing::info_span!("render", tenant = %tenant, topology = %what, nodes = report.node_count() as i64);
    let started = std::time::Instant::now();
    let rendered =
        tokio::task::spawn_blocking(move || span.in_scope(|| render(&report, &networks)))
            .await
            .map_err(|e| ApiError::Internal(format!("render task: {e}")))??;
    // The key's first part is the view id; options follow after '&'.
    let topology = what.split('&').next().unwrap_or(what);
    scope_telemetry::metrics().render_observed(
        tenant.as_str(),
        topology,
        started.elapsed().as_secs_f64(),
    );
    let rendered = Arc::new(rendered);
    *guard = Some((snap.version, rendered.clone()));
    Ok((rendered, true))
}

/// Details of one node; 404 when the view has no such node.
pub(crate) async fn node_details(
    snap: &Snapshot,
    topology: &str,
    node: &str,
    params: &QueryParams,
) -> Result<NodeDetails, ApiError> {
    let view = parse_view(topology)?;
    let options = parse_options(view, params)?;
    let (report, networks, id) = (snap.report.clone(), snap.networks.clone(), node.to_owned());
    tokio::task::spawn_blocking(move || {
        Renderer::new(&report, &networks).node_details(view, &options, &id)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("render task: {e}")))?
    .ok_or_else(|| ApiError::NotFound(format!("no node {node:?} in topology {topology:?}")))
}

/// The WebSocket frame from `previous` to `next` (a reset when there is no previous), or `None`
/// when nothing changed.
pub(crate) fn diff_frame(previous: Option<&Summaries>, next: &Summaries) -> Option<String> {
    let diff = match previous {
        None => scope_render::reset(&next.nodes),
        Some(p) if std::ptr::eq(p, next) => return None,
        Some(p) => scope_render::diff(&p.nodes, &next.nodes),
    };
    if diff.is_empty() {
        return None;
    }
    serde_json::to_string(&diff).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scope_collector::{CollectorConfig, Hello, ProbeUpdate, TenantCollector};
    use scope_report::{now_millis, synthetic};

    #[tokio::test(flavor = "multi_thread")]
    async fn viewers_of_one_view_share_one_render_per_change() {
        let tenant = TenantId::new("t");
        let collector = TenantCollector::spawn(
            tenant.clone(),
            CollectorConfig {
                merge_interval: Duration::from_millis(10),
                ..CollectorConfig::default()
            },
        );
        collector
            .connected(
                Hello {
                    probe_id: "p".into(),
                    hostname: "h".into(),
                    version: "t".into(),
                    capabilities: vec![],
                },
                "r",
            )
            .await;
        let report = synthetic::host_report(0, synthetic::HostShape::fleet_member(2), now_millis());
        collector
            .update("p", "r", ProbeUpdate::Full { seq: 1, report }, 0)
            .await
            .unwrap();
        let mut rx = collector.subscribe();
        while rx.borrow_and_update().report.node_count() == 0 {
            rx.changed().await.unwrap();
        }
        let snap = collector.snapshot();
        let cache = RenderCache::default();
        let params: QueryParams = vec![("stopped".into(), "running".into())];
        // Ten viewers at once: one render.
        let renders = (0..10).map(|_| cache.topology(&tenant, &snap, "containers", &params));
        let results = futures::future::join_all(renders).await;
        // 50 containers plus the Internet node their connections reach.
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_ok_and(|s| s.nodes.len() > 50))
        );
        assert_eq!(cache.render_count(), 1);
        // Equivalent options (the default written out, or left out) share the render too.
        cache
            .topology(&tenant, &snap, "containers", &Vec::new())
            .await
            .unwrap();
        assert_eq!(cache.render_count(), 1);
        // Another view renders once more; a bad option is a 400 and renders nothing.
        cache
            .topology(&tenant, &snap, "hosts", &Vec::new())
            .await
            .unwrap();
        assert_eq!(cache.render_count(), 2);
        let bad: QueryParams = vec![("stopped".into(), "never".into())];
        let err = cache
            .topology(&tenant, &snap, "containers", &bad)
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)), "{err:?}");
        assert!(matches!(
            cache.topology(&tenant, &snap, "pods", &Vec::new()).await,
            Err(ApiError::NotFound(_))
        ));
        assert_eq!(cache.render_count(), 2);
    }

    #[test]
    fn t_parameter_is_validated_and_clamped() {
        assert_eq!(min_interval(&vec![]).unwrap(), Duration::from_secs(1));
        let p = vec![("t".to_owned(), "5s".to_owned())];
        assert_eq!(min_interval(&p).unwrap(), Duration::from_secs(5));
        let p = vec![("t".to_owned(), "1ms".to_owned())];
        assert_eq!(min_interval(&p).unwrap(), Duration::from_millis(100));
        let p = vec![("t".to_owned(), "soon".to_owned())];
        assert!(min_interval(&p).is_err());
    }
}
