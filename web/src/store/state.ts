// The console's state: what the URL says (view), what the server said, and UI-only bits.
import type { ApiInfo, NodeDetails, ProbeInfo, TopologyDesc } from '../api/types';
import type { SocketStatus } from '../api/ws';
import type { NodeMap } from '../domain/nodes';
import type { ViewState } from '../domain/url';
import { EMPTY_VIEW } from '../domain/url';

export interface DetailsState {
  topology: string;
  id: string;
  node: NodeDetails | null;
  error: string | null;
  /** The node was there and is gone (404 after it loaded). */
  gone: boolean;
  loadedAt: number | null;
}

export interface AppState {
  view: ViewState;
  info: ApiInfo | null;
  /** Why /api or /api/topology failed, for the status bar. */
  apiError: string | null;
  topologies: TopologyDesc[] | null;
  nodes: NodeMap;
  /** The topology `nodes` belong to (they arrive a moment after the view switches). */
  nodesTopology: string | null;
  /** Bumped on every frame / on frames that add or remove nodes or edges. */
  nodesVersion: number;
  structureVersion: number;
  /** The next structural change starts a new layout (a different topology) instead of easing in. */
  freshLayout: boolean;
  /** The first reset frame for the current topology has arrived. */
  loaded: boolean;
  socket: SocketStatus;
  lastFrameAt: number | null;
  probes: ProbeInfo[] | null;
  details: DetailsState | null;
  searchFocused: boolean;
  /** Nodes of every topology, fetched while the search box has focus, for match counts. */
  allNodes: Readonly<Record<string, NodeMap>>;
  hovered: string | null;
  helpOpen: boolean;
  /** Wall clock, ticking each second, so "5s ago" texts move. */
  now: number;
}

export const INITIAL_STATE: AppState = {
  view: EMPTY_VIEW,
  info: null,
  apiError: null,
  topologies: null,
  nodes: new Map(),
  nodesTopology: null,
  nodesVersion: 0,
  structureVersion: 0,
  freshLayout: true,
  loaded: false,
  socket: { state: 'connecting' },
  lastFrameAt: null,
  probes: null,
  details: null,
  searchFocused: false,
  allNodes: {},
  hovered: null,
  helpOpen: false,
  now: Date.now(),
};
