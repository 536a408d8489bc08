import { describe, expect, it, vi } from 'vitest';
import type { Me } from '../api/accounts';
import { AccountsClient } from '../api/accounts';
import type { HashNav, MapLifecycle } from './session';
import { SESSION_ENDED, Session } from './session';

function me(org = 'o1', role: Me['role'] = 'admin'): Me {
  return {
    user: { id: 'u1', email: 'a@example.com', created: 1 },
    org: { id: org, name: `Org ${org}`, slug: org, created: 1 },
    role,
    orgs: [
      { id: 'o1', name: 'Org o1', slug: 'o1', created: 1, role: 'admin' },
      { id: 'o2', name: 'Org o2', slug: 'o2', created: 1, role: 'viewer' },
    ],
    csrfToken: `csrf-${org}`,
  };
}

function fakeNav(initial: string): HashNav & { current: string; fire: () => void } {
  let listener: (() => void) | null = null;
  const nav = {
    current: initial,
    hash: () => nav.current,
    push: (h: string) => {
      nav.current = h;
    },
    replace: (h: string) => {
      nav.current = h;
    },
    listen: (f: () => void) => {
      listener = f;
      return () => (listener = null);
    },
    fire: () => listener?.(),
  };
  return nav;
}

function fakeMap(): MapLifecycle & { log: string[] } {
  const log: string[] = [];
  return { log, start: () => log.push('start'), stop: () => log.push('stop'), restart: () => log.push('restart') };
}

type Handler = (path: string, init: RequestInit) => Response | undefined;
const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status });

/** A session over a fake app: `mode`, whether a session exists, and extra handlers. */
function setup(opts: { mode: 'local' | 'accounts'; signedIn?: Me | null; hash?: string; extra?: Handler }) {
  const nav = fakeNav(opts.hash ?? '');
  const map = fakeMap();
  const requests: { path: string; init: RequestInit }[] = [];
  let session: Session | null = null;
  const client = new AccountsClient({
    fetch: async (path, init) => {
      requests.push({ path, init });
      const extra = opts.extra?.(path, init);
      if (extra) return extra;
      if (path === '/api/auth/config') return json({ mode: opts.mode, signup: 'open', bootstrapRequired: false });
      if (path === '/api/auth/me') return opts.signedIn ? json(opts.signedIn) : json({ error: 'no session' }, 401);
      if (path === '/api/auth/signin') return json(me());
      if (path === '/api/auth/signout') return new Response(null, { status: 204 });
      if (path === '/api/auth/org') return json(me(JSON.parse(String(init.body)).orgId, 'viewer'));
      if (path === '/api/auth/invite/accept') return json(me('o2', 'viewer'));
      return json({ error: 'not found' }, 404);
    },
    csrfToken: () => session?.csrfToken() ?? null,
    onUnauthorized: () => session?.sessionEnded(),
  });
  session = new Session(client, nav, map, 1);
  return { session, nav, map, requests, client };
}

