//! Container controls: what the console may offer for a container, and running them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bollard::Docker;
use bollard::query_parameters::{
    RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder,
};
use scope_report::{Control, NodeId};

use crate::DockerError;

/// Seconds Docker waits for a container to exit before killing it on stop and restart (as
/// Weave Scope did).
const STOP_TIMEOUT_SECS: i32 = 10;

/// A lifecycle control on one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerControl {
    /// `docker_stop_container`.
    Stop,
    /// `docker_start_container`.
    Start,
    /// `docker_restart_container`.
    Restart,
    /// `docker_pause_container`.
    Pause,
    /// `docker_unpause_container`.
    Unpause,
    /// `docker_remove_container`.
    Remove,
}

impl ContainerControl {
    /// Every control, in the order of their ranks.
    pub const ALL: [ContainerControl; 6] = [
        ContainerControl::Start,
        ContainerControl::Restart,
        ContainerControl::Pause,
        ContainerControl::Unpause,
        ContainerControl::Stop,
        ContainerControl::Remove,
    ];

    /// The control id as reports and the API carry it.
    pub fn id(self) -> &'static str {
        match self {
            ContainerControl::Stop => "docker_stop_container",
            ContainerControl::Start => "docker_start_container",
            ContainerControl::Restart => "docker_restart_container",
            ContainerControl::Pause => "docker_pause_container",
            ContainerControl::Unpause => "docker_unpause_container",
            ContainerControl::Remove => "docker_remove_container",
        }
    }

    /// Parses a control id; `None` for ids that are not container lifecycle controls.
    pub fn from_id(id: &str) -> Option<ContainerControl> {
        ContainerControl::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The control's description for the topology (human name, Font Awesome icon, rank).
    pub fn control(self) -> Control {
        let (human, icon, rank) = match self {
            ContainerControl::Start => ("Start", "fa fa-play", 3),
            ContainerControl::Restart => ("Restart", "fa fa-redo", 4),
            ContainerControl::Pause => ("Pause", "fa fa-pause", 5),
            ContainerControl::Unpause => ("Unpause", "fa fa-play", 6),
            ContainerControl::Stop => ("Stop", "fa fa-stop", 7),
            ContainerControl::Remove => ("Remove", "fa fa-trash-alt", 8),
        };
        let confirmation = match self {
            // Removing is the only control that loses data, so the console asks first.
            ContainerControl::Remove => "Remove this container?",
            _ => "",
        };
        Control {
            id: self.id().to_owned(),
            human: human.to_owned(),
            icon: icon.to_owned(),
            confirmation: confirmation.to_owned(),
            rank,
        }
    }
}

impl fmt::Display for ContainerControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for ContainerControl {
    type Err = DockerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContainerControl::from_id(s).ok_or_else(|| DockerError::UnknownControl(s.to_owned()))
    }
}

/// What a control did, for the app's reply to the console.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlOutcome {
    /// The node that no longer exists (set by remove), so the console can close its panel.
    pub removed_node: Option<NodeId>,
}

/// The controls the container topology offers.
pub(crate) fn topology_controls() -> BTreeMap<String, Control> {
    ContainerControl::ALL
        .into_iter()
        .map(|c| (c.id().to_owned(), c.control()))
        .collect()
}

/// The controls active in a state, in Weave Scope's order (`probe/docker/container.go`):
/// a paused container can only be unpaused; a running (or restarting) one restarted, paused or
/// stopped; any other (created, exited, dead) started or removed. Deleted ones offer nothing.
pub(crate) fn active_controls(state: &str) -> &'static [ContainerControl] {
    use scope_report::keys::state;
    match state {
        state::PAUSED => &[ContainerControl::Unpause],
        state::RUNNING | state::RESTARTING => &[
            ContainerControl::Restart,
            ContainerControl::Pause,
            ContainerControl::Stop,
        ],
        state::DELETED => &[],
        _ => &[ContainerControl::Start, ContainerControl::Remove],
    }
}

