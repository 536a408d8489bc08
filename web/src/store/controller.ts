// Side effects live here: polling, the WebSocket, details fetches and the URL. Components call
// these actions; they never fetch by themselves.
import { HttpError, api, topologyWsUrl } from '../api/http';
import type { NodeSummary, TopologyDesc } from '../api/types';
import { TopologySocket } from '../api/ws';
import type { NodeMap } from '../domain/nodes';
import { applyDiff } from '../domain/nodes';
import type { OptionValues } from '../domain/options';
import { allTopologiesQuery, effectiveValue, topologyQuery } from '../domain/options';
import { defaultTopology, findTopology, flattenTopologies, topologyId } from '../domain/topologies';
import type { ViewState } from '../domain/url';
import { parseView, printView } from '../domain/url';
import type { AppState } from './state';
import { INITIAL_STATE } from './state';
import { Store } from './store';

/** Server-side coalescing of diff frames; Scope's UI asked for 5 s, we want new containers sooner. */
export const WS_INTERVAL = '2s';
const TOPOLOGIES_EVERY = 5000;
const INFO_EVERY = 30000;
const PROBES_EVERY = 5000;
const DETAILS_EVERY = 5000;
/** Least time between two details fetches triggered by diffs touching the node. */
const DETAILS_MIN_GAP = 1500;
const ALL_NODES_EVERY = 10000;

