//! The render pipeline of each view (Scope's `render/*.go`):
//!
//! endpoints -> processes (pid) | the Internet (address outside every local network)
//!           -> containers (process's container, or a pid-less local endpoint's address)
//!           -> image / hostname groups;  everything -> hosts.
//!
//! Each view maps report nodes onto its own nodes, rewrites every endpoint edge `a -> b` into
//! `map(a) -> map(b)`, applies the options' filters, and finally drops unconnected pseudo nodes.

use std::borrow::Cow;

use scope_report::NodeId;

use crate::context::{Cont, Ctx, Ep, EpClass};
use crate::filters;
use crate::fxhash::FxHashMap;
use crate::graph::{NodeKind, RNode, Regroup, RenderedTopology};
use crate::options::{Options, View};

/// Renders `view`. `exempt` names a node of the view that no filter may hide (node details).
pub(crate) fn render<'r>(
    ctx: &Ctx<'r>,
    view: View,
    opts: &Options,
    exempt: Option<&str>,
) -> RenderedTopology<'r> {
    let mut g = match view {
        View::Processes => processes(ctx, opts, exempt.is_some(), &|n| {
            Some(n.id.as_ref()) == exempt
        }),
        View::ProcessesByName => {
            let exempt_proc = |n: &RNode<'r>| {
                exempt.is_some_and(|e| {
                    n.name
                        .is_some_and(|name| NodeId::process_name(name).as_str() == e)
                })
            };
            processes(ctx, opts, exempt.is_some(), &exempt_proc).regroup(
                view,
                |n| match (n.kind, n.name) {
                    (NodeKind::Process, Some(name)) => Regroup::Into(name),
                    (NodeKind::Process, None) => Regroup::Drop,
                    _ => Regroup::Keep,
                },
                |name| {
                    let mut n =
                        RNode::new(owned(NodeId::process_name(name)), NodeKind::ProcessName);
                    n.name = Some(name);
                    n
                },
            )
        }
        View::Containers => containers(ctx, opts, exempt.is_some(), &|n| {
            Some(n.id.as_ref()) == exempt
        }),
        View::ContainersByImage => {
            let image = |n: &RNode<'r>| cont_of(ctx, n).and_then(|c| c.image_group);
            let exempt_cont = |n: &RNode<'r>| {
                exempt
                    .is_some_and(|e| image(n).is_some_and(|i| NodeId::image_name(i).as_str() == e))
            };
            containers(ctx, opts, exempt.is_some(), &exempt_cont).regroup(
                view,
                |n| match n.kind {
                    NodeKind::Container => image(n).map_or(Regroup::Drop, Regroup::Into),
                    _ => Regroup::Keep,
                },
                |name| {
                    let mut n = RNode::new(owned(NodeId::image_name(name)), NodeKind::ImageName);
                    n.name = Some(name);
                    n
                },
            )
        }
        View::ContainersByHostname => {
            let hostname = |n: &RNode<'r>| cont_of(ctx, n).and_then(|c| c.hostname);
            let exempt_cont = |n: &RNode<'r>| {
                exempt.is_some_and(|e| {
                    hostname(n).is_some_and(|h| NodeId::container_hostname(h).as_str() == e)
                })
            };
            containers(ctx, opts, exempt.is_some(), &exempt_cont).regroup(
                view,
                |n| match n.kind {
                    NodeKind::Container => hostname(n).map_or(Regroup::Drop, Regroup::Into),
                    _ => Regroup::Keep,
                },
                |name| {
                    let mut n =
                        RNode::new(owned(NodeId::container_hostname(name)), NodeKind::Hostname);
                    n.name = Some(name);
                    n
                },
            )
        }
        View::Hosts => hosts(ctx, exempt.is_some()),
    };
    g.filter_unconnected_pseudo(exempt);
    g
}

fn owned(id: NodeId) -> Cow<'static, str> {
    Cow::Owned(id.as_str().to_owned())
}

/// The container behind a container node.
pub(crate) fn cont_of<'a, 'r>(ctx: &'a Ctx<'r>, n: &RNode<'r>) -> Option<&'a Cont<'r>> {
    match n.kind {
        NodeKind::Container => ctx.containers.get(n.info as usize),
        _ => None,
    }
}

/// Adds every endpoint edge, mapped through `target`, and files endpoints under their node.
fn connect<'r>(
    ctx: &Ctx<'r>,
    g: &mut RenderedTopology<'r>,
    mut target: impl FnMut(&Ep<'r>, &mut RenderedTopology<'r>) -> Option<u32>,
) {
    let targets: Vec<Option<u32>> = ctx.eps.iter().map(|e| target(e, g)).collect();
    for (e, &from) in ctx.eps.iter().zip(&targets) {
        let Some(from) = from else { continue };
        if g.detail {
            g.nodes[from as usize].endpoints.push(e.node);
        }
        for adj in &e.node.adjacency {
            // Edges to endpoints no probe reported carry nothing to map.
            if let Some(&j) = ctx.ep_index.get(adj.as_str())
                && let Some(to) = targets[j as usize]
            {
                g.edge(from, to);
            }
        }
    }
    g.finish();
}

