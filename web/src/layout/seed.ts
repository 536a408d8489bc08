// Where a node first appears: near the nodes it is connected to, else near nodes of the same
// rank, else just outside the current drawing. This is what keeps the map stable when nodes come
// and go: nobody else moves to make room at once; the simulation eases them apart gently.

export interface Point {
  x: number;
  y: number;
}

/** Deterministic jitter source (mulberry32), so tests and reloads place nodes alike. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface SeedInput {
  id: string;
  neighbours: readonly string[];
  rank: string;
}

export interface Placed extends Point {
  rank: string;
}

/**
 * Positions for `fresh` nodes given the nodes already placed. Fresh nodes placed earlier in the
 * list count as placed for later ones, so a new chain of nodes grows outward from where it
 * attaches. Returns nothing when nothing at all is placed yet (a first layout: the simulation's
 * own phyllotaxis start is better for that).
 */
export function seedPositions(fresh: readonly SeedInput[], known: ReadonlyMap<string, Placed>, spacing = 60): Map<string, Point> {
  const out = new Map<string, Point>();
  if (known.size === 0) return out;
  const all = new Map<string, Point>(known);
  const rankSum = new Map<string, { x: number; y: number; n: number }>();
  const addToRank = (rank: string, p: Point): void => {
    const rs = rankSum.get(rank) ?? { x: 0, y: 0, n: 0 };
    rs.x += p.x;
    rs.y += p.y;
    rs.n++;
    rankSum.set(rank, rs);
  };
  let cx = 0;
  let cy = 0;
  for (const p of known.values()) {
    cx += p.x;
    cy += p.y;
    addToRank(p.rank, p);
  }
  cx /= known.size;
  cy /= known.size;
  let radius = 0;
  for (const p of known.values()) radius = Math.max(radius, Math.hypot(p.x - cx, p.y - cy));
  for (const f of fresh) {
    const rand = rng(hashString(f.id));
    const jitter = (): number => (rand() - 0.5) * spacing;
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (const nb of f.neighbours) {
      const p = all.get(nb);
      if (p) {
        sx += p.x;
        sy += p.y;
        n++;
      }
    }
    let pos: Point;
    const rs = rankSum.get(f.rank);
    if (n > 0) {
      pos = { x: sx / n + jitter(), y: sy / n + jitter() };
    } else if (rs && rs.n > 0) {
      pos = { x: rs.x / rs.n + jitter(), y: rs.y / rs.n + jitter() };
    } else {
      // Unrelated to anything on the map: just outside it, so nothing has to move for it.
      const angle = rand() * Math.PI * 2;
      const rr = radius + spacing;
      pos = { x: cx + Math.cos(angle) * rr, y: cy + Math.sin(angle) * rr };
    }
    out.set(f.id, pos);
    all.set(f.id, pos);
    addToRank(f.rank, pos);
  }
  return out;
}

/** Hilbert curve: distance d along a curve filling a side x side grid (side a power of 2) to a cell. */
export function hilbertCell(side: number, d: number): Point {
  let x = 0;
  let y = 0;
  let t = d;
  for (let s = 1; s < side; s *= 2) {
    const rx = 1 & (t / 2);
    const ry = 1 & (t ^ rx);
    if (ry === 0) {
      if (rx === 1) {
        x = s - 1 - x;
        y = s - 1 - y;
      }
      const tmp = x;
      x = y;
      y = tmp;
    }
    x += s * rx;
    y += s * ry;
    t = Math.floor(t / 4);
  }
  return { x, y };
}

/**
 * A first layout for a graph nothing of which is placed yet: nodes in breadth-first order laid
 * along a Hilbert curve, so connected nodes start close together and the map starts at its final
 * density. The force simulation then only has to refine, which at thousands of nodes is the
 * difference between a map in one second and a map in twenty.
 */
export function initialPositions(neighbours: readonly (readonly number[])[], spacing = 60): Point[] {
  const n = neighbours.length;
  const order: number[] = [];
  const seen = new Uint8Array(n);
  // Start from the best-connected nodes so big components come first, isolated nodes last.
  const starts = [...Array(n).keys()].sort((a, b) => (neighbours[b]?.length ?? 0) - (neighbours[a]?.length ?? 0) || a - b);
  for (const s of starts) {
    if (seen[s]) continue;
    seen[s] = 1;
    const queue = [s];
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q] ?? 0;
      order.push(i);
      for (const j of neighbours[i] ?? []) {
        if (!seen[j]) {
          seen[j] = 1;
          queue.push(j);
        }
      }
    }
  }
  let side = 1;
  while (side * side < n) side *= 2;
  // Spread the n nodes evenly along the whole curve; scale cells so the spacing is `spacing`.
  const step = (side * side) / Math.max(1, n);
  const cell = spacing / Math.sqrt(step);
  const out: Point[] = new Array<Point>(n);
  order.forEach((node, k) => {
    const c = hilbertCell(side, Math.floor(k * step));
    out[node] = { x: (c.x - side / 2) * cell, y: (c.y - side / 2) * cell };
  });
  return out;
}
