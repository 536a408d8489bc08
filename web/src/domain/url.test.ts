import { describe, expect, it } from 'vitest';
import { EMPTY_VIEW, parseView, printView } from './url';
import { formatAgo, formatBytes, formatDuration, formatMetadata, formatMetricValue } from './format';

describe('url state', () => {
  it('round-trips everything a link must carry, including awkward node ids', () => {
    const v = {
      ...EMPTY_VIEW,
      topology: 'containers',
      view: 'table' as const,
      node: 'abc;<container>',
      search: 'cpu > 4%',
      pinned: ['image: nginx', 'web'],
      options: { stopped: 'both', system: 'all' },
      sort: '-metric:docker_cpu_total_usage',
      contrast: true,
    };
    const s = printView(v);
    expect(s.startsWith('?topology=containers&view=table&stopped=both&system=all&node=')).toBe(true);
    expect(parseView(s)).toEqual(v);
  });
  it('defaults print as nothing', () => {
    expect(printView(EMPTY_VIEW)).toBe('');
    expect(parseView('')).toEqual(EMPTY_VIEW);
  });
});

describe('format', () => {
  it('bytes, metrics, durations', () => {
    expect(formatBytes(618496)).toBe('604 KB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.50 GB');
    expect(formatMetricValue(2.00284, 'percent')).toBe('2.00%');
    expect(formatMetricValue(3.7, 'integer')).toBe('4');
    expect(formatMetricValue(0.57, undefined)).toBe('0.57');
    expect(formatDuration(2593)).toBe('43m 13s');
    expect(formatDuration(90061)).toBe('1d 1h');
    expect(formatAgo(4200)).toBe('4s ago');
  });
  it('metadata by dataType and truncation', () => {
    expect(formatMetadata({ id: 'x', label: 'ID', value: '366160344f80d7f40e43', truncate: 12 })).toBe('366160344f80');
    expect(formatMetadata({ id: 'u', label: 'Uptime', value: '8', dataType: 'duration' })).toBe('8s');
    expect(formatMetadata({ id: 'c', label: 'Created', value: '2026-11-23T04:21:37.864249685Z', dataType: 'datetime' })).toBe('2026-11-23 04:21:37 UTC');
  });
});
