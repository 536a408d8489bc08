#!/usr/bin/env node
// End-to-end tests of the console: a real `scope launch` (started here on a free port) with its
// probe watching real Docker containers (started here, unique names, removed after), driven in
// headless Chromium like a user: look at the map, click a node where it is drawn, search, sort
// the table, watch a new container appear live. Writes a screenshot of the map to
// test-artifacts/e2e-map.png.
//
//   SCOPE_BIN=path/to/scope npm run e2e      (default $CARGO_TARGET_DIR/debug/scope, else target/debug/scope)
//
// Needs: the scope binary built after `npm run build` (so it embeds this console), Docker with
// the local image scope-test-busybox:latest (scripts/ensure-docker.sh), and Chromium
// (scripts/web-test.sh installs it). A missing part fails the run with what to do; nothing is
// skipped silently.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './lib/browser.mjs';
import { eventually, freePort, sleep, startProcess } from './lib/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const artifacts = join(repo, 'test-artifacts');
const IMAGE = 'scope-test-busybox:latest';
const scopeBin =
  process.env.SCOPE_BIN ?? (process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, 'debug', 'scope') : join(repo, 'target', 'debug', 'scope'));
const run = `${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const names = { web: `scope-e2e-${run}-web`, other: `scope-e2e-${run}-other`, late: `scope-e2e-${run}-late` };

const log = (...a) => console.log(...a);

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(2);
}

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// ---- preconditions -------------------------------------------------------------------------
if (!existsSync(scopeBin)) fail(`no scope binary at ${scopeBin}. Build it: scripts/web.sh && cargo build -p scope-app (or set SCOPE_BIN).`);
try {
  docker('info', '--format', '{{.ServerVersion}}');
} catch {
  fail('Docker is not running. Start it with: sudo bash scripts/ensure-docker.sh');
}
try {
  docker('image', 'inspect', IMAGE, '--format', '{{.Id}}');
} catch {
  fail(`the local image ${IMAGE} is missing. Create it with: sudo bash scripts/ensure-docker.sh`);
}

// ---- setup -----------------------------------------------------------------------------------
const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      console.error('cleanup:', e.message);
    }
  }
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

function startContainer(name, ...cmd) {
  cleanups.push(() => docker('rm', '-f', name));
  return docker('run', '-d', '--name', name, '--label', `scope-e2e=${run}`, IMAGE, ...cmd);
}

const results = [];
async function test(name, f) {
  const started = Date.now();
  try {
    // Each test starts with the focus on the page, so shortcut keys reach the console.
    await page?.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await f();
    results.push({ name, ok: true });
    log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`FAIL ${name}: ${e.message}`);
  }
}

let scope;
let page;

/** Starts the scope binary; its process is stopped at cleanup (or earlier with `stop`). */
function startScope(args, onOutput) {
  return startProcess(scopeBin, args, { onOutput, cleanups });
}
try {
  startContainer(names.web, 'httpd', '-f', '-p', '80', '-h', '/www');
  startContainer(names.other, 'sleep', '3600');
  const webIp = docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', names.web);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let scopeLog = '';
  scope = await startScope(['launch', '--listen', `127.0.0.1:${port}`], (d) => (scopeLog += d));
  await eventually('scope to answer /api', async () => (await fetch(`${base}/api`)).ok, 30000).catch((e) => {
    throw new Error(`${e.message}\nscope output:\n${scopeLog.slice(-2000)}`);
  });
  const index = await (await fetch(`${base}/`)).text();
  if (!index.includes('id="app"')) {
    throw new Error(`${scopeBin} serves the placeholder page, not this console. Rebuild: scripts/web.sh && cargo build -p scope-app`);
  }
  const webId = await eventually(
    `the probe to report ${names.web}`,
    async () => {
      const body = await (await fetch(`${base}/api/topology/containers`)).json();
      return Object.values(body.nodes ?? {}).find((n) => n.label === names.web)?.id;
    },
    45000,
    500,
  );
  log(`scope on ${base}, test container ${names.web} (${webIp})`);

  const browser = await launchBrowser();
  const context = browser.context;
  cleanups.push(browser.close);
  page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${base}/`);

  const drawn = () => page.evaluate(() => window.__scope.nodes());
  const drawnNode = async (label) => (await drawn()).find((n) => n.label === label);

  // ---- tests -----------------------------------------------------------------------------------
  await test('the map shows the test container', async () => {
    const n = await eventually(`${names.web} on the map`, async () => {
      const node = await drawnNode(names.web);
      return node?.visible && (await page.evaluate(() => window.__scope.layoutSettled())) ? node : null;
    });
    if (n.id !== webId) throw new Error(`drawn node id ${n.id}, API says ${webId}`);
    const state = await page.evaluate(() => window.__scope.state());
    if (state.view.topology !== 'containers') throw new Error(`default topology is ${state.view.topology}`);
    await page.locator('[data-status="live"]').waitFor({ timeout: 10000 });
    const probes = await page.locator('[data-testid="probes"]').textContent();
    if (!/^1 probe/.test(probes ?? '')) throw new Error(`footer says "${probes}"`);
  });

  await test('clicking the node where it is drawn opens details with its image and IP', async () => {
    const n = await drawnNode(names.web);
    if (!n) throw new Error('node not drawn');
    const hit = await page.evaluate(([x, y]) => window.__scope.nodeAt(x, y), [n.x, n.y]);
    if (hit !== webId) throw new Error(`hit test at (${n.x}, ${n.y}) finds ${hit}`);
    await page.mouse.click(n.x, n.y);
    const panel = page.locator(`[data-testid="details"][data-node-id="${webId}"]`);
    await panel.waitFor({ timeout: 10000 });
    await eventually('image and IP in the details', async () => {
      const text = await panel.textContent();
      return text?.includes('scope-test-busybox') && text.includes(webIp) && text.includes('Image name');
    });
    await eventually('metric sparklines', async () => (await panel.locator('.sparkline polyline').count()) > 0, 15000);
    const url = new URL(page.url());
    if (url.searchParams.get('node') !== webId) throw new Error(`URL does not hold the selected node: ${page.url()}`);
  });

  await test('a link reopens the same view (URL holds topology, node, view)', async () => {
    await page.reload();
    await page.locator(`[data-testid="details"][data-node-id="${webId}"]`).waitFor({ timeout: 15000 });
    await page.keyboard.press('Escape');
    await eventually('details closed and URL updated', async () => !new URL(page.url()).searchParams.has('node') && (await page.locator('[data-testid="details"]').count()) === 0);
  });

  await test('search narrows the map; Enter pins it', async () => {
    await eventually('both containers drawn', async () => (await drawnNode(names.web)) && (await drawnNode(names.other)));
    await page.keyboard.press('/');
    await page.keyboard.type(names.web);
    await eventually('only the web container matches', async () => {
      const web = await drawnNode(names.web);
      const other = await drawnNode(names.other);
      return web?.matched && other && !other.matched;
    });
    const count = await page.locator('[data-testid="search-count"]').textContent();
    if (!/^1 of \d+$/.test(count ?? '')) throw new Error(`search count says "${count}"`);
    await page.keyboard.press('Enter');
    await page.locator(`[data-pinned="${names.web}"]`).waitFor({ timeout: 5000 });
    await eventually('the pinned search hides the other container', async () => {
      const other = await drawnNode(names.other);
      return other && !other.visible;
    });
    if (!new URL(page.url()).searchParams.getAll('pin').includes(names.web)) throw new Error('pinned search not in the URL');
    // Metric syntax: the busybox containers use no CPU to speak of.
    await page.keyboard.type('cpu > 10000');
    await eventually('nothing matches cpu > 10000', async () => !(await drawnNode(names.web))?.matched);
    await page.keyboard.press('Escape'); // clears the live query
    await page.locator(`[data-pinned="${names.web}"] button`).click();
    await eventually('everything back', async () => (await drawnNode(names.other))?.visible && (await drawnNode(names.other))?.matched);
    await page.locator('#search-input').blur();
  });

  await test('the table lists nodes with metadata and sorts by any column', async () => {
    await page.keyboard.press('t');
    await page.locator('.node-table').waitFor({ timeout: 5000 });
    const rowLabels = async () =>
      page.$$eval('.node-table .tr', (rows) =>
        rows.sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex'))).map((r) => r.querySelector('[role=cell]')?.textContent ?? ''),
      );
    await eventually('our containers in the table', async () => {
      const labels = await rowLabels();
      return labels.includes(names.web) && labels.includes(names.other);
    });
    const webRow = page.locator(`.node-table .tr[data-node-id="${webId}"]`);
    if (!((await webRow.textContent()) ?? '').includes('scope-test-busybox')) throw new Error('row lacks the image name');
    const header = page.locator('[data-column="label"]');
    const sortedBy = async (order) => {
      await eventually(`aria-sort ${order}`, async () => (await header.getAttribute('aria-sort')) === order, 5000, 100);
      const labels = await rowLabels();
      const sorted = [...labels].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
      if (order === 'descending') sorted.reverse();
      if (JSON.stringify(labels) !== JSON.stringify(sorted)) throw new Error(`not sorted ${order}: ${labels.join(', ')}`);
      return labels;
    };
    await header.click();
    const asc = await sortedBy('ascending');
    await header.click();
    const desc = await sortedBy('descending');
    if (asc.length < 2 || desc[0] !== asc[asc.length - 1]) throw new Error('descending is not ascending reversed');
    if (new URL(page.url()).searchParams.get('sort') !== '-label') throw new Error(`sort not in the URL: ${page.url()}`);
    // A metric column sorts numerically, highest first on the first click.
    await page.locator('[data-column="metric:docker_memory_usage"]').click();
    const mem = await page.$$eval('.node-table .tr', (rows) => rows.map((r) => r.getAttribute('data-node-id')));
    if (mem.length < 2) throw new Error('too few rows');
    await page.keyboard.press('g');
    await page.locator('canvas').waitFor({ timeout: 5000 });
  });

  await test('a container started during the test appears without a reload', async () => {
    const before = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    startContainer(names.late, 'sleep', '3600');
    const late = await eventually(`${names.late} on the map`, async () => (await drawnNode(names.late))?.visible && (await drawnNode(names.late)), 45000, 500);
    const after = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    if (before !== after) throw new Error('the page reloaded');
    if (!(await drawnNode(names.web))?.visible || late.x === undefined) throw new Error('web container gone from the map');
    await eventually('the layout to settle', () => page.evaluate(() => window.__scope.layoutSettled()), 15000);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'e2e-map.png') });
    log(`     screenshot: ${join(artifacts, 'e2e-map.png')}`);
  });

  await test('contrast theme, help and exports', async () => {
    await page.keyboard.press('c');
    await eventually('contrast on', () => page.evaluate(() => document.documentElement.classList.contains('contrast')));
    await page.keyboard.press('c');
    await page.keyboard.press('?');
    await page.locator('[role="dialog"][aria-label="Help"]').waitFor({ timeout: 5000 });
    await page.keyboard.press('Escape');
    await page.locator('.menu summary').click();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.locator('text=Save map as SVG').click()]);
    const file = await download.path();
    const svg = readFileSync(file, 'utf8');
    if (!svg.startsWith('<svg') || !svg.includes(names.web)) throw new Error('the SVG export lacks the test container');
  });

  await test('the status bar says when the app goes away, and the map comes back by itself', async () => {
    await scope.stop();
    await page.locator('[data-status="reconnecting"]').waitFor({ timeout: 15000 });
    scope = await startScope(['launch', '--listen', `127.0.0.1:${port}`], (d) => (scopeLog += d));
    await page.locator('[data-status="live"]').waitFor({ timeout: 30000 });
    await eventually(`${names.web} back on the map`, async () => (await drawnNode(names.web))?.visible, 45000, 500);
  });

  await test('with no probe connected, the console says what to run', async () => {
    const appPort = await freePort();
    const probePort = await freePort();
    await startScope(['app', '--listen', `127.0.0.1:${appPort}`, '--probe-listen', `127.0.0.1:${probePort}`, '--service-token', `e2e-${run}-token-0123456789`], () => {});
    await eventually('scope app to answer', async () => (await fetch(`http://127.0.0.1:${appPort}/api`)).ok, 30000);
    const p2 = await context.newPage();
    await p2.goto(`http://127.0.0.1:${appPort}/`);
    const box = p2.locator('[data-testid="no-probes"]');
    await box.waitFor({ timeout: 15000 });
    const text = (await box.textContent()) ?? '';
    if (!text.includes('scope probe --service-token') || !text.includes('scope launch')) throw new Error(`says: ${text}`);
    await p2.close();
  });

  await test('no errors in the page', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join('\n'));
  });
} catch (e) {
  results.push({ name: 'setup', ok: false, error: e });
  log(`FAIL setup: ${e.message}`);
} finally {
  if (page && results.some((r) => !r.ok)) {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'e2e-failure.png') }).catch(() => {});
  }
  await cleanup();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
