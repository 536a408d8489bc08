//! Measures what the Docker collector costs: starts N busybox `sleep 3600` containers, runs the
//! collector against the real daemon, takes snapshots at an interval and prints the CPU time this
//! process (and dockerd) used. The containers are removed at the end, also on panic.
//!
//! ```text
//! cargo run --release -p scope-probe-docker --example docker_cost -- [containers=20] [snapshots=20] [interval_ms=250]
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
};
use scope_probe_docker::{DockerCollector, DockerConfig};
use scope_report::{Kind, keys};
use tokio::sync::mpsc;

const IMAGE: &str = "scope-test-busybox:latest";

/// Removes the containers when dropped, whatever happened.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut self.0);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let Ok(docker) = Docker::connect_with_defaults() else {
                    return;
                };
                let Ok(docker) = docker.negotiate_version().await else {
                    return;
                };
                let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                for id in ids {
                    let _ = docker.remove_container(&id, Some(opts.clone())).await;
                }
            });
        })
        .join();
    }
}

/// CPU time of this process from `/proc/self/stat` (utime + stime, in clock ticks of 10 ms).
fn stat_cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// CPU time of all threads of `pid` from `/proc/<pid>/task/*/schedstat` (nanoseconds).
fn sched_cpu(pid: &str) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(Duration::from_nanos(total))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n = args.first().copied().unwrap_or(20) as usize;
    let snapshots = args.get(1).copied().unwrap_or(20) as usize;
    let interval = Duration::from_millis(args.get(2).copied().unwrap_or(250));

    let docker = Docker::connect_with_defaults()?
        .negotiate_version()
        .await
        .map_err(|e| format!("docker unreachable ({e}): run `bash scripts/ensure-docker.sh`"))?;
    let mut containers = Containers(Vec::new());
    for i in 0..n {
        let name = format!("scope-cost-{}-{i}", std::process::id());
        let body = ContainerCreateBody {
            image: Some(IMAGE.to_owned()),
            cmd: Some(vec!["sleep".into(), "3600".into()]),
            ..ContainerCreateBody::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = docker.create_container(Some(opts), body).await?.id;
        containers.0.push(id.clone());
        docker
            .start_container(&id, None::<StartContainerOptions>)
            .await?;
    }
    println!("started {n} containers");

    let (tx, _rx) = mpsc::channel(1024);
    let collector = DockerCollector::spawn(DockerConfig::new("cost-host", "cost-probe"), tx);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snap = collector.snapshot();
        let ready = containers.0.iter().all(|id| {
            snap.node(Kind::Container, &scope_report::NodeId::container(id))
                .is_some_and(|n| n.metrics.contains_key(keys::CONTAINER_MEMORY))
        });
        if ready {
            break;
        }
        if Instant::now() > deadline {
            return Err("containers did not appear in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let listing and the first inspects settle so only the steady state is measured.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let dockerd = std::fs::read_to_string("/var/run/docker.pid")
        .ok()
        .map(|s| s.trim().to_owned());
    let cpu_ticks0 = stat_cpu("self");
    let cpu_sched0 = sched_cpu("self");
    let dockerd0 = dockerd.as_deref().and_then(sched_cpu);
    let wall0 = Instant::now();
    let mut in_snapshot = Duration::ZERO;
    let mut nodes = HashMap::new();
    for _ in 0..snapshots {
        let t = Instant::now();
        let report = collector.snapshot();
        in_snapshot += t.elapsed();
        *nodes.entry(report.node_count()).or_insert(0) += 1;
        tokio::time::sleep(interval).await;
    }
    let wall = wall0.elapsed();
    let per = |d: Duration| d / snapshots as u32;
    let pct = |d: Duration| d.as_secs_f64() / wall.as_secs_f64() * 100.0;

    println!(
        "{snapshots} snapshots, {interval:?} apart, {n} containers; nodes per snapshot: {nodes:?}"
    );
    println!(
        "snapshot() wall time: {:?} per call ({:?} total)",
        per(in_snapshot),
        in_snapshot
    );
    if let (Some(a), Some(b)) = (cpu_sched0, sched_cpu("self")) {
        println!(
            "process CPU (schedstat, all threads): {:?} per snapshot, {:.3}% of one core over {wall:?}",
            per(b - a),
            pct(b - a)
        );
    }
    if let (Some(a), Some(b)) = (cpu_ticks0, stat_cpu("self")) {
        println!(
            "process CPU (/proc/self/stat utime+stime, 10 ms ticks): {:?} per snapshot, {:.3}% of one core",
            per(b - a),
            pct(b - a)
        );
    }
    if let (Some(a), Some(b)) = (dockerd0, dockerd.as_deref().and_then(sched_cpu)) {
        println!(
            "dockerd CPU in the same window: {:?} ({:.3}% of one core)",
            b - a,
            pct(b - a)
        );
    }
    drop(collector);
    drop(containers);
    println!("removed {n} containers");
    Ok(())
}