describe('Session', () => {
  it('local mode: starts the map at once, ignores the hash, never asks who is signed in', async () => {
    const { session, map, nav, requests } = setup({ mode: 'local', hash: '#/tokens' });
    await session.init();
    expect(session.get().config?.mode).toBe('local');
    expect(map.log).toEqual(['start']);
    expect(nav.current).toBe('#/tokens');
    expect(requests.map((r) => r.path)).toEqual(['/api/auth/config']);
  });

  it('accounts mode without a session: sign-in page, map stopped, then back where the user was headed', async () => {
    const { session, map, nav } = setup({ mode: 'accounts', hash: '#/probes' });
    await session.init();
    expect(map.log).toEqual([]);
    expect(nav.current).toBe('#/signin');
    expect(session.get().route).toEqual({ page: 'signin' });
    await session.signIn('a@example.com', 'pw');
    expect(session.get().me?.org.id).toBe('o1');
    expect(map.log).toEqual(['restart']);
    expect(nav.current).toBe('#/probes');
  });

  it('accounts mode with a session: starts the map; sign-in page goes to the map', async () => {
    const { session, map, nav } = setup({ mode: 'accounts', signedIn: me(), hash: '#/signin' });
    await session.init();
    expect(map.log).toEqual(['start']);
    expect(nav.current).toBe('#/');
  });

  it('a 401 from any call ends the session and returns to sign-in with a notice', async () => {
    const { session, map, nav, client } = setup({
      mode: 'accounts',
      signedIn: me(),
      hash: '#/tokens',
      extra: (path) => (path === '/api/org/tokens' ? json({ error: 'session expired' }, 401) : undefined),
    });
    await session.init();
    await expect(client.tokens()).rejects.toMatchObject({ status: 401 });
    expect(session.get().me).toBeNull();
    expect(session.get().notice).toBe(SESSION_ENDED);
    expect(map.log).toEqual(['start', 'stop']);
    expect(nav.current).toBe('#/signin');
    // Signing in again goes back to the page the session ended on.
    await session.signIn('a@example.com', 'pw');
    expect(nav.current).toBe('#/tokens');
    expect(session.get().notice).toBeNull();
  });

  it('switching organisation restarts the map, sends the CSRF token, leaves admin pages for a viewer', async () => {
    const { session, map, nav, requests } = setup({ mode: 'accounts', signedIn: me(), hash: '#/tokens' });
    await session.init();
    const epoch = session.get().epoch;
    await session.switchOrg('o2');
    const post = requests.find((r) => r.path === '/api/auth/org');
    expect((post?.init.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-o1');
    expect(session.get().me?.org.id).toBe('o2');
    expect(session.csrfToken()).toBe('csrf-o2');
    expect(session.get().epoch).toBe(epoch + 1);
    expect(map.log).toEqual(['start', 'restart']);
    expect(nav.current).toBe('#/');
  });

  it('sign-out ends the session on the server, stops the map, shows sign-in', async () => {
    const { session, map, nav, requests } = setup({ mode: 'accounts', signedIn: me(), hash: '#/members' });
    await session.init();
    await session.signOut();
    const out = requests.find((r) => r.path === '/api/auth/signout');
    expect((out?.init.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-o1');
    expect(session.get().me).toBeNull();
    expect(session.get().notice).toBeNull();
    expect(map.log).toEqual(['start', 'stop']);
    expect(nav.current).toBe('#/signin');
  });

  it('invite links: signing in with one joins the organisation', async () => {
    const { session, nav, requests } = setup({ mode: 'accounts', hash: '#/invite/sec' });
    await session.init();
    expect(nav.current).toBe('#/invite/sec');
    await session.signIn('a@example.com', 'pw', 'sec');
    const accept = requests.find((r) => r.path === '/api/auth/invite/accept');
    expect(JSON.parse(String(accept?.init.body))).toEqual({ secret: 'sec' });
    expect((accept?.init.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-o1');
    expect(session.get().me?.org.id).toBe('o2');
    expect(nav.current).toBe('#/');
  });

  it('a failed invite keeps the user signed in and says why', async () => {
    const { session, nav } = setup({
      mode: 'accounts',
      hash: '#/invite/old',
      extra: (path) => (path === '/api/auth/invite/accept' ? json({ error: 'invite expired' }, 410) : undefined),
    });
    await session.init();
    await session.signIn('a@example.com', 'pw', 'old');
    expect(session.get().me?.org.id).toBe('o1');
    expect(session.get().inviteError).toBe('invite expired');
    expect(nav.current).toBe('#/invite/old');
  });

  it('follows hash changes and guards them', async () => {
    const { session, nav } = setup({ mode: 'accounts' });
    await session.init();
    nav.current = '#/signup';
    nav.fire();
    expect(session.get().route).toEqual({ page: 'signup' });
    nav.current = '#/audit';
    nav.fire();
    expect(nav.current).toBe('#/signin');
  });

  it('retries while the app is unreachable', async () => {
    let fails = 2;
    const { session } = setup({
      mode: 'local',
      extra: (path) => {
        if (path === '/api/auth/config' && fails-- > 0) return json({ error: 'starting' }, 503);
        return undefined;
      },
    });
    const seen: string[] = [];
    session.store.subscribe(() => seen.push(session.get().phase));
    await session.init();
    expect(seen).toContain('unreachable');
    expect(session.get().phase).toBe('ready');
  });

  it('ignores a 401 that arrives when nobody is signed in', () => {
    const { session, map } = setup({ mode: 'accounts' });
    const spy = vi.spyOn(session.store, 'set');
    session.sessionEnded();
    expect(spy).not.toHaveBeenCalled();
    expect(map.log).toEqual([]);
  });
});