function message(e: unknown): string {
  if (e instanceof HttpError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

function toMap(nodes: Record<string, NodeSummary> | null): NodeMap {
  return new Map(Object.entries(nodes ?? {}));
}

/**
 * What a topology socket shows: the topology and the options that differ from its defaults.
 * Equal keys mean the same stream, so learning the defaults later does not reconnect.
 */
export function socketKey(topology: string, t: TopologyDesc | undefined, chosen: OptionValues): string {
  const entries = t
    ? (t.options ?? []).map((g) => [g.id, effectiveValue(g, chosen)] as const).filter(([id, v]) => v !== t.options?.find((g) => g.id === id)?.defaultValue)
    : Object.entries(chosen);
  return `${topology}?${entries
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&')}`;
}

export class Controller {
  readonly store = new Store<AppState>({ ...INITIAL_STATE, view: parseView(location.search) });
  private socket: TopologySocket | null = null;
  private socketKey: string | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private detailsTimer: ReturnType<typeof setTimeout> | undefined;
  private detailsAbort: AbortController | null = null;
  private lastDetailsFetch = 0;
  private allNodesTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  /** Bumped by stop(): answers to calls made before it are dropped (another session's data). */
  private generation = 0;
  private readonly onPopState = (): void => this.applyView(parseView(location.search), false);

  start(): void {
    if (this.started) return;
    this.started = true;
    window.addEventListener('popstate', this.onPopState);
    const every = (ms: number, f: () => void): void => {
      f();
      this.timers.push(setInterval(f, ms));
    };
    every(INFO_EVERY, () => void this.loadInfo());
    every(TOPOLOGIES_EVERY, () => void this.loadTopologies());
    every(PROBES_EVERY, () => void this.loadProbes());
    every(DETAILS_EVERY, () => this.refreshDetails(false));
    this.timers.push(setInterval(() => this.store.set({ now: Date.now() }), 1000));
    document.documentElement.classList.toggle('contrast', this.view().contrast);
    if (this.view().node) this.openDetails();
    this.connect();
  }

  /** Stops polling and closes the WebSocket (accounts mode: signed out). */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.generation++;
    window.removeEventListener('popstate', this.onPopState);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.socket?.close();
    this.socket = null;
    this.socketKey = null;
    this.detailsAbort?.abort();
    this.detailsAbort = null;
    if (this.detailsTimer !== undefined) clearTimeout(this.detailsTimer);
    this.detailsTimer = undefined;
    if (this.allNodesTimer !== undefined) clearInterval(this.allNodesTimer);
    this.allNodesTimer = undefined;
  }

  /**
   * Forgets everything the server said and starts over with new WebSockets (accounts mode: the
   * data belongs to another organisation now). The topology and options in the URL stay; the
   * selected node, which belonged to the other organisation, goes.
   */
  restart(): void {
    this.stop();
    const s = this.store.get();
    const view = { ...parseView(location.search), node: null };
    this.store.set({
      ...INITIAL_STATE,
      view,
      nodesVersion: s.nodesVersion + 1,
      structureVersion: s.structureVersion + 1,
      freshLayout: true,
      now: Date.now(),
    });
    const url = `${location.pathname}${printView(view)}${location.hash}`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', url);
    this.start();
  }

  view(): ViewState {
    return this.store.get().view;
  }

  // ---- actions -------------------------------------------------------------------------------

  /** Changes the view; `push` makes a history entry (navigation), otherwise the URL is replaced. */
  setView(patch: Partial<ViewState>, push = false): void {
    this.applyView({ ...this.view(), ...patch }, true, push);
  }

  selectTopology(id: string): void {
    if (id === this.view().topology) return;
    this.setView({ topology: id, node: null, sort: null }, true);
  }

  /** Opens a node's details, switching topology when it lives in another (parent / child links). */
  selectNode(id: string | null, topology?: string): void {
    const patch: Partial<ViewState> = { node: id };
    if (topology && topology !== this.view().topology) {
      patch.topology = topology;
      patch.sort = null;
    }
    this.setView(patch, true);
  }

  setOption(group: string, value: string): void {
    const options: OptionValues = { ...this.view().options, [group]: value };
    this.setView({ options }, true);
  }

  setSearch(search: string): void {
    this.setView({ search });
  }

  pinSearch(): void {
    const v = this.view();
    const s = v.search.trim();
    if (!s || v.pinned.includes(s)) return this.setView({ search: '' });
    this.setView({ pinned: [...v.pinned, s], search: '' });
  }

  unpin(index: number): void {
    this.setView({ pinned: this.view().pinned.filter((_, i) => i !== index) });
  }

  setSearchFocused(focused: boolean): void {
    this.store.set({ searchFocused: focused });
    if (focused && this.allNodesTimer === undefined) {
      void this.loadAllNodes();
      this.allNodesTimer = setInterval(() => void this.loadAllNodes(), ALL_NODES_EVERY);
    } else if (!focused && this.allNodesTimer !== undefined) {
      clearInterval(this.allNodesTimer);
      this.allNodesTimer = undefined;
    }
  }

  toggleContrast(): void {
    this.setView({ contrast: !this.view().contrast });
  }

  setHovered(id: string | null): void {
    this.store.set({ hovered: id });
  }

  setHelp(open: boolean): void {
    this.store.set({ helpOpen: open });
  }

  retryNow(): void {
    this.socket?.retryNow();
  }

  // ---- view plumbing -------------------------------------------------------------------------

  private applyView(next: ViewState, writeUrl: boolean, push = false): void {
    const prev = this.view();
    this.store.set({ view: next });
    if (writeUrl) {
      const url = `${location.pathname}${printView(next)}${location.hash}`;
      if (url !== `${location.pathname}${location.search}${location.hash}`) {
        if (push) history.pushState(null, '', url);
        else history.replaceState(null, '', url);
      }
    }
    document.documentElement.classList.toggle('contrast', next.contrast);
    if (next.topology !== prev.topology) {
      this.store.set({ nodes: new Map(), nodesTopology: next.topology, freshLayout: true, loaded: false, hovered: null });
    }
    this.connect();
    if (next.node !== prev.node || next.topology !== prev.topology) this.openDetails();
    else if (JSON.stringify(next.options) !== JSON.stringify(prev.options)) this.refreshDetails(true);
  }

  /** (Re)opens the WebSocket when the topology or its options changed. */
  private connect(): void {
    const { topologies, view } = this.store.get();
    if (!view.topology) return;
    // A link that names its topology connects at once, before the topology list (which the app
    // renders every topology for) arrives; the list only adds the defaults to the query.
    const t = topologies ? findTopology(topologies, view.topology) : undefined;
    const query = t ? topologyQuery(t, view.options) : new URLSearchParams(view.options);
    const key = socketKey(view.topology, t, view.options);
    if (key === this.socketKey) return;
    this.socket?.close();
    this.socketKey = key;
    const url = topologyWsUrl(view.topology, query, WS_INTERVAL);
    const topology = view.topology;
    this.socket = new TopologySocket(url, {
      onStatus: (socket) => this.store.set({ socket }),
      onDiff: (diff) => {
        const s = this.store.get();
        if (s.view.topology !== topology) return;
        const r = applyDiff(s.nodes, diff);
        this.store.set({
          nodes: r.nodes,
          nodesTopology: topology,
          nodesVersion: s.nodesVersion + 1,
          structureVersion: r.structural || !s.loaded ? s.structureVersion + 1 : s.structureVersion,
          loaded: true,
          lastFrameAt: Date.now(),
        });
        const d = s.details;
        if (d && d.topology === topology && r.touched.has(d.id)) this.refreshDetails(false, true);
      },
    });
  }

  // ---- polling -------------------------------------------------------------------------------

  private async loadInfo(): Promise<void> {
    const gen = this.generation;
    try {
      const info = await api.info();
      if (gen === this.generation) this.store.set({ info });
    } catch (e) {
      if (gen === this.generation) this.store.set({ apiError: `Cannot reach the app: ${message(e)}` });
    }
  }

  private async loadTopologies(): Promise<void> {
    const s = this.store.get();
    const gen = this.generation;
    try {
      const list = await api.topologies(allTopologiesQuery(s.topologies ?? [], s.view.options));
      if (gen !== this.generation) return;
      this.store.set({ topologies: list, apiError: null });
      const v = this.view();
      const known = v.topology !== null && flattenTopologies(list).some((t) => topologyId(t) === v.topology);
      if (!known) {
        const def = defaultTopology(list);
        if (def) this.applyView({ ...v, topology: def }, true);
      } else {
        this.connect();
      }
    } catch (e) {
      if (gen === this.generation) this.store.set({ apiError: `Cannot reach the app: ${message(e)}` });
    }
  }

  private async loadProbes(): Promise<void> {
    const gen = this.generation;
    try {
      const probes = (await api.probes()) ?? [];
      if (gen === this.generation) this.store.set({ probes });
    } catch {
      // The status bar already shows the API error from the other polls.
    }
  }

  private async loadAllNodes(): Promise<void> {
    const { topologies, view } = this.store.get();
    if (!topologies) return;
    const gen = this.generation;
    const out: Record<string, NodeMap> = {};
    await Promise.all(
      flattenTopologies(topologies).map(async (t) => {
        const id = topologyId(t);
        try {
          out[id] = toMap((await api.topology(id, topologyQuery(t, view.options))).nodes);
        } catch {
          // A topology that fails to load shows no count rather than a wrong one.
        }
      }),
    );
    if (gen === this.generation) this.store.set({ allNodes: out });
  }

  // ---- details -------------------------------------------------------------------------------

  private openDetails(): void {
    const { view } = this.store.get();
    this.detailsAbort?.abort();
    if (!view.node || !view.topology) {
      this.store.set({ details: null });
      return;
    }
    this.store.set({ details: { topology: view.topology, id: view.node, node: null, error: null, gone: false, loadedAt: null } });
    this.lastDetailsFetch = 0;
    void this.fetchDetails();
  }

  /**
   * Re-fetches the open node. `soon` coalesces bursts of diffs touching the node into at most one
   * fetch per DETAILS_MIN_GAP; the periodic call only fetches when nothing else did lately.
   */
  refreshDetails(now: boolean, soon = false): void {
    const d = this.store.get().details;
    if (!d) return;
    const since = Date.now() - this.lastDetailsFetch;
    if (now) return void this.fetchDetails();
    if (soon) {
      if (this.detailsTimer !== undefined) return;
      this.detailsTimer = setTimeout(
        () => {
          this.detailsTimer = undefined;
          void this.fetchDetails();
        },
        Math.max(0, DETAILS_MIN_GAP - since),
      );
      return;
    }
    if (since >= DETAILS_EVERY - 100) void this.fetchDetails();
  }

  private async fetchDetails(): Promise<void> {
    const s = this.store.get();
    const d = s.details;
    if (!d) return;
    this.lastDetailsFetch = Date.now();
    this.detailsAbort?.abort();
    const abort = new AbortController();
    this.detailsAbort = abort;
    const t = s.topologies ? findTopology(s.topologies, d.topology) : undefined;
    try {
      const { node } = await api.node(d.topology, d.id, topologyQuery(t, s.view.options), abort.signal);
      const cur = this.store.get().details;
      if (cur && cur.id === d.id && cur.topology === d.topology) {
        this.store.set({ details: { ...cur, node, error: null, gone: false, loadedAt: Date.now() } });
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      const cur = this.store.get().details;
      if (!cur || cur.id !== d.id) return;
      const notFound = e instanceof HttpError && e.status === 404;
      this.store.set({
        details: { ...cur, error: notFound ? 'This node is not in the current report.' : message(e), gone: notFound && cur.node !== null },
      });
    }
  }
}
