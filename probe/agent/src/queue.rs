//! A bounded queue of published reports that drops the oldest when full and counts what it drops:
//! a probe that cannot reach the app keeps bounded memory and says how much it lost.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use scope_report::Report;
use tokio::sync::Notify;

/// The queue between the publish loop and the stream.
pub struct ReportQueue {
    items: Mutex<VecDeque<Report>>,
    capacity: usize,
    notify: Notify,
    dropped: AtomicU64,
}

impl ReportQueue {
    /// A queue holding at most `capacity` reports.
    pub fn new(capacity: usize) -> ReportQueue {
        ReportQueue {
            items: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity: capacity.max(1),
            notify: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Adds a report, dropping the oldest if full. Returns whether one was dropped.
    pub fn push(&self, report: Report) -> bool {
        let dropped = {
            let mut q = self.items.lock().expect("queue poisoned");
            let dropped = if q.len() >= self.capacity {
                q.pop_front();
                true
            } else {
                false
            };
            q.push_back(report);
            dropped
        };
        if dropped {
            self.count_dropped(1);
        }
        self.notify.notify_one();
        dropped
    }

    /// Waits for the next report.
    pub async fn pop(&self) -> Report {
        loop {
            if let Some(r) = self.items.lock().expect("queue poisoned").pop_front() {
                return r;
            }
            self.notify.notified().await;
        }
    }

    /// Counts reports lost elsewhere (e.g. a shortcut while disconnected).
    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Reports dropped since the probe started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.items.lock().expect("queue poisoned").len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drops_oldest_and_counts() {
        let q = ReportQueue::new(2);
        assert!(!q.push(Report::new(1)));
        assert!(!q.push(Report::new(2)));
        assert!(q.push(Report::new(3)));
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.pop().await.timestamp, 2);
        assert_eq!(q.pop().await.timestamp, 3);
        assert!(q.is_empty());
    }
}
