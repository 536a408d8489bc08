//! How Scope names things: image names without tags, container display names.

use scope_report::{Node, keys};

/// The image name used to group containers: the tag (and any digest) stripped and, when the
/// name has three or more path parts, the leading registry host dropped
/// ("quay.io/org/app:1.2" -> "org/app"), as Scope's `containerImageNodeID` does.
///
/// Unlike Scope this only strips a `:tag` after the last `/`, so a registry port
/// ("localhost:5000/app:1") is not mistaken for a tag.
pub fn image_name_without_tag(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    let mut parts = name.splitn(3, '/');
    let name = match (parts.next(), parts.next(), parts.next()) {
        (Some(registry), Some(_), Some(_)) => &name[registry.len() + 1..],
        _ => name,
    };
    strip_tag(name)
}

/// An image name without its tag or digest, registry kept ("quay.io/org/app:1.2" ->
/// "quay.io/org/app"), for display.
pub fn strip_tag(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].find(':') {
        Some(colon) => &name[..last_slash + colon],
        None => name,
    }
}

/// The tag of an image name ("app:1.2" -> "1.2"), if it has one.
pub fn image_tag(name: &str) -> Option<&str> {
    let name = name.split('@').next().unwrap_or(name);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    name[last_slash..].split_once(':').map(|(_, tag)| tag)
}

/// Labels orchestrators set with the container's real name, when its Docker name is mangled.
const NAME_LABELS: [&str; 2] = [
    "docker_label_com.amazonaws.ecs.container-name",
    "docker_label_io.kubernetes.container.name",
];

/// A user-friendly container name: an orchestrator's name label, the Docker name without its
/// leading '/', the hostname, or the id cut to 12 characters.
pub fn container_name<'a>(n: &'a Node, container_id: &'a str) -> &'a str {
    for key in NAME_LABELS {
        if let Some(v) = n.get(key) {
            return v;
        }
    }
    if let Some(name) = n.get(keys::CONTAINER_NAME) {
        return name.strip_prefix('/').unwrap_or(name);
    }
    if let Some(h) = n.get(keys::CONTAINER_HOSTNAME) {
        return h;
    }
    truncate(container_id, 12)
}

/// The first `n` characters of `s` (ids are ASCII, but never split a UTF-8 sequence).
pub fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        assert_eq!(image_name_without_tag("nginx"), "nginx");
        assert_eq!(image_name_without_tag("nginx:1.25"), "nginx");
        assert_eq!(
            image_name_without_tag("library/nginx:1.25"),
            "library/nginx"
        );
        assert_eq!(
            image_name_without_tag("registry.example/app1:1.0"),
            "registry.example/app1"
        );
        assert_eq!(image_name_without_tag("quay.io/org/app:1.2"), "org/app");
        assert_eq!(
            image_name_without_tag("quay.io/org/team/app:1.2"),
            "org/team/app"
        );
        assert_eq!(
            image_name_without_tag("localhost:5000/app:3"),
            "localhost:5000/app"
        );
        assert_eq!(image_name_without_tag("app@sha256:abc"), "app");
        assert_eq!(strip_tag("quay.io/org/app:1.2"), "quay.io/org/app");
        assert_eq!(image_tag("quay.io/org/app:1.2"), Some("1.2"));
        assert_eq!(image_tag("localhost:5000/app"), None);
        assert_eq!(truncate("0123456789abcdef", 12), "0123456789ab");
        assert_eq!(truncate("abc", 12), "abc");
    }
}
