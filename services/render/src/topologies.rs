//! The topology menu (`GET /api/topology`): every view with its options and live counts.

use serde::Serialize;

use crate::context::Ctx;
use crate::graph::Stats;
use crate::options::{OptionError, OptionGroup, Options, View};
use crate::views;

/// One entry of the topology menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopologyDesc {
    /// Display name.
    pub name: &'static str,
    /// View id.
    pub id: &'static str,
    /// Menu order.
    pub rank: u32,
    /// Hide the entry while the view is empty.
    pub hide_if_empty: bool,
    /// The view's option groups.
    pub options: Vec<OptionGroupDesc>,
    /// Where to fetch the view.
    pub url: String,
    /// Sub-views, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_topologies: Vec<TopologyDesc>,
    /// Counts with the request's options.
    pub stats: Stats,
}

/// An option group as the console's options panel reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionGroupDesc {
    /// Query parameter.
    pub id: &'static str,
    /// Value when the parameter is absent.
    #[serde(rename = "defaultValue")]
    pub default_value: &'static str,
    /// "one": exactly one value at a time.
    #[serde(rename = "selectType")]
    pub select_type: &'static str,
    /// The values.
    pub options: Vec<OptionValueDesc>,
}

/// One value of an option group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionValueDesc {
    /// Query parameter value.
    pub value: &'static str,
    /// Label.
    pub label: &'static str,
}

fn group_desc(g: &OptionGroup) -> OptionGroupDesc {
    OptionGroupDesc {
        id: g.id,
        default_value: g.default_value(),
        select_type: "one",
        options: g
            .values
            .iter()
            .map(|&(value, label)| OptionValueDesc { value, label })
            .collect(),
    }
}

/// The menu, each view rendered with its options from `params` for the counts.
pub(crate) fn list(
    ctx: &Ctx<'_>,
    params: &[(&str, &str)],
) -> Result<Vec<TopologyDesc>, OptionError> {
    let desc = |view: View| -> Result<TopologyDesc, OptionError> {
        let opts = Options::parse(view, params.iter().copied())?;
        Ok(TopologyDesc {
            name: view.name(),
            id: view.id(),
            rank: view.rank(),
            hide_if_empty: view.hide_if_empty(),
            options: view.option_groups().iter().map(|g| group_desc(g)).collect(),
            url: format!("/api/topology/{}", view.id()),
            sub_topologies: Vec::new(),
            stats: views::render(ctx, view, &opts, None).stats(),
        })
    };
    let mut out: Vec<TopologyDesc> = Vec::new();
    for view in View::ALL {
        let d = desc(view)?;
        match view.parent() {
            None => out.push(d),
            Some(parent) => {
                if let Some(p) = out.iter_mut().find(|t| t.id == parent.id()) {
                    p.sub_topologies.push(d);
                    p.sub_topologies.sort_by_key(|t| t.name);
                }
            }
        }
    }
    Ok(out)
}
