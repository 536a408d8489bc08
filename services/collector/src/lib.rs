//! Per-tenant state of the app tier: each tenant's probes, their current reports, and the merged
//! report everything else renders from.
//!
//! One actor task owns a tenant's state ([`TenantCollector`]); ingest sends it commands through a
//! channel and readers take [`Snapshot`]s from a `watch` channel. Nothing else holds the state, so
//! there are no locks around it.

mod probe_state;
mod tenant;

pub use probe_state::{ApplyError, ProbeUpdate};
pub use tenant::{
    CollectorConfig, Collectors, Hello, ProbeInfo, Snapshot, TenantCollector, TenantId,
};
