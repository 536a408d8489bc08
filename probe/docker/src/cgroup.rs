//! Container CPU and memory straight from cgroup files.
//!
//! Docker's stats API costs the daemon a cgroup walk plus JSON per call and, streamed, keeps a
//! goroutine and a connection per container. Reading three small files per container per snapshot
//! is orders of magnitude cheaper, so this is the normal path; the stats API is only a fallback
//! when these files are not visible to the probe.
//!
//! The container's cgroup is found through `/proc/<pid>/cgroup` of its main process and our own
//! mount table, which works for cgroup v1 (any controller mount layout, e.g. `cpu,cpuacct` joined
//! or split) and v2 (unified), and for both the cgroupfs and systemd drivers.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the cgroup hierarchies are mounted in our mount namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CgroupMounts {
    /// cgroup v1: controller name (e.g. "cpuacct", "memory") -> (mount point, mount root).
    v1: HashMap<String, (PathBuf, String)>,
    /// The cgroup v2 (unified) mount: (mount point, mount root).
    v2: Option<(PathBuf, String)>,
}

/// The files of one container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupPaths {
    /// cgroup v1: the cpuacct and memory controller directories.
    V1 { cpuacct: PathBuf, memory: PathBuf },
    /// cgroup v2: the unified directory.
    V2 { dir: PathBuf },
}

/// One reading of a container's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// CPU time used since the cgroup was created, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use minus page cache, in bytes (what `docker stats` shows).
    pub memory: u64,
}

impl CgroupMounts {
    /// Reads the mount table at `mountinfo` (normally `/proc/self/mountinfo`). An unreadable table
    /// gives no mounts, which sends every container to the stats fallback.
    pub(crate) fn load(mountinfo: &Path) -> CgroupMounts {
        fs::read_to_string(mountinfo)
            .map(|text| CgroupMounts::parse(&text))
            .unwrap_or_default()
    }

