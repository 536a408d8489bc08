//! Processes: a walk of `/proc/[pid]` producing process nodes and the [`ProcessTable`].
//!
//! The walk runs every second over every process, and on a VM each syscall costs microseconds,
//! so a known process usually costs two syscalls and no path lookups (`pread` of a kept `stat`,
//! `fstat` of a kept `fd/`), and often none:
//! - kernel threads and zombies are recognised by the inode of `/proc/PID` and skipped unread;
//! - name, cmdline and fd limit are cached per process for about a minute (and re-read at once
//!   when `comm` shows an exec); the network namespace is read on a process's first ten reads,
//!   then every tenth;
//! - a process that used no CPU for [`REST_AFTER`] walks in a row is re-read only every
//!   [`REST_AFTER`]th walk, its last values reported in between (with 0% CPU): most processes
//!   on a host sleep, and reading them is most of the walk's cost. The first walk that finds it
//!   busy again reports its average CPU since the previous read, and it is read every walk
//!   again. Exits are still seen at once, from the directory listing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fd::OwnedFd;
use scope_report::{Kind, Metric, Millis, Node, NodeId, keys};

use crate::parse::{self, PidStat};
use crate::read::{Reader, is_vanished, kept_open_limit};
use crate::{Error, ProcFs};

pub use crate::process_table::{ProcessInfo, ProcessTable};

/// Walks without CPU use after which a process is read only every this many walks.
pub const REST_AFTER: u32 = 5;

/// How long a process's cmdline, name and fd limit are reused: they rarely change after exec,
/// and a changed `comm` (a fork that exec'd) refreshes them at once. The pid spreads refreshes
/// over 45-75 s so processes started together are not all re-read in the same walk.
fn cmdline_ttl(pid: u32) -> Duration {
    Duration::from_secs(45 + u64::from(pid % 30))
}

/// A process's network namespace is re-checked on each of its first reads (runtimes move new
/// processes into namespaces right after fork) and then every this many reads.
const NETNS_RECHECK_READS: u64 = 10;

/// How often MemTotal and the CPU count are re-read (memory and CPU hotplug).
const HOST_FACTS_TTL: Duration = Duration::from_secs(60);

/// What the caller decides about process nodes.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// Host id the process ids are scoped by.
    pub host_id: String,
    /// Report argv\[0\] only: arguments can carry secrets.
    pub omit_cmd_args: bool,
}

/// One pid as the walk knows it.
#[derive(Debug)]
enum Entry {
    /// A kernel thread or zombie: skipped without reading anything while `/proc/PID` keeps its
    /// inode (kernel threads are a third of the pids on many hosts).
    Ignored {
        ino: u64,
        seen: u64,
    },
    Process(Box<Tracked>),
}

/// Per-process files kept open so that a read costs two syscalls and no path lookups. A kept fd
/// keeps pointing at its process: once it exits, reads fail instead of returning a new process
/// that reused the pid.
#[derive(Debug)]
struct Kept {
    /// `/proc/PID/stat`, re-read with `pread`.
    stat: OwnedFd,
    /// `/proc/PID/fd` opened `O_PATH`, for `fstat` (the fd count).
    fd_dir: Option<OwnedFd>,
}

impl Kept {
    fn count(&self) -> usize {
        1 + usize::from(self.fd_dir.is_some())
    }
}

/// A live process and what is known about it.
#[derive(Debug)]
struct Tracked {
    /// Inode of `/proc/PID`: a different one means the pid was reused.
    ino: u64,
    /// Last walk that listed it.
    seen: u64,
    reads: u64,
    kept: Option<Kept>,
    starttime: u64,
    comm: Box<[u8]>,
    info_at: Instant,
    name: Arc<str>,
    cmdline: Option<Arc<str>>,
    open_files_limit: Option<u64>,
    netns: Option<u64>,
    // As of the last read:
    read_at_ticks: f64,
    jiffies: u64,
    ppid: u32,
    threads: u32,
    rss_pages: u64,
    open_files: Option<u32>,
    /// Reads in a row that found no new CPU time.
    idle_reads: u32,
}

impl Tracked {
    /// Whether this walk can report the last values instead of reading.
    fn resting(&self, walk: u64, pid: u32) -> bool {
        self.idle_reads >= REST_AFTER && !(walk + u64::from(pid)).is_multiple_of(REST_AFTER.into())
    }
}

/// What one walk reports for one process.
struct Sample {
    cpu_percent: Option<f64>,
}

/// Walks `/proc/[pid]` and produces process nodes and a [`ProcessTable`].
#[derive(Debug)]
pub struct ProcessCollector {
    reader: Reader,
    config: ProcessConfig,
    host_node: NodeId,
    page_size: u64,
    clock_ticks: f64,
    cpus: usize,
    mem_total: u64,
    host_facts_at: Option<Instant>,
    entries: HashMap<u32, Entry>,
    kept_open: usize,
    max_kept_open: usize,
    walk: u64,
    /// CLOCK_BOOTTIME of the previous walk, in clock ticks (the unit of `starttime`).
    prev_walk_ticks: Option<f64>,
    table: ProcessTable,
    pids: Vec<(u32, u64)>,
}

