// Values computed from the state, memoised on the inputs they read so the graph, the table and
// the search box agree without each re-running the search over 5,000 nodes.
import type { NodeSummary } from '../api/types';
import type { NodeMap } from '../domain/nodes';
import type { ParsedQuery } from '../domain/search';
import { matchingIds, parseAll, parseQuery } from '../domain/search';
import type { AppState } from './state';

export interface SearchResult {
  /** Nodes passing the pinned searches (null: no pinned search, all pass). Others are hidden. */
  pinnedIds: Set<string> | null;
  /** Nodes passing pinned and live search (null: no search at all). Others are faded in the graph. */
  matchedIds: Set<string> | null;
  /** The live query parses (false while half-typed: "pid:"). */
  liveValid: boolean;
  queries: ParsedQuery[];
}

let memo: { nodes: NodeMap; search: string; pinned: readonly string[]; out: SearchResult } | null = null;

export function searchResult(s: AppState): SearchResult {
  const { nodes } = s;
  const { search, pinned } = s.view;
  if (memo && memo.nodes === nodes && memo.search === search && memo.pinned === pinned) return memo.out;
  const pinnedQ = parseAll('', pinned);
  const queries = parseAll(search, pinned);
  const values = [...nodes.values()];
  const pinnedIds = matchingIds(values, pinnedQ);
  const matchedIds = queries.length === pinnedQ.length ? pinnedIds : matchingIds(values, queries);
  const out: SearchResult = { pinnedIds, matchedIds, liveValid: search.trim() === '' || parseQuery(search) !== null, queries };
  memo = { nodes, search, pinned, out };
  return out;
}

/** The nodes the table lists: those matching every search. */
let tableMemo: { nodes: NodeMap; matched: Set<string> | null; out: NodeSummary[] } | null = null;

export function tableNodes(s: AppState): NodeSummary[] {
  const { matchedIds } = searchResult(s);
  if (tableMemo && tableMemo.nodes === s.nodes && tableMemo.matched === matchedIds) return tableMemo.out;
  const all = [...s.nodes.values()];
  const out = matchedIds ? all.filter((n) => matchedIds.has(n.id)) : all;
  tableMemo = { nodes: s.nodes, matched: matchedIds, out };
  return out;
}

/** Per-topology match counts while the search box has focus (Scope's getAllNodes). */
let countsMemo: { key: readonly unknown[]; out: Record<string, number> | null } | null = null;

export function matchCounts(s: AppState): Record<string, number> | null {
  const key = [s.allNodes, s.nodes, s.view.search, s.view.pinned, s.searchFocused, s.view.topology] as const;
  if (countsMemo && countsMemo.key.every((k, i) => k === key[i])) return countsMemo.out;
  const out = computeCounts(s);
  countsMemo = { key, out };
  return out;
}

function computeCounts(s: AppState): Record<string, number> | null {
  const queries = parseAll(s.view.search, s.view.pinned);
  if (!s.searchFocused || queries.length === 0) return null;
  const out: Record<string, number> = {};
  for (const [id, nodes] of Object.entries(s.allNodes)) {
    // The current topology's live nodes are fresher than the snapshot fetched on focus.
    const source = id === s.view.topology && s.nodes.size > 0 ? s.nodes : nodes;
    out[id] = matchingIds(source.values(), queries)?.size ?? source.size;
  }
  return out;
}
