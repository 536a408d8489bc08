// How values read: metrics by their format, metadata by dataType. Shared by table, details and
// tooltips so the same number never reads two ways.
import type { MetadataRow, MetricRow } from '../api/types';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes with 1024 steps, three significant digits: 618496 -> "604 KB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = v >= 100 || i === 0 ? 0 : v >= 10 ? 1 : 2;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)} ${UNITS[i] ?? ''}`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '';
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  return n.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

export function formatMetricValue(value: number, format: string | undefined): string {
  switch (format) {
    case 'percent':
      return `${value.toFixed(2)}%`;
    case 'filesize':
      return formatBytes(value);
    case 'integer':
      return String(Math.round(value));
    default:
      return formatNumber(value);
  }
}

export function formatMetric(m: MetricRow): string {
  return formatMetricValue(m.value, m.format);
}

/** Seconds as "3d 4h", "5h 2m", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** "5s ago" style, for the footer's time since the last report. */
export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s ago` : `${formatDuration(s)} ago`;
}

export function formatMetadata(row: MetadataRow): string {
  switch (row.dataType) {
    case 'duration': {
      const n = Number(row.value);
      return Number.isFinite(n) ? formatDuration(n) : row.value;
    }
    case 'datetime': {
      const t = Date.parse(row.value);
      return Number.isFinite(t) ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : row.value;
    }
    default:
      return row.truncate && row.value.length > row.truncate ? row.value.slice(0, row.truncate) : row.value;
  }
}