impl ProcessCollector {
    /// A collector reading `procfs`.
    pub fn new(procfs: &ProcFs, config: ProcessConfig) -> ProcessCollector {
        ProcessCollector {
            reader: Reader::new(procfs.root()),
            host_node: NodeId::host(&config.host_id),
            config,
            page_size: rustix::param::page_size() as u64,
            clock_ticks: rustix::param::clock_ticks_per_second() as f64,
            cpus: 1,
            mem_total: 0,
            host_facts_at: None,
            entries: HashMap::new(),
            kept_open: 0,
            max_kept_open: kept_open_limit(),
            walk: 0,
            prev_walk_ticks: None,
            table: ProcessTable::default(),
            pids: Vec::new(),
        }
    }

    /// The table built by the last [`collect`](Self::collect).
    pub fn table(&self) -> &ProcessTable {
        &self.table
    }

    /// Walks the processes and returns their nodes, stamped `now`. CPU usage is the share of
    /// one core used since the previous read of the process (so a busy 4-thread process can
    /// show 400%, and the metric's max is 100 x CPUs), as in Scope; the first call has none,
    /// except for processes it can tell started since.
    pub fn collect(&mut self, now: Millis) -> Result<Vec<Node>, Error> {
        self.refresh_host_facts();
        self.walk += 1;
        let mut pids = std::mem::take(&mut self.pids);
        if let Err(source) = self.reader.list_pids(&mut pids) {
            self.pids = pids;
            let path = self.reader.path_of(None, "");
            return Err(Error::Io { path, source });
        }
        // `starttime` counts clock ticks on CLOCK_BOOTTIME, so elapsed time is measured there
        // too; cheaper than re-reading /proc/stat (slow on large machines) for the same thing.
        let walk_ticks = boottime_ticks(self.clock_ticks);

        let mut table = std::mem::take(&mut self.table);
        table.clear();
        let mut nodes = Vec::with_capacity(pids.len());
        for &(pid, ino) in &pids {
            let Some(sample) = self.sample(pid, ino, walk_ticks) else {
                continue;
            };
            let Some(Entry::Process(t)) = self.entries.get(&pid) else {
                continue;
            };
            nodes.push(self.node(now, pid, t, sample.cpu_percent));
            table.insert(ProcessInfo {
                pid,
                ppid: t.ppid,
                name: t.name.clone(),
                starttime: t.starttime,
                netns: t.netns,
                open_files: t.open_files,
            });
        }

        // Forget pids that went away, closing their kept files.
        let walk = self.walk;
        let mut closed = 0;
        self.entries.retain(|_, e| match e {
            Entry::Ignored { seen, .. } => *seen == walk,
            Entry::Process(t) => {
                let keep = t.seen == walk;
                if !keep {
                    closed += t.kept.as_ref().map_or(0, Kept::count);
                }
                keep
            }
        });
        self.kept_open -= closed;
        self.prev_walk_ticks = Some(walk_ticks);
        self.table = table;
        self.pids = pids;
        Ok(nodes)
    }

    fn node(&self, now: Millis, pid: u32, t: &Tracked, cpu: Option<f64>) -> Node {
        let mut node = Node::new(NodeId::process(&self.config.host_id, pid), Kind::Process);
        node.set_latest(keys::PID, now, pid.to_string());
        if t.ppid > 0 {
            node.set_latest(keys::PPID, now, t.ppid.to_string());
        }
        node.set_latest(keys::NAME, now, &*t.name);
        if let Some(cmdline) = &t.cmdline {
            node.set_latest(keys::CMDLINE, now, &**cmdline);
        }
        node.set_latest(keys::THREADS, now, t.threads.to_string());
        node.set_latest(keys::HOST_NODE_ID, now, self.host_node.as_str());
        node.add_parent(Kind::Host, self.host_node.clone());
        if let Some(pct) = cpu {
            let max = 100.0 * self.cpus as f64;
            node.set_metric(keys::PROCESS_CPU, Metric::single(now, pct, 0.0, max));
        }
        let rss = (t.rss_pages * self.page_size) as f64;
        let mem_max = self.mem_total as f64;
        node.set_metric(keys::PROCESS_MEMORY, Metric::single(now, rss, 0.0, mem_max));
        if let Some(open) = t.open_files {
            let max = t.open_files_limit.unwrap_or(0) as f64;
            let metric = Metric::single(now, f64::from(open), 0.0, max);
            node.set_metric(keys::OPEN_FILES, metric);
        }
        node
    }

