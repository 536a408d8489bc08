// Main-thread side of the layout: turns a node map into a graph message for the worker and keeps
// the latest positions, indexed by node id, for drawing and hit testing.
import type { NodeMap } from '../domain/nodes';
import type { FromWorker, GraphMessage, ToWorker } from './protocol';

export interface Positions {
  ids: readonly string[];
  index: ReadonlyMap<string, number>;
  xy: Float32Array;
  /** Edges as index pairs into `ids`. */
  edges: Uint32Array;
  settled: boolean;
}

export function buildGraph(nodes: NodeMap, version: number, reheat: number): GraphMessage {
  const ids = [...nodes.keys()].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const ranks = ids.map((id) => nodes.get(id)?.rank ?? '');
  const pairs: number[] = [];
  for (const [i, id] of ids.entries()) {
    for (const target of nodes.get(id)?.adjacency ?? []) {
      const j = index.get(target);
      if (j !== undefined && j !== i) pairs.push(i, j);
    }
  }
  return { type: 'graph', version, ids, ranks, edges: Uint32Array.from(pairs), reheat };
}

export class LayoutEngine {
  private worker: Worker;
  private version = 0;
  private pending = new Map<number, { ids: string[]; index: Map<string, number>; edges: Uint32Array }>();
  current: Positions | null = null;

  constructor(private readonly onPositions: (p: Positions) => void) {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>): void => this.receive(ev.data);
  }

  /** Sends a new graph. `fresh` is a new view (full shake); otherwise a diff (gentle). */
  setGraph(nodes: NodeMap, fresh: boolean): void {
    const msg = buildGraph(nodes, ++this.version, fresh ? 1 : 0.25);
    this.pending.set(msg.version, { ids: msg.ids, index: new Map(msg.ids.map((id, i) => [id, i])), edges: msg.edges.slice() });
    const out: ToWorker = msg;
    if (fresh) performance.mark('scope:graph-sent');
    this.worker.postMessage(out, [msg.edges.buffer]);
  }

  private receive(msg: FromWorker): void {
    const graph = this.pending.get(msg.version);
    // Positions for a graph we have since replaced would mismatch ids: skip them.
    if (!graph || msg.version !== this.version) return;
    for (const v of this.pending.keys()) if (v < msg.version) this.pending.delete(v);
    this.current = { ids: graph.ids, index: graph.index, xy: msg.xy, edges: graph.edges, settled: msg.settled };
    this.onPositions(this.current);
  }

  dispose(): void {
    this.worker.terminate();
  }
}
