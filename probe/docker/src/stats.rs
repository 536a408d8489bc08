//! The stats-API fallback for containers whose cgroup files the probe cannot read (e.g. the
//! probe runs without the host's `/proc` or cgroup filesystem). It is rate limited by the caller,
//! because every call makes dockerd sample the cgroup twice, a second apart.

use bollard::Docker;
use bollard::models::{ContainerCpuStats, ContainerStatsResponse};
use bollard::query_parameters::StatsOptionsBuilder;
use futures::StreamExt;
use scope_report::{Millis, now_millis};
use tracing::debug;

/// One sample from the stats API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FallbackSample {
    /// When it was taken.
    pub at: Millis,
    /// Percent of one core.
    pub cpu_percent: Option<f64>,
    /// Bytes in use minus page cache.
    pub memory: Option<u64>,
    /// Memory limit Docker reports (the host's memory when unlimited).
    pub limit: Option<u64>,
}

/// One-shot stats for `id`. `stream=false` makes Docker take two samples about a second apart,
/// which gives a CPU rate without keeping a stream open.
pub(crate) async fn fetch(docker: &Docker, id: &str) -> Option<FallbackSample> {
    let opts = StatsOptionsBuilder::default().stream(false).build();
    let mut stream = Box::pin(docker.stats(id, Some(opts)));
    match stream.next().await? {
        Ok(stats) => Some(fallback_sample(&stats, now_millis())),
        Err(err) => {
            debug!(container = %id, %err, "docker stats failed");
            None
        }
    }
}

/// CPU as `docker stats` computes it (container delta over host delta, times the CPU count)
/// and memory minus page cache, as the cgroup path reports it.
pub(crate) fn fallback_sample(s: &ContainerStatsResponse, at: Millis) -> FallbackSample {
    let total = |c: Option<&ContainerCpuStats>| {
        c.and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage)
    };
    let system = |c: Option<&ContainerCpuStats>| c.and_then(|c| c.system_cpu_usage);
    let (cpu, pre) = (s.cpu_stats.as_ref(), s.precpu_stats.as_ref());
    let cpus = cpu
        .and_then(|c| c.online_cpus)
        .filter(|n| *n > 0)
        .unwrap_or(1) as f64;
    let cpu_percent = match (total(cpu), total(pre), system(cpu), system(pre)) {
        (Some(t), Some(pt), Some(sy), Some(psy)) if sy > psy && t >= pt => {
            Some((t - pt) as f64 / (sy - psy) as f64 * cpus * 100.0)
        }
        _ => None,
    };
    let mem = s.memory_stats.as_ref();
    let memory = mem.and_then(|m| m.usage).map(|usage| {
        let cache = mem
            .and_then(|m| m.stats.as_ref())
            .and_then(|st| {
                ["total_cache", "cache", "file"]
                    .iter()
                    .find_map(|k| st.get(*k).copied())
            })
            .unwrap_or(0);
        usage.saturating_sub(cache)
    });
    FallbackSample {
        at,
        cpu_percent,
        memory,
        limit: mem.and_then(|m| m.limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_fallback_computes_cpu_and_memory() {
        let json = r#"{
          "cpu_stats": {"cpu_usage": {"total_usage": 3000000000}, "system_cpu_usage": 20000000000, "online_cpus": 2},
          "precpu_stats": {"cpu_usage": {"total_usage": 2000000000}, "system_cpu_usage": 18000000000},
          "memory_stats": {"usage": 5000000, "limit": 100000000, "stats": {"cache": 1000000}}
        }"#;
        let s: ContainerStatsResponse = serde_json::from_str(json).unwrap();
        let f = fallback_sample(&s, 7);
        assert_eq!(f.cpu_percent, Some(100.0));
        assert_eq!(f.memory, Some(4_000_000));
        assert_eq!(f.limit, Some(100_000_000));
    }
}
