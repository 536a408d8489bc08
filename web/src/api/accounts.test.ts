import { describe, expect, it, vi } from 'vitest';
import type { FetchLike } from './accounts';
import { AccountsClient, AccountsError, LOCAL_CONFIG, auditActor, auditDetails, errorFor, isPendingInvite, parseRetryAfter } from './accounts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that answers from `answer` and records every call. */
function fakeFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return answer(url, init);
    },
  };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

function client(answer: (url: string, init: RequestInit) => Response | Promise<Response>, csrf: string | null = 'csrf-1') {
  const f = fakeFetch(answer);
  const onUnauthorized = vi.fn();
  const c = new AccountsClient({ fetch: f.fetch, csrfToken: () => csrf, onUnauthorized, now: () => NOW });
  return { c, calls: f.calls, onUnauthorized };
}

function header(call: Call | undefined, name: string): string | undefined {
  return (call?.init.headers as Record<string, string> | undefined)?.[name];
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30);
    expect(parseRetryAfter(' 7 ', NOW)).toBe(7);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('1.2', NOW)).toBe(2);
  });
  it('reads an HTTP date, never negative', () => {
    expect(parseRetryAfter(new Date(NOW + 42_000).toUTCString(), NOW)).toBe(42);
    expect(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW)).toBe(0);
  });
  it('gives null when absent or unreadable', () => {
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter('', NOW)).toBeNull();
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter('-3', NOW)).toBeNull();
  });
});

describe('errorFor', () => {
  it('says wrong email or password for a 401 on sign-in', () => {
    const e = errorFor('/api/auth/signin', 401, 'Unauthorized', '{"error":"invalid credentials"}', null, NOW);
    expect(e.status).toBe(401);
    expect(e.message).toBe('Wrong email or password.');
  });
  it('says the session ended for other 401s without a message', () => {
    expect(errorFor('/api/org/tokens', 401, 'Unauthorized', '', null, NOW).message).toBe('Your session has ended. Sign in again.');
  });
  it('turns 429 into a wait from Retry-After', () => {
    const e = errorFor('/api/auth/signin', 429, 'Too Many Requests', '{"error":"slow down"}', '17', NOW);
    expect(e.message).toBe('Too many attempts, try again in 17 s.');
    expect(e.retryAfter).toBe(17);
    expect(errorFor('/api/auth/signin', 429, '', '', null, NOW).message).toBe('Too many attempts, try again later.');
    expect(errorFor('/api/auth/signin', 429, '', '', new Date(NOW + 60_000).toUTCString(), NOW).message).toBe('Too many attempts, try again in 60 s.');
  });
  it("passes the server's message on (409, 403, 400)", () => {
    expect(errorFor('/api/org/members/u1', 409, 'Conflict', '{"error":"an organisation needs an admin"}', null, NOW).message).toBe('an organisation needs an admin');
    expect(errorFor('/api/org/tokens', 403, 'Forbidden', '{"error":"missing or wrong X-CSRF-Token header"}', null, NOW).message).toBe(
      'missing or wrong X-CSRF-Token header',
    );
  });
  it('falls back on the status when the body is not a JSON error', () => {
    expect(errorFor('/api/org/tokens', 403, 'Forbidden', '', null, NOW).message).toBe('You are not allowed to do this.');
    expect(errorFor('/api/org/tokens', 502, 'Bad Gateway', '<html>proxy</html>', null, NOW).message).toBe('The app answered 502 Bad Gateway.');
    expect(errorFor('/api/org/tokens', 500, 'Internal Server Error', 'boom', null, NOW).message).toBe('The app answered 500 Internal Server Error: boom.');
  });
});

