// Short-range repulsion for big graphs. d3's many-body force is O(n log n) with a large constant
// (about 55 ms a tick at 5,000 nodes on a small CPU); this one only looks at nodes in the
// neighbouring cells of a uniform grid, O(n) at a few ms a tick. It loses the long-range push that
// spreads clusters apart, which at thousands of nodes mostly produced empty space anyway; the
// centring force and links shape the whole.
import type { SimulationNodeDatum } from 'd3-force';

export interface RepelForce<N extends SimulationNodeDatum> {
  (alpha: number): void;
  initialize(nodes: N[]): void;
}

/**
 * Pushes apart nodes closer than `cutoff`, with a push that falls to zero at the cutoff so
 * nodes do not jitter across it (`strength` is comparable to d3 many-body's, positive here), and
 * resolves overlaps closer than `minDistance` like d3's collision force, so however hard many
 * links pull, nodes (and the grid cells) never pile up.
 */
export function gridRepulsion<N extends SimulationNodeDatum>(cutoff: number, strength: number, minDistance: number): RepelForce<N> {
  let nodes: N[] = [];
  const cells = new Map<number, number[]>();
  const c2 = cutoff * cutoff;
  const minD2 = minDistance * minDistance;

  const key = (cx: number, cy: number): number => cx * 100003 + cy;

  const force = ((alpha: number): void => {
    for (const list of cells.values()) list.length = 0;
    const n = nodes.length;
    const cx = new Int32Array(n);
    const cy = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const node = nodes[i] as N;
      const x = Math.floor((node.x ?? 0) / cutoff);
      const y = Math.floor((node.y ?? 0) / cutoff);
      cx[i] = x;
      cy[i] = y;
      const k = key(x, y);
      let list = cells.get(k);
      if (!list) cells.set(k, (list = []));
      list.push(i);
    }
    const k = strength * alpha;
    for (let i = 0; i < n; i++) {
      const a = nodes[i] as N;
      const ax = a.x ?? 0;
      const ay = a.y ?? 0;
      const x0 = cx[i] ?? 0;
      const y0 = cy[i] ?? 0;
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -1; dy <= 1; dy++) {
          const list = cells.get(key(x0 + dx, y0 + dy));
          if (!list) continue;
          for (const j of list) {
            if (j <= i) continue; // each pair once, applied to both
            const b = nodes[j] as N;
            let ddx = (b.x ?? 0) - ax;
            let ddy = (b.y ?? 0) - ay;
            let d2 = ddx * ddx + ddy * ddy;
            if (d2 >= c2) continue;
            if (d2 < 1e-6) {
              // Coincident nodes: separate them in a direction derived from their indices.
              ddx = ((i * 31 + j) % 7) - 3 || 1;
              ddy = ((i * 17 + j) % 5) - 2 || 1;
              d2 = ddx * ddx + ddy * ddy;
            }
            const d = Math.sqrt(d2);
            const falloff = 1 - d / cutoff;
            // Below minDistance the push stops growing: 1/d there would fling near-coincident
            // nodes across the map.
            let f = (k * falloff * falloff) / Math.max(d2, minD2);
            // Overlap: move each half the way out, independent of alpha (as forceCollide does).
            if (d < minDistance) f += ((minDistance - d) / d) * 0.5;
            const fx = ddx * f;
            const fy = ddy * f;
            a.vx = (a.vx ?? 0) - fx;
            a.vy = (a.vy ?? 0) - fy;
            b.vx = (b.vx ?? 0) + fx;
            b.vy = (b.vy ?? 0) + fy;
          }
        }
      }
    }
  }) as RepelForce<N>;

  force.initialize = (ns: N[]): void => {
    nodes = ns;
    cells.clear();
  };
  return force;
}
