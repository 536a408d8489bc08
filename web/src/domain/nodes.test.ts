import { describe, expect, it } from 'vitest';
import { applyDiff, edgesOf, neighbourMap } from './nodes';
import type { NodeMap } from './nodes';
import { container, process } from '../test/fixtures';

const empty: NodeMap = new Map();

describe('applyDiff', () => {
  it('a reset replaces everything', () => {
    const a = container('a');
    const b = container('b');
    const first = applyDiff(empty, { reset: true, add: [a, b] });
    expect([...first.nodes.keys()]).toEqual([a.id, b.id]);
    expect(first.structural).toBe(true);
    const c = container('c');
    const second = applyDiff(first.nodes, { reset: true, add: [c] });
    expect([...second.nodes.keys()]).toEqual([c.id]);
    expect(second.touched).toEqual(new Set([c.id, a.id, b.id]));
  });

  it('a reset to the same nodes and edges is not structural (reconnects keep the layout calm)', () => {
    const first = applyDiff(empty, { reset: true, add: [container('a'), container('b')] });
    const again = applyDiff(first.nodes, { reset: true, add: [container('a', { cpu: 5 }), container('b')] });
    expect(again.structural).toBe(false);
  });

  it('adds, updates and removes without touching the previous map', () => {
    const a = container('a');
    const b = container('b');
    const base = applyDiff(empty, { reset: true, add: [a, b] }).nodes;
    const c = container('c');
    const r = applyDiff(base, { add: [c], update: [container('a', { cpu: 9 })], remove: [b.id] });
    expect([...r.nodes.keys()].sort()).toEqual([a.id, c.id].sort());
    expect(r.nodes.get(a.id)?.metrics?.[0]?.value).toBe(9);
    expect(base.size).toBe(2);
    expect(base.get(a.id)?.metrics?.[0]?.value).toBe(0);
    expect(r.touched).toEqual(new Set([a.id, b.id, c.id]));
    expect(r.structural).toBe(true);
  });

  it('metric-only updates are not structural', () => {
    const base = applyDiff(empty, { reset: true, add: [process(1, 'a', ['vm;2']), process(2, 'b')] }).nodes;
    const r = applyDiff(base, { update: [process(1, 'a', ['vm;2'])] });
    expect(r.structural).toBe(false);
    const moved = applyDiff(base, { update: [process(1, 'a', [])] });
    expect(moved.structural).toBe(true);
  });

  it('tolerates frames out of step: update of unknown id adds, remove of unknown id is ignored, null lists', () => {
    const r = applyDiff(empty, { update: [container('x')], remove: ['nope'], add: null });
    expect(r.nodes.size).toBe(1);
    expect(r.touched.has('nope')).toBe(false);
  });
});

describe('edges', () => {
  it('drops self loops and edges to nodes not present', () => {
    const nodes = applyDiff(empty, { reset: true, add: [process(1, 'a', ['vm;2', 'vm;1', 'vm;404']), process(2, 'b')] }).nodes;
    expect(edgesOf(nodes)).toEqual([{ source: 'vm;1', target: 'vm;2' }]);
    const nb = neighbourMap(nodes);
    expect(nb.get('vm;2')).toEqual(new Set(['vm;1']));
  });
});
