//! Helpers for tests that need a real NATS server (this crate's and the app's).

/// The environment variable holding the test server's URL.
pub const NATS_URL_ENV: &str = "SCOPE_TEST_NATS_URL";

/// The URL of the NATS server tests use. Panics, saying how to start one, when it is not set:
/// a test that needs NATS must never pass without it.
pub fn nats_url() -> String {
    match std::env::var(NATS_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => panic!(
            "this test needs a NATS server: run `export {NATS_URL_ENV}=\"$(bash scripts/ensure-nats.sh)\"` \
             (as root; it installs and starts nats-server on 127.0.0.1:4222), or run `scripts/test.sh`"
        ),
    }
}

/// A subject prefix no other test shares, so tests running at once on one server do not see
/// each other's messages.
pub fn unique_prefix(test: &str) -> String {
    format!("test.{test}.{:016x}", rand::random::<u64>())
}