    /// Parses mountinfo lines:
    /// `33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct`.
    pub(crate) fn parse(mountinfo: &str) -> CgroupMounts {
        let mut mounts = CgroupMounts::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let (Some(root), Some(mount_point), Some(fstype)) =
                (left.get(3), left.get(4), right.first())
            else {
                continue;
            };
            let mount_point = PathBuf::from(unescape(mount_point));
            let root = unescape(root);
            match *fstype {
                "cgroup2" => {
                    mounts.v2.get_or_insert((mount_point, root));
                }
                "cgroup" => {
                    // The controllers are among the super options: "rw,cpu,cpuacct".
                    for opt in right.get(2).copied().unwrap_or("").split(',') {
                        if opt == "cpuacct" || opt == "memory" {
                            mounts
                                .v1
                                .entry(opt.to_owned())
                                .or_insert_with(|| (mount_point.clone(), root.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        mounts
    }

    /// Finds the cgroup of process `pid` under `proc_root`. `None` when the process is gone or its
    /// cgroup files are not visible here (then the caller falls back to the stats API).
    pub(crate) fn resolve(&self, proc_root: &Path, pid: u32) -> Option<CgroupPaths> {
        let text = fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
        self.resolve_from(&text)
    }

    /// Like [`resolve`](Self::resolve), from the text of `/proc/<pid>/cgroup`.
    pub(crate) fn resolve_from(&self, proc_cgroup: &str) -> Option<CgroupPaths> {
        let mut cpuacct = None;
        let mut memory = None;
        let mut unified = None;
        for line in proc_cgroup.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if controllers.is_empty() {
                unified = Some(path);
                continue;
            }
            for c in controllers.split(',') {
                match c {
                    "cpuacct" => cpuacct = Some(path),
                    "memory" => memory = Some(path),
                    _ => {}
                }
            }
        }
        // v1 first: on hybrid hosts the unified hierarchy exists but carries no memory controller.
        if let (Some(cpu_path), Some(mem_path)) = (cpuacct, memory) {
            let cpuacct = self.v1.get("cpuacct").map(|m| join_mount(m, cpu_path));
            let memory = self.v1.get("memory").map(|m| join_mount(m, mem_path));
            if let (Some(cpuacct), Some(memory)) = (cpuacct, memory)
                && cpuacct.join("cpuacct.usage").exists()
                && memory.join("memory.usage_in_bytes").exists()
            {
                return Some(CgroupPaths::V1 { cpuacct, memory });
            }
        }
        let dir = join_mount(self.v2.as_ref()?, unified?);
        (dir.join("cpu.stat").exists() && dir.join("memory.current").exists())
            .then_some(CgroupPaths::V2 { dir })
    }
}

/// `mount point + (path relative to the mount's root)`.
fn join_mount((mount_point, root): &(PathBuf, String), path: &str) -> PathBuf {
    let rel = path
        .strip_prefix(root.as_str())
        .filter(|_| root != "/")
        .unwrap_or(path);
    mount_point.join(rel.trim_start_matches('/'))
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(digits) = bytes.get(i + 1..i + 4)
            && let Ok(digits) = std::str::from_utf8(digits)
            && let Ok(v) = u8::from_str_radix(digits, 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl CgroupPaths {
    /// Reads the counters: three small files for either version.
    pub(crate) fn read(&self) -> io::Result<Usage> {
        match self {
            CgroupPaths::V1 { cpuacct, memory } => {
                let cpu_ns = read_u64(&cpuacct.join("cpuacct.usage"))?;
                let usage = read_u64(&memory.join("memory.usage_in_bytes"))?;
                let stat = fs::read_to_string(memory.join("memory.stat"))?;
                // total_cache covers the hierarchy below; plain cache is the cgroup itself.
                let cache = stat_value(&stat, "total_cache")
                    .or_else(|| stat_value(&stat, "cache"))
                    .unwrap_or(0);
                Ok(Usage {
                    cpu_ns,
                    memory: usage.saturating_sub(cache),
                })
            }
            CgroupPaths::V2 { dir } => {
                let cpu = fs::read_to_string(dir.join("cpu.stat"))?;
                let usage_usec = stat_value(&cpu, "usage_usec")
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no usage_usec"))?;
                let usage = read_u64(&dir.join("memory.current"))?;
                let stat = fs::read_to_string(dir.join("memory.stat"))?;
                // v2 has no "cache"; "file" is the page cache it replaced.
                let cache = stat_value(&stat, "file").unwrap_or(0);
                Ok(Usage {
                    cpu_ns: usage_usec.saturating_mul(1000),
                    memory: usage.saturating_sub(cache),
                })
            }
        }
    }
}

fn read_u64(path: &Path) -> io::Result<u64> {
    fs::read_to_string(path)?
        .trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The value of `key` in a flat-keyed file ("key value" per line).
fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Turns successive CPU counters into a percentage of one core.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuTracker {
    prev: Option<(Instant, u64)>,
}

impl CpuTracker {
    /// Records a counter reading taken at `at`; returns the CPU use since the previous reading in
    /// percent of one core, or `None` for the first reading or after the counter went backwards
    /// (a new cgroup, e.g. after a restart).
    pub(crate) fn observe(&mut self, at: Instant, cpu_ns: u64) -> Option<f64> {
        let prev = self.prev.replace((at, cpu_ns));
        let (then, prev_ns) = prev?;
        let wall = at.checked_duration_since(then)?.as_nanos() as f64;
        if wall <= 0.0 || cpu_ns < prev_ns {
            return None;
        }
        Some((cpu_ns - prev_ns) as f64 / wall * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MOUNTINFO_V1: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn parses_v1_and_v2_mounts() {
        let m = CgroupMounts::parse(MOUNTINFO_V1);
        assert_eq!(
            m.v1["cpuacct"],
            (PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"), "/".to_owned())
        );
        assert_eq!(m.v1["memory"].0, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(
            m.v2,
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".into()))
        );
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
    }

    #[test]
    fn mount_roots_are_stripped() {
        let m = ("/sys/fs/cgroup/memory".into(), "/docker".to_owned());
        assert_eq!(
            join_mount(&m, "/docker/abc"),
            PathBuf::from("/sys/fs/cgroup/memory/abc")
        );
        let root = ("/sys/fs/cgroup".into(), "/".to_owned());
        assert_eq!(
            join_mount(&root, "/system.slice/docker-abc.scope"),
            PathBuf::from("/sys/fs/cgroup/system.slice/docker-abc.scope")
        );
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn v1_fixture_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let cpu = root.join("cpuacct/docker/abc");
        let mem = root.join("memory/docker/abc");
        write(&cpu.join("cpuacct.usage"), "5000000000\n");
        write(&mem.join("memory.usage_in_bytes"), "10485760\n");
        write(
            &mem.join("memory.stat"),
            "cache 1048576\nrss 9437184\ntotal_cache 2097152\n",
        );
        write(
            &root.join("proc/42/cgroup"),
            "4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/docker/abc\n",
        );
        let mountinfo = format!(
            "32 31 0:29 / {} rw - cgroup cgroup rw,cpuacct\n35 31 0:32 / {} rw - cgroup cgroup rw,memory\n",
            root.join("cpuacct").display(),
            root.join("memory").display()
        );
        let mounts = CgroupMounts::parse(&mountinfo);
        let paths = mounts.resolve(&root.join("proc"), 42).expect("resolved");
        assert_eq!(
            paths,
            CgroupPaths::V1 {
                cpuacct: cpu,
                memory: mem
            }
        );
        assert_eq!(
            paths.read().unwrap(),
            Usage {
                cpu_ns: 5_000_000_000,
                memory: 10_485_760 - 2_097_152
            }
        );
        assert!(mounts.resolve(&root.join("proc"), 43).is_none());
    }

    #[test]
    fn v2_fixture_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let dir = root.join("cg/system.slice/docker-abc.scope");
        write(
            &dir.join("cpu.stat"),
            "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
        );
        write(&dir.join("memory.current"), "8000000\n");
        write(&dir.join("memory.stat"), "anon 6000000\nfile 1000000\n");
        let mountinfo = format!(
            "25 20 0:23 / {} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
            root.join("cg").display()
        );
        let mounts = CgroupMounts::parse(&mountinfo);
        let paths = mounts
            .resolve_from("0::/system.slice/docker-abc.scope\n")
            .expect("resolved");
        assert_eq!(paths, CgroupPaths::V2 { dir });
        assert_eq!(
            paths.read().unwrap(),
            Usage {
                cpu_ns: 2_500_000_000,
                memory: 7_000_000
            }
        );
    }

    #[test]
    fn hybrid_without_v1_files_uses_nothing_it_cannot_read() {
        let mounts = CgroupMounts::parse(MOUNTINFO_V1);
        // The v1 files do not exist on this fake layout and the unified dir lacks memory.current.
        assert_eq!(
            mounts.resolve_from("4:memory:/nope\n2:cpuacct:/nope\n0::/nope\n"),
            None
        );
    }

    #[test]
    fn cpu_percent_from_deltas() {
        let mut t = CpuTracker::default();
        let t0 = Instant::now();
        assert_eq!(t.observe(t0, 1_000_000_000), None);
        let pct = t
            .observe(t0 + Duration::from_secs(2), 2_000_000_000)
            .unwrap();
        assert!((pct - 50.0).abs() < 1e-9, "{pct}");
        // A restarted container starts a new counter.
        assert_eq!(t.observe(t0 + Duration::from_secs(3), 10), None);
        let pct = t.observe(t0 + Duration::from_secs(4), 10).unwrap();
        assert_eq!(pct, 0.0);
    }
}
