//! Helpers for tests against the real Docker engine.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

/// The locally built test image (no registry is reachable, never pull).
pub const IMAGE: &str = "scope-test-busybox:latest";
/// The daemon's socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Connects to the real daemon, or fails the test saying how to start it.
pub async fn docker() -> Docker {
    let hint = "Docker is not reachable: run `bash scripts/ensure-docker.sh` (starts dockerd and \
                builds scope-test-busybox:latest)";
    let docker = Docker::connect_with_defaults().unwrap_or_else(|e| panic!("{hint}: {e}"));
    let docker = docker
        .negotiate_version()
        .await
        .unwrap_or_else(|e| panic!("{hint}: {e}"));
    docker.inspect_image(IMAGE).await.unwrap_or_else(|e| {
        panic!("test image {IMAGE} missing ({e}): run `bash scripts/ensure-docker.sh`")
    });
    docker
}

/// A name no other test (or test run) uses.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "scope-test-{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A container removed (forcibly) when dropped, even if the test panics.
pub struct ContainerGuard {
    pub id: String,
    pub name: String,
}

impl ContainerGuard {
    /// Creates (not starts) a container from the test image running `cmd`.
    pub async fn create(docker: &Docker, prefix: &str, cmd: &[&str]) -> ContainerGuard {
        let name = unique_name(prefix);
        let body = ContainerCreateBody {
            image: Some(IMAGE.to_owned()),
            cmd: Some(cmd.iter().map(|s| (*s).to_owned()).collect()),
            labels: Some([("scope.test".to_owned(), prefix.to_owned())].into()),
            ..ContainerCreateBody::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = docker
            .create_container(Some(opts), body)
            .await
            .expect("create container")
            .id;
        ContainerGuard { id, name }
    }

    /// Creates and starts a container.
    pub async fn run(docker: &Docker, prefix: &str, cmd: &[&str]) -> ContainerGuard {
        let c = ContainerGuard::create(docker, prefix, cmd).await;
        docker
            .start_container(&c.id, None::<StartContainerOptions>)
            .await
            .expect("start container");
        c
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        // Drop cannot await and may run inside a runtime, so clean up on a thread of its own.
        let id = self.id.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(d) = Docker::connect_with_defaults()
                    && let Ok(d) = d.negotiate_version().await
                {
                    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                    let _ = d.remove_container(&id, Some(opts)).await;
                }
            });
        })
        .join();
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A unix socket that forwards every connection to the Docker socket: lets a test make "Docker"
/// appear and disappear without touching the real daemon.
pub struct SocketProxy {
    path: PathBuf,
    tasks: JoinSet<()>,
}

impl SocketProxy {
    /// Starts listening at `path`.
    pub fn start(path: &Path) -> SocketProxy {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind proxy socket");
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            // Connections live in this inner set, so stopping the proxy cuts them all, as a
            // daemon restart would.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut client, _)) = accepted else { return };
                        conns.spawn(async move {
                            if let Ok(mut upstream) = UnixStream::connect(DOCKER_SOCKET).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                            }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        SocketProxy {
            path: path.to_owned(),
            tasks,
        }
    }

    /// Stops accepting, cuts every connection and removes the socket file.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        self.tasks.abort_all();
        let _ = std::fs::remove_file(&self.path);
    }
}
