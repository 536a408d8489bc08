//! Scope's render pipeline: a merged [`Report`] in, topology views out. Pure: no I/O, no async,
//! no clocks; every function is a function of its arguments.
//!
//! - [`networks`]: the tenant's local networks in a prefix trie; decides Internet vs local.
//! - [`View`] and [`Options`]: the six views and their query-parameter options.
//! - [`summaries`]: a view as `{id: NodeSummary}` (`GET /api/topology/{view}`).
//! - [`node_details`]: one node's details panel (`GET /api/topology/{view}/{id}`).
//! - [`topology_list`]: the menu with counts (`GET /api/topology`).
//! - [`diff`] / [`reset`]: WebSocket frames between two renders.
//!
//! [`Renderer`] indexes a report once and renders several views from it; the free functions
//! are shorthands that render one view.
//!
//! The JSON types serialize exactly as Weave Scope's API (field names like `labelMinor`,
//! `topologyId`, optional fields omitted), so the console can read them unchanged. As in Scope,
//! metric rows in a view carry only the newest value; node details carry the samples too.
//! Summary strings are [`Text`] (shared, immutable): a big view repeats the same names and ids
//! thousands of times.
//!
//! Everything here is synchronous and CPU-bound (tens of milliseconds for a 100-host tenant):
//! call it from a blocking context, once per report change, and share the result.

mod context;
mod detail;
mod diff;
mod filters;
mod fxhash;
mod graph;
mod json;
mod latest;
mod names;
pub mod networks;
mod options;
mod summary;
mod templates;
mod text;
mod topologies;
mod views;

use std::collections::BTreeMap;

use serde::Serialize;

use scope_report::Report;

pub use detail::{ChildGroup, Connection, ConnectionsSummary, ControlInstance, NodeDetails};
pub use diff::{diff, reset};
pub use graph::{NodeKind, RenderedTopology, Stats};
pub use json::{
    Column, Diff, MetadataRow, MetricRow, NodeSummary, Parent, SampleRow, Table, TableEntries,
    TableRow, rfc3339,
};
pub use names::{image_name_without_tag, image_tag};
pub use networks::{LinearNetworks, LocalNetworks};
pub use options::{
    OptionError, OptionGroup, Options, PSEUDO, STOPPED, SYSTEM, StoppedFilter, SystemFilter,
    UNCONNECTED, View,
};
pub use text::Text;
pub use topologies::{OptionGroupDesc, OptionValueDesc, TopologyDesc};

/// A rendered view as `GET /api/topology/{view}` returns it: `{"nodes": {id: summary}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summaries {
    /// Node summaries by id.
    pub nodes: BTreeMap<String, NodeSummary>,
    /// Counts, including how many nodes the options filtered out.
    #[serde(skip)]
    pub stats: Stats,
}

/// A report indexed for rendering. Build one per report and render any number of views from
/// it: the endpoint classification and lookups are shared.
pub struct Renderer<'r> {
    ctx: context::Ctx<'r>,
}

impl<'r> Renderer<'r> {
    /// Indexes `report`; `networks` should be [`LocalNetworks::from_report`] of it (or of an
    /// earlier report with the same networks).
    pub fn new(report: &'r Report, networks: &'r LocalNetworks) -> Renderer<'r> {
        Renderer {
            ctx: context::Ctx::new(report, networks),
        }
    }

    /// The rendered graph of `view`.
    pub fn render(&self, view: View, options: &Options) -> RenderedTopology<'r> {
        views::render(&self.ctx, view, options, None)
    }

    /// The node summaries of `view`.
    pub fn summaries(&self, view: View, options: &Options) -> Summaries {
        let g = self.render(view, options);
        Summaries {
            nodes: summary::summaries_of(&self.ctx, &g),
            stats: g.stats(),
        }
    }

    /// Details of node `id` in `view`; `None` if the view has no such node. The options'
    /// filters never hide the node asked about.
    pub fn node_details(&self, view: View, options: &Options, id: &str) -> Option<NodeDetails> {
        detail::details(&self.ctx, view, options, id)
    }

    /// The topology menu; each view's counts use its options from `params` (other parameters
    /// are ignored; a bad value for a view's option is an error).
    pub fn topology_list<I, K, V>(&self, params: I) -> Result<Vec<TopologyDesc>, OptionError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let owned: Vec<(K, V)> = params.into_iter().collect();
        let pairs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        topologies::list(&self.ctx, &pairs)
    }
}

/// The node summaries of `view` (render + summarise in one call).
pub fn summaries(
    report: &Report,
    view: View,
    options: &Options,
    networks: &LocalNetworks,
) -> Summaries {
    Renderer::new(report, networks).summaries(view, options)
}

/// Details of node `id` in `view`, or `None` if there is no such node.
pub fn node_details(
    report: &Report,
    view: View,
    options: &Options,
    networks: &LocalNetworks,
    id: &str,
) -> Option<NodeDetails> {
    Renderer::new(report, networks).node_details(view, options, id)
}

/// The topology menu with counts; see [`Renderer::topology_list`].
pub fn topology_list<I, K, V>(
    report: &Report,
    networks: &LocalNetworks,
    params: I,
) -> Result<Vec<TopologyDesc>, OptionError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    Renderer::new(report, networks).topology_list(params)
}

#[cfg(test)]
mod tests;
