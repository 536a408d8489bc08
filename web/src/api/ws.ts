// The topology WebSocket with automatic reconnect. The server's first frame on every connection
// is a reset with every node, so after a reconnect the view simply resets to the truth.
import type { Diff } from './types';

export type SocketStatus = { state: 'connecting' } | { state: 'live' } | { state: 'reconnecting'; retryAt: number; attempt: number };

export interface SocketHandlers {
  onDiff(diff: Diff): void;
  onStatus(status: SocketStatus): void;
}

/** Backoff after `attempt` failures: 1 s, 2 s, 4 s, then every 5 s (Scope retried every 5 s). */
export function backoff(attempt: number): number {
  return Math.min(5000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export class TopologySocket {
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    this.handlers.onStatus({ state: 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = (): void => {
      this.attempt = 0;
      performance.mark('scope:ws-open');
    };
    ws.onmessage = (ev: MessageEvent<unknown>): void => {
      if (typeof ev.data !== 'string') return;
      const received = performance.now();
      let diff: Diff;
      try {
        diff = JSON.parse(ev.data) as Diff;
      } catch {
        return; // A frame we cannot read is dropped; the next reset brings the truth back.
      }
      if (diff.reset) {
        // Marks for the benchmark's breakdown of time to first render.
        performance.mark('scope:reset-received', { startTime: received });
        performance.mark('scope:reset-parsed');
        this.handlers.onStatus({ state: 'live' });
      }
      this.handlers.onDiff(diff);
    };
    ws.onclose = (): void => {
      if (this.ws !== ws || this.closed) return;
      this.ws = null;
      this.attempt++;
      const delay = backoff(this.attempt);
      this.handlers.onStatus({ state: 'reconnecting', retryAt: Date.now() + delay, attempt: this.attempt });
      this.timer = setTimeout(() => this.open(), delay);
    };
    // onerror is always followed by onclose, which schedules the retry.
  }

  /** Reconnects now instead of waiting out the backoff (the "retry now" link). */
  retryNow(): void {
    if (this.ws || this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.open();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
    }
  }
}
