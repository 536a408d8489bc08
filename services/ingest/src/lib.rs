//! The app tier's ingest: the tonic `ProbeService`. It authenticates each probe stream by its
//! service token (the tenant comes from the token and nothing else), enforces limits, converts and
//! validates reports at the edge, hands them to the tenant's collector, and routes control
//! requests down to the probe that holds a node.

mod auth;
mod routing;
mod service;

pub use auth::{StaticTokens, StoreTokens, TokenResolver, hash_token};
pub use routing::{ControlError, ControlResult, ProbeRouter};
pub use service::{IngestConfig, IngestService};

/// The generated tonic server type, re-exported for the binary that serves it.
pub use scope_proto::v1::probe_service_server::ProbeServiceServer;
