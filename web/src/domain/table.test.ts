import { describe, expect, it } from 'vitest';
import { cellText, defaultSort, ipSortKey, sortNodes, tableColumns } from './table';
import { container, process } from '../test/fixtures';

describe('table', () => {
  const nodes = [container('b', { cpu: 1, ip: '10.0.0.10' }), container('a', { cpu: 7, ip: '10.0.0.9' }), container('c', { cpu: 3, ip: '10.0.0.100' })];
  const cols = tableColumns(nodes);

  it('columns: name, details, metrics then metadata by priority', () => {
    expect(cols.map((c) => c.key)).toEqual([
      'label',
      'labelMinor',
      'metric:docker_cpu_total_usage',
      'metric:docker_memory_usage',
      'metadata:docker_image_name',
      'metadata:docker_container_command',
      'metadata:docker_container_uptime',
      'metadata:docker_container_ips',
      'metadata:docker_container_created',
    ]);
  });

  it('defaults to the first metric, highest first, like top', () => {
    const s = defaultSort(cols);
    expect(s).toEqual({ key: 'metric:docker_cpu_total_usage', desc: true });
    const col = cols.find((c) => c.key === s.key);
    expect(sortNodes(nodes, col, s.desc).map((n) => n.label)).toEqual(['a', 'c', 'b']);
  });

  it('sorts by name and by numeric metadata', () => {
    expect(sortNodes(nodes, cols[0], false).map((n) => n.label)).toEqual(['a', 'b', 'c']);
    const procs = [process(100, 'x'), process(9, 'y'), process(20, 'z')];
    const pid = tableColumns(procs).find((c) => c.key === 'metadata:pid');
    expect(pid?.numeric).toBe(true);
    expect(sortNodes(procs, pid, false).map((n) => n.label)).toEqual(['y', 'z', 'x']);
    expect(sortNodes(procs, pid, true).map((n) => n.label)).toEqual(['x', 'z', 'y']);
  });

  it('missing values sort last in both directions', () => {
    const withMetric = process(1, 'has');
    const without = { ...process(2, 'none'), metrics: [] };
    const col = tableColumns([withMetric]).find((c) => c.kind === 'metric');
    expect(sortNodes([without, withMetric], col, true).map((n) => n.label)).toEqual(['has', 'none']);
    expect(sortNodes([without, withMetric], col, false).map((n) => n.label)).toEqual(['has', 'none']);
  });

  it('IP addresses sort numerically', () => {
    expect(ipSortKey('10.0.0.9') < ipSortKey('10.0.0.10')).toBe(true);
    expect(ipSortKey('not an ip')).toBe('not an ip');
  });

  it('cells read like the details panel', () => {
    const n = container('x', { cpu: 1.234, mem: 618496 });
    const text = (key: string) => cellText(n, cols.find((c) => c.key === key) ?? cols[0]!);
    expect(text('metric:docker_cpu_total_usage')).toBe('1.23%');
    expect(text('metric:docker_memory_usage')).toBe('604 KB');
    expect(text('metadata:docker_container_uptime')).toBe('8s');
  });
});
