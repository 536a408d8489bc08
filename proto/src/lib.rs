//! Scope's wire schema (`scope.v1`): prost messages and the tonic `ProbeService`.
//!
//! Only the report crate's conversion module and the ingest/publisher edges (and the replica bus
//! events ingest exchanges, `scope/v1/bus.proto`) use these types; everything else works on the
//! domain model in `scope-report`.

#![allow(clippy::all, missing_docs)]

/// Generated from `proto/scope/v1/*.proto`.
pub mod v1 {
    tonic::include_proto!("scope.v1");
}