    /// Brings one process up to date for this walk. `None` for kernel threads, zombies and
    /// processes that vanished.
    fn sample(&mut self, pid: u32, ino: u64, walk_ticks: f64) -> Option<Sample> {
        let walk = self.walk;
        match self.entries.get_mut(&pid) {
            Some(Entry::Ignored { ino: i, seen }) if *i == ino => {
                *seen = walk;
                None
            }
            Some(Entry::Process(t)) if t.ino == ino && t.resting(walk, pid) => {
                t.seen = walk;
                Some(Sample {
                    cpu_percent: Some(0.0),
                })
            }
            Some(Entry::Process(t)) if t.ino == ino => {
                let mut t = match self.entries.remove(&pid) {
                    Some(Entry::Process(t)) => t,
                    _ => return None,
                };
                let sample = self.reread(pid, &mut t, walk_ticks);
                match sample {
                    Some(_) => {
                        self.entries.insert(pid, Entry::Process(t));
                    }
                    None => self.kept_open -= t.kept.as_ref().map_or(0, Kept::count),
                }
                sample
            }
            _ => {
                self.drop_entry(pid);
                self.first_read(pid, ino, walk_ticks)
            }
        }
    }

    /// Reads a process seen for the first time (or whose pid was reused).
    fn first_read(&mut self, pid: u32, ino: u64, walk_ticks: f64) -> Option<Sample> {
        let stat_fd = self
            .reader
            .open(Some(pid), "stat")
            .inspect_err(|e| log_unexpected(e, pid, "stat"))
            .ok()?;
        if let Err(e) = self.reader.pread(&stat_fd) {
            log_unexpected(&e, pid, "stat");
            return None;
        }
        let stat = parse::parse_pid_stat(self.reader.last())?;
        if stat.is_zombie() || stat.is_kernel_thread(pid) {
            let seen = self.walk;
            self.entries.insert(pid, Entry::Ignored { ino, seen });
            return None;
        }
        let fields = StatFields::from(&stat);
        let comm: Box<[u8]> = stat.comm.into();
        let (name, cmdline, open_files_limit) = self.read_info(pid, &comm)?;
        let kept = (self.kept_open + 2 <= self.max_kept_open).then(|| Kept {
            stat: stat_fd,
            fd_dir: self.reader.open_path(Some(pid), "fd").ok(),
        });
        self.kept_open += kept.as_ref().map_or(0, Kept::count);
        let fd_dir = kept.as_ref().and_then(|k| k.fd_dir.as_ref());
        let open_files = self.fd_count(pid, fd_dir);
        let netns = self.read_netns(pid);

        // Started since the previous walk: all of its CPU time is new.
        let cpu_percent = self
            .prev_walk_ticks
            .filter(|prev| fields.starttime as f64 >= *prev)
            .map(|prev| self.cpu_percent(fields.jiffies, walk_ticks - prev));
        let t = Tracked {
            ino,
            seen: self.walk,
            reads: 1,
            kept,
            starttime: fields.starttime,
            comm,
            info_at: Instant::now(),
            name,
            cmdline,
            open_files_limit,
            netns,
            read_at_ticks: walk_ticks,
            jiffies: fields.jiffies,
            ppid: fields.ppid,
            threads: fields.threads,
            rss_pages: fields.rss_pages,
            open_files,
            idle_reads: 0,
        };
        self.entries.insert(pid, Entry::Process(Box::new(t)));
        Some(Sample { cpu_percent })
    }

    /// Re-reads a known process. `None` if it exited or became a zombie (then `t` is dropped
    /// by the caller, or replaced by an ignored entry here).
    fn reread(&mut self, pid: u32, t: &mut Tracked, walk_ticks: f64) -> Option<Sample> {
        let read = match &t.kept {
            Some(kept) => self.reader.pread(&kept.stat),
            None => self.reader.read(Some(pid), "stat"),
        };
        if let Err(e) = read {
            log_unexpected(&e, pid, "stat");
            return None;
        }
        // Empty when the process exited after its kept file was opened.
        let stat = parse::parse_pid_stat(self.reader.last())?;
        if stat.is_zombie() {
            let (ino, seen) = (t.ino, self.walk);
            self.entries.insert(pid, Entry::Ignored { ino, seen });
            return None;
        }
        let fields = StatFields::from(&stat);
        // Same process, new program (exec): name and command line changed.
        if *t.comm != *stat.comm {
            t.comm = stat.comm.into();
            t.info_at = Instant::now() - cmdline_ttl(pid);
        }
        let fd_dir = t.kept.as_ref().and_then(|k| k.fd_dir.as_ref());
        t.open_files = self.fd_count(pid, fd_dir);
        if t.reads < NETNS_RECHECK_READS || t.reads.is_multiple_of(NETNS_RECHECK_READS) {
            t.netns = self.read_netns(pid);
        }
        if t.info_at.elapsed() >= cmdline_ttl(pid)
            && let Some((name, cmdline, limit)) = self.read_info(pid, &t.comm)
        {
            t.name = name;
            t.cmdline = cmdline;
            t.open_files_limit = limit;
            t.info_at = Instant::now();
        }

        let used = fields.jiffies.saturating_sub(t.jiffies);
        let cpu_percent = self.cpu_percent(used, walk_ticks - t.read_at_ticks);
        t.idle_reads = if used == 0 { t.idle_reads + 1 } else { 0 };
        t.seen = self.walk;
        t.reads += 1;
        t.read_at_ticks = walk_ticks;
        t.jiffies = fields.jiffies;
        t.ppid = fields.ppid;
        t.threads = fields.threads;
        t.rss_pages = fields.rss_pages;
        Some(Sample {
            cpu_percent: Some(cpu_percent),
        })
    }

