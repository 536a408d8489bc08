//! Well-known latest, set and metric keys. Probes write them, render reads them; keeping them in
//! one place keeps both sides in step.

// Every node.
/// Which probe reported the node (routes controls back to it).
pub const CONTROL_PROBE_ID: &str = "control_probe_id";
/// Active control ids, joined with ';'.
pub const ACTIVE_CONTROLS: &str = "active_controls";
/// The host id of the node's host (processes, containers, images, endpoints with a pid).
pub const HOST_NODE_ID: &str = "host_node_id";

// Host.
pub const HOST_NAME: &str = "host_name";
pub const OS: &str = "os";
pub const KERNEL_VERSION: &str = "kernel_version";
pub const UPTIME: &str = "uptime";
pub const SCOPE_VERSION: &str = "host_scope_version";
/// Set: every interface address of the host as a CIDR with its prefix.
pub const LOCAL_NETWORKS: &str = "local_networks";
pub const HOST_CPU: &str = "host_cpu_usage_percent";
pub const HOST_MEMORY: &str = "host_mem_usage_bytes";
pub const LOAD1: &str = "load1";
pub const LOAD5: &str = "load5";
pub const LOAD15: &str = "load15";

// Process.
pub const PID: &str = "pid";
pub const PPID: &str = "ppid";
pub const NAME: &str = "name";
pub const CMDLINE: &str = "cmdline";
pub const THREADS: &str = "threads";
pub const PROCESS_CPU: &str = "process_cpu_usage_percent";
pub const PROCESS_MEMORY: &str = "process_memory_usage_bytes";
pub const OPEN_FILES: &str = "open_files_count";
/// Set on processes by the docker tagger.
pub const DOCKER_CONTAINER_ID: &str = "docker_container_id";

// Endpoint.
pub const ADDR: &str = "addr";
pub const PORT: &str = "port";
/// Network namespace inode of the socket.
pub const NETNS: &str = "netns";
/// Number of connections this endpoint pair stands for.
pub const CONN_COUNT: &str = "conn_count";
/// Host: where the probe learns of connections (`conntrack+sockets`, or `sockets` when
/// conntrack is not available and connections shorter than a scan can be missed).
pub const CONNECTION_SOURCES: &str = "connection_sources";
/// Host: connections folded into another endpoint's `conn_count` in the last scan (a storm of
/// new connections between the same pair), absent when none.
pub const CONNECTIONS_SUMMARISED: &str = "connections_summarised";

// Container.
pub const CONTAINER_ID: &str = "docker_container_id";
pub const CONTAINER_NAME: &str = "docker_container_name";
pub const CONTAINER_IMAGE: &str = "docker_image_id";
pub const CONTAINER_IMAGE_NAME: &str = "docker_image_name";
pub const CONTAINER_COMMAND: &str = "docker_container_command";
pub const CONTAINER_STATE: &str = "docker_container_state";
pub const CONTAINER_STATE_HUMAN: &str = "docker_container_state_human";
pub const CONTAINER_CREATED: &str = "docker_container_created";
pub const CONTAINER_RESTART_COUNT: &str = "docker_container_restart_count";
pub const CONTAINER_HOSTNAME: &str = "docker_container_hostname";
pub const CONTAINER_PID: &str = "docker_container_pid";
pub const CONTAINER_NETWORK_MODE: &str = "docker_container_network_mode";
pub const CONTAINER_UPTIME: &str = "docker_container_uptime";
/// Set: IP addresses of the container.
pub const CONTAINER_IPS: &str = "docker_container_ips";
/// Set: "<scope>;<ip>" addresses (scoped like endpoint ids).
pub const CONTAINER_IPS_WITH_SCOPES: &str = "docker_container_ips_with_scopes";
/// Set: network names.
pub const CONTAINER_NETWORKS: &str = "docker_container_networks";
/// Set: port mappings "0.0.0.0:8080->80/tcp".
pub const CONTAINER_PORTS: &str = "docker_container_ports";
/// Latest prefix for labels: "docker_label_<key>".
pub const LABEL_PREFIX: &str = "docker_label_";
pub const CONTAINER_CPU: &str = "docker_cpu_total_usage";
pub const CONTAINER_MEMORY: &str = "docker_memory_usage";

// Container image.
pub const IMAGE_ID: &str = "docker_image_id";
pub const IMAGE_NAME: &str = "docker_image_name";
pub const IMAGE_TAG: &str = "docker_image_tag";
pub const IMAGE_SIZE: &str = "docker_image_size";
pub const IMAGE_VIRTUAL_SIZE: &str = "docker_image_virtual_size";
/// Latest prefix for image labels: "docker_image_label_<key>".
pub const IMAGE_LABEL_PREFIX: &str = "docker_image_label_";

/// Container states as Docker names them.
pub mod state {
    pub const RUNNING: &str = "running";
    pub const PAUSED: &str = "paused";
    pub const RESTARTING: &str = "restarting";
    pub const EXITED: &str = "exited";
    pub const CREATED: &str = "created";
    pub const DEAD: &str = "dead";
    pub const DELETED: &str = "deleted";
}
