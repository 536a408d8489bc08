//! The app tier's ingest: the tonic `ProbeService`. It authenticates each probe stream by its
//! service token (the tenant comes from the token and nothing else), enforces limits, converts and
//! validates reports at the edge, hands them to the tenant's collector, and routes control
//! requests down to the probe that holds a node. With several app replicas it also replicates
//! its probes' events over the replica bus ([`replication`]), checks open streams' tokens again
//! so revocation takes effect, and records its probes in the store.

mod auth;
mod convert;
mod recording;
pub mod replication;
mod routing;
mod service;

pub use auth::{ResolveError, ResolveFuture, StaticTokens, StoreTokens, TokenResolver, hash_token};
pub use replication::{ReplicationCounts, Subscriber, spawn_subscriber};
pub use routing::{ControlError, ControlResult, ControlServer, ProbeRouter, control_subject};
pub use service::{IngestConfig, IngestService};

/// The generated tonic server type, re-exported for the binary that serves it.
pub use scope_proto::v1::probe_service_server::ProbeServiceServer;
