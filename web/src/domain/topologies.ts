// The topology list from /api/topology: a tree of views with sub-views.
import type { OptionGroup, TopologyDesc } from '../api/types';

/** A topology's id: the server sends `id`; Weave Scope's JSON had only the URL, so fall back to it. */
export function topologyId(t: TopologyDesc): string {
  return t.id ?? decodeURIComponent(t.url.split('/').filter(Boolean).pop() ?? '');
}

/** Every topology and sub-topology, parents before their children. */
export function flattenTopologies(list: readonly TopologyDesc[]): TopologyDesc[] {
  const out: TopologyDesc[] = [];
  const walk = (ts: readonly TopologyDesc[]): void => {
    for (const t of ts) {
      out.push(t);
      walk(t.sub_topologies ?? []);
    }
  };
  walk(list);
  return out;
}

export function findTopology(list: readonly TopologyDesc[], id: string): TopologyDesc | undefined {
  return flattenTopologies(list).find((t) => topologyId(t) === id);
}

/** The top-level topology a (sub-)topology belongs to, for highlighting the parent in the menu. */
export function rootOf(list: readonly TopologyDesc[], id: string): TopologyDesc | undefined {
  return list.find((t) => topologyId(t) === id || (t.sub_topologies ?? []).some((s) => topologyId(s) === id));
}

/** Scope hides empty topologies flagged `hide_if_empty` (e.g. processes when none are connected). */
export function isHidden(t: TopologyDesc): boolean {
  return Boolean(t.hide_if_empty) && (t.stats?.node_count ?? 0) === 0;
}

/** Topologies in menu order (by rank), with hidden empty ones removed. */
export function visibleTopologies(list: readonly TopologyDesc[]): TopologyDesc[] {
  return [...list].filter((t) => !isHidden(t) || (t.sub_topologies ?? []).some((s) => !isHidden(s))).sort((a, b) => a.rank - b.rank);
}

/** The first topology to show when the URL names none: containers if it exists, as Scope does. */
export function defaultTopology(list: readonly TopologyDesc[]): string | undefined {
  const all = flattenTopologies(list);
  const preferred = all.find((t) => topologyId(t) === 'containers');
  const first = preferred ?? visibleTopologies(list)[0] ?? all[0];
  return first ? topologyId(first) : undefined;
}

export function optionGroups(t: TopologyDesc | undefined): OptionGroup[] {
  return t?.options ?? [];
}
