//! The Scope probe: scans this host (processes, connections, Docker) every spy interval,
//! publishes a report every publish interval over one gRPC stream to the app tier, and runs the
//! controls the app asks for that this host allows.

pub mod client;
pub mod config;
pub mod logging;
pub mod publisher;
pub mod queue;
pub mod spy;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use scope_probe_docker::{ContainerControl, DockerCollector, DockerConfig};
use scope_probe_procfs::{Collectors, CollectorsConfig, ProcFs};
use scope_proto::v1 as pb;
use scope_report::{NodeId, Report, now_millis};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::client::{ClientSettings, ControlHandler, stopped};
use crate::config::ProbeConfig;
use crate::queue::ReportQueue;
use crate::spy::Spy;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the probe until `shutdown` turns true.
pub async fn run(cfg: ProbeConfig, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let procfs = ProcFs::new(&cfg.proc_root);
    let host_id = match &cfg.hostname {
        Some(h) => h.clone(),
        None => procfs
            .hostname()
            .context("cannot read the host name; pass --hostname")?,
    };
    let probe_id = format!("{:016x}", rand::random::<u64>());
    let ca_pem = match &cfg.ca_file {
        Some(p) => Some(
            std::fs::read(p).with_context(|| format!("cannot read --ca-file {}", p.display()))?,
        ),
        None => None,
    };
    for a in &cfg.addresses {
        client::address_uri(a)?;
    }

    let mut pc = CollectorsConfig::new(host_id.clone(), VERSION, probe_id.clone());
    pc.process.omit_cmd_args = cfg.omit_cmd_args;
    pc.spy_connections = !cfg.no_connections && !cfg.no_processes;
    pc.connections.max_endpoints = cfg.max_endpoints;
    pc.connections.conntrack = !cfg.no_conntrack;
    let procfs_collectors = Collectors::new(&procfs, pc);

    let (shortcut_tx, shortcut_rx) = mpsc::channel::<Report>(1024);
    let docker = (!cfg.no_docker).then(|| {
        let mut dc = DockerConfig::new(host_id.clone(), probe_id.clone());
        dc.proc_root = cfg.proc_root.clone();
        Arc::new(DockerCollector::spawn(dc, shortcut_tx.clone()))
    });

    let mut capabilities = vec!["host".to_owned()];
    if !cfg.no_processes {
        capabilities.push("processes".to_owned());
    }
    if !cfg.no_connections && !cfg.no_processes {
        capabilities.push("connections".to_owned());
    }
    if docker.is_some() {
        capabilities.push("docker".to_owned());
    }
    let allowed: HashSet<String> = cfg.allowed_controls().into_iter().collect();
    if !allowed.is_empty() {
        capabilities.push("controls".to_owned());
    }

    if !scope_checkpoint::checkpoint_disabled_from_env() {
        let mut params = scope_checkpoint::CheckParams::new("scope-probe", VERSION);
        params.base_url = cfg.checkpoint_url.clone();
        params
            .flags
            .push(("docker_enabled".into(), docker.is_some().to_string()));
        scope_checkpoint::spawn(params, |_| {});
    }

    let queue = Arc::new(ReportQueue::new(cfg.queue_size as usize));
    let settings = ClientSettings {
        addresses: cfg.addresses.clone(),
        token: cfg.service_token.expose().to_owned(),
        ca_pem,
        hello: pb::Hello {
            probe_id: probe_id.clone(),
            hostname: host_id.clone(),
            version: VERSION.to_owned(),
            capabilities,
        },
        full_every: cfg.full_report_every,
        backoff: (Duration::from_secs(1), Duration::from_secs(60)),
    };
    let controls = Arc::new(ProbeControls {
        allowed,
        docker: docker.clone(),
    });
    info!(probe_id = %probe_id, host = %host_id, apps = ?cfg.addresses, "probe starting");
    let client = tokio::spawn(client::run(
        settings,
        queue.clone(),
        shortcut_rx,
        controls,
        shutdown.clone(),
    ));

    let mut spy = Some(Spy {
        procfs: procfs_collectors,
        docker,
        report_processes: !cfg.no_processes,
    });
    let mut spy_tick = tokio::time::interval(cfg.spy_interval);
    spy_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut publish_tick = tokio::time::interval(cfg.publish_interval);
    publish_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    publish_tick.reset();
    let mut pending: Option<Report> = None;
    loop {
        tokio::select! {
            _ = spy_tick.tick() => {
                let mut s = spy.take().expect("spy is returned after every scan");
                let started = std::time::Instant::now();
                // /proc reads block: keep them off the async workers.
                let (s, report) = tokio::task::spawn_blocking(move || {
                    let r = s.scan(now_millis());
                    (s, r)
                })
                .await
                .context("scan task failed")?;
                spy = Some(s);
                if started.elapsed() > cfg.spy_interval {
                    warn!(took_ms = started.elapsed().as_millis() as u64, "scanning the host took longer than the spy interval");
                }
                match pending.as_mut() {
                    Some(p) => p.merge_owned(report),
                    None => pending = Some(report),
                }
            }
            _ = publish_tick.tick() => {
                if let Some(mut report) = pending.take() {
                    report.window_ms = cfg.publish_interval.as_millis() as i64;
                    if queue.push(report) {
                        warn!(dropped = queue.dropped(), "report queue full: the app is unreachable or slow; dropped the oldest report");
                    }
                }
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    let _ = client.await;
    info!("probe stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM: how both binaries (`scope`, `scope-probe`) are told to stop.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Runs the controls this probe allows.
struct ProbeControls {
    allowed: HashSet<String>,
    docker: Option<Arc<DockerCollector>>,
}

impl ControlHandler for ProbeControls {
    fn handle(
        &self,
        req: pb::ControlRequest,
    ) -> Pin<Box<dyn Future<Output = pb::ControlReply> + Send>> {
        let allowed = self.allowed.contains(&req.control);
        let docker = self.docker.clone();
        Box::pin(async move {
            let mut reply = pb::ControlReply {
                request_id: req.request_id.clone(),
                ..Default::default()
            };
            info!(control = %req.control, node = %req.node_id, requested_by = %req.requested_by, allowed, "control requested");
            if !allowed {
                reply.error = format!(
                    "control {} is not enabled on this probe (start it with --controls lifecycle or --controls {})",
                    req.control, req.control
                );
                return reply;
            }
            let (Some(control), Some(docker)) = (ContainerControl::from_id(&req.control), docker)
            else {
                reply.error = format!("control {} is not available on this probe", req.control);
                return reply;
            };
            let container = NodeId::from_raw(req.node_id.clone());
            match docker.run_control(container.first_part(), control).await {
                Ok(outcome) => {
                    reply.removed_node = outcome
                        .removed_node
                        .map(|n| n.as_str().to_owned())
                        .unwrap_or_default();
                }
                Err(e) => reply.error = e.to_string(),
            }
            info!(control = %req.control, node = %req.node_id, error = %reply.error, "control finished");
            reply
        })
    }
}
