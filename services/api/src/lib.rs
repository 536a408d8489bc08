//! The app tier's HTTP API (axum): Weave Scope's JSON routes and WebSocket diffs, the console's
//! static assets, all scoped to the tenant resolved from the request's credentials.

mod assets;
mod error;
mod guard;
mod routes;
mod state;
mod views;
mod ws;

pub use error::ApiError;
pub use state::{ApiState, AppInfo, NewVersion, RequestTenant, SingleTenant};
pub use views::RenderCache;

/// The router for all routes, with `state`.
pub fn router(state: ApiState) -> axum::Router {
    routes::router(state)
}
