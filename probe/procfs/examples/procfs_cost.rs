//! Measures what one collection (host + processes + connections) costs on this machine.
//!
//! ```text
//! cargo run --release -p scope-probe-procfs --example procfs_cost -- \
//!     [--processes 300] [--namespaces 20] [--connections 100] [--iterations 60]
//! ```
//!
//! It tops the host up to `--processes` reported processes (kernel threads do not count) with
//! idle `sleep`s, starts `--namespaces` processes in network namespaces of their own (like
//! containers; needs root, skipped otherwise), each holding a few loopback connections, and
//! opens `--connections` loopback connections itself. Then it runs the collectors back to back
//! and prints the mean wall time and CPU time per collection, for a cold start, a steady state,
//! and a steady state with one new connection per tick (which exercises table re-reads and
//! socket-owner resolution; the CPU budget that paces those in the probe is lifted here, so
//! this is their unthrottled cost). CPU time comes from this process's utime+stime in
//! /proc/self/stat (10 ms ticks, so summed over all iterations), from /proc/self/schedstat (ns
//! on CPU) and, for the per-collector split, from CLOCK_THREAD_CPUTIME_ID.
//!
//! `--only-processes N` just walks processes N times, for profiling (`perf record`).
//!
//! Everything it starts, it stops; all traffic stays on loopback.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scope_probe_procfs::{Collectors, CollectorsConfig, ProcFs};

struct Args {
    processes: usize,
    namespaces: usize,
    connections: usize,
    iterations: usize,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        processes: 300,
        namespaces: 20,
        connections: 100,
        iterations: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || -> Result<usize, String> {
            it.next()
                .ok_or(format!("{flag} needs a value"))?
                .parse()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--processes" => args.processes = value()?,
            "--namespaces" => args.namespaces = value()?,
            "--connections" => args.connections = value()?,
            "--iterations" => args.iterations = value()?,
            // Profiling aid: only walk processes, in a loop.
            "--only-processes" => {
                let n = value()?;
                let procfs = ProcFs::default();
                let config = CollectorsConfig::new("h", "cost", "cost-probe");
                let mut c = scope_probe_procfs::ProcessCollector::new(&procfs, config.process);
                for i in 0..n {
                    let _ = c.collect(i as i64);
                }
                return Ok(None);
            }
            // Internal: the child mode run inside a fresh network namespace.
            "--hold" => {
                hold(value()?);
                return Ok(None);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Some(args))
}

/// Child mode: keep `n` loopback connections open until killed.
fn hold(n: usize) {
    let _pairs = open_pairs(n);
    std::thread::sleep(Duration::from_secs(3600));
}

fn open_pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind on loopback");
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"x").unwrap();
    server.read_exact(&mut [0u8; 1]).unwrap();
    (listener, client, server)
}

fn open_pairs(n: usize) -> Vec<(TcpListener, TcpStream, TcpStream)> {
    (0..n).map(|_| open_pair()).collect()
}

/// Processes we started, killed on drop.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Processes the collector reports (kernel threads and zombies are not).
fn count_processes() -> usize {
    let config = CollectorsConfig::new("h", "cost", "cost-probe");
    let mut walker = scope_probe_procfs::ProcessCollector::new(&ProcFs::default(), config.process);
    walker.collect(0).map(|nodes| nodes.len()).unwrap_or(0)
}

fn spawn_world(args: &Args) -> Children {
    let mut children = Children(Vec::new());
    let exe = std::env::current_exe().expect("current exe");
    for _ in 0..args.namespaces {
        // unshare and sh exec, so the child keeps one pid from here to our binary.
        let script = format!("ip link set lo up && exec '{}' --hold 3", exe.display());
        let child = Command::new("unshare")
            .args(["-n", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(c) => children.0.push(c),
            Err(e) => {
                eprintln!("cannot start namespaced children ({e}); measuring without");
                break;
            }
        }
    }
    let existing = count_processes();
    for _ in existing..args.processes {
        match Command::new("sleep")
            .arg("3600")
            .stdin(Stdio::null())
            .spawn()
        {
            Ok(c) => children.0.push(c),
            Err(e) => {
                eprintln!("cannot start sleep ({e})");
                break;
            }
        }
    }
    // Let the namespaced children bring up lo and connect.
    std::thread::sleep(Duration::from_millis(500));
    children
}

/// (utime + stime in clock ticks, ns on CPU) of this process so far.
fn cpu_now() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split(' ').collect();
    // Fields 14 and 15 of proc(5); after_comm starts at field 3.
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let sched = std::fs::read_to_string("/proc/self/schedstat").unwrap();
    let ns = sched.split(' ').next().unwrap().parse().unwrap();
    (ticks, ns)
}

/// CPU time of the calling thread so far, in ns (CLOCK_THREAD_CPUTIME_ID is exact; schedstat
/// is only updated at scheduler ticks).
fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

