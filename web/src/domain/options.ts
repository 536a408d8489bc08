// Topology options (system / stopped / pseudo / unconnected ...): what the user chose, what the
// server defaults to, and the query string every API and WebSocket call carries.
import type { OptionGroup, TopologyDesc } from '../api/types';
import { flattenTopologies } from './topologies';

/** The user's choices, by option group id. Absent means the group's server default. */
export type OptionValues = Readonly<Record<string, string>>;

export function effectiveValue(group: OptionGroup, chosen: OptionValues): string {
  const v = chosen[group.id];
  if (v === undefined) return group.defaultValue;
  if (group.selectType === 'union') return v;
  // A value the server no longer offers (stale link) falls back to the default.
  return group.options.some((o) => o.value === v) ? v : group.defaultValue;
}

/** Query parameters for one topology: every group it has, chosen or default, as Scope's UI sends them. */
export function topologyQuery(t: TopologyDesc | undefined, chosen: OptionValues): URLSearchParams {
  const q = new URLSearchParams();
  for (const g of t?.options ?? []) q.set(g.id, effectiveValue(g, chosen));
  return q;
}

/** Query parameters for /api/topology: the values of every group any topology has, so counts match. */
export function allTopologiesQuery(list: readonly TopologyDesc[], chosen: OptionValues): URLSearchParams {
  const q = new URLSearchParams();
  for (const t of flattenTopologies(list)) {
    for (const g of t.options ?? []) if (!q.has(g.id)) q.set(g.id, effectiveValue(g, chosen));
  }
  // Choices for groups no topology offers right now are still sent: harmless, and they survive a
  // topology list that has not loaded yet.
  for (const [k, v] of Object.entries(chosen)) if (!q.has(k)) q.set(k, v);
  return q;
}

/** Toggles a value in a union group ("a,b"); an empty union means none selected. */
export function toggleUnion(current: string, value: string): string {
  const set = new Set(current.split(',').filter(Boolean));
  if (set.has(value)) set.delete(value);
  else set.add(value);
  return [...set].join(',');
}

export interface EmptyReason {
  /** One line for the user. */
  message: string;
  /** Option changes that would show the hidden nodes: group id, value, and the button's label. */
  fixes: { group: string; value: string; label: string }[];
}

/**
 * Why a topology shows no nodes. When the server says nodes were filtered out, it names the
 * options in force and offers the other choices of each group; otherwise it says nothing was
 * reported and what usually causes that.
 */
export function explainEmpty(t: TopologyDesc, chosen: OptionValues, topologyName: string): EmptyReason {
  const filtered = t.stats?.filtered_nodes ?? 0;
  const groups = t.options ?? [];
  if (filtered > 0 && groups.length > 0) {
    const fixes: EmptyReason['fixes'] = [];
    const inForce: string[] = [];
    for (const g of groups) {
      const v = effectiveValue(g, chosen);
      const cur = g.options.find((o) => o.value === v);
      if (cur) inForce.push(cur.label.toLowerCase());
      for (const o of g.options) if (o.value !== v) fixes.push({ group: g.id, value: o.value, label: o.label });
    }
    const noun = filtered === 1 ? 'node is' : 'nodes are';
    return {
      message: `${filtered} ${noun} hidden by the options in force (${inForce.join(', ')}). Choose other options to see them.`,
      fixes,
    };
  }
  const lower = topologyName.toLowerCase();
  let hint = '';
  const id = t.id ?? '';
  if (id.startsWith('containers')) hint = ' Is Docker running on the probed hosts, and was the probe started without --no-docker?';
  else if (id.startsWith('processes')) hint = ' Process collection may be off (--no-processes).';
  return { message: `No ${lower} reported.${hint}`, fixes: [] };
}
