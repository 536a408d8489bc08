//! Rendered nodes -> [`NodeSummary`]: labels, shapes, metadata, metrics, tables and parents per
//! kind of node (Scope's `render/detailed/summary.go`, `parents.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use scope_report::{Kind, NodeId, keys};

use crate::context::{Cont, Ctx};
use crate::fxhash::FxHashMap;
use crate::graph::{NO_INFO, NodeKind, RNode, RenderedTopology};
use crate::json::{MetadataRow, NodeSummary, Parent};
use crate::latest::scan;
use crate::names::{image_tag, strip_tag, truncate};
use crate::templates::{self as t};
use crate::text::{Interner, Text};

/// Summaries of every node shown, by id.
///
/// Single-threaded on purpose: summarising is mostly allocating strings, and splitting it over
/// threads made glibc's allocator contend (measured slower, and slower again to free).
pub(crate) fn summaries_of<'r>(
    ctx: &Ctx<'r>,
    g: &RenderedTopology<'r>,
) -> BTreeMap<String, NodeSummary> {
    let mut sum = Summarizer::new(ctx);
    // One id string per node, shared by its summary and every edge that points at it.
    let mut ids: Vec<Option<Text>> = vec![None; g.nodes.len()];
    let mut id = |i: u32| -> Text {
        ids[i as usize]
            .get_or_insert_with(|| Text::from(g.nodes[i as usize].id.as_ref()))
            .clone()
    };
    let mut out: Vec<(String, NodeSummary)> = Vec::with_capacity(g.nodes.len());
    for (i, n) in g.alive() {
        let mut adjacency = Vec::with_capacity(n.adj.len());
        for &t in &n.adj {
            if g.nodes[t as usize].alive {
                adjacency.push(id(t));
            }
        }
        adjacency.sort_unstable();
        let s = sum.summarize(n, id(i), adjacency);
        out.push((n.id.as_ref().to_owned(), s));
    }
    out.into_iter().collect()
}

type ImageAndHost<'r> = (Option<&'r str>, Option<&'r str>);

/// Builds summaries, sharing what repeats: strings read from the report, and the parent links
/// of the thousands of processes that share a few hundred containers and hosts.
pub(crate) struct Summarizer<'a, 'r> {
    ctx: &'a Ctx<'r>,
    texts: Interner<'r>,
    /// Parents of processes, by (container, host).
    process_parents: FxHashMap<(u32, &'r str), Arc<[Parent]>>,
    /// Parents of containers, by (image group, host).
    container_parents: FxHashMap<ImageAndHost<'r>, Arc<[Parent]>>,
    no_parents: Arc<[Parent]>,
    /// Whether metric rows carry their samples (the details panel's main node only).
    pub samples: bool,
}

impl<'a, 'r> Summarizer<'a, 'r> {
    pub fn new(ctx: &'a Ctx<'r>) -> Summarizer<'a, 'r> {
        Summarizer {
            ctx,
            texts: Interner::new(),
            process_parents: FxHashMap::default(),
            container_parents: FxHashMap::default(),
            no_parents: Arc::from(Vec::new()),
            samples: false,
        }
    }

    /// The summary of one rendered node, whose id is `id`.
    pub fn summarize(&mut self, n: &RNode<'r>, id: Text, adjacency: Vec<Text>) -> NodeSummary {
        let empty = self.texts.empty();
        let mut s = NodeSummary {
            id,
            label: empty.clone(),
            label_minor: empty.clone(),
            rank: empty,
            shape: "square",
            tag: None,
            stack: false,
            pseudo: false,
            metadata: Vec::new(),
            parents: self.no_parents.clone(),
            metrics: Vec::new(),
            tables: Vec::new(),
            adjacency,
        };
        match n.kind {
            NodeKind::Process => self.process(n, &mut s),
            NodeKind::Container => self.container(n, &mut s),
            NodeKind::Host => self.host(n, &mut s),
            NodeKind::ProcessName => {
                self.group(
                    n,
                    &mut s,
                    "square",
                    ("process", "# Processes"),
                    ("process", "processes"),
                );
                s.metrics = t::summed_metric_rows(&n.children, &t::PROCESS_METRICS, self.samples);
            }
            NodeKind::ImageName | NodeKind::Hostname => {
                self.group(
                    n,
                    &mut s,
                    "hexagon",
                    ("container", "# Containers"),
                    ("container", "containers"),
                );
                s.metrics = t::summed_metric_rows(&n.children, &t::CONTAINER_METRICS, self.samples);
            }
            NodeKind::Uncontained => {
                s.label = Text::from("Uncontained");
                s.label_minor = self.text(n.host.unwrap_or(""));
                s.rank = Text::from("uncontained");
                s.stack = true;
                s.pseudo = true;
            }
            NodeKind::InternetIn | NodeKind::InternetOut => {
                s.label = Text::from("The Internet");
                s.label_minor = Text::from(if n.kind == NodeKind::InternetIn {
                    "Inbound connections"
                } else {
                    "Outbound connections"
                });
                s.rank = Text::from("theinternet");
                s.shape = "cloud";
                s.pseudo = true;
            }
        }
        s
    }

