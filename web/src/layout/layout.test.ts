import { describe, expect, it } from 'vitest';
import { applyDiff } from '../domain/nodes';
import type { NodeMap } from '../domain/nodes';
import { process } from '../test/fixtures';
import { buildGraph } from './engine';
import { seedPositions } from './seed';
import { Layout } from './sim';
import { boundsOf, fit, toScreen, toWorld, zoomAt } from './viewport';
import { backoff } from '../api/ws';

function ring(n: number): NodeMap {
  const nodes = Array.from({ length: n }, (_, i) => process(i + 1, `p${i}`, [`vm;${((i + 1) % n) + 1}`]));
  return applyDiff(new Map(), { reset: true, add: nodes }).nodes;
}

function settle(layout: Layout): void {
  for (let i = 0; i < 50 && !layout.run(1000); i++);
}

describe('seedPositions', () => {
  const known = new Map([
    ['a', { x: 0, y: 0, rank: 'r1' }],
    ['b', { x: 100, y: 0, rank: 'r1' }],
    ['c', { x: 1000, y: 1000, rank: 'r2' }],
  ]);
  it('places a new node near its neighbours', () => {
    const p = seedPositions([{ id: 'n', neighbours: ['a', 'b'], rank: 'zz' }], known).get('n');
    expect(p).toBeDefined();
    expect(Math.hypot((p?.x ?? 0) - 50, p?.y ?? 0)).toBeLessThan(60);
  });
  it('else near its rank, else outside the drawing', () => {
    const r = seedPositions([{ id: 'm', neighbours: [], rank: 'r2' }], known).get('m');
    expect(Math.hypot((r?.x ?? 0) - 1000, (r?.y ?? 0) - 1000)).toBeLessThan(60);
    const o = seedPositions([{ id: 'o', neighbours: [], rank: 'new' }], known).get('o');
    const centre = { x: 1100 / 3, y: 1000 / 3 };
    expect(Math.hypot((o?.x ?? 0) - centre.x, (o?.y ?? 0) - centre.y)).toBeGreaterThan(700);
  });
  it('leaves a first layout to the simulation', () => {
    expect(seedPositions([{ id: 'x', neighbours: [], rank: '' }], new Map()).size).toBe(0);
  });
});

describe('Layout', () => {
  it('keeps existing nodes where they are when one node is added', () => {
    const layout = new Layout();
    const nodes = ring(40);
    layout.setGraph(buildGraph(nodes, 1, 1));
    settle(layout);
    const before = new Map([...nodes.keys()].map((id) => [id, layout.positionOf(id)]));
    const next = applyDiff(nodes, { add: [process(999, 'new', ['vm;1'])] }).nodes;
    layout.setGraph(buildGraph(next, 2, 0.25));
    settle(layout);
    let moved = 0;
    const moves: number[] = [];
    for (const [id, p] of before) {
      const q = layout.positionOf(id);
      const d = Math.hypot((q?.x ?? 0) - (p?.x ?? 0), (q?.y ?? 0) - (p?.y ?? 0));
      moves.push(d);
      moved = Math.max(moved, d);
    }
    // Nodes shift a little to make room (about half a node at most); nothing is reshuffled.
    expect(moved).toBeLessThan(30);
    expect(moves.sort((a, b) => a - b)[moves.length >> 1]).toBeLessThan(10);
    const fresh = layout.positionOf('vm;999');
    const anchor = layout.positionOf('vm;1');
    expect(Math.hypot((fresh?.x ?? 0) - (anchor?.x ?? 0), (fresh?.y ?? 0) - (anchor?.y ?? 0))).toBeLessThan(200);
  });

  it('removing a node leaves the others in place', () => {
    const layout = new Layout();
    // A ring with a leaf hanging off one node.
    const nodes = applyDiff(ring(30), { add: [process(99, 'leaf', ['vm;7'])] }).nodes;
    layout.setGraph(buildGraph(nodes, 1, 1));
    settle(layout);
    const before = new Map([...nodes.keys()].map((id) => [id, layout.positionOf(id)]));
    const moves = (): number[] =>
      [...before]
        .filter(([id]) => layout.positionOf(id))
        .map(([id, p]) => {
          const q = layout.positionOf(id);
          return Math.hypot((q?.x ?? 0) - (p?.x ?? 0), (q?.y ?? 0) - (p?.y ?? 0));
        })
        .sort((a, b) => a - b);
    layout.setGraph(buildGraph(applyDiff(nodes, { remove: ['vm;99'] }).nodes, 2, 0.25));
    settle(layout);
    expect(layout.positionOf('vm;99')).toBeUndefined();
    // The leaf's anchor springs back by up to a node's width; the rest hardly moves.
    const leaf = moves();
    expect(leaf[leaf.length >> 1]).toBeLessThan(8);
    expect(leaf[leaf.length - 1]).toBeLessThan(40);
    // Cutting the ring open is a real change: its ends relax, the rest barely moves.
    layout.setGraph(buildGraph(applyDiff(nodes, { remove: ['vm;99', 'vm;7'] }).nodes, 3, 0.25));
    settle(layout);
    const m = moves();
    expect(m[m.length >> 1]).toBeLessThan(15);
  });

  it('positions come back in the order of the graph ids', () => {
    const layout = new Layout();
    const g = buildGraph(ring(5), 7, 1);
    layout.setGraph(g);
    layout.run(5);
    expect(layout.positions().length).toBe(10);
    expect(layout.version).toBe(7);
    expect(g.edges.length).toBe(10);
  });
});

describe('viewport', () => {
  it('zooms about the pointer', () => {
    const t = zoomAt({ k: 1, x: 0, y: 0 }, 2, 100, 50);
    expect(toWorld(t, 100, 50)).toEqual({ x: 100, y: 50 });
    expect(toScreen(t, 100, 50)).toEqual({ x: 100, y: 50 });
    expect(t.k).toBe(2);
  });
  it('fits bounds into the viewport', () => {
    const xy = Float32Array.from([-100, -50, 100, 50]);
    const b = boundsOf(xy);
    expect(b).toEqual({ minX: -100, minY: -50, maxX: 100, maxY: 50 });
    const t = fit(b ?? { minX: 0, minY: 0, maxX: 0, maxY: 0 }, 320, 400, 60);
    expect(t.k).toBe(1);
    expect(toScreen(t, 0, 0)).toEqual({ x: 160, y: 200 });
    // Never zooms a tiny map in past 1.5x.
    expect(fit({ minX: 0, minY: 0, maxX: 1, maxY: 1 }, 800, 600).k).toBe(1.5);
  });
});

describe('reconnect backoff', () => {
  it('1s, 2s, 4s, then every 5s', () => {
    expect([1, 2, 3, 4, 9].map(backoff)).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});
