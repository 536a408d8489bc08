//! Which process owns a socket inode.
//!
//! The only way to learn it from /proc is to read the `fd/` symlinks of processes
//! (`socket:[12345]`), one syscall per open fd: by far the most expensive part of connection
//! tracking. So owners are cached, and fd directories are read only when the TCP tables hold an
//! inode nobody owns yet, cheapest guesses first:
//!
//! 1. processes in that namespace never scanned, or whose fd count changed since their last
//!    scan (a new connection usually means a new fd);
//! 2. only if that fails, the other processes of the namespace, those that owned sockets before
//!    and those scanned longest ago first.
//!
//! Inodes still unowned after a full pass (a socket passed to a process in another namespace, or
//! whose process is gone) are not searched again for [`GIVE_UP_TICKS`] ticks. Scans stop when the
//! tick's allowance (CPU time and fd links) is spent and go on next tick, so a host whose
//! processes hold many thousands of fds gets endpoints without pids for a few ticks, not a busy
//! probe.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use crate::parse;
use crate::process::ProcessTable;
use crate::read::Reader;

/// Ticks before an inode a full pass could not attribute is searched for again.
pub(crate) const GIVE_UP_TICKS: u64 = 10;

#[derive(Debug, Clone, Copy)]
struct Owner {
    pid: u32,
    starttime: u64,
}

#[derive(Debug, Clone, Copy)]
struct ScanMark {
    starttime: u64,
    open_files: Option<u32>,
    tick: u64,
    sockets: u32,
}

/// What attributing sockets to processes did in one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ResolveStats {
    /// Established sockets whose owner was not cached at the start of the tick.
    pub missing: usize,
    /// Fd directories read.
    pub fd_dirs: usize,
    /// Fd symlinks read.
    pub fd_links: usize,
    /// Sockets still without an owner at the end of the tick.
    pub unresolved: usize,
    /// Time spent scanning, in seconds.
    pub seconds: f64,
}

/// How much fd scanning one tick may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allowance {
    /// Fd links that may still be read.
    pub(crate) links: usize,
    /// CPU seconds that may still be spent; `None` for no time limit.
    pub(crate) seconds: Option<f64>,
    spent: f64,
}

impl Allowance {
    pub(crate) fn new(links: usize, seconds: Option<f64>) -> Allowance {
        Allowance {
            links,
            seconds,
            spent: 0.0,
        }
    }

    fn exhausted(&self) -> bool {
        self.links == 0 || self.seconds.is_some_and(|s| s <= 0.0)
    }

    fn charge(&mut self, links: usize, seconds: f64) {
        self.links = self.links.saturating_sub(links);
        if let Some(s) = &mut self.seconds {
            *s -= seconds;
        }
        self.spent += seconds;
    }
}

/// The socket inode -> pid cache and the bookkeeping that decides what to rescan.
#[derive(Debug, Default)]
pub(crate) struct SocketOwners {
    by_inode: HashMap<u64, Owner>,
    scanned: HashMap<u32, ScanMark>,
    given_up: HashMap<u64, u64>,
    missing: BTreeMap<u64, HashSet<u64>>,
}

impl SocketOwners {
    /// The owner of `inode`, if known.
    pub(crate) fn owner(&self, inode: u64) -> Option<u32> {
        self.by_inode.get(&inode).map(|o| o.pid)
    }

