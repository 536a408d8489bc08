//! Route table and the JSON handlers.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::ApiState;
use crate::views::{self, QueryParams};
use crate::{assets, ws};

pub(crate) fn router(state: ApiState) -> Router {
    let local = matches!(state.access, crate::state::Access::Local(_));
    let router = Router::new()
        .route("/api", get(api_details))
        .route("/api/topology", get(topology_list))
        .route("/api/topology/{topology}", get(topology))
        .route("/api/topology/{topology}/ws", get(topology_ws))
        .route("/api/topology/{topology}/{node}", get(node))
        .route("/api/report", get(report))
        .route("/api/probes", get(probes))
        .merge(crate::accounts::router())
        .route("/api/{*rest}", get(api_not_found))
        .route("/v1/check/{product}", get(checkpoint))
        .route("/healthz", get(healthz));
    // Local mode has one listener, on loopback: metrics go there. The cloud tier serves them on
    // a listener of their own, since they name tenants.
    let router = if local {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    router
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::accounts::authenticate,
        ))
        .layer(axum::middleware::from_fn(observe))
        .with_state(state)
}

/// Scope's JSON responses are never cached by browsers.
fn json_response(v: impl serde::Serialize) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Json(v)).into_response()
}

async fn api_details(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    let mut body = json!({
        "id": st.info.id,
        "version": st.info.version,
        "hostname": st.info.hostname,
        "plugins": snap.report.plugins.values().collect::<Vec<_>>(),
        "capabilities": { "historic_reports": false },
    });
    if let Some(nv) = st.new_version.read().expect("lock poisoned").clone() {
        body["newVersion"] = serde_json::to_value(nv).unwrap_or(Value::Null);
    }
    Ok(json_response(body))
}

async fn topology_list(
    State(st): State<ApiState>,
    Query(params): Query<QueryParams>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    let list = st
        .cache
        .topology_list(collector.tenant(), &snap, &params)
        .await?;
    Ok(json_response(&*list))
}

async fn topology(
    State(st): State<ApiState>,
    Path(topology): Path<String>,
    Query(params): Query<QueryParams>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    let rendered = st
        .cache
        .topology(collector.tenant(), &snap, &topology, &params)
        .await?;
    Ok(json_response(json!({ "nodes": &rendered.nodes })))
}

async fn topology_ws(
    State(st): State<ApiState>,
    Path(topology): Path<String>,
    Query(params): Query<QueryParams>,
    parts: Parts,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    // Validate before upgrading, so a bad request gets a plain HTTP error.
    views::check_topology(&topology, &params)?;
    let interval = views::min_interval(&params)?;
    let cache = st.cache.clone();
    let ended = crate::accounts::session_ended(st.access.clone(), parts.headers.clone());
    Ok(upgrade.on_upgrade(move |socket| {
        ws::serve(
            socket,
            ws::Viewer {
                collector,
                cache,
                topology,
                params,
                min_interval: interval,
            },
            ended,
        )
    }))
}

async fn node(
    State(st): State<ApiState>,
    Path((topology, node)): Path<(String, String)>,
    Query(params): Query<QueryParams>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    let details = views::node_details(&snap, &topology, &node, &params).await?;
    Ok(json_response(json!({ "node": details })))
}

async fn report(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    let report = snap.report.clone();
    // Serialising a large report takes a while; keep it off the async workers.
    let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&*report))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

async fn probes(
    State(st): State<ApiState>,
    Query(params): Query<BTreeMap<String, String>>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let collector = st.collector_for(&parts)?;
    let snap = collector.snapshot();
    if params.contains_key("sparse") {
        return Ok(json_response(!snap.probes.is_empty()));
    }
    Ok(json_response(&*snap.probes))
}

/// The checkpoint protocol, answered by the tier itself so a self-hosted fleet can point its
/// probes' `--checkpoint-url` here instead of the public service: the newest version is the one
/// this app runs.
async fn checkpoint(
    State(st): State<ApiState>,
    Path(product): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    if product != "scope-probe" && product != "scope-app" {
        return Err(ApiError::NotFound(format!(
            "no product {product:?}; expected scope-probe or scope-app"
        )));
    }
    let running = params.get("version").map(String::as_str).unwrap_or("");
    // No download URL: a self-hosted tier upgrades its probes its own way.
    let resp = scope_checkpoint::check_response_for(&product, running, &st.info.version, "");
    Ok(json_response(resp))
}

/// A span and metrics per request, labelled by route template (`/api/topology/{topology}`), not
/// by path, so node ids neither leak into metrics nor blow up their cardinality.
async fn observe(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(static)", |m| m.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http.request",
        method = %method,
        route = %route,
        status = tracing::field::Empty
    );
    let started = std::time::Instant::now();
    let resp = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let status = resp.status().as_u16();
    span.record("status", i64::from(status));
    scope_telemetry::metrics().http_request(
        &route,
        &method,
        status,
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// Liveness for load balancers and orchestrators: the process answers HTTP.
async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics of this process (per-tenant counters). Served on its own listener in the
/// cloud tier (`--metrics-listen`), on the loopback API in local mode.
pub(crate) async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            scope_telemetry::PROMETHEUS_CONTENT_TYPE,
        )],
        scope_telemetry::metrics().render_prometheus(),
    )
        .into_response()
}

async fn api_not_found(Path(rest): Path<String>) -> ApiError {
    ApiError::NotFound(format!("no API route /api/{rest}"))
}
