import { describe, expect, it } from 'vitest';
import type { TopologyDesc } from '../api/types';
import { allTopologiesQuery, effectiveValue, explainEmpty, toggleUnion, topologyQuery } from './options';
import { defaultTopology, findTopology, flattenTopologies, topologyId, visibleTopologies } from './topologies';

const stopped = {
  id: 'stopped',
  defaultValue: 'running',
  selectType: 'one' as const,
  options: [
    { value: 'running', label: 'Running containers' },
    { value: 'stopped', label: 'Stopped containers' },
    { value: 'both', label: 'Both' },
  ],
};
const system = {
  id: 'system',
  defaultValue: 'application',
  options: [
    { value: 'application', label: 'Application containers' },
    { value: 'all', label: 'All' },
  ],
};
const unconnected = { id: 'unconnected', defaultValue: 'hide', options: [{ value: 'hide', label: 'Hide unconnected' }, { value: 'show', label: 'Show unconnected' }] };

const list: TopologyDesc[] = [
  {
    id: 'processes',
    name: 'Processes',
    rank: 1,
    hide_if_empty: true,
    url: '/api/topology/processes',
    options: [unconnected],
    stats: { node_count: 0, nonpseudo_node_count: 0, edge_count: 0, filtered_nodes: 38 },
    sub_topologies: [{ id: 'processes-by-name', name: 'by name', rank: 0, hide_if_empty: true, url: '/api/topology/processes-by-name', options: [unconnected] }],
  },
  {
    id: 'containers',
    name: 'Containers',
    rank: 2,
    url: '/api/topology/containers',
    options: [system, stopped],
    stats: { node_count: 0, nonpseudo_node_count: 0, edge_count: 0, filtered_nodes: 2 },
    sub_topologies: [{ name: 'by image', rank: 0, url: '/api/topology/containers-by-image', options: [system, stopped] }],
  },
  { id: 'hosts', name: 'Hosts', rank: 4, url: '/api/topology/hosts', stats: { node_count: 1, nonpseudo_node_count: 1, edge_count: 0, filtered_nodes: 0 } },
];

describe('topologies', () => {
  it('flattens, finds, derives ids from URLs', () => {
    expect(flattenTopologies(list).map(topologyId)).toEqual(['processes', 'processes-by-name', 'containers', 'containers-by-image', 'hosts']);
    expect(findTopology(list, 'containers-by-image')?.name).toBe('by image');
  });
  it('hides empty hide_if_empty topologies and prefers containers', () => {
    expect(visibleTopologies(list).map(topologyId)).toEqual(['containers', 'hosts']);
    expect(defaultTopology(list)).toBe('containers');
  });
});

describe('options', () => {
  it('effective values fall back to defaults, also for stale values', () => {
    expect(effectiveValue(stopped, {})).toBe('running');
    expect(effectiveValue(stopped, { stopped: 'both' })).toBe('both');
    expect(effectiveValue(stopped, { stopped: 'bogus' })).toBe('running');
  });
  it('queries carry every group of the topology', () => {
    expect(topologyQuery(findTopology(list, 'containers'), { stopped: 'both' }).toString()).toBe('system=application&stopped=both');
    expect(topologyQuery(findTopology(list, 'hosts'), { stopped: 'both' }).toString()).toBe('');
    expect(allTopologiesQuery(list, { stopped: 'both', custom: 'x' }).toString()).toBe('unconnected=hide&system=application&stopped=both&custom=x');
  });
  it('union toggles', () => {
    expect(toggleUnion('a,b', 'a')).toBe('b');
    expect(toggleUnion('b', 'a')).toBe('b,a');
  });
  it('explains an empty topology: options hiding nodes, with fixes', () => {
    const t = findTopology(list, 'containers');
    if (!t) throw new Error('fixture');
    const why = explainEmpty(t, {}, 'Containers');
    expect(why.message).toContain('2 nodes are hidden');
    expect(why.message).toContain('running containers');
    expect(why.fixes).toContainEqual({ group: 'stopped', value: 'both', label: 'Both' });
    const none = explainEmpty({ ...t, stats: { node_count: 0, nonpseudo_node_count: 0, edge_count: 0, filtered_nodes: 0 } }, {}, 'Containers');
    expect(none.message).toMatch(/No containers reported\. Is Docker running/);
    expect(none.fixes).toEqual([]);
  });
});
