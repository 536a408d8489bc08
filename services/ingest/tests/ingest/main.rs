//! Ingest end to end, with real parts: tonic servers on loopback ports, probe streams through
//! the generated gRPC client, the replica bus (in process and NATS), and the store (SQLite).
//!
//! The replication cases run once per bus implementation, as
//! `replication_suite::in_process::<case>` and `replication_suite::nats::<case>`. The NATS ones need `SCOPE_TEST_NATS_URL`: run
//! `export SCOPE_TEST_NATS_URL="$(bash scripts/ensure-nats.sh)"` (as root). Without it they fail,
//! on purpose.

mod recording;
mod replication;
mod support;
mod tokens;

/// Instantiates each replication case once per bus: the same bus for both replicas in process,
/// two connections (as two replica processes have) over NATS.
macro_rules! replication_suite {
    ($($case:ident),* $(,)?) => {
        mod replication_suite {
            mod in_process {
                use std::sync::Arc;
                use scope_bus::{Bus, InProcessBus};
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::default());
                        crate::replication::$case(bus.clone(), bus).await;
                    }
                )*
            }
            mod nats {
                use std::sync::Arc;
                use scope_bus::{Bus, NatsBus};
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let url = scope_bus::testing::nats_url();
                        let a: Arc<dyn Bus> = Arc::new(NatsBus::connect(&url, "ingest-test-1").await.expect("connect to NATS"));
                        let b: Arc<dyn Bus> = Arc::new(NatsBus::connect(&url, "ingest-test-2").await.expect("connect to NATS"));
                        crate::replication::$case(a, b).await;
                    }
                )*
            }
        }
    };
}

replication_suite!(
    a_probe_is_seen_on_every_replica_and_follows_its_stream,
    malformed_events_are_dropped_and_replication_goes_on,
    a_late_replica_learns_probes_from_their_next_full_report,
    controls_reach_a_probe_on_another_replica,
);