    fn text(&mut self, s: &'r str) -> Text {
        self.texts.get(s)
    }

    fn group(
        &mut self,
        n: &RNode<'r>,
        s: &mut NodeSummary,
        shape: &'static str,
        (count_id, count_label): (&'static str, &'static str),
        (one, many): (&str, &str),
    ) {
        let name = self.text(n.name.unwrap_or_default());
        s.label = name.clone();
        s.rank = name;
        let count = n.children.len();
        s.label_minor = Text::from(format!("{count} {}", if count == 1 { one } else { many }));
        s.shape = shape;
        s.stack = true;
        s.metadata.push(MetadataRow {
            id: count_id,
            label: count_label,
            value: Text::from(count.to_string()),
            priority: 1,
            data_type: Some("number"),
            truncate: None,
        });
    }

    fn process(&mut self, n: &RNode<'r>, s: &mut NodeSummary) {
        let id: &str = &n.id;
        let (host, pid) = id.rsplit_once(';').unwrap_or(("", id));
        let host = n.host.unwrap_or(host);
        let Some(p) = n.source else {
            s.label = Text::from(pid);
            s.label_minor = Text::from(host);
            s.rank = Text::from(host);
            return;
        };
        // Rendered processes were read once already; children in details were not.
        let (name, container) = match n.info {
            NO_INFO => {
                let [name, cid] = scan(p, &[keys::NAME, keys::DOCKER_CONTAINER_ID]);
                let cid =
                    cid.or_else(|| p.parents_of(Kind::Container).next().map(|c| c.first_part()));
                (
                    name,
                    cid.and_then(|cid| self.ctx.container_index.get(cid).copied()),
                )
            }
            i => {
                let proc = &self.ctx.procs[i as usize];
                (proc.name, proc.container)
            }
        };
        match name.filter(|v| !v.is_empty()) {
            Some(name) => {
                let name = self.text(name);
                s.label = name.clone();
                s.rank = name;
                let mut minor = String::with_capacity(host.len() + pid.len() + 3);
                minor.push_str(host);
                minor.push_str(" (");
                minor.push_str(pid);
                minor.push(')');
                s.label_minor = Text::from(minor);
            }
            None => {
                s.label = Text::from(pid);
                s.label_minor = Text::from(host);
                s.rank = s.label_minor.clone();
            }
        }
        s.metadata.reserve_exact(t::PROCESS_METADATA.len());
        t::metadata_rows(p, &t::PROCESS_METADATA, &mut self.texts, &mut s.metadata);
        s.metrics = t::metric_rows(p, &t::PROCESS_METRICS, self.samples);
        let ctx = self.ctx;
        let texts = &mut self.texts;
        s.parents = self
            .process_parents
            .entry((container.unwrap_or(NO_INFO), n.host.unwrap_or("")))
            .or_insert_with(|| {
                let mut parents = Vec::with_capacity(2);
                if let Some(c) = container {
                    let cont = &ctx.containers[c as usize];
                    parents.push(Parent {
                        id: Text::from(cont.id.as_ref()),
                        label: Text::from(cont.name),
                        topology_id: "containers",
                    });
                }
                if let Some(h) = n.host {
                    parents.push(host_parent(ctx, texts, h));
                }
                parents.into()
            })
            .clone();
    }

