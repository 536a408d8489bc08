//! The test cases, each an `async fn(&TestDb)` run once per backend by `store_test_suite!`.

mod audit;
mod basics;
mod invites;
mod members;
mod probes;
mod sessions;
mod tokens;
mod users;

pub use audit::*;
pub use basics::*;
pub use invites::*;
pub use members::*;
pub use probes::*;
pub use sessions::*;
pub use tokens::*;
pub use users::*;

use std::sync::Arc;

use scope_store::{ManualClock, Org, Store, User};

/// The password every test user gets (long enough to be accepted).
pub const PASSWORD: &str = "correct horse battery";
/// A fixed start time for tests that move a [`ManualClock`]: 2025-01-01T00:00:00Z.
pub const T0: i64 = 1_735_689_600_000;

pub async fn user(store: &Store, email: &str) -> User {
    store
        .create_user(email, PASSWORD)
        .await
        .expect("create user")
}

pub async fn org(store: &Store, name: &str) -> Org {
    store.create_org(name).await.expect("create org")
}

/// The store with a manual clock set to [`T0`].
pub fn with_clock(store: &Store) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    (store.with_clock(clock.clone()), clock)
}

/// Wall-clock now, for tests on the system clock.
pub fn s_now() -> i64 {
    use scope_store::Clock;
    scope_store::SystemClock.now_millis()
}

/// Asserts that a result is the given error variant.
#[macro_export]
macro_rules! assert_err {
    ($result:expr, $pat:pat) => {
        match $result {
            Err(e @ $pat) => drop(e),
            other => panic!("expected {}, got {:?}", stringify!($pat), other),
        }
    };
}