    /// Updates the cache for this tick.
    ///
    /// - `wanted`: (netns, inode) of the sockets that need an owner (established ones);
    /// - `live`: every TCP socket inode in the tables this tick, so owners found for sockets
    ///   that are still connecting are kept for when they become established;
    /// - `namespaces`: the pids of each netns;
    /// - `allowance`: how much scanning this tick may do.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn resolve(
        &mut self,
        tick: u64,
        reader: &mut Reader,
        table: &ProcessTable,
        namespaces: &BTreeMap<u64, Vec<u32>>,
        wanted: impl Iterator<Item = (u64, u64)>,
        live: &HashSet<u64>,
        mut allowance: Allowance,
    ) -> ResolveStats {
        let alive =
            |pid: u32, starttime: u64| table.get(pid).is_some_and(|p| p.starttime == starttime);
        self.by_inode
            .retain(|inode, o| live.contains(inode) && alive(o.pid, o.starttime));
        self.scanned.retain(|pid, m| alive(*pid, m.starttime));
        self.given_up
            .retain(|inode, t| live.contains(inode) && tick.saturating_sub(*t) < GIVE_UP_TICKS);

        self.missing.values_mut().for_each(HashSet::clear);
        let mut stats = ResolveStats::default();
        for (netns, inode) in wanted {
            if inode != 0 && !self.by_inode.contains_key(&inode) {
                self.missing.entry(netns).or_default().insert(inode);
                stats.missing += 1;
            }
        }
        if stats.missing == 0 {
            return stats;
        }

        let mut missing = std::mem::take(&mut self.missing);
        for (netns, inodes) in missing.iter_mut().filter(|(_, s)| !s.is_empty()) {
            let Some(pids) = namespaces.get(netns) else {
                continue;
            };
            // Phase 1: processes whose fds may have changed, those that owned TCP sockets
            // before first (they are the ones that make connections).
            let mut changed: Vec<(bool, u32)> = pids
                .iter()
                .copied()
                .filter_map(|pid| {
                    let open_files = table.get(pid)?.open_files;
                    let mark = self.scanned.get(&pid);
                    let changed =
                        mark.is_none_or(|m| open_files.is_none() || m.open_files != open_files);
                    changed.then(|| (mark.is_none_or(|m| m.sockets == 0), pid))
                })
                .collect();
            changed.sort_unstable();
            for &(_, pid) in &changed {
                if inodes.is_empty() || allowance.exhausted() {
                    break;
                }
                self.scan(
                    tick,
                    reader,
                    table,
                    pid,
                    live,
                    inodes,
                    &mut allowance,
                    &mut stats,
                );
            }
            // Phase 2: everyone else, unless all that is missing was already searched for.
            if inodes.is_empty() || inodes.iter().all(|i| self.given_up.contains_key(i)) {
                continue;
            }
            let mut rest: Vec<(bool, u64, u32)> = pids
                .iter()
                .filter(|pid| self.scanned.get(pid).is_none_or(|m| m.tick != tick))
                .map(|&pid| {
                    let m = self.scanned.get(&pid);
                    let had_sockets = m.is_some_and(|m| m.sockets > 0);
                    (!had_sockets, m.map_or(0, |m| m.tick), pid)
                })
                .collect();
            rest.sort_unstable();
            let mut searched_all = true;
            for &(_, _, pid) in &rest {
                if inodes.is_empty() {
                    break;
                }
                if allowance.exhausted() {
                    searched_all = false;
                    break;
                }
                self.scan(
                    tick,
                    reader,
                    table,
                    pid,
                    live,
                    inodes,
                    &mut allowance,
                    &mut stats,
                );
            }
            if searched_all {
                for &inode in inodes.iter() {
                    self.given_up.entry(inode).or_insert(tick);
                }
            }
        }
        stats.unresolved = missing.values().map(HashSet::len).sum();
        stats.seconds = allowance.spent;
        self.missing = missing;
        stats
    }

    /// Reads the fd links of `pid`, recording every TCP socket it owns.
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &mut self,
        tick: u64,
        reader: &mut Reader,
        table: &ProcessTable,
        pid: u32,
        live: &HashSet<u64>,
        missing: &mut HashSet<u64>,
        allowance: &mut Allowance,
        stats: &mut ResolveStats,
    ) {
        let started = Instant::now();
        let Some(info) = table.get(pid) else {
            return;
        };
        let owner = Owner {
            pid,
            starttime: info.starttime,
        };
        let mut sockets = 0u32;
        let mut links = 0usize;
        let by_inode = &mut self.by_inode;
        let mut target = [0u8; 64];
        let result = reader.for_each_fd(pid, |dir, name| {
            links += 1;
            let Ok(len) = rustix::fs::readlinkat_raw(dir, name, &mut target[..]) else {
                return; // closed since the directory was read
            };
            let Some(inode) = parse::parse_bracketed_inode(&target[..len.min(64)], b"socket")
            else {
                return;
            };
            if live.contains(&inode) {
                sockets += 1;
                missing.remove(&inode);
                by_inode.entry(inode).or_insert(owner);
            }
        });
        stats.fd_dirs += 1;
        stats.fd_links += links;
        allowance.charge(links.max(1), started.elapsed().as_secs_f64());
        if result.is_ok() {
            self.scanned.insert(
                pid,
                ScanMark {
                    starttime: info.starttime,
                    open_files: info.open_files,
                    tick,
                    sockets,
                },
            );
        }
    }
}