/// `active_controls` latest value: ids joined with ';'.
pub(crate) fn active_controls_value(state: &str) -> String {
    active_controls(state)
        .iter()
        .map(|c| c.id())
        .collect::<Vec<_>>()
        .join(";")
}

/// Runs `control` on `container_id`. Stop and restart give the container 10 s to exit.
pub(crate) async fn run(
    docker: &Docker,
    container_id: &str,
    control: ContainerControl,
) -> Result<ControlOutcome, DockerError> {
    let result = match control {
        ContainerControl::Stop => {
            let opts = StopContainerOptionsBuilder::default()
                .t(STOP_TIMEOUT_SECS)
                .build();
            docker.stop_container(container_id, Some(opts)).await
        }
        ContainerControl::Start => {
            docker
                .start_container(container_id, None::<StartContainerOptions>)
                .await
        }
        ContainerControl::Restart => {
            let opts = RestartContainerOptionsBuilder::default()
                .t(STOP_TIMEOUT_SECS)
                .build();
            docker.restart_container(container_id, Some(opts)).await
        }
        ContainerControl::Pause => docker.pause_container(container_id).await,
        ContainerControl::Unpause => docker.unpause_container(container_id).await,
        ContainerControl::Remove => {
            // Not forced: the console only offers remove for stopped containers, and a running
            // one should be stopped deliberately first.
            let opts = RemoveContainerOptionsBuilder::default().build();
            docker.remove_container(container_id, Some(opts)).await
        }
    };
    match result {
        Ok(()) => Ok(ControlOutcome {
            removed_node: (control == ContainerControl::Remove)
                .then(|| NodeId::container(container_id)),
        }),
        Err(err) if is_not_found(&err) => {
            Err(DockerError::NoSuchContainer(container_id.to_owned()))
        }
        Err(err) => Err(DockerError::Api(err)),
    }
}

/// Whether Docker answered 404.
pub(crate) fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use scope_report::keys::state;

    #[test]
    fn ids_round_trip() {
        for c in ContainerControl::ALL {
            assert_eq!(ContainerControl::from_id(c.id()), Some(c));
            assert_eq!(c.id().parse::<ContainerControl>().unwrap(), c);
        }
        assert!(ContainerControl::from_id("docker_exec_container").is_none());
        assert!(matches!(
            "nope".parse::<ContainerControl>(),
            Err(DockerError::UnknownControl(_))
        ));
    }

    #[test]
    fn active_controls_follow_the_state() {
        assert_eq!(
            active_controls_value(state::RUNNING),
            "docker_restart_container;docker_pause_container;docker_stop_container"
        );
        assert_eq!(
            active_controls_value(state::PAUSED),
            "docker_unpause_container"
        );
        for stopped in [state::EXITED, state::CREATED, state::DEAD] {
            assert_eq!(
                active_controls_value(stopped),
                "docker_start_container;docker_remove_container"
            );
        }
        assert_eq!(active_controls_value(state::DELETED), "");
    }

    #[test]
    fn topology_controls_have_names_icons_and_confirmation() {
        let controls = topology_controls();
        assert_eq!(controls.len(), 6);
        let remove = &controls["docker_remove_container"];
        assert_eq!(remove.human, "Remove");
        assert_eq!(remove.icon, "fa fa-trash-alt");
        assert_eq!(remove.confirmation, "Remove this container?");
        assert_eq!(controls["docker_stop_container"].icon, "fa fa-stop");
        assert_eq!(controls["docker_restart_container"].icon, "fa fa-redo");
        assert_eq!(controls["docker_pause_container"].icon, "fa fa-pause");
        assert_eq!(controls["docker_unpause_container"].icon, "fa fa-play");
        assert_eq!(controls["docker_start_container"].icon, "fa fa-play");
        assert!(controls.values().all(|c| !c.human.is_empty()));
    }
}