    /// `jiffies` of CPU over `elapsed` clock ticks, as a percentage of one core. Clamped: over
    /// short intervals the 10 ms granularity of the counters can overshoot what the CPUs could
    /// have done.
    fn cpu_percent(&self, jiffies: u64, elapsed: f64) -> f64 {
        let max = 100.0 * self.cpus as f64;
        if elapsed <= 0.0 {
            return 0.0;
        }
        (jiffies as f64 / elapsed * 100.0).min(max)
    }

    fn fd_count(&mut self, pid: u32, fd_dir: Option<&OwnedFd>) -> Option<u32> {
        self.reader
            .fd_count(pid, fd_dir)
            .inspect_err(|e| log_unexpected(e, pid, "fd"))
            .ok()
    }

    fn drop_entry(&mut self, pid: u32) {
        if let Some(Entry::Process(t)) = self.entries.remove(&pid) {
            self.kept_open -= t.kept.as_ref().map_or(0, Kept::count);
        }
    }

    fn read_netns(&mut self, pid: u32) -> Option<u64> {
        let mut link = [0u8; 128];
        self.reader
            .readlink(pid, "ns/net", &mut link)
            .ok()
            .and_then(|t| parse::parse_bracketed_inode(t, b"net"))
    }

    /// Reads what is cached per process: name, cmdline and the open-files limit. `None` if the
    /// process vanished.
    #[allow(clippy::type_complexity)]
    fn read_info(
        &mut self,
        pid: u32,
        comm: &[u8],
    ) -> Option<(Arc<str>, Option<Arc<str>>, Option<u64>)> {
        let (name, cmdline) = match self.reader.read(Some(pid), "cmdline") {
            Ok(raw) => match parse::parse_cmdline(raw, self.config.omit_cmd_args) {
                Some((name, cmdline)) => (name, Some(Arc::from(cmdline))),
                None => (String::from_utf8_lossy(comm).into_owned(), None),
            },
            Err(e) => {
                log_unexpected(&e, pid, "cmdline");
                return None;
            }
        };
        let limit = self
            .reader
            .read(Some(pid), "limits")
            .ok()
            .and_then(parse::parse_open_files_limit);
        Some((Arc::from(name), cmdline, limit))
    }

    fn refresh_host_facts(&mut self) {
        if self
            .host_facts_at
            .is_some_and(|t| t.elapsed() < HOST_FACTS_TTL)
        {
            return;
        }
        self.host_facts_at = Some(Instant::now());
        if let Some(m) = self
            .reader
            .read(None, "meminfo")
            .ok()
            .and_then(parse::parse_meminfo)
        {
            self.mem_total = m.total;
        }
        if let Ok(stat) = self.reader.read(None, "stat") {
            self.cpus = parse::count_cpus(stat).max(1);
        }
    }
}

/// CLOCK_BOOTTIME in clock ticks: the clock and unit of `starttime` in `/proc/PID/stat`.
fn boottime_ticks(clock_ticks: f64) -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    (t.tv_sec as f64 + t.tv_nsec as f64 / 1e9) * clock_ticks
}

/// The numbers of a stat line, copied out so the read buffer can be reused.
struct StatFields {
    ppid: u32,
    threads: u32,
    jiffies: u64,
    starttime: u64,
    rss_pages: u64,
}

impl From<&PidStat<'_>> for StatFields {
    fn from(s: &PidStat<'_>) -> StatFields {
        StatFields {
            ppid: s.ppid,
            threads: s.threads,
            jiffies: s.jiffies,
            starttime: s.starttime,
            rss_pages: s.rss_pages,
        }
    }
}

/// A pid vanishing mid-walk is normal; anything else (permissions) is worth a debug line.
fn log_unexpected(e: &std::io::Error, pid: u32, what: &str) {
    if !is_vanished(e) {
        tracing::debug!(pid, file = what, error = %e, "cannot read process file");
    }
}
