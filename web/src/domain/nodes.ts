// The node set of one topology and how WebSocket diffs change it. Pure: no I/O, no framework.
import type { Diff, NodeSummary } from '../api/types';

export type NodeMap = ReadonlyMap<string, NodeSummary>;

export interface DiffResult {
  nodes: NodeMap;
  /** Ids added, updated or removed by this frame (the details panel re-fetches when it is hit). */
  touched: Set<string>;
  /** Nodes or edges came or went: the layout must hear about it; metric-only updates need not. */
  structural: boolean;
}

function sameAdjacency(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Applies one frame. A frame never mutates `prev`: the old map stays valid for whoever still
 * renders it. A `reset` frame replaces everything with its `add` list (the server sends one
 * first and after every reconnect); an `update` for an unknown id is treated as an add, and a
 * `remove` of an unknown id is ignored, so a frame that arrives out of step cannot wedge the view.
 */
export function applyDiff(prev: NodeMap, diff: Diff): DiffResult {
  const touched = new Set<string>();
  let structural = false;
  const next = diff.reset ? new Map<string, NodeSummary>() : new Map(prev);

  if (diff.reset) {
    // A reset is structural only if the set of nodes or edges differs from what we had.
    const incoming = diff.add ?? [];
    structural = incoming.length !== prev.size;
    for (const n of incoming) {
      next.set(n.id, n);
      touched.add(n.id);
      const old = prev.get(n.id);
      if (!old || !sameAdjacency(old.adjacency, n.adjacency)) structural = true;
    }
    for (const id of prev.keys()) if (!next.has(id)) touched.add(id);
    return { nodes: next, touched, structural };
  }

  for (const id of diff.remove ?? []) {
    if (next.delete(id)) {
      touched.add(id);
      structural = true;
    }
  }
  for (const n of diff.add ?? []) {
    const old = next.get(n.id);
    next.set(n.id, n);
    touched.add(n.id);
    if (!old || !sameAdjacency(old.adjacency, n.adjacency)) structural = true;
  }
  for (const n of diff.update ?? []) {
    const old = next.get(n.id);
    next.set(n.id, n);
    touched.add(n.id);
    if (!old || !sameAdjacency(old.adjacency, n.adjacency)) structural = true;
  }
  return { nodes: next, touched, structural };
}

export interface Edge {
  source: string;
  target: string;
}

/** Directed edges from adjacency lists; edges to nodes not in the map (filtered out) are dropped. */
export function edgesOf(nodes: NodeMap): Edge[] {
  const out: Edge[] = [];
  for (const n of nodes.values()) {
    for (const target of n.adjacency ?? []) {
      if (target !== n.id && nodes.has(target)) out.push({ source: n.id, target });
    }
  }
  return out;
}

/** Undirected neighbour sets, for hover highlighting and for placing new nodes near old ones. */
export function neighbourMap(nodes: NodeMap): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  const add = (a: string, b: string): void => {
    let s = m.get(a);
    if (!s) m.set(a, (s = new Set()));
    s.add(b);
  };
  for (const e of edgesOf(nodes)) {
    add(e.source, e.target);
    add(e.target, e.source);
  }
  return m;
}
