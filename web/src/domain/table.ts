// The table view ("like top"): which columns the nodes have, and sorting by any of them.
import type { NodeSummary } from '../api/types';
import { formatMetadata, formatMetricValue } from './format';

export type ColumnKind = 'label' | 'labelMinor' | 'metadata' | 'metric';

export interface TableColumn {
  /** "label", "labelMinor", "metadata:<id>" or "metric:<id>": stable across diffs, used in the URL. */
  key: string;
  kind: ColumnKind;
  id: string;
  label: string;
  dataType?: string;
  format?: string;
  /** Numbers read best right-aligned and sorted high-first on the first click. */
  numeric: boolean;
}

export interface SortSpec {
  key: string;
  desc: boolean;
}

/** Columns for a node set: name, minor label, then metrics and metadata in server priority order. */
export function tableColumns(nodes: Iterable<NodeSummary>): TableColumn[] {
  const meta = new Map<string, { label: string; priority: number; dataType?: string }>();
  const metrics = new Map<string, { label: string; priority: number; format?: string }>();
  for (const n of nodes) {
    for (const m of n.metadata ?? []) {
      if (!meta.has(m.id)) meta.set(m.id, { label: m.label, priority: m.priority ?? 1e9, ...(m.dataType ? { dataType: m.dataType } : {}) });
    }
    for (const m of n.metrics ?? []) {
      if (!metrics.has(m.id)) metrics.set(m.id, { label: m.label, priority: m.priority ?? 1e9, ...(m.format ? { format: m.format } : {}) });
    }
  }
  const byPriority = <T extends { priority: number }>(a: [string, T], b: [string, T]): number => a[1].priority - b[1].priority || a[0].localeCompare(b[0]);
  const cols: TableColumn[] = [
    { key: 'label', kind: 'label', id: 'label', label: 'Name', numeric: false },
    { key: 'labelMinor', kind: 'labelMinor', id: 'labelMinor', label: 'Details', numeric: false },
  ];
  for (const [id, m] of [...metrics].sort(byPriority)) {
    cols.push({ key: `metric:${id}`, kind: 'metric', id, label: m.label, ...(m.format ? { format: m.format } : {}), numeric: true });
  }
  for (const [id, m] of [...meta].sort(byPriority)) {
    const numeric = m.dataType === 'number' || m.dataType === 'duration';
    cols.push({ key: `metadata:${id}`, kind: 'metadata', id, label: m.label, ...(m.dataType ? { dataType: m.dataType } : {}), numeric });
  }
  return cols;
}

/** The default sort: the first metric, highest first, as `top` does; by name without metrics. */
export function defaultSort(cols: readonly TableColumn[]): SortSpec {
  const metric = cols.find((c) => c.kind === 'metric');
  return metric ? { key: metric.key, desc: true } : { key: 'label', desc: false };
}

/** The raw value of a cell, for sorting: a number when the column is numeric, else text. */
export function cellValue(node: NodeSummary, col: TableColumn): string | number | undefined {
  switch (col.kind) {
    case 'label':
      return node.label;
    case 'labelMinor':
      return node.labelMinor;
    case 'metric':
      return node.metrics?.find((m) => m.id === col.id)?.value;
    case 'metadata': {
      const row = node.metadata?.find((m) => m.id === col.id);
      if (!row) return undefined;
      if (col.numeric) {
        const n = Number(row.value);
        return Number.isFinite(n) ? n : undefined;
      }
      if (col.dataType === 'datetime') {
        const t = Date.parse(row.value);
        return Number.isFinite(t) ? t : row.value;
      }
      if (col.dataType === 'ip') return ipSortKey(row.value);
      return row.value;
    }
  }
}

/** The text shown in a cell. */
export function cellText(node: NodeSummary, col: TableColumn): string {
  if (col.kind === 'metric') {
    const m = node.metrics?.find((x) => x.id === col.id);
    return m ? formatMetricValue(m.value, m.format) : '';
  }
  if (col.kind === 'metadata') {
    const row = node.metadata?.find((m) => m.id === col.id);
    return row ? formatMetadata(row) : '';
  }
  return (col.kind === 'label' ? node.label : node.labelMinor) ?? '';
}

/** "10.0.0.9" sorts before "10.0.0.10": zero-padded octets. */
export function ipSortKey(ip: string): string {
  const first = ip.split(/[,\s]/)[0] ?? '';
  const parts = first.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return ip;
  return parts.map((p) => p.padStart(3, '0')).join('.');
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function compareValues(a: string | number | undefined, b: string | number | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

/**
 * Sorts a copy. Missing values go last in either direction (a node without a CPU metric is not
 * "the lowest CPU"); ties break on label then id so rows do not jump between frames.
 */
export function sortNodes(nodes: Iterable<NodeSummary>, col: TableColumn | undefined, desc: boolean): NodeSummary[] {
  const arr = [...nodes];
  const tie = (a: NodeSummary, b: NodeSummary): number => collator.compare(a.label, b.label) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (!col) return arr.sort(tie);
  const keyed = arr.map((n) => ({ n, v: cellValue(n, col) }));
  keyed.sort((x, y) => {
    const xm = x.v === undefined || x.v === '';
    const ym = y.v === undefined || y.v === '';
    if (xm || ym) return xm === ym ? tie(x.n, y.n) : xm ? 1 : -1;
    const c = compareValues(x.v, y.v);
    return (desc ? -c : c) || tie(x.n, y.n);
  });
  return keyed.map((k) => k.n);
}
