//! The process table: what the last walk learned about each process, for the connection
//! collector (namespaces, fd counts) and the agent's container attribution (parents).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What the walk learned about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id (0 for init).
    pub ppid: u32,
    /// Base name of argv\[0\], or `comm` when the process has no command line.
    pub name: Arc<str>,
    /// Start time in clock ticks after boot; with the pid it identifies the process.
    pub starttime: u64,
    /// Inode of its network namespace, when readable.
    pub netns: Option<u64>,
    /// Number of open fds, when readable.
    pub open_files: Option<u32>,
}

/// The processes of the last walk, by pid. Kernel threads and zombies are not in it.
#[derive(Debug, Clone, Default)]
pub struct ProcessTable {
    procs: HashMap<u32, ProcessInfo>,
}

impl ProcessTable {
    /// The process `pid`, if it was seen.
    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.procs.get(&pid)
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the walk found no process.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// All processes, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.procs.values()
    }

    /// `pid`, then its parent, grandparent, ... up to the first process not in the table. Used to
    /// find the container a process belongs to. Stops after `len()` steps, so a pid-reuse cycle
    /// cannot loop forever.
    pub fn ancestors(&self, pid: u32) -> impl Iterator<Item = &ProcessInfo> {
        let mut next = self.procs.get(&pid);
        let mut steps = 0;
        std::iter::from_fn(move || {
            let cur = next.take()?;
            steps += 1;
            if steps <= self.procs.len() && cur.ppid != cur.pid {
                next = self.procs.get(&cur.ppid);
            }
            Some(cur)
        })
    }

    /// Pids by network namespace inode, each list sorted.
    pub fn namespaces(&self) -> BTreeMap<u64, Vec<u32>> {
        let mut out: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for p in self.procs.values() {
            if let Some(ns) = p.netns {
                out.entry(ns).or_default().push(p.pid);
            }
        }
        out.values_mut().for_each(|v| v.sort_unstable());
        out
    }

    pub(crate) fn insert(&mut self, info: ProcessInfo) {
        self.procs.insert(info.pid, info);
    }

    pub(crate) fn clear(&mut self) {
        self.procs.clear();
    }
}
