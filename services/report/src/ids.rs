//! Node ids in Weave Scope's scheme. Ids are only built here, never formatted by hand elsewhere.
//!
//! - endpoint: `<scope>;<ip>;<port>`. The scope is empty for addresses that mean the same thing
//!   everywhere, the host id for addresses private to one host (e.g. a Docker bridge network), and
//!   `<host>-<netns inode>` for loopback addresses, which are private to one network namespace.
//! - process: `<host>;<pid>`
//! - container: `<container id>;<container>`, image: `<image id>;<container_image>`,
//!   host: `<host>;<host>`
//! - pseudo nodes: `pseudo:<kind>:<detail>`; the Internet is `in-theinternet` / `out-theinternet`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Separates the parts of an id.
pub const SCOPE_DELIM: char = ';';

/// A node id. Shared (`Arc<str>`): ids are copied into every map, edge and parent set that
/// names the node, and merging a tenant's reports copies them by the hundred thousand.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(Arc<str>);

/// Id of the inbound Internet pseudo node.
pub const INCOMING_INTERNET: &str = "in-theinternet";
/// Id of the outbound Internet pseudo node.
pub const OUTGOING_INTERNET: &str = "out-theinternet";

impl NodeId {
    /// Wraps an id that arrived from the wire or a URL. Only the conversion layer and lookups
    /// should need this; code that builds ids uses the constructors below.
    pub fn from_raw(s: impl Into<String>) -> NodeId {
        NodeId(Arc::from(s.into()))
    }

    /// `<scope>;<ip>;<port>`.
    pub fn endpoint(scope: &str, ip: IpAddr, port: u16) -> NodeId {
        NodeId::from_raw(format!("{scope};{ip};{port}"))
    }

    /// `<scope>;<ip>`.
    pub fn address(scope: &str, ip: IpAddr) -> NodeId {
        NodeId::from_raw(format!("{scope};{ip}"))
    }

    /// `<host>;<pid>`.
    pub fn process(host: &str, pid: u32) -> NodeId {
        NodeId::from_raw(format!("{host};{pid}"))
    }

    /// `<container id>;<container>`.
    pub fn container(container_id: &str) -> NodeId {
        NodeId::from_raw(format!("{container_id};<container>"))
    }

    /// `<image id>;<container_image>`.
    pub fn container_image(image_id: &str) -> NodeId {
        NodeId::from_raw(format!("{image_id};<container_image>"))
    }

    /// `<image name>;<container_image>`: the by-image grouping (name without tag).
    pub fn image_name(name: &str) -> NodeId {
        NodeId::from_raw(format!("{name};<container_image>"))
    }

    /// `<hostname>;<container_hostname>`: the by-hostname grouping.
    pub fn container_hostname(hostname: &str) -> NodeId {
        NodeId::from_raw(format!("{hostname};<container_hostname>"))
    }

    /// `<name>;<process_name>`: the by-name grouping of processes.
    pub fn process_name(name: &str) -> NodeId {
        NodeId::from_raw(format!("{name};<process_name>"))
    }

    /// `<host>;<host>`.
    pub fn host(host: &str) -> NodeId {
        NodeId::from_raw(format!("{host};<host>"))
    }

    /// `pseudo:uncontained:<host>`: processes of a host outside any container.
    pub fn uncontained(host: &str) -> NodeId {
        NodeId::from_raw(format!("pseudo:uncontained:{host}"))
    }

    /// `pseudo:unmanaged:<host>`.
    pub fn unmanaged(host: &str) -> NodeId {
        NodeId::from_raw(format!("pseudo:unmanaged:{host}"))
    }

    /// The inbound Internet pseudo node.
    pub fn incoming_internet() -> NodeId {
        NodeId(Arc::from(INCOMING_INTERNET))
    }

    /// The outbound Internet pseudo node.
    pub fn outgoing_internet() -> NodeId {
        NodeId(Arc::from(OUTGOING_INTERNET))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a pseudo node (Internet, uncontained, ...).
    pub fn is_pseudo(&self) -> bool {
        self.0.starts_with("pseudo:") || self.is_internet()
    }

    /// Whether this is one of the Internet pseudo nodes.
    pub fn is_internet(&self) -> bool {
        &*self.0 == INCOMING_INTERNET || &*self.0 == OUTGOING_INTERNET
    }

    /// Splits `<first>;<rest>` ids into their first part (container id, host, ...).
    pub fn first_part(&self) -> &str {
        self.0.split(SCOPE_DELIM).next().unwrap_or("")
    }

    /// Parses an endpoint id into (scope, ip, port). `None` if it is not an endpoint id.
    pub fn parse_endpoint(&self) -> Option<(&str, IpAddr, u16)> {
        let (rest, port) = self.0.rsplit_once(SCOPE_DELIM)?;
        let (scope, ip) = rest.split_once(SCOPE_DELIM)?;
        Some((scope, ip.parse().ok()?, port.parse().ok()?))
    }

    /// Parses a process id into (host, pid).
    pub fn parse_process(&self) -> Option<(&str, u32)> {
        let (host, pid) = self.0.rsplit_once(SCOPE_DELIM)?;
        Some((host, pid.parse().ok()?))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for NodeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for NodeId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// The scope for a loopback address in network namespace `netns` of `host`.
pub fn loopback_scope(host: &str, netns: u64) -> String {
    format!("{host}-{netns}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_round_trip() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let id = NodeId::endpoint("host-1", ip, 80);
        assert_eq!(id.as_str(), "host-1;10.0.0.1;80");
        assert_eq!(id.parse_endpoint(), Some(("host-1", ip, 80)));
        let v6: IpAddr = "fe80::1".parse().unwrap();
        let id6 = NodeId::endpoint("", v6, 443);
        assert_eq!(id6.parse_endpoint(), Some(("", v6, 443)));
    }

    #[test]
    fn process_and_pseudo_ids() {
        let p = NodeId::process("h", 42);
        assert_eq!(p.parse_process(), Some(("h", 42)));
        assert!(!p.is_pseudo());
        assert!(NodeId::uncontained("h").is_pseudo());
        assert!(NodeId::incoming_internet().is_internet());
        assert_eq!(NodeId::container("abc").first_part(), "abc");
        assert_eq!(NodeId::container("abc").as_str(), "abc;<container>");
        assert_eq!(NodeId::host("h").as_str(), "h;<host>");
        assert_eq!(NodeId::from_raw("garbage").parse_endpoint(), None);
    }
}
