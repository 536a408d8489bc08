// A metric's recent samples as a small line, scaled to the metric's min/max when the server
// gives a max (CPU 0-200%, memory 0-total), else to the samples' own range.
import type { MetricRow } from '../../api/types';

export function sparkPoints(m: MetricRow, width: number, height: number): string {
  const samples = m.samples ?? [];
  if (samples.length === 0) return '';
  const values = samples.map((s) => s.value);
  let lo = Math.min(m.min, ...values);
  let hi = m.max > m.min ? Math.max(m.max, ...values) : Math.max(...values);
  // On a huge scale (memory out of the host's total) a flat line says nothing: zoom to the data.
  if (hi - lo > 0 && Math.max(...values) - Math.min(...values) < (hi - lo) * 0.02) {
    lo = Math.min(...values) * 0.9;
    hi = Math.max(...values) * 1.1 || 1;
  }
  const span = hi - lo || 1;
  const step = samples.length > 1 ? width / (samples.length - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - ((v - lo) / span) * (height - 2)).toFixed(1)}`).join(' ');
}

export function Sparkline({ metric, width = 90, height = 24 }: { metric: MetricRow; width?: number; height?: number }) {
  const pts = sparkPoints(metric, width, height);
  const last = pts.split(' ').pop()?.split(',');
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      {pts && <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" />}
      {last && last.length === 2 && <circle cx={last[0]} cy={last[1]} r="2" fill="currentColor" />}
    </svg>
  );
}