    fn container(&mut self, n: &RNode<'r>, s: &mut NodeSummary) {
        s.shape = "hexagon";
        let host = n.host.unwrap_or("");
        s.label_minor = self.text(host);
        let ctx = self.ctx;
        let cont: Option<&Cont<'r>> = match n.info {
            NO_INFO => n.source.and_then(|c| {
                let cid = c
                    .get(keys::CONTAINER_ID)
                    .unwrap_or_else(|| c.id.first_part());
                ctx.container_index
                    .get(cid)
                    .map(|&i| &ctx.containers[i as usize])
            }),
            i => ctx.containers.get(i as usize),
        };
        let (Some(cont), Some(c)) = (cont, n.source) else {
            s.label = Text::from(truncate(n.id.split(';').next().unwrap_or(""), 12));
            s.rank = s.label_minor.clone();
            return;
        };
        s.label = Text::from(cont.name);
        s.rank = match cont.image_group {
            Some(g) => self.text(g),
            None if host.is_empty() => s.label.clone(),
            None => s.label_minor.clone(),
        };

        let image_node = c
            .get(keys::CONTAINER_IMAGE)
            .and_then(|id| ctx.images.get(id).copied());
        let [tag, state_human] = scan(c, &[keys::IMAGE_TAG, keys::CONTAINER_STATE_HUMAN]);
        let tag = tag
            .or_else(|| image_node.and_then(|i| i.get(keys::IMAGE_TAG)))
            .or_else(|| cont.image.and_then(image_tag));
        let row = |id, label, value: Text, priority| MetadataRow {
            id,
            label,
            value,
            priority,
            data_type: None,
            truncate: None,
        };
        s.metadata.reserve_exact(t::CONTAINER_METADATA.len() + 4);
        if let Some(tag) = tag {
            s.metadata
                .push(row(keys::IMAGE_TAG, "Image tag", self.text(tag), 1));
        }
        if let Some(full) = cont.image {
            s.metadata.push(row(
                keys::IMAGE_NAME,
                "Image name",
                self.text(strip_tag(full)),
                2,
            ));
        }
        if let Some(state) = state_human.or(cont.state) {
            s.metadata
                .push(row(keys::CONTAINER_STATE, "State", self.text(state), 4));
        }
        t::metadata_rows(c, &t::CONTAINER_METADATA, &mut self.texts, &mut s.metadata);
        s.metadata.push(MetadataRow {
            truncate: Some(12),
            ..row(keys::CONTAINER_ID, "ID", Text::from(cont.cid), 11)
        });
        s.metadata.sort_by_key(|r| r.priority);
        s.metrics = t::metric_rows(c, &t::CONTAINER_METRICS, self.samples);
        s.tables.extend(t::docker_labels(c));

        let texts = &mut self.texts;
        s.parents = self
            .container_parents
            .entry((cont.image_group, n.host))
            .or_insert_with(|| {
                let mut parents = Vec::with_capacity(2);
                if let Some(name) = cont.image_group {
                    parents.push(Parent {
                        id: Text::from(NodeId::image_name(name).as_str()),
                        label: Text::from(name),
                        topology_id: "containers-by-image",
                    });
                }
                if let Some(h) = n.host {
                    parents.push(host_parent(ctx, texts, h));
                }
                parents.into()
            })
            .clone();
    }

    fn host(&mut self, n: &RNode<'r>, s: &mut NodeSummary) {
        let host = n
            .host
            .unwrap_or_else(|| n.id.split(';').next().unwrap_or(""));
        // "web-1.example.com" shows as "web-1" over "example.com", ranked by domain.
        match host.split_once('.') {
            Some((name, domain)) => {
                s.label = Text::from(name);
                s.label_minor = Text::from(domain);
                s.rank = s.label_minor.clone();
            }
            None => {
                s.label = Text::from(host);
                s.rank = s.label.clone();
            }
        }
        s.shape = "circle";
        let Some(h) = n.source else { return };
        t::metadata_rows(h, &t::HOST_METADATA, &mut self.texts, &mut s.metadata);
        s.metrics = t::metric_rows(h, &t::HOST_METRICS, self.samples);
    }
}

fn host_parent<'r>(ctx: &Ctx<'r>, texts: &mut Interner<'r>, host: &'r str) -> Parent {
    Parent {
        id: match ctx.hosts.get(host) {
            Some(h) => texts.get(h.id.as_str()),
            None => Text::from(NodeId::host(host).as_str()),
        },
        label: Text::from(ctx.host_name(host)),
        topology_id: "hosts",
    }
}
