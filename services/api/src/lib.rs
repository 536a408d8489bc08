//! The app tier's HTTP API (axum): Weave Scope's JSON routes and WebSocket diffs, the console's
//! static assets, all scoped to the tenant resolved from the request's credentials.

mod accounts;
mod assets;
mod error;
mod guard;
mod routes;
mod state;
mod views;
mod ws;

pub use accounts::{Accounts, AccountsConfig, Signup};
pub use error::ApiError;
pub use state::{Access, ApiState, AppInfo, NewVersion};
pub use views::RenderCache;

/// The router for all routes, with `state`.
pub fn router(state: ApiState) -> axum::Router {
    routes::router(state)
}

/// A router serving only `GET /metrics` (Prometheus text format), for a separate listener.
pub fn metrics_router() -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(routes::metrics))
}
