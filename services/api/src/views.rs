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

type Slot = Arc<tokio::sync::Mutex<Option<(u64, Arc<Summaries>)>>>;
type ListSlot = Arc<tokio::sync::Mutex<Option<(u64, Arc<Vec<TopologyDesc>>)>>>;

/// Renders per tenant, view, options and report version, at most once each: viewers that ask for
/// the same thing wait for the one render in progress and share its result.
#[derive(Clone, Default)]
pub struct RenderCache {
    views: Arc<Mutex<HashMap<(TenantId, String), Slot>>>,
    lists: Arc<Mutex<HashMap<(TenantId, String), ListSlot>>>,
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
        let slot = self
            .views
            .lock()
            .expect("render cache poisoned")
            .entry((tenant.clone(), cache_key(view, &options)))
            .or_default()
            .clone();
        let mut guard = slot.lock().await;
        if let Some((version, s)) = guard.as_ref() {
            if *version == snap.version {
                return Ok(s.clone());
            }
        }
        let (report, networks) = (snap.report.clone(), snap.networks.clone());
        let rendered = tokio::task::spawn_blocking(move || {
            Renderer::new(&report, &networks).summaries(view, &options)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("render task: {e}")))?;
        self.renders
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rendered = Arc::new(rendered);
        *guard = Some((snap.version, rendered.clone()));
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
        let slot = self
            .lists
            .lock()
            .expect("render cache poisoned")
            .entry((tenant.clone(), key))
            .or_default()
            .clone();
        let mut guard = slot.lock().await;
        if let Some((version, l)) = guard.as_ref() {
            if *version == snap.version {
                return Ok(l.clone());
            }
        }
        let (report, networks, params) =
            (snap.report.clone(), snap.networks.clone(), params.clone());
        let list = tokio::task::spawn_blocking(move || {
            Renderer::new(&report, &networks).topology_list(params)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("render task: {e}")))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let list = Arc::new(list);
        *guard = Some((snap.version, list.clone()));
        Ok(list)
    }
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
