// The view state a link carries: topology, options, selected node, search, view. Parsing and
// printing are pure so a link round-trips exactly.
import type { OptionValues } from './options';

export type ViewMode = 'graph' | 'table';

export interface ViewState {
  topology: string | null;
  view: ViewMode;
  /** Selected node id (in `topology`). */
  node: string | null;
  /** The live search text. */
  search: string;
  /** Pinned searches, ANDed. */
  pinned: string[];
  /** Topology options the user changed. */
  options: OptionValues;
  /** Table sort: column key, "-" prefix for descending. */
  sort: string | null;
  contrast: boolean;
}

export const EMPTY_VIEW: ViewState = {
  topology: null,
  view: 'graph',
  node: null,
  search: '',
  pinned: [],
  options: {},
  sort: null,
  contrast: false,
};

// Everything else in the query string is a topology option (e.g. `stopped=both`), as in API URLs.
const RESERVED = new Set(['topology', 'view', 'node', 'q', 'pin', 'sort', 'contrast']);

export function parseView(search: string): ViewState {
  const p = new URLSearchParams(search);
  const options: Record<string, string> = {};
  for (const [k, v] of p) if (!RESERVED.has(k)) options[k] = v;
  return {
    topology: p.get('topology') || null,
    view: p.get('view') === 'table' ? 'table' : 'graph',
    node: p.get('node') || null,
    search: p.get('q') ?? '',
    pinned: p.getAll('pin').filter(Boolean),
    options,
    sort: p.get('sort') || null,
    contrast: p.get('contrast') === '1',
  };
}

/** The query string (with '?', or '' when everything is default). */
export function printView(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.topology) p.set('topology', v.topology);
  if (v.view !== 'graph') p.set('view', v.view);
  for (const k of Object.keys(v.options).sort()) {
    const val = v.options[k];
    if (val !== undefined && !RESERVED.has(k)) p.set(k, val);
  }
  if (v.node) p.set('node', v.node);
  if (v.search) p.set('q', v.search);
  for (const s of v.pinned) p.append('pin', s);
  if (v.sort) p.set('sort', v.sort);
  if (v.contrast) p.set('contrast', '1');
  const s = p.toString();
  return s ? `?${s}` : '';
}