describe('AccountsClient', () => {
  it('sends the CSRF token on every state-changing call, and only on those', async () => {
    const { c, calls } = client((url, init) => {
      if (init.method === 'DELETE') return new Response(null, { status: 204 });
      if (url.endsWith('/api/org/tokens') && init.method === 'POST') return json({ token: { id: 't1' }, secret: 'scope_x', command: 'scope probe --service-token scope_x ADDRESS' }, 201);
      return json([]);
    });
    await c.tokens();
    await c.createToken('prod');
    await c.revokeToken('t/1');
    await c.setRole('u1', 'admin').catch(() => {});
    await c.switchOrg('o2').catch(() => {});
    const [get, post, del, put, org] = calls;
    expect(header(get, 'X-CSRF-Token')).toBeUndefined();
    expect(get?.init.method).toBe('GET');
    expect(header(post, 'X-CSRF-Token')).toBe('csrf-1');
    expect(header(post, 'Content-Type')).toBe('application/json');
    expect(JSON.parse(String(post?.init.body))).toEqual({ name: 'prod' });
    expect(header(del, 'X-CSRF-Token')).toBe('csrf-1');
    expect(del?.url).toBe('/api/org/tokens/t%2F1');
    expect(header(put, 'X-CSRF-Token')).toBe('csrf-1');
    expect(JSON.parse(String(put?.init.body))).toEqual({ role: 'admin' });
    expect(header(org, 'X-CSRF-Token')).toBe('csrf-1');
    expect(JSON.parse(String(org?.init.body))).toEqual({ orgId: 'o2' });
    for (const call of calls) expect(call.init.credentials).toBe('same-origin');
  });

  it('sends no CSRF header before there is a session (sign-in, sign-up)', async () => {
    const { c, calls } = client(() => json({ user: {} }, 201), null);
    await c.signUp({ email: 'a@x', password: 'pw', orgName: 'A', bootstrapSecret: 'b' });
    expect(header(calls[0], 'X-CSRF-Token')).toBeUndefined();
    expect(calls[0]?.url).toBe('/api/auth/signup');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ email: 'a@x', password: 'pw', orgName: 'A', bootstrapSecret: 'b' });
  });

  it('reports a 401 as the end of the session, except where 401 is the answer', async () => {
    const { c, onUnauthorized } = client(() => json({ error: 'no session' }, 401));
    await expect(c.probes()).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await expect(c.signIn('a@x', 'bad')).rejects.toThrow('Wrong email or password.');
    expect(await c.me()).toBeNull();
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('maps 429 with Retry-After', async () => {
    const { c } = client(() => json({ error: 'rate limited' }, 429, { 'Retry-After': '12' }));
    const e = await c.signIn('a@x', 'pw').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AccountsError);
    expect((e as AccountsError).message).toBe('Too many attempts, try again in 12 s.');
    expect((e as AccountsError).retryAfter).toBe(12);
  });

  it('says when the app cannot be reached', async () => {
    const { c } = client(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(c.members()).rejects.toMatchObject({ status: 0, message: 'Cannot reach the Scope app (Failed to fetch).' });
  });

  it('treats a missing accounts API (404, or the console page instead of JSON) as local mode', async () => {
    expect(await client(() => json({ error: 'not found' }, 404)).c.config()).toEqual(LOCAL_CONFIG);
    expect(await client(() => new Response('<!doctype html>', { status: 200 })).c.config()).toEqual(LOCAL_CONFIG);
    expect(await client(() => json({ mode: 'accounts', signup: 'open', bootstrapRequired: true })).c.config()).toEqual({
      mode: 'accounts',
      signup: 'open',
      bootstrapRequired: true,
    });
    await expect(client(() => json({ error: 'down' }, 503)).c.config()).rejects.toMatchObject({ status: 503 });
  });

  it('gives up on a call that does not answer in time', async () => {
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    const c = new AccountsClient({ fetch: hang, csrfToken: () => null });
    await expect(c.config(20)).rejects.toMatchObject({ status: 0, message: 'The Scope app did not answer within 1 s.' });
  });

  it('pages the audit log with the cursor', async () => {
    const { c, calls } = client(() => json({ entries: [{ id: 1 }], next: 'c2' }));
    expect(await c.audit(50)).toEqual({ entries: [{ id: 1 }], next: 'c2' });
    await c.audit(50, 'c2');
    expect(calls[0]?.url).toBe('/api/org/audit?limit=50');
    expect(calls[1]?.url).toBe('/api/org/audit?limit=50&before=c2');
  });

  it('prefixes the base path', async () => {
    const f = fakeFetch(() => json([]));
    await new AccountsClient({ fetch: f.fetch, base: () => '/scope', csrfToken: () => null }).probes();
    expect(f.calls[0]?.url).toBe('/scope/api/org/probes');
  });
});

describe('helpers', () => {
  const invite = { id: 'i', org_id: 'o', email: 'b@x', role: 'viewer' as const, invited_by: 'u', created: NOW - 1000, expires: NOW + 1000, accepted_at: null, accepted_by: null, revoked_at: null };
  it('knows pending invites', () => {
    expect(isPendingInvite(invite, NOW)).toBe(true);
    expect(isPendingInvite({ ...invite, accepted_at: NOW }, NOW)).toBe(false);
    expect(isPendingInvite({ ...invite, revoked_at: NOW }, NOW)).toBe(false);
    expect(isPendingInvite({ ...invite, expires: NOW - 1 }, NOW)).toBe(false);
  });
  it('shows the actor by email when known', () => {
    const e = { id: 1, org_id: 'o', at: NOW, actor: 'u1', action: 'token.create', target: 't1', result: 'ok', details: null };
    expect(auditActor({ ...e, actor_email: 'a@x' })).toBe('a@x');
    expect(auditActor({ ...e, actor: 'probe:p1' })).toBe('probe:p1');
    expect(auditDetails(null)).toBe('');
    expect(auditDetails({})).toBe('');
    expect(auditDetails({ name: 'prod' })).toBe('{"name":"prod"}');
    expect(auditDetails('text')).toBe('text');
  });
});
