#!/usr/bin/env node
// End-to-end tests of the console in accounts mode: a real `scope app --database sqlite::memory:`
// (started here on free ports, with a random session key and bootstrap secret) and a real probe
// reporting with a service token made in the console, driven in headless Chromium like a user:
// sign up the first organisation with the bootstrap secret, create a token (its command shown
// once), watch the probe arrive on the Probes page and the map, check that a second organisation
// sees none of it, invite a member and switch organisations, sign in with a wrong password, revoke
// the token and watch the probe drop off, read the audit log, lose the session, hit the rate limit.
//
//   SCOPE_BIN=path/to/scope npm run e2e:accounts   (default $CARGO_TARGET_DIR/debug/scope, else target/debug/scope)
//
// Needs: the scope binary built after `npm run build` (so it embeds this console) and Chromium.
// No Docker: the probe runs with --no-docker. A missing part fails the run with what to do.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './lib/browser.mjs';
import { cleanupStack, eventually, freePort, startProcess, testRunner } from './lib/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const artifacts = join(repo, 'test-artifacts');
const scopeBin =
  process.env.SCOPE_BIN ?? (process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, 'debug', 'scope') : join(repo, 'target', 'debug', 'scope'));
const run = `${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const log = (...a) => console.log(...a);

function fail(msg) {
  console.error(`e2e-accounts: ${msg}`);
  process.exit(2);
}

// ---- preconditions -------------------------------------------------------------------------
if (!existsSync(scopeBin)) fail(`no scope binary at ${scopeBin}. Build it: scripts/web.sh && cargo build -p scope-app (or set SCOPE_BIN).`);
let appHelp = '';
try {
  appHelp = execFileSync(scopeBin, ['app', '--help'], { encoding: 'utf8' });
} catch (e) {
  fail(`${scopeBin} app --help failed: ${e.message}`);
}
for (const flag of ['--database', '--session-key', '--bootstrap-secret', '--signup']) {
  if (!appHelp.includes(flag)) fail(`${scopeBin} has no \`app ${flag}\`: it predates accounts mode (services/api/ACCOUNTS.md). Rebuild it.`);
}

// Users of the run: A creates the first organisation, B a second one (sign-up is open).
const PASSWORD_A = `correct horse ${run} battery`;
const PASSWORD_B = `another long ${run} passphrase`;
const A = { email: `alice-${run}@example.com`, password: PASSWORD_A, org: `Org A ${run}` };
const B = { email: `bob-${run}@example.com`, password: PASSWORD_B, org: `Org B ${run}` };
const C = { email: `carol-${run}@example.com`, password: `yet another ${run} passphrase` };
const HOST_A = `e2e-host-a-${run}`;
const TOKEN_NAME = `e2e probe ${run}`;

const cleanups = cleanupStack();
let page;
let appLog = '';
// E2E_PAUSE_ON_FAIL=<seconds>: after the first failure, keep the app, probe and browser up that
// long (to look at them) before going on.
const pauseOnFail = Number(process.env.E2E_PAUSE_ON_FAIL ?? 0);
let paused = false;
const { test, fail: failed, results, summary } = testRunner({
  before: async () => {
    if (pauseOnFail > 0 && !paused && results.some((r) => !r.ok)) {
      paused = true;
      log(`     pausing ${pauseOnFail} s (E2E_PAUSE_ON_FAIL); page at ${page?.url()}`);
      await new Promise((r) => setTimeout(r, pauseOnFail * 1000));
    }
    await page?.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  },
});

