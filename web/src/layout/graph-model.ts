// The map's model, alive whichever view is shown: it feeds structural changes to the layout
// worker and keeps flat per-index arrays (positions, shapes, colours, visibility) that the canvas
// renderer and the exporters read. Keeping it outside the graph component means switching to the
// table and back neither loses nor reshuffles the layout.
import type { NodeSummary } from '../api/types';
import type { AppState } from '../store/state';
import { searchResult } from '../store/derive';
import type { Store } from '../store/store';
import type { Positions } from './engine';
import { LayoutEngine } from './engine';

export const SHAPES = ['circle', 'hexagon', 'square', 'cloud', 'heptagon', 'octagon', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export function shapeIndex(shape: string | undefined): number {
  const i = SHAPES.indexOf((shape ?? 'circle') as Shape);
  return i < 0 ? 0 : i;
}

export interface Scene {
  ids: readonly string[];
  index: ReadonlyMap<string, number>;
  xy: Float32Array;
  edges: Uint32Array;
  /** The node at each index (undefined when it left since the positions were computed). */
  nodes: (NodeSummary | undefined)[];
  shape: Uint8Array;
  /** 0 = shown, 1 = faded (no live-search match), 2 = hidden (fails a pinned search, or gone). */
  vis: Uint8Array;
  settled: boolean;
  /** Increments whenever anything in the scene changed. */
  version: number;
}

export class GraphModel {
  private engine: LayoutEngine | null = null;
  private positions: Positions | null = null;
  private listeners = new Set<() => void>();
  private lastStructure = -1;
  private lastTopology: string | null = null;
  scene: Scene | null = null;
  /** performance.now() when positions for the current topology first arrived (for the benchmark). */
  firstPositionsAt: number | null = null;

  constructor(private readonly store: Store<AppState>) {
    // Start the worker now: loading it while the first frame is on its way saves that time.
    if (typeof Worker !== 'undefined') this.ensureEngine();
    store.subscribe(() => this.onState());
    this.onState();
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }

  private ensureEngine(): LayoutEngine {
    if (!this.engine) {
      this.engine = new LayoutEngine((p) => {
        this.positions = p;
        if (this.firstPositionsAt === null) this.firstPositionsAt = performance.now();
        this.rebuild();
      });
    }
    return this.engine;
  }

  private lastNodes: unknown = null;
  private lastSearch: unknown = null;

  private onState(): void {
    const s = this.store.get();
    if (s.view.topology !== this.lastTopology) {
      this.lastTopology = s.view.topology;
      this.positions = null;
      this.scene = null;
      this.firstPositionsAt = null;
      this.emit();
    }
    if (s.loaded && s.structureVersion !== this.lastStructure && s.nodesTopology === s.view.topology) {
      const fresh = this.lastStructure === -1 || s.freshLayout;
      this.lastStructure = s.structureVersion;
      if (s.freshLayout) this.store.set({ freshLayout: false });
      this.ensureEngine().setGraph(s.nodes, fresh);
    }
    const search = searchResult(s);
    if (s.nodes !== this.lastNodes || search !== this.lastSearch) {
      this.lastNodes = s.nodes;
      this.lastSearch = search;
      this.rebuild();
    }
  }

  private rebuild(): void {
    const p = this.positions;
    if (!p) return;
    const s = this.store.get();
    const { pinnedIds, matchedIds } = searchResult(s);
    const n = p.ids.length;
    const nodes: (NodeSummary | undefined)[] = new Array<NodeSummary | undefined>(n);
    const shape = new Uint8Array(n);
    const vis = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const id = p.ids[i] ?? '';
      const node = s.nodes.get(id);
      nodes[i] = node;
      shape[i] = shapeIndex(node?.pseudo ? 'cloud' : node?.shape);
      vis[i] = !node || (pinnedIds && !pinnedIds.has(id)) ? 2 : matchedIds && !matchedIds.has(id) ? 1 : 0;
    }
    this.scene = {
      ids: p.ids,
      index: p.index,
      xy: p.xy,
      edges: p.edges,
      nodes,
      shape,
      vis,
      settled: p.settled,
      version: (this.scene?.version ?? 0) + 1,
    };
    this.emit();
  }
}
