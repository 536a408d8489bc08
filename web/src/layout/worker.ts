// The layout worker: runs the force simulation off the main thread and streams positions back,
// one message per slice of ticks, so the map animates while panning stays smooth.
import type { FromWorker, ToWorker } from './protocol';
import { Layout } from './sim';

const layout = new Layout();
let timer: ReturnType<typeof setTimeout> | undefined;
let first = true;

function post(settled: boolean): void {
  const xy = layout.positions();
  const msg: FromWorker = { type: 'positions', version: layout.version, xy, settled };
  (self as unknown as { postMessage(m: FromWorker, t: Transferable[]): void }).postMessage(msg, [xy.buffer]);
}

function loop(): void {
  timer = undefined;
  // Small graphs settle within the first slice and appear already laid out; big ones show their
  // initial layout at once and then animate.
  const settled = layout.run(first ? (layout.big ? 0 : 120) : 24);
  first = false;
  post(settled);
  if (!settled) timer = setTimeout(loop, 0);
}

self.onmessage = (ev: MessageEvent<ToWorker>): void => {
  const msg = ev.data;
  if (msg.type === 'stop') {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    return;
  }
  if (msg.reheat >= 1) first = true;
  layout.setGraph(msg);
  if (timer === undefined) timer = setTimeout(loop, 0);
};
