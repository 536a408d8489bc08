//! Docker events: which ones we subscribe to and what each means for the registry.

use std::collections::HashMap;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptions, EventsOptionsBuilder};

/// Container actions that change what we report about a container.
const CONTAINER_ACTIONS: &[&str] = &[
    "create", "destroy", "rename", "start", "die", "kill", "stop", "pause", "unpause", "restart",
];
/// Network actions: membership changes alter a container's IPs; the rest the network list.
const NETWORK_ACTIONS: &[&str] = &["connect", "disconnect", "create", "destroy", "remove"];
/// Image actions that change the image list.
const IMAGE_ACTIONS: &[&str] = &["pull", "push", "tag", "untag", "delete", "import", "load"];

/// What to do about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventAction {
    /// Re-inspect this container and send a shortcut report.
    Inspect(String),
    /// The container is gone: drop it and send a shortcut marking it deleted.
    Destroyed(String),
    /// Re-list images.
    RefreshImages,
    /// Re-list networks.
    RefreshNetworks,
}

/// Options for the event subscription: only the event types and actions we act on, so the
/// daemon filters out noise such as exec and health-check events.
///
/// `since` (Unix seconds) makes Docker replay events from just before we listed containers:
/// subscribing after the list would otherwise lose events that happen in between, and replaying a
/// few extra only costs an idempotent re-inspect.
pub(crate) fn subscription(since: i64) -> EventsOptions {
    let mut actions: Vec<&str> = Vec::new();
    for a in CONTAINER_ACTIONS
        .iter()
        .chain(NETWORK_ACTIONS)
        .chain(IMAGE_ACTIONS)
    {
        if !actions.contains(a) {
            actions.push(a);
        }
    }
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([
        ("type", vec!["container", "network", "image"]),
        ("event", actions),
    ]);
    EventsOptionsBuilder::default()
        .since(&since.to_string())
        .filters(&filters)
        .build()
}

/// Maps an event to what the registry must do; `None` for events we do not act on.
pub(crate) fn classify(ev: &EventMessage) -> Option<EventAction> {
    let action = ev.action.as_deref()?;
    let actor = ev.actor.as_ref();
    let actor_id = actor.and_then(|a| a.id.clone()).filter(|id| !id.is_empty());
    match ev.typ? {
        EventMessageTypeEnum::CONTAINER if CONTAINER_ACTIONS.contains(&action) => {
            let id = actor_id?;
            Some(if action == "destroy" {
                EventAction::Destroyed(id)
            } else {
                EventAction::Inspect(id)
            })
        }
        EventMessageTypeEnum::NETWORK if action == "connect" || action == "disconnect" => {
            // The actor is the network; the container is an attribute.
            let container = actor
                .and_then(|a| a.attributes.as_ref())
                .and_then(|attrs| attrs.get("container"))
                .filter(|c| !c.is_empty())?;
            Some(EventAction::Inspect(container.clone()))
        }
        EventMessageTypeEnum::NETWORK if NETWORK_ACTIONS.contains(&action) => {
            Some(EventAction::RefreshNetworks)
        }
        EventMessageTypeEnum::IMAGE if IMAGE_ACTIONS.contains(&action) => {
            Some(EventAction::RefreshImages)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn event(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attrs: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some(id.to_owned()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            }),
            ..EventMessage::default()
        }
    }

    #[test]
    fn container_events() {
        use EventMessageTypeEnum::CONTAINER;
        for action in [
            "create", "start", "die", "kill", "stop", "pause", "unpause", "restart", "rename",
        ] {
            assert_eq!(
                classify(&event(CONTAINER, action, "c1", &[])),
                Some(EventAction::Inspect("c1".into())),
                "{action}"
            );
        }
        assert_eq!(
            classify(&event(CONTAINER, "destroy", "c1", &[])),
            Some(EventAction::Destroyed("c1".into()))
        );
        assert_eq!(
            classify(&event(CONTAINER, "exec_start: sh", "c1", &[])),
            None
        );
        assert_eq!(classify(&event(CONTAINER, "start", "", &[])), None);
    }

    #[test]
    fn network_and_image_events() {
        use EventMessageTypeEnum::{IMAGE, NETWORK, VOLUME};
        assert_eq!(
            classify(&event(NETWORK, "connect", "net1", &[("container", "c9")])),
            Some(EventAction::Inspect("c9".into()))
        );
        assert_eq!(classify(&event(NETWORK, "disconnect", "net1", &[])), None);
        assert_eq!(
            classify(&event(NETWORK, "create", "net1", &[])),
            Some(EventAction::RefreshNetworks)
        );
        assert_eq!(
            classify(&event(IMAGE, "untag", "sha256:1", &[])),
            Some(EventAction::RefreshImages)
        );
        assert_eq!(classify(&event(VOLUME, "create", "v", &[])), None);
    }

    #[test]
    fn subscription_filters_types_and_actions() {
        let opts = subscription(1_700_000_000);
        assert_eq!(opts.since.as_deref(), Some("1700000000"));
        let filters = opts.filters.expect("filters");
        assert_eq!(filters["type"], ["container", "network", "image"]);
        let events = &filters["event"];
        for a in ["destroy", "connect", "untag", "start"] {
            assert!(events.iter().any(|e| e == a), "{a}");
        }
        assert_eq!(events.iter().filter(|e| *e == "create").count(), 1);
    }
}
