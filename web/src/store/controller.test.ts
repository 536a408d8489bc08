import { describe, expect, it } from 'vitest';
import type { TopologyDesc } from '../api/types';
import { socketKey } from './controller';
import { matchCounts, searchResult, tableNodes } from './derive';
import { INITIAL_STATE } from './state';
import type { AppState } from './state';
import { applyDiff } from '../domain/nodes';
import { container } from '../test/fixtures';

const containers: TopologyDesc = {
  id: 'containers',
  name: 'Containers',
  rank: 2,
  url: '/api/topology/containers',
  options: [
    { id: 'stopped', defaultValue: 'running', options: [{ value: 'running', label: 'Running' }, { value: 'both', label: 'Both' }] },
    { id: 'system', defaultValue: 'application', options: [{ value: 'application', label: 'Application' }, { value: 'all', label: 'All' }] },
  ],
};

describe('socketKey', () => {
  it('does not change when the defaults become known (no reconnect)', () => {
    expect(socketKey('containers', undefined, { stopped: 'both' })).toBe(socketKey('containers', containers, { stopped: 'both' }));
    expect(socketKey('containers', undefined, {})).toBe(socketKey('containers', containers, {}));
  });
  it('changes with the topology and with options that matter', () => {
    expect(socketKey('containers', containers, { stopped: 'both' })).not.toBe(socketKey('containers', containers, {}));
    expect(socketKey('hosts', undefined, {})).not.toBe(socketKey('containers', undefined, {}));
  });
});

describe('derived state', () => {
  const web = container('web', { cpu: 9 });
  const db = container('db', { image: 'postgres' });
  const nodes = applyDiff(new Map(), { reset: true, add: [web, db] }).nodes;
  const state = (patch: Partial<AppState['view']>, extra: Partial<AppState> = {}): AppState => ({
    ...INITIAL_STATE,
    nodes,
    view: { ...INITIAL_STATE.view, topology: 'containers', ...patch },
    ...extra,
  });

  it('the live search fades, pinned searches hide, the table lists what matches all', () => {
    const live = searchResult(state({ search: 'web' }));
    expect(live.pinnedIds).toBeNull();
    expect(live.matchedIds).toEqual(new Set([web.id]));
    const pinned = state({ pinned: ['postgres'] });
    expect(searchResult(pinned).pinnedIds).toEqual(new Set([db.id]));
    expect(tableNodes(pinned).map((n) => n.label)).toEqual(['db']);
    expect(searchResult(state({ search: 'pid:' })).liveValid).toBe(false);
  });

  it('match counts per topology only while the search box has focus', () => {
    const other = applyDiff(new Map(), { reset: true, add: [container('web-2'), container('x')] }).nodes;
    const s = state({ search: 'web' }, { allNodes: { containers: nodes, 'containers-by-image': other } });
    expect(matchCounts(s)).toBeNull();
    expect(matchCounts({ ...s, searchFocused: true })).toEqual({ containers: 1, 'containers-by-image': 1 });
  });
});
