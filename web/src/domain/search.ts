// Scope's search syntax (reference §1 item 25, client/app/scripts/utils/search-utils.js):
//   term            case-insensitive regex over label, minor label, metadata values, parent
//                   labels, property-list values and table cells; an invalid regex is escaped
//   field: term     only fields whose slugified label matches `field`
//   metric < value  a metric comparison (<, =, >) with K/M/G/T suffixes as powers of 1024
// Pinned searches AND together.
import type { NodeSummary } from '../api/types';

export type Comparison = 'lt' | 'eq' | 'gt';

export type ParsedQuery =
  | { kind: 'text'; query: string; prefix?: string }
  | { kind: 'metric'; metric: string; comp: Comparison; value: number };

export interface Match {
  /** Where: "label", "labelMinor", "metadata.<id>", "parents.<id>", "tables.<row id>", "metrics.<id>". */
  field: string;
  /** The field's human label. */
  label: string;
  text?: string;
  start?: number;
  length?: number;
}

/** Lower-case letters and digits only: "Image name" -> "imagename". */
export function slugify(label: string): string {
  return label.replace(/[^a-zA-Z0-9]/g, '').toLowerCase();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The query as a case-insensitive regex; text that is not a valid regex matches literally. */
export function makeRegExp(expression: string): RegExp {
  try {
    return new RegExp(expression, 'i');
  } catch {
    return new RegExp(escapeRegExp(expression), 'i');
  }
}

/** "10mb" -> 10 MiB, "2k" -> 2048, "4%" -> 4. NaN when there is no number. */
export function parseValue(value: string): number {
  let v = parseFloat(value);
  if (/k/i.test(value)) v *= 1024;
  else if (/m/i.test(value)) v *= 1024 ** 2;
  else if (/g/i.test(value)) v *= 1024 ** 3;
  else if (/t/i.test(value)) v *= 1024 ** 4;
  return v;
}

const COMPARISONS: readonly (readonly [string, Comparison])[] = [
  ['<', 'lt'],
  ['=', 'eq'],
  ['>', 'gt'],
];

/**
 * Parses one search. Returns null for an empty or half-typed query ("pid:" or "cpu >").
 * Unlike Scope, text containing '<' or '>' that is not a metric comparison ("<container>")
 * searches as text instead of matching nothing.
 */
export function parseQuery(input: string): ParsedQuery | null {
  const text = input.trim();
  if (!text) return null;
  const parts = text.split(':');
  if (parts.length === 2) {
    const prefix = (parts[0] ?? '').trim();
    const query = (parts[1] ?? '').trim();
    return prefix && query ? { kind: 'text', prefix, query } : null;
  }
  for (const [delim, comp] of COMPARISONS) {
    const sides = text.split(delim);
    if (sides.length !== 2) continue;
    const metric = (sides[0] ?? '').trim();
    const rhs = (sides[1] ?? '').trim();
    // Metric labels are words ("CPU", "Open files"); "<container>" is text, not a comparison.
    if (!/^[\w\s#.-]+$/.test(metric)) continue;
    if (!rhs) return null; // "cpu >" is still being typed
    const value = parseValue(rhs);
    if (!Number.isNaN(value)) return { kind: 'metric', metric, comp, value };
  }
  return { kind: 'text', query: text };
}

function matchPrefix(label: string | undefined, prefix: string): boolean {
  return Boolean(label) && makeRegExp(prefix).test(slugify(label ?? ''));
}

function textMatch(out: Match[], field: string, label: string, text: string | undefined, re: RegExp, prefix?: string): void {
  if (text === undefined) return;
  if (prefix !== undefined && !matchPrefix(label, prefix)) return;
  const m = re.exec(text);
  if (m) out.push({ field, label, text, start: m.index, length: m[0].length });
}

/** Every place in the node the query matches; empty when it does not match. */
export function searchNode(node: NodeSummary, q: ParsedQuery): Match[] {
  const out: Match[] = [];
  if (q.kind === 'metric') {
    const slug = slugify(q.metric);
    for (const m of node.metrics ?? []) {
      if (slugify(m.label) !== slug) continue;
      const hit = q.comp === 'gt' ? m.value > q.value : q.comp === 'lt' ? m.value < q.value : m.value === q.value;
      if (hit) out.push({ field: `metrics.${m.id}`, label: m.label });
    }
    return out;
  }
  const re = makeRegExp(q.query);
  const p = q.prefix;
  textMatch(out, 'label', 'label', node.label, re, p);
  textMatch(out, 'labelMinor', 'labelMinor', node.labelMinor, re, p);
  for (const row of node.metadata ?? []) textMatch(out, `metadata.${row.id}`, row.label, row.value, re, p);
  for (const parent of node.parents ?? []) textMatch(out, `parents.${parent.id}`, parent.topologyId, parent.label, re, p);
  for (const table of node.tables ?? []) {
    const propertyList = table.type === undefined || table.type === 'property-list';
    for (const row of table.rows ?? []) {
      if (propertyList) {
        textMatch(out, `tables.${row.id}`, row.entries['label'] ?? row.id, row.entries['value'], re, p);
      } else if (p === undefined) {
        // Generic tables match on any cell, never by prefix (as in Scope).
        for (const col of table.columns ?? []) textMatch(out, `tables.${row.id}.${col.id}`, col.label, row.entries[col.id], re);
      }
    }
  }
  return out;
}

export function matchesQuery(node: NodeSummary, q: ParsedQuery): boolean {
  return searchNode(node, q).length > 0;
}

/** Parses the live query and the pinned ones; unparseable entries drop out rather than hiding everything. */
export function parseAll(live: string, pinned: readonly string[]): ParsedQuery[] {
  const out: ParsedQuery[] = [];
  for (const s of [...pinned, live]) {
    const p = parseQuery(s);
    if (p) out.push(p);
  }
  return out;
}

/** True when the node matches every query (pinned searches AND together). */
export function matchesAll(node: NodeSummary, queries: readonly ParsedQuery[]): boolean {
  return queries.every((q) => matchesQuery(node, q));
}

/** Ids of the nodes matching every query, or null when there is no query (everything matches). */
export function matchingIds(nodes: Iterable<NodeSummary>, queries: readonly ParsedQuery[]): Set<string> | null {
  if (queries.length === 0) return null;
  const out = new Set<string>();
  for (const n of nodes) if (matchesAll(n, queries)) out.add(n.id);
  return out;
}