try {
  // ---- the app -------------------------------------------------------------------------------
  const port = await freePort();
  const probePort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const sessionKey = randomBytes(32).toString('hex');
  const bootstrapSecret = randomBytes(18).toString('base64url');
  startProcess(
    scopeBin,
    [
      'app',
      '--database',
      'sqlite::memory:',
      '--session-key',
      sessionKey,
      '--bootstrap-secret',
      bootstrapSecret,
      '--signup',
      'open',
      '--listen',
      `127.0.0.1:${port}`,
      '--probe-listen',
      `127.0.0.1:${probePort}`,
    ],
    { onOutput: (d) => (appLog += d), cleanups },
  );
  const config = await eventually('scope app to answer /api/auth/config', async () => {
    const r = await fetch(`${base}/api/auth/config`);
    return r.ok ? r.json() : null;
  }).catch((e) => {
    throw new Error(`${e.message}\nscope output:\n${appLog.slice(-3000)}`);
  });
  if (config.mode !== 'accounts' || config.signup !== 'open' || config.bootstrapRequired !== true) {
    throw new Error(`/api/auth/config says ${JSON.stringify(config)}; expected accounts mode, open sign-up, bootstrap required`);
  }
  // The binary must embed this console (with the account pages), not an older build or the placeholder.
  const index = await (await fetch(`${base}/`)).text();
  const script = /<script[^>]+src="([^"]+\.js)"/.exec(index)?.[1];
  const bundle = script ? await (await fetch(new URL(script, base)).catch(() => null))?.text() : '';
  if (!index.includes('id="app"') || !bundle?.includes('signin-form')) {
    throw new Error(`${scopeBin} does not serve this console with its account pages. Rebuild: scripts/web.sh && cargo build -p scope-app`);
  }
  log(`scope app on ${base}, probes on 127.0.0.1:${probePort}`);

  const browser = await launchBrowser();
  cleanups.push(browser.close);
  const context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // ---- helpers -------------------------------------------------------------------------------
  const hash = () => new URL(page.url()).hash;
  const drawn = () => page.evaluate(() => window.__scope.nodes());
  const currentOrg = () => page.$eval('[data-testid="org-switcher"]', (s) => s.selectedOptions[0]?.textContent ?? '');
  const nav = async (name) => {
    await page.locator(`[data-nav="${name}"]`).click();
    await eventually(`#/${name}`, async () => hash() === (name === 'map' ? '#/' : `#/${name}`), 5000, 50);
  };
  /** From the sign-in page, through its link (so the map's view in the query string stays). */
  const signUp = async (u, secret) => {
    await page.locator('.auth-alt a[href="#/signup"]').click({ timeout: 10000 });
    await page.locator('[data-testid="signup-form"]').waitFor({ timeout: 10000 });
    if (secret === undefined && (await page.locator('#signup-bootstrap').count()) !== 0) throw new Error('the bootstrap secret is still asked for');
    await page.getByLabel('Email').fill(u.email);
    await page.getByLabel('Password').fill(u.password);
    await page.getByLabel('Organisation name').fill(u.org);
    if (secret !== undefined) await page.getByLabel('Bootstrap secret').fill(secret);
    await page.getByRole('button', { name: 'Sign up' }).click();
  };
  const signIn = async (u, password = u.password) => {
    const form = page.locator('[data-testid="signin-form"]');
    await form.waitFor({ timeout: 10000 });
    await form.getByLabel('Email').fill(u.email);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
  };
  /** Signed in as `u` in `org`, on the map. */
  const onMap = async (org) => {
    await page.locator('[data-testid="org-switcher"]').waitFor({ timeout: 10000 });
    await eventually(`${org} current`, async () => (await currentOrg()) === org, 10000, 100);
    await page.locator('.app .header').waitFor({ timeout: 10000 });
    await eventually('the map route', async () => hash() === '#/', 5000, 50);
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('[data-testid="signin-form"]').waitFor({ timeout: 10000 });
    if (hash() !== '#/signin') throw new Error(`signed out to ${hash()}`);
  };
  const hostOnMap = async () => (await drawn()).find((n) => n.label === HOST_A || n.label?.startsWith(`${HOST_A}.`));
  const showHosts = async () => {
    await page.locator('[data-topology="hosts"]').click({ timeout: 15000 });
    await eventually('hosts topology', async () => (await page.evaluate(() => window.__scope.state())).view.topology === 'hosts', 5000, 100);
  };
  /** What the API says to this page's session: the map's own data, as the console fetches it. */
  const apiFromPage = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

  let secret = '';
  let probe = null;

  // ---- tests ---------------------------------------------------------------------------------
  await test('without a session the console shows the sign-in page', async () => {
    await page.goto(`${base}/`);
    await page.locator('[data-testid="signin-form"]').waitFor({ timeout: 15000 });
    if (hash() !== '#/signin') throw new Error(`hash is ${hash()}`);
    if ((await page.locator('.app .header').count()) !== 0) throw new Error('the map shows without a session');
    const notice = (await page.locator('.auth .notice').allTextContents()).join(' ');
    if (!notice.includes('No account exists yet')) throw new Error(`no first-organisation hint: "${notice}"`);
  });

  await test('sign-up asks for the bootstrap secret, says when it is wrong, then lands on the map', async () => {
    await signUp(A, 'not-the-secret');
    const err = page.locator('[data-testid="signup-error"]');
    await err.waitFor({ timeout: 10000 });
    if ((await err.getAttribute('role')) !== 'alert') throw new Error('the error is not an alert');
    log(`     wrong bootstrap secret says: ${await err.textContent()}`);
    const hint = (await page.locator('#signup-bootstrap-hint').textContent()) ?? '';
    if (!hint.includes('log')) throw new Error(`bootstrap hint: "${hint}"`);
    await page.getByLabel('Bootstrap secret').fill(bootstrapSecret);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await onMap(A.org);
    if ((await page.locator('[data-testid="user-email"]').textContent()) !== A.email) throw new Error('top bar lacks the email');
    for (const n of ['map', 'probes', 'tokens', 'members', 'audit']) {
      if ((await page.locator(`[data-nav="${n}"]`).count()) !== 1) throw new Error(`an admin lacks the ${n} link`);
    }
    await page.locator('[data-testid="no-probes"]').waitFor({ timeout: 15000 });
  });

  await test('tokens: creating one shows the probe command with the secret once', async () => {
    await nav('tokens');
    await page.locator('[data-testid="tokens-empty"]').waitFor({ timeout: 10000 });
    await page.getByLabel('New token name').fill(TOKEN_NAME);
    await page.getByRole('button', { name: 'Create token' }).click();
    const command = ((await page.locator('[data-testid="token-command"]').textContent({ timeout: 10000 })) ?? '').trim();
    // ACCOUNTS.md shows the address as a placeholder; the app may fill in its probe address.
    const m = /^scope probe --service-token (scope_\S+) (\S+)$/.exec(command);
    if (!m) throw new Error(`command is "${command}"`);
    secret = m[1];
    if (m[2] !== 'ADDRESS') log(`     the command names the address: ${m[2]}`);
    const box = (await page.locator('[data-testid="new-token"]').textContent()) ?? '';
    if (!box.includes('will not be shown again')) throw new Error('no warning that the secret is shown once');
    const row = page.locator(`[data-token-name="${TOKEN_NAME}"]`);
    await row.waitFor({ timeout: 10000 });
    const rowText = (await row.textContent()) ?? '';
    if (!rowText.includes('Active')) throw new Error(`row says "${rowText}"`);
    const prefix = ((await row.locator('code').textContent()) ?? '').replace(/…$/, '');
    if (!prefix || !secret.startsWith(prefix)) throw new Error(`listed prefix "${prefix}" is not the secret's start`);
    if (rowText.includes(secret)) throw new Error('the list shows the whole secret');
    await page.getByRole('button', { name: 'Done' }).click();
    if ((await page.content()).includes(secret)) throw new Error('the secret is still on the page after Done');
    await page.reload();
    await page.locator(`[data-token-name="${TOKEN_NAME}"]`).waitFor({ timeout: 10000 });
    if ((await page.content()).includes(secret)) throw new Error('the secret is shown again after a reload');
  });

  await test('a probe with that token appears on the Probes page and on the hosts map', async () => {
    if (!secret) throw new Error('no token from the previous test');
    let probeLog = '';
    probe = startProcess(scopeBin, ['probe', '--service-token', secret, '--no-docker', '--hostname', HOST_A, '--publish-interval', '1s', `http://127.0.0.1:${probePort}`], {
      onOutput: (d) => (probeLog += d),
      cleanups,
    });
    await nav('probes');
    const row = page.locator(`[data-hostname="${HOST_A}"][data-connected="true"]`);
    await row.waitFor({ timeout: 30000 }).catch((e) => {
      throw new Error(`${e.message}\nprobe output:\n${probeLog.slice(-2000)}`);
    });
    const text = (await row.textContent()) ?? '';
    if (!text.includes('Connected')) throw new Error(`probe row says "${text}"`);
    await nav('map');
    await showHosts();
    await eventually(`${HOST_A} on the map`, async () => (await hostOnMap())?.visible, 30000, 500);
  });

  await test('a second organisation sees none of the first one (tokens, probes, map)', async () => {
    await signOut();
    await signUp(B);
    await onMap(B.org);
    await page.locator('[data-testid="no-probes"]').waitFor({ timeout: 15000 });
    const state = await page.evaluate(() => window.__scope.state());
    if (state.view.topology !== 'hosts') throw new Error(`map shows ${state.view.topology}`);
    if (state.nodeCount !== 0 || (await hostOnMap())) throw new Error(`org B's map has ${state.nodeCount} nodes`);
    const hosts = await apiFromPage('/api/topology/hosts');
    if (Object.keys(hosts.nodes ?? {}).length !== 0) throw new Error(`org B's /api/topology/hosts has nodes: ${Object.keys(hosts.nodes).join(', ')}`);
    await nav('tokens');
    await page.locator('[data-testid="tokens-empty"]').waitFor({ timeout: 10000 });
    await nav('probes');
    await page.locator('[data-testid="probes-empty"]').waitFor({ timeout: 10000 });
  });

  await test('a wrong password says so; the right one brings back organisation A', async () => {
    await signOut();
    await signIn(A, `${A.password}-wrong`);
    const err = page.locator('[data-testid="signin-error"]');
    await err.waitFor({ timeout: 10000 });
    if ((await err.textContent()) !== 'Wrong email or password.') throw new Error(`says "${await err.textContent()}"`);
    if ((await err.getAttribute('role')) !== 'alert') throw new Error('the error is not an alert');
    await signIn(A);
    await onMap(A.org);
    await eventually(`${HOST_A} back on the map`, async () => (await hostOnMap())?.visible, 30000, 500);
    await nav('tokens');
    await page.locator(`[data-token-name="${TOKEN_NAME}"][data-revoked="false"]`).waitFor({ timeout: 10000 });
  });

  let inviteLink = '';
  let newcomerLink = '';
  await test('members: an admin invites B; the link is shown once and the invite is pending', async () => {
    await nav('members');
    const me = page.locator(`[data-testid="members-table"] tr[data-email="${A.email}"]`);
    await me.waitFor({ timeout: 10000 });
    if ((await me.locator('select').inputValue()) !== 'admin') throw new Error('A is not listed as admin');
    // The only admin cannot step down (409): the error shows and the select goes back.
    await me.locator('select').selectOption('viewer');
    const alert = page.locator('[data-testid="error"]');
    await alert.waitFor({ timeout: 10000 });
    log(`     demoting the last admin says: ${await alert.textContent()}`);
    await eventually('the role select back on admin', async () => (await me.locator('select').inputValue()) === 'admin', 5000, 100);
    if ((await page.locator('[data-testid="user-role"]').textContent()) !== 'admin') throw new Error('A lost the admin role');
    await page.locator('#invite-email').fill(B.email);
    await page.locator('#invite-role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create invite' }).click();
    inviteLink = ((await page.locator('[data-testid="invite-link"]').textContent({ timeout: 10000 })) ?? '').trim();
    if (!inviteLink.startsWith(`${base}/#/invite/`)) throw new Error(`invite link is "${inviteLink}"`);
    await page.locator(`[data-testid="invites-table"] tr[data-email="${B.email}"]`).waitFor({ timeout: 10000 });
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('#invite-email').fill(C.email);
    await page.locator('#invite-role').selectOption('operator');
    await page.getByRole('button', { name: 'Create invite' }).click();
    await eventually('the second invite link', async () => {
      newcomerLink = ((await page.locator('[data-testid="invite-link"]').textContent()) ?? '').trim();
      return newcomerLink.startsWith(`${base}/#/invite/`) && newcomerLink !== inviteLink;
    }, 10000, 100);
    await page.locator(`[data-testid="invites-table"] tr[data-email="${C.email}"]`).waitFor({ timeout: 10000 });
  });

  await test('B accepts the invite and switches between organisations; the map follows', async () => {
    if (!inviteLink) throw new Error('no invite link from the previous test');
    await signOut();
    await signIn(B);
    await onMap(B.org);
    await page.goto(inviteLink);
    await page.getByRole('button', { name: 'Accept invitation' }).click({ timeout: 10000 });
    await onMap(A.org);
    if ((await page.locator('[data-testid="user-role"]').textContent()) !== 'viewer') throw new Error('B is not a viewer of A');
    if ((await page.locator('[data-nav="tokens"]').count()) !== 0 || (await page.locator('[data-nav="audit"]').count()) !== 0) throw new Error('a viewer sees admin links');
    await showHosts();
    await eventually(`${HOST_A} on B's map of A`, async () => (await hostOnMap())?.visible, 30000, 500);
    const options = await page.$$eval('[data-testid="org-switcher"] option', (os) => os.map((o) => o.textContent));
    if (!options.includes(A.org) || !options.includes(B.org)) throw new Error(`switcher offers ${options.join(', ')}`);
    await page.locator('[data-testid="org-switcher"]').selectOption({ label: B.org });
    await onMap(B.org);
    await page.locator('[data-testid="no-probes"]').waitFor({ timeout: 15000 });
    if (await hostOnMap()) throw new Error(`${HOST_A} stays on the map after switching to B`);
    await page.locator('[data-testid="org-switcher"]').selectOption({ label: A.org });
    await onMap(A.org);
    await eventually(`${HOST_A} back after switching to A`, async () => (await hostOnMap())?.visible, 30000, 500);
    await nav('members');
    const row = page.locator(`[data-testid="members-table"] tr[data-email="${B.email}"]`);
    await row.waitFor({ timeout: 10000 });
    if ((await row.locator('select').count()) !== 0) throw new Error('a viewer can edit roles');
    if (!((await row.textContent()) ?? '').includes('viewer')) throw new Error('B is not listed as viewer');
  });

  await test('a newcomer signs up through an invite link (no organisation name) and joins A', async () => {
    if (!newcomerLink) throw new Error('no invite link from the members test');
    await signOut();
    await page.goto(newcomerLink);
    const form = page.locator('[data-testid="signup-form"]');
    await form.waitFor({ timeout: 10000 });
    if ((await form.getByLabel('Organisation name').count()) !== 0) throw new Error('an invited sign-up asks for an organisation name');
    await form.getByLabel('Email').fill(C.email);
    await form.getByLabel('Password').fill(C.password);
    await form.getByRole('button', { name: 'Create account and join' }).click();
    await onMap(A.org);
    if ((await page.locator('[data-testid="user-role"]').textContent()) !== 'operator') throw new Error('C is not an operator of A');
    await showHosts();
    await eventually(`${HOST_A} on C's map`, async () => (await hostOnMap())?.visible, 30000, 500);
  });

  await test('revoking the token cuts the probe off within seconds', async () => {
    await signOut();
    await signIn(A);
    await onMap(A.org);
    await nav('tokens');
    const row = page.locator(`[data-token-name="${TOKEN_NAME}"]`);
    await row.getByRole('button', { name: 'Revoke' }).click({ timeout: 10000 });
    await row.getByRole('button', { name: 'Revoke token' }).click();
    await page.locator(`[data-token-name="${TOKEN_NAME}"][data-revoked="true"]`).waitFor({ timeout: 10000 });
    const revokedAt = Date.now();
    await nav('probes');
    // ACCOUNTS.md: "its probes are cut off within one publish interval" (1 s here); the page
    // refreshes every 5 s.
    await page
      .locator(`[data-hostname="${HOST_A}"][data-connected="false"]`)
      .waitFor({ timeout: 20000 })
      .catch(async () => {
        const row = (await page.locator(`[data-hostname="${HOST_A}"]`).textContent().catch(() => '')) ?? '';
        throw new Error(`the probe is still shown connected ${((Date.now() - revokedAt) / 1000).toFixed(0)} s after its token was revoked (row: "${row}")`);
      });
    log(`     probe shown disconnected ${((Date.now() - revokedAt) / 1000).toFixed(1)} s after the revoke`);
  });

  await test('the audit log lists what happened, newest first', async () => {
    await nav('audit');
    const rows = page.locator('[data-testid="audit-table"] tbody tr');
    await rows.first().waitFor({ timeout: 10000 });
    const actions = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-action')));
    const text = (await page.locator('[data-testid="audit-table"]').textContent()) ?? '';
    if (actions.length < 3) throw new Error(`only ${actions.length} entries: ${actions.join(', ')}`);
    if (!text.includes(A.email)) throw new Error('no entry names A by email');
    const times = await rows.evaluateAll((rs) => rs.map((r) => Date.parse(r.querySelector('time')?.getAttribute('datetime') ?? '')));
    for (let i = 1; i < times.length; i++) if (times[i] > times[i - 1]) throw new Error('entries are not newest first');
    log(`     ${actions.length} entries: ${[...new Set(actions)].join(', ')}`);
  });

  await test('a session that ends (cookie gone) returns to the sign-in page from any call', async () => {
    await nav('probes');
    await context.clearCookies();
    await page.locator('[data-testid="signin-form"]').waitFor({ timeout: 15000 });
    const notice = (await page.locator('[data-testid="signin-notice"]').textContent()) ?? '';
    if (!notice.includes('session has ended')) throw new Error(`notice: "${notice}"`);
    await signIn(A);
    await eventually('back on the probes page', async () => hash() === '#/probes', 10000, 100);
  });

  await test('repeated wrong passwords are rate limited with the time to wait', async () => {
    await signOut();
    const victim = { email: `nobody-${run}@example.com` };
    const form = page.locator('[data-testid="signin-form"]');
    let said = '';
    for (let i = 0; i < 10; i++) {
      await form.getByLabel('Email').fill(victim.email);
      await form.getByLabel('Password').fill(`wrong-${i}-password`);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/auth/signin') && r.request().method() === 'POST'),
        form.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      const limited = res.status() === 429;
      said = await eventually(
        `the answer ${res.status()} shown`,
        async () => {
          const t = (await page.locator('[data-testid="signin-error"]').textContent({ timeout: 1000 })) ?? '';
          return (limited ? t.startsWith('Too many attempts') : t === 'Wrong email or password.') ? t : null;
        },
        10000,
        50,
      );
      if (limited) {
        log(`     answer ${i + 1}: 429, Retry-After ${res.headers()['retry-after']}`);
        break;
      }
    }
    if (!/^Too many attempts, try again in \d+ s\.$/.test(said)) throw new Error(`after 10 wrong passwords it says "${said}"`);
    log(`     ${said}`);
  });

  await test('no errors in the page', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join('\n'));
  });
} catch (e) {
  failed('setup', e);
} finally {
  if (results.some((r) => !r.ok) && appLog) log(`     scope app output (last lines):\n${appLog.split('\n').slice(-25).join('\n')}`);
  if (page && results.some((r) => !r.ok)) {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'e2e-accounts-failure.png') }).catch(() => {});
    log(`     screenshot: ${join(artifacts, 'e2e-accounts-failure.png')}`);
  }
  await cleanups.run();
}
process.exit(summary());
