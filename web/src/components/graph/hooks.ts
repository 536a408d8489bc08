// The mounted graph, reachable from outside the component: zoom buttons, exports, and the
// test/benchmark hooks on window.__scope. Canvas nodes are not DOM elements, so end-to-end tests
// ask here where a node is drawn and then click those coordinates like a user would.
import type { Scene } from '../../layout/graph-model';
import type { Transform } from '../../layout/viewport';
import { toScreen } from '../../layout/viewport';

export interface GraphHandle {
  scene(): Scene | null;
  transform(): Transform;
  canvas(): HTMLCanvasElement;
  setTransform(t: Transform): void;
  zoom(factor: number): void;
  fit(): void;
  redraw(): void;
}

let mounted: GraphHandle | null = null;

export function registerGraph(h: GraphHandle): () => void {
  mounted = h;
  return () => {
    if (mounted === h) mounted = null;
  };
}

export function currentGraph(): GraphHandle | null {
  return mounted;
}

/** Frame timing for the benchmark: when the first frame with nodes was drawn, and every frame's cost. */
export const perf = {
  firstNodesFrameAt: null as number | null,
  frames: [] as { at: number; ms: number }[],
  frame(start: number, end: number, nodes: number): void {
    if (nodes > 0 && this.firstNodesFrameAt === null) this.firstNodesFrameAt = end;
    this.frames.push({ at: end, ms: end - start });
    if (this.frames.length > 2000) this.frames.splice(0, 1000);
  },
  reset(): void {
    this.frames = [];
  },
};

export interface DrawnNode {
  id: string;
  label: string;
  /** Centre in viewport (client) coordinates. */
  x: number;
  y: number;
  /** Drawn inside the canvas's visible area and not hidden by a pinned search. */
  visible: boolean;
  /** Not faded by the live search. */
  matched: boolean;
}

/** Where every node of the current scene is drawn, in client coordinates. */
export function drawnNodes(): DrawnNode[] {
  const g = mounted;
  const scene = g?.scene();
  if (!g || !scene) return [];
  const rect = g.canvas().getBoundingClientRect();
  const t = g.transform();
  const out: DrawnNode[] = [];
  for (let i = 0; i < scene.ids.length; i++) {
    const node = scene.nodes[i];
    if (!node) continue;
    const p = toScreen(t, scene.xy[2 * i] ?? 0, scene.xy[2 * i + 1] ?? 0);
    const x = rect.left + p.x;
    const y = rect.top + p.y;
    const onCanvas = x >= rect.left && x <= rect.right && y >= rect.top && y <= rect.bottom;
    out.push({ id: node.id, label: node.label, x, y, visible: onCanvas && scene.vis[i] !== 2, matched: scene.vis[i] === 0 });
  }
  return out;
}
