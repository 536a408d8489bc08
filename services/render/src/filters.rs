//! Container predicates behind the "system" and "stopped" options (Scope's `render/filters.go`).

use scope_report::{Node, keys};

use crate::context::Cont;
use crate::latest::scan;
use crate::options::{Options, StoppedFilter, SystemFilter};

/// Names of Scope's and Weave's own containers (and ours: `scope launch` names it "scope").
const SYSTEM_NAMES: [&str; 7] = [
    "weavescope",
    "scope",
    "weavedns",
    "weave",
    "weaveproxy",
    "weaveexec",
    "ecs-agent",
];

/// Image names (tag stripped) of infrastructure containers.
const SYSTEM_IMAGES: [&str; 9] = [
    "swarm",
    "weaveworks/scope",
    "weaveworks/weavedns",
    "weaveworks/weave",
    "weaveworks/weaveproxy",
    "weaveworks/weaveexec",
    "amazon/amazon-ecs-agent",
    "openshift/origin-pod",
    "docker.io/openshift/origin-pod",
];

/// Kubernetes pause ("sandbox") images hold a pod's namespaces and run nothing of interest.
const PAUSE_IMAGES: [&str; 7] = [
    "google_containers/pause",
    "k8s.gcr.io/pause",
    "registry.k8s.io/pause",
    "eks/pause",
    "kubernetes/pause",
    "rancher/pause",
    "kubesphere/pause",
];

// Latest keys of the Docker labels that mark system containers (keys::LABEL_PREFIX + label).
const ROLE_LABEL: &str = "docker_label_works.weave.role";
const IMAGE_ROLE_LABEL: &str = "docker_image_label_works.weave.role";
const K8S_TYPE_LABEL: &str = "docker_label_io.kubernetes.docker.type";
const K8S_NAMESPACE_LABEL: &str = "docker_label_io.kubernetes.pod.namespace";
const K8S_POD_LABEL: &str = "docker_label_io.kubernetes.pod.name";

/// Whether a container is infrastructure rather than an application.
pub(crate) fn is_system(n: &Node, image_name: Option<&str>) -> bool {
    let [name, role, image_role, k8s_type, k8s_namespace, k8s_pod] = scan(
        n,
        &[
            keys::CONTAINER_NAME,
            ROLE_LABEL,
            IMAGE_ROLE_LABEL,
            K8S_TYPE_LABEL,
            K8S_NAMESPACE_LABEL,
            K8S_POD_LABEL,
        ],
    );
    let name = name.unwrap_or("");
    if SYSTEM_NAMES.contains(&name.strip_prefix('/').unwrap_or(name)) {
        return true;
    }
    if let Some(image) = image_name {
        // Scope compares the part before the first ':' (it keeps a registry host).
        let prefix = image.split(':').next().unwrap_or(image);
        if SYSTEM_IMAGES.contains(&prefix) || PAUSE_IMAGES.iter().any(|p| image.contains(p)) {
            return true;
        }
    }
    role == Some("system")
        || image_role == Some("system")
        || k8s_type == Some("podsandbox")
        || k8s_namespace == Some("kube-system")
        || k8s_pod.is_some_and(|p| p.starts_with("kube-system/"))
}

/// Whether a container counts as running: running, paused or restarting, or no state at all
/// (a container only known from a process is running by definition).
pub(crate) fn is_running(state: Option<&str>) -> bool {
    match state {
        None => true,
        Some(s) => matches!(
            s,
            keys::state::RUNNING | keys::state::PAUSED | keys::state::RESTARTING
        ),
    }
}

/// Whether the options show this container.
pub(crate) fn keep_container(opts: &Options, c: &Cont<'_>) -> bool {
    let system_ok = match opts.system {
        SystemFilter::Application => !c.system,
        SystemFilter::System => c.system,
        SystemFilter::All => true,
    };
    let stopped_ok = match opts.stopped {
        StoppedFilter::Running => is_running(c.state),
        StoppedFilter::Stopped => !is_running(c.state),
        StoppedFilter::Both => true,
    };
    system_ok && stopped_ok
}
