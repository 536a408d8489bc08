// REST calls to the app. Every topology call carries the topology options as query parameters,
// as Scope's UI does; node ids are encoded whole because they contain ';', '<', '>' and '/'.
import type { ApiInfo, NodeDetails, NodeSummary, ProbeInfo, TopologyDesc } from './types';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
  ) {
    super(message);
  }
}

/** The base path the console is served under (so it also works behind a path prefix). */
export function apiBase(): string {
  const base = document.querySelector('base')?.getAttribute('href') ?? '/';
  return base.endsWith('/') ? base.slice(0, -1) : base;
}

let unauthorized: (() => void) | null = null;

/** Called when a call answers 401: in accounts mode, the session ended (local mode never says 401). */
export function onUnauthorized(f: (() => void) | null): void {
  unauthorized = f;
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const url = `${apiBase()}${path}`;
  const res = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', ...(signal ? { signal } : {}) });
  if (!res.ok) {
    if (res.status === 401) unauthorized?.();
    const text = (await res.text().catch(() => '')).slice(0, 200);
    throw new HttpError(res.status, url, `${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
  }
  return (await res.json()) as T;
}

function withQuery(path: string, q?: URLSearchParams): string {
  const s = q?.toString();
  return s ? `${path}?${s}` : path;
}

export const api = {
  info: (signal?: AbortSignal) => getJson<ApiInfo>('/api', signal),
  topologies: (q: URLSearchParams, signal?: AbortSignal) => getJson<TopologyDesc[]>(withQuery('/api/topology', q), signal),
  topology: (id: string, q: URLSearchParams, signal?: AbortSignal) =>
    getJson<{ nodes: Record<string, NodeSummary> | null }>(withQuery(`/api/topology/${encodeURIComponent(id)}`, q), signal),
  node: (topology: string, id: string, q: URLSearchParams, signal?: AbortSignal) =>
    getJson<{ node: NodeDetails }>(withQuery(`/api/topology/${encodeURIComponent(topology)}/${encodeURIComponent(id)}`, q), signal),
  probes: (signal?: AbortSignal) => getJson<ProbeInfo[] | null>('/api/probes', signal),
  reportUrl: () => `${apiBase()}/api/report`,
};

/** ws:// or wss:// URL for a topology's diff stream. */
export function topologyWsUrl(id: string, q: URLSearchParams, interval: string): string {
  const params = new URLSearchParams(q);
  params.set('t', interval);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${apiBase()}/api/topology/${encodeURIComponent(id)}/ws?${params.toString()}`;
}