struct Phase {
    wall: Duration,
    ticks: u64,
    cpu_ns: u64,
    n: usize,
}

impl Phase {
    fn print(&self, name: &str, clock_ticks: u64) {
        let n = self.n as f64;
        println!(
            "{name:<28} n={:<3} wall {:>7.3} ms/collection | cpu (stat utime+stime) {:>7.3} ms | cpu (schedstat) {:>7.3} ms",
            self.n,
            self.wall.as_secs_f64() * 1e3 / n,
            self.ticks as f64 * 1e3 / clock_ticks as f64 / n,
            self.cpu_ns as f64 / 1e6 / n,
        );
    }
}

fn measure(n: usize, mut f: impl FnMut(usize)) -> Phase {
    let (t0, c0) = cpu_now();
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    let wall = start.elapsed();
    let (t1, c1) = cpu_now();
    Phase {
        wall,
        ticks: t1 - t0,
        cpu_ns: c1 - c0,
        n,
    }
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let _children = spawn_world(&args);
    let mut pairs = open_pairs(args.connections);

    let procfs = ProcFs::default();
    let host_id = procfs.hostname().expect("hostname");
    let mut config = CollectorsConfig::new(host_id, "cost", "cost-probe");
    // Back to back, ticks are ~100x closer than in the probe, so the connection budget (a share
    // of wall time) would throttle nearly every re-read and scan: lift it to measure their cost.
    config.connections.cpu_share = 1.0;
    let not_local = |_| false;
    let clock_ticks = 100; // USER_HZ on every Linux architecture Scope runs on

    let mut collectors = Collectors::new(&procfs, config.clone());
    let cold = measure(1, |i| {
        collectors.report(i as i64, &not_local);
    });
    let cold_conns = collectors.stats().connections.clone().unwrap_or_default();
    let report = collectors.report(0, &not_local);
    let stats = collectors.stats().clone();
    let conns = stats.connections.clone().unwrap_or_default();
    println!(
        "world: {} processes reported, {} network namespaces ({} read through netlink), {} established connections, {} endpoint nodes, {} report nodes",
        stats.processes,
        conns.namespaces,
        cold_conns.tables_read_netlink,
        conns.connections,
        report.nodes(scope_report::Kind::Endpoint).count(),
        report.node_count()
    );

    // Per-collector split of the steady state, in CPU time of this thread.
    let (mut host_t, mut proc_t, mut conn_t) = (0u64, 0u64, 0u64);
    let steady = measure(args.iterations, |i| {
        let now = i as i64;
        let t = thread_cpu_ns();
        let _ = collectors.host.collect(now);
        let t1 = thread_cpu_ns();
        let _ = collectors.processes.collect(now);
        let t2 = thread_cpu_ns();
        let _ = collectors
            .connections
            .collect(now, collectors.processes.table(), &not_local);
        let t3 = thread_cpu_ns();
        host_t += t1 - t;
        proc_t += t2 - t1;
        conn_t += t3 - t2;
    });
    let full = measure(args.iterations, |i| {
        collectors.report(i as i64, &not_local);
    });

    // One new connection per tick (and one closed), as a busy host would have.
    let mut resolved = (0usize, 0usize, 0usize, 0usize, 0f64, 0f64);
    let churn = measure(args.iterations, |i| {
        if !pairs.is_empty() {
            pairs.remove(0);
        }
        pairs.push(open_pair());
        collectors.report(i as i64, &not_local);
        if let Some(c) = &collectors.stats().connections {
            resolved.0 += c.owners.fd_dirs;
            resolved.1 += c.owners.fd_links;
            resolved.2 += c.owners.unresolved;
            resolved.3 += c.tables_read;
            resolved.4 += c.tables_seconds;
            resolved.5 += c.owners.seconds;
        }
    });

    println!("iterations: {}, back to back", args.iterations);
    cold.print("cold (empty caches)", clock_ticks);
    steady.print("steady, collectors separately", clock_ticks);
    let per = |ns: u64| ns as f64 / 1e6 / args.iterations as f64;
    println!(
        "  split (cpu): host {:.3} ms, processes {:.3} ms, connections {:.3} ms",
        per(host_t),
        per(proc_t),
        per(conn_t)
    );
    full.print("steady, Collectors::report", clock_ticks);
    churn.print("1 new connection per tick", clock_ticks);
    println!(
        "  per tick: {:.1} tables read in {:.3} ms; {:.1} fd dirs and {:.1} fd links read for owners in {:.3} ms; {:.1} sockets unresolved",
        resolved.3 as f64 / args.iterations as f64,
        resolved.4 * 1e3 / args.iterations as f64,
        resolved.0 as f64 / args.iterations as f64,
        resolved.1 as f64 / args.iterations as f64,
        resolved.5 * 1e3 / args.iterations as f64,
        resolved.2 as f64 / args.iterations as f64
    );
}
