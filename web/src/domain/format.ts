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

/**
 * How long ago (or from now) `then` is, relative to `now`, both in unix ms: "just now",
 * "42 s ago", "5 min ago", "3 h ago", "2 d ago", "in 10 min". "never" for a missing time.
 */
export function formatRelative(then: number | null | undefined, now: number): string {
  if (then === null || then === undefined || !Number.isFinite(then) || then <= 0) return 'never';
  const d = Math.round((now - then) / 1000);
  const a = Math.abs(d);
  if (a < 2) return 'just now';
  let text: string;
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else if (a < 86400 * 60) text = `${Math.floor(a / 86400)} d`;
  else return new Date(then).toISOString().slice(0, 10);
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** A unix ms time as "2026-03-01 14:05:09" in the browser's time zone (for tooltips and logs). */
export function formatTimestamp(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) return '';
  const t = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}
