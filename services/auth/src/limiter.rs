//! Sign-in rate limiting: a sliding window of failed attempts per (account, client address) and
//! per client address. Only failures count, and a success clears the account's window, so a user
//! who mistypes once is not slowed down, while guessing is held to a few tries per window.
//!
//! The window lives in memory, per replica: with N replicas an attacker gets at most N times the
//! budget, which still makes online guessing hopeless against argon2id-hashed passwords of the
//! minimum length. Keys are bounded so a flood of distinct emails cannot exhaust memory.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits.
#[derive(Debug, Clone, Copy)]
pub struct LimiterConfig {
    /// Length of the sliding window.
    pub window: Duration,
    /// Failed attempts allowed per account and client address in one window.
    pub per_account: usize,
    /// Failed attempts allowed per client address (over all accounts) in one window.
    pub per_address: usize,
    /// Most keys tracked; the oldest are forgotten beyond this.
    pub max_keys: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            window: Duration::from_secs(300),
            per_account: 5,
            per_address: 50,
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String, IpAddr),
    Address(IpAddr),
}

/// The limiter. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct SignInLimiter {
    config: LimiterConfig,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// A limiter with `config`.
    pub fn new(config: LimiterConfig) -> SignInLimiter {
        SignInLimiter {
            config,
            failures: Mutex::default(),
        }
    }

    fn keys(email: &str, addr: IpAddr) -> [(Key, bool); 2] {
        [
            (Key::Account(email.trim().to_lowercase(), addr), true),
            (Key::Address(addr), false),
        ]
    }

    /// `Some(wait)` when a sign-in for `email` from `addr` must be refused now; `None` when it may
    /// be tried.
    pub fn check(&self, email: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().expect("limiter poisoned");
        let mut wait = None::<Duration>;
        for (key, per_account) in Self::keys(email, addr) {
            let limit = if per_account {
                self.config.per_account
            } else {
                self.config.per_address
            };
            if let Some(q) = map.get_mut(&key) {
                prune(q, now, self.config.window);
                if q.len() >= limit {
                    let oldest = q[q.len() - limit];
                    let w = (oldest + self.config.window).saturating_duration_since(now);
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        wait.map(|w| w.max(Duration::from_secs(1)))
    }

    /// Records a failed sign-in.
    pub fn failed(&self, email: &str, addr: IpAddr, now: Instant) {
        let mut map = self.failures.lock().expect("limiter poisoned");
        if map.len() >= self.config.max_keys {
            let window = self.config.window;
            map.retain(|_, q| {
                prune(q, now, window);
                !q.is_empty()
            });
            if map.len() >= self.config.max_keys {
                // Still full of live keys: forget everything rather than grow without bound.
                map.clear();
            }
        }
        for (key, _) in Self::keys(email, addr) {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// Records a successful sign-in: the account's failures from that address are forgotten.
    pub fn succeeded(&self, email: &str, addr: IpAddr) {
        let mut map = self.failures.lock().expect("limiter poisoned");
        map.remove(&Key::Account(email.trim().to_lowercase(), addr));
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_beyond_the_limit_wait_for_the_window() {
        let l = SignInLimiter::new(LimiterConfig {
            window: Duration::from_secs(60),
            per_account: 3,
            per_address: 10,
            max_keys: 1000,
        });
        let t0 = Instant::now();
        let a = ip("10.1.0.1");
        for i in 0..3 {
            assert_eq!(l.check("u@x", a, t0), None, "attempt {i}");
            l.failed("U@x ", a, t0 + Duration::from_secs(i));
        }
        let wait = l.check("u@x", a, t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(wait, Duration::from_secs(55));
        // Another account from the same address is not blocked by this account's failures.
        assert_eq!(l.check("v@x", a, t0 + Duration::from_secs(5)), None);
        // The same account from another address is not either (no lock-out of the victim).
        assert_eq!(l.check("u@x", ip("10.1.0.2"), t0), None);
        // The window slides.
        assert_eq!(l.check("u@x", a, t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn the_address_limit_spans_accounts_and_success_clears_the_account() {
        let l = SignInLimiter::new(LimiterConfig {
            window: Duration::from_secs(60),
            per_account: 3,
            per_address: 4,
            max_keys: 1000,
        });
        let t0 = Instant::now();
        let a = ip("10.1.0.1");
        for i in 0..4 {
            l.failed(&format!("user{i}@x"), a, t0);
        }
        assert!(l.check("someone@x", a, t0).is_some());
        let l = SignInLimiter::new(LimiterConfig::default());
        l.failed("u@x", a, t0);
        l.failed("u@x", a, t0);
        l.succeeded("u@x", a);
        for _ in 0..4 {
            l.failed("u@x", a, t0);
        }
        assert_eq!(l.check("u@x", a, t0), None, "only 4 failures since success");
    }

    #[test]
    fn keys_are_bounded() {
        let l = SignInLimiter::new(LimiterConfig {
            max_keys: 10,
            ..LimiterConfig::default()
        });
        let t0 = Instant::now();
        for i in 0..100 {
            l.failed(&format!("user{i}@x"), ip("10.1.0.1"), t0);
        }
        assert!(l.failures.lock().unwrap().len() <= 10);
    }
}
