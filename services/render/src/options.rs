//! Views (the API's topologies) and their options, parsed from query parameters.

use std::fmt;

/// A topology view, by its API id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// "processes": processes and the connections between them.
    Processes,
    /// "processes-by-name": processes grouped by name.
    ProcessesByName,
    /// "containers": containers, uncontained processes per host, the Internet.
    Containers,
    /// "containers-by-image": containers grouped by image name (no tag).
    ContainersByImage,
    /// "containers-by-hostname": containers grouped by their DNS hostname.
    ContainersByHostname,
    /// "hosts": hosts.
    Hosts,
}

impl View {
    /// Every view, top-level views before their sub-views.
    pub const ALL: [View; 6] = [
        View::Processes,
        View::ProcessesByName,
        View::Containers,
        View::ContainersByImage,
        View::ContainersByHostname,
        View::Hosts,
    ];

    /// The API id ("containers-by-image").
    pub fn id(self) -> &'static str {
        match self {
            View::Processes => "processes",
            View::ProcessesByName => "processes-by-name",
            View::Containers => "containers",
            View::ContainersByImage => "containers-by-image",
            View::ContainersByHostname => "containers-by-hostname",
            View::Hosts => "hosts",
        }
    }

    /// The view with API id `id`.
    pub fn from_id(id: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.id() == id)
    }

    /// Display name, as Scope's topology menu shows it.
    pub fn name(self) -> &'static str {
        match self {
            View::Processes => "Processes",
            View::ProcessesByName => "by name",
            View::Containers => "Containers",
            View::ContainersByImage => "by image",
            View::ContainersByHostname => "by DNS name",
            View::Hosts => "Hosts",
        }
    }

    /// The view this one is a sub-view of.
    pub fn parent(self) -> Option<View> {
        match self {
            View::ProcessesByName => Some(View::Processes),
            View::ContainersByImage | View::ContainersByHostname => Some(View::Containers),
            _ => None,
        }
    }

    /// Menu order of top-level views (sub-views: 0).
    pub fn rank(self) -> u32 {
        match self {
            View::Processes => 1,
            View::Containers => 2,
            View::Hosts => 4,
            _ => 0,
        }
    }

    /// Whether the console hides the view when it has no nodes.
    pub fn hide_if_empty(self) -> bool {
        matches!(self, View::Processes | View::ProcessesByName)
    }

    /// The option groups this view accepts.
    pub fn option_groups(self) -> &'static [&'static OptionGroup] {
        static PROCESS_GROUPS: [&OptionGroup; 1] = [&UNCONNECTED];
        static CONTAINER_GROUPS: [&OptionGroup; 3] = [&SYSTEM, &STOPPED, &PSEUDO];
        match self {
            View::Processes | View::ProcessesByName => &PROCESS_GROUPS,
            View::Containers | View::ContainersByImage | View::ContainersByHostname => {
                &CONTAINER_GROUPS
            }
            View::Hosts => &[],
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One option group: a query parameter and the values it takes. The first value is the default.
#[derive(Debug, PartialEq, Eq)]
pub struct OptionGroup {
    /// Query parameter name.
    pub id: &'static str,
    /// (value, label) pairs; the first is the default.
    pub values: &'static [(&'static str, &'static str)],
}

impl OptionGroup {
    /// The default value.
    pub fn default_value(&self) -> &'static str {
        self.values[0].0
    }
}

/// "unconnected": show or hide processes with no connections.
pub static UNCONNECTED: OptionGroup = OptionGroup {
    id: "unconnected",
    values: &[("hide", "Hide unconnected"), ("show", "Show unconnected")],
};

/// "system": application, system or all containers.
pub static SYSTEM: OptionGroup = OptionGroup {
    id: "system",
    values: &[
        ("application", "Application containers"),
        ("system", "System containers"),
        ("all", "All"),
    ],
};

/// "stopped": running, stopped or both.
pub static STOPPED: OptionGroup = OptionGroup {
    id: "stopped",
    values: &[
        ("running", "Running containers"),
        ("stopped", "Stopped containers"),
        ("both", "Both"),
    ],
};

/// "pseudo": show or hide the per-host "Uncontained" nodes.
pub static PSEUDO: OptionGroup = OptionGroup {
    id: "pseudo",
    values: &[("hide", "Hide uncontained"), ("show", "Show uncontained")],
};

/// Which containers the "system" option keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemFilter {
    /// Only application containers (the default).
    #[default]
    Application,
    /// Only system containers (Scope's own, pause containers, ...).
    System,
    /// Every container.
    All,
}

