// Helpers of the end-to-end scripts: waiting, free ports, child processes stopped at cleanup
// (also on failure and on Ctrl-C), and a tiny test runner that records results.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns something truthy; throws with the last error after `timeoutMs`. */
export async function eventually(what, f, timeoutMs = 30000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await sleep(everyMs);
  }
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Cleanups run last-in first-out, each at most once, also when the run is interrupted. */
export function cleanupStack() {
  const stack = [];
  const run = async () => {
    while (stack.length) {
      try {
        await stack.pop()();
      } catch (e) {
        console.error('cleanup:', e.message);
      }
    }
  };
  process.on('SIGINT', () => void run().then(() => process.exit(130)));
  process.on('SIGTERM', () => void run().then(() => process.exit(143)));
  return { push: (f) => stack.push(f), run };
}

/**
 * Starts `bin args`; its output goes to `onOutput`. The child is stopped (TERM, then KILL after
 * 5 s) by `child.stop()` or at cleanup.
 */
export function startProcess(bin, args, { env = {}, onOutput = () => {}, cleanups }) {
  const child = spawn(bin, args, { env: { ...process.env, CHECKPOINT_DISABLE: '1', SCOPE_LOG_FORMAT: 'text', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise((r) => child.on('exit', r));
  child.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  };
  cleanups.push(child.stop);
  return child;
}

/** Runs named tests in order, logging each; `summary()` prints the counts and gives the exit code. */
export function testRunner({ before } = {}) {
  const results = [];
  const test = async (name, f) => {
    const started = Date.now();
    try {
      await before?.();
      await f();
      results.push({ name, ok: true });
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      results.push({ name, ok: false, error: e });
      console.log(`FAIL ${name}: ${e.message}`);
    }
  };
  const fail = (name, e) => {
    results.push({ name, ok: false, error: e });
    console.log(`FAIL ${name}: ${e.message}`);
  };
  const summary = () => {
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  };
  return { test, fail, results, summary };
}