fn processes<'r>(
    ctx: &Ctx<'r>,
    opts: &Options,
    detail: bool,
    exempt: &dyn Fn(&RNode<'r>) -> bool,
) -> RenderedTopology<'r> {
    let mut g = RenderedTopology::new(View::Processes, detail);
    g.nodes.reserve(ctx.procs.len() + 2);
    // Process i is node i.
    for p in &ctx.procs {
        let mut n = RNode::new(p.id.clone(), NodeKind::Process);
        n.source = p.node;
        n.host = Some(p.host);
        n.name = p.name;
        n.info = g.nodes.len() as u32;
        g.push(n);
    }
    connect(ctx, &mut g, |e, g| match e.class {
        EpClass::Process(i) => Some(i),
        EpClass::Internet { inbound } => Some(g.internet(inbound)),
        // A local address without a process is not attributable to one.
        EpClass::Local | EpClass::Unknown => None,
    });
    if !opts.show_unconnected {
        let connected = g.connected();
        g.retain_exempt(exempt, |i, n| n.kind.is_pseudo() || connected[i as usize]);
    }
    g
}

fn containers<'r>(
    ctx: &Ctx<'r>,
    opts: &Options,
    detail: bool,
    exempt: &dyn Fn(&RNode<'r>) -> bool,
) -> RenderedTopology<'r> {
    let mut g = RenderedTopology::new(View::Containers, detail);
    g.nodes.reserve(ctx.containers.len() + 128);
    // Container i is node i, so the address index's container numbers are node numbers.
    for c in &ctx.containers {
        let mut n = RNode::new(c.id.clone(), NodeKind::Container);
        n.source = c.node;
        n.host = c.host;
        n.info = g.nodes.len() as u32;
        // Deleted containers are gone, not filtered: never shown, never counted.
        n.alive = !c.deleted();
        g.push(n);
    }
    let mut uncontained: Vec<Option<u32>> = vec![None; ctx.host_ids.len()];
    let proc_target: Vec<u32> = ctx
        .procs
        .iter()
        .map(|p| {
            let t = match p.container {
                Some(c) => c,
                None => *uncontained[p.host_no as usize].get_or_insert_with(|| {
                    let mut n =
                        RNode::new(owned(NodeId::uncontained(p.host)), NodeKind::Uncontained);
                    n.host = Some(p.host);
                    g.push(n)
                }),
            };
            if let Some(pn) = p.node {
                g.child(t, pn);
            }
            t
        })
        .collect();
    let host_no: FxHashMap<&str, usize> = ctx
        .host_ids
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let mut other_hosts: FxHashMap<&'r str, u32> = FxHashMap::default();
    connect(ctx, &mut g, |e, g| match e.class {
        EpClass::Process(i) => Some(proc_target[i as usize]),
        EpClass::Internet { inbound } => Some(g.internet(inbound)),
        // The address index is built on the first such endpoint: most reports have none.
        EpClass::Local => e.local().and_then(|(scope, ip, port)| {
            let index = ctx.ip_index();
            index.lookup(scope, ip, port).or_else(|| {
                // Not a container's address but the host's own (a process on the host that
                // connected, too briefly to be found, to a port a container publishes there):
                // the host's uncontained processes.
                let host = index.host_address(scope, ip)?;
                let make = |g: &mut RenderedTopology<'r>| {
                    let mut n = RNode::new(owned(NodeId::uncontained(host)), NodeKind::Uncontained);
                    n.host = Some(host);
                    g.push(n)
                };
                Some(match host_no.get(host) {
                    Some(&no) => *uncontained[no].get_or_insert_with(|| make(g)),
                    None => *other_hosts.entry(host).or_insert_with(|| make(g)),
                })
            })
        }),
        EpClass::Unknown => None,
    });
    g.retain_exempt(exempt, |_, n| match n.kind {
        NodeKind::Container => filters::keep_container(opts, &ctx.containers[n.info as usize]),
        NodeKind::Uncontained => opts.show_uncontained,
        _ => true,
    });
    g
}

fn hosts<'r>(ctx: &Ctx<'r>, detail: bool) -> RenderedTopology<'r> {
    let mut g = RenderedTopology::new(View::Hosts, detail);
    let mut index: FxHashMap<&'r str, u32> = FxHashMap::default();
    for (&h, &node) in &ctx.hosts {
        let mut n = RNode::new(Cow::Borrowed(node.id.as_str()), NodeKind::Host);
        n.source = Some(node);
        n.host = Some(h);
        index.insert(h, g.push(n));
    }
    // Hosts known only from what runs on them still get a node.
    let mut host = |g: &mut RenderedTopology<'r>, h: &'r str| -> u32 {
        *index.entry(h).or_insert_with(|| {
            let mut n = RNode::new(owned(NodeId::host(h)), NodeKind::Host);
            n.host = Some(h);
            g.push(n)
        })
    };
    // Processes find their host by number: one string lookup per host, not per process.
    let by_no: Vec<u32> = ctx.host_ids.iter().map(|&h| host(&mut g, h)).collect();
    for c in &ctx.containers {
        if let (Some(cn), Some(h)) = (c.node, c.host)
            && detail
            && !c.deleted()
        {
            let i = host(&mut g, h);
            g.child(i, cn);
        }
    }
    if detail {
        for p in &ctx.procs {
            if let Some(pn) = p.node {
                g.child(by_no[p.host_no as usize], pn);
            }
        }
    }
    connect(ctx, &mut g, |e, g| match e.class {
        EpClass::Process(i) => Some(by_no[ctx.procs[i as usize].host_no as usize]),
        EpClass::Internet { inbound } => Some(g.internet(inbound)),
        EpClass::Local | EpClass::Unknown => e.host().map(|h| host(g, h)),
    });
    g
}