/// Which containers the "stopped" option keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoppedFilter {
    /// Running, paused or restarting containers (the default).
    #[default]
    Running,
    /// Exited, created or dead containers.
    Stopped,
    /// Both.
    Both,
}

/// Options of one render; fields a view does not use keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// "unconnected": show processes without connections.
    pub show_unconnected: bool,
    /// "system".
    pub system: SystemFilter,
    /// "stopped".
    pub stopped: StoppedFilter,
    /// "pseudo": show the "Uncontained" pseudo nodes.
    pub show_uncontained: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            show_unconnected: false,
            system: SystemFilter::Application,
            stopped: StoppedFilter::Running,
            show_uncontained: false,
        }
    }
}

/// A query parameter named an option of the view with a value the option does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for option {option:?}; expected one of {}", expected_list(.expected))]
pub struct OptionError {
    /// The option (query parameter).
    pub option: &'static str,
    /// The value given.
    pub value: String,
    /// The values it takes.
    pub expected: Vec<&'static str>,
}

fn expected_list(expected: &[&str]) -> String {
    expected.join(", ")
}

impl Options {
    /// Parses the options of `view` from query parameters. Parameters that are not options of
    /// this view are ignored (the API passes `t`, `timestamp` and others); a known option with an
    /// unknown value is an error, so a typo does not silently show a different graph.
    pub fn parse<I, K, V>(view: View, params: I) -> Result<Options, OptionError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut out = Options::default();
        for (k, v) in params {
            let (k, v) = (k.as_ref(), v.as_ref());
            let Some(group) = view.option_groups().iter().find(|g| g.id == k) else {
                continue;
            };
            if !group.values.iter().any(|(val, _)| *val == v) {
                return Err(OptionError {
                    option: group.id,
                    value: v.to_owned(),
                    expected: group.values.iter().map(|(val, _)| *val).collect(),
                });
            }
            match (group.id, v) {
                ("unconnected", v) => out.show_unconnected = v == "show",
                ("pseudo", v) => out.show_uncontained = v == "show",
                ("system", "system") => out.system = SystemFilter::System,
                ("system", "all") => out.system = SystemFilter::All,
                ("system", _) => out.system = SystemFilter::Application,
                ("stopped", "stopped") => out.stopped = StoppedFilter::Stopped,
                ("stopped", "both") => out.stopped = StoppedFilter::Both,
                ("stopped", _) => out.stopped = StoppedFilter::Running,
                _ => {}
            }
        }
        Ok(out)
    }

    /// [`Options::parse`] over owned pairs, e.g. a parsed query string.
    pub fn from_pairs(view: View, params: &[(String, String)]) -> Result<Options, OptionError> {
        Options::parse(view, params.iter().map(|(k, v)| (k, v)))
    }

    /// The value this view's group `group` has in these options (for echoing them back).
    pub fn value_of(&self, group: &OptionGroup) -> &'static str {
        match group.id {
            "unconnected" if self.show_unconnected => "show",
            "pseudo" if self.show_uncontained => "show",
            "system" => match self.system {
                SystemFilter::Application => "application",
                SystemFilter::System => "system",
                SystemFilter::All => "all",
            },
            "stopped" => match self.stopped {
                StoppedFilter::Running => "running",
                StoppedFilter::Stopped => "stopped",
                StoppedFilter::Both => "both",
            },
            _ => group.default_value(),
        }
    }
}
