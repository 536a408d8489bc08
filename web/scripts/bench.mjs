#!/usr/bin/env node
// Benchmark: the console in headless Chromium against a synthetic 5,000-node / 20,000-edge
// topology served by a fake API. Reports time to first render (navigation start to the first
// canvas frame with nodes) and frames per second while panning the whole map with the mouse.
// Goals: first render <= 2 s, panning >= 30 fps.
//   node scripts/bench.mjs [--nodes 5000] [--edges 20000] [--seconds 4]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './lib/browser.mjs';
import { startFakeApi } from './lib/fake-api.mjs';
import { syntheticTopology } from './lib/synthetic.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, '..');
const dist = join(web, 'dist');
const artifacts = join(web, '..', 'test-artifacts');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('nodes', 5000);
const E = arg('edges', 20000);
const SECONDS = arg('seconds', 4);

if (!existsSync(join(dist, 'index.html'))) {
  console.log('building the console (web/dist is missing)…');
  execFileSync('npm', ['run', 'build'], { cwd: web, stdio: 'inherit' });
}

const topology = syntheticTopology({ nodes: N, edges: E });
const api = await startFakeApi({ dist, topology });
const { context, close } = await launchBrowser();
const results = {};
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${api.url}/?topology=containers`);
  await page.waitForFunction(() => window.__scope?.perf.firstNodesFrameAt !== null, null, { timeout: 30000 });
  results.firstRenderMs = Math.round(await page.evaluate(() => window.__scope.perf.firstNodesFrameAt));
  results.nodes = await page.evaluate(() => window.__scope.state().nodeCount);
  // Where the time to first render goes (ms since navigation start).
  results.breakdown = await page.evaluate(() => {
    const out = {};
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav) out.domContentLoaded = Math.round(nav.domContentLoadedEventEnd);
    for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('scope:')) out[m.name.slice(6)] ??= Math.round(m.startTime);
    out.firstPositions = Math.round(window.__scope.firstPositionsAt());
    out.firstFrame = Math.round(window.__scope.perf.firstNodesFrameAt);
    return out;
  });
  results.edges = topology.edges;

  const layoutStart = Date.now();
  await page.waitForFunction(() => window.__scope.layoutSettled(), null, { timeout: 120000, polling: 250 });
  results.layoutSettledMs = Date.now() - layoutStart + results.firstRenderMs;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'bench-map.png') });

  // Pan with real mouse drags across the whole (fitted) map, as fast as input allows.
  const box = await page.locator('canvas').boundingBox();
  if (!box) throw new Error('no canvas');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const measure = async (label) => {
    await page.evaluate(() => {
      window.__bench = { frames: 0, running: true };
      const tick = () => {
        if (!window.__bench.running) return;
        window.__bench.frames++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      window.__scope.perf.reset();
    });
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    const t0 = Date.now();
    let i = 0;
    while (Date.now() - t0 < SECONDS * 1000) {
      i++;
      const a = i / 15;
      await page.mouse.move(cx + Math.cos(a) * 200, cy + Math.sin(a) * 120);
    }
    await page.mouse.up();
    const elapsed = (Date.now() - t0) / 1000;
    const r = await page.evaluate(() => {
      window.__bench.running = false;
      const ms = window.__scope.perf.frames.map((f) => f.ms).sort((a, b) => a - b);
      return { drawn: ms.length, raf: window.__bench.frames, avg: ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length), p95: ms[Math.floor(ms.length * 0.95)] ?? 0 };
    });
    results[label] = {
      fps: Math.round((r.drawn / elapsed) * 10) / 10,
      rafFps: Math.round((r.raf / elapsed) * 10) / 10,
      mouseMoves: i,
      drawMsAvg: Math.round(r.avg * 10) / 10,
      drawMsP95: Math.round(r.p95 * 10) / 10,
    };
  };
  await measure('panWholeMap');
  // Cost of a full redraw of the whole map (what every layout or data update pays), outside
  // gestures: nudge the view a pixel per frame for two seconds.
  results.fullRedrawWholeMap = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const t = window.__scope.transform();
        window.__scope.perf.reset();
        const start = performance.now();
        let i = 0;
        const step = () => {
          window.__scope.setTransform(t.k, t.x + (i++ % 2), t.y);
          if (performance.now() - start < 2000) requestAnimationFrame(step);
          else {
            const ms = window.__scope.perf.frames.map((f) => f.ms).sort((a, b) => a - b);
            const elapsed = (performance.now() - start) / 1000;
            resolve({
              fps: Math.round((ms.length / elapsed) * 10) / 10,
              drawMsAvg: Math.round((ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)) * 10) / 10,
              drawMsP95: Math.round((ms[Math.floor(ms.length * 0.95)] ?? 0) * 10) / 10,
            });
          }
        };
        requestAnimationFrame(step);
      }),
  );
  // Zoomed in (labels drawn, most nodes culled).
  await page.evaluate(() => {
    const t = window.__scope.transform();
    window.__scope.setTransform(t.k * 6, t.x * 6 - 640 * 5, t.y * 6 - 400 * 5);
  });
  await measure('panZoomedIn');
} finally {
  await close();
  await api.close();
}

console.log(JSON.stringify(results, null, 2));
const ok = results.firstRenderMs <= 2000 && results.panWholeMap.fps >= 30;
console.log(
  `${N} nodes / ${results.edges} edges: first render ${results.firstRenderMs} ms (goal <= 2000), panning ${results.panWholeMap.fps} fps whole map / ${results.panZoomedIn.fps} fps zoomed in (goal >= 30), full redraw ${results.fullRedrawWholeMap.drawMsAvg} ms (${results.fullRedrawWholeMap.fps} fps), layout settled after ${results.layoutSettledMs} ms: ${ok ? 'goals met' : 'GOALS MISSED'}`,
);
process.exitCode = ok ? 0 : 1;
