// The accounts API of the cloud tier (services/api/ACCOUNTS.md): wire types and a client that
// sends the session cookie, adds the CSRF header to every state-changing call, and turns error
// answers into messages a person can act on. A 401 on any call made with a session means the
// session ended (expired, revoked, signed out elsewhere): the client reports it so the console
// returns to the sign-in page.

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export interface AuthConfig {
  mode: 'local' | 'accounts';
  signup: 'open' | 'closed';
  bootstrapRequired: boolean;
}

/** What a binary without the accounts API (or in local mode) amounts to. */
export const LOCAL_CONFIG: AuthConfig = { mode: 'local', signup: 'closed', bootstrapRequired: false };

export interface User {
  id: string;
  email: string;
  created: number;
}

export interface Org {
  id: string;
  name: string;
  slug: string;
  created: number;
}

export interface OrgMembership extends Org {
  role: Role;
}

export interface Me {
  user: User;
  org: Org;
  role: Role;
  orgs: OrgMembership[];
  csrfToken: string;
}

export interface TokenInfo {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  created: number;
  created_by: string | null;
  last_used: number | null;
  revoked_at: number | null;
}

export interface CreatedToken {
  token: TokenInfo;
  secret: string;
  command: string;
}

export interface Member {
  user_id: string;
  email: string;
  role: Role;
  created: number;
}

export interface Invite {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  created: number;
  expires: number;
  accepted_at: number | null;
  accepted_by: string | null;
  revoked_at: number | null;
}

export interface CreatedInvite {
  invite: Invite;
  secret: string;
  /** Relative to the app's root: "/#/invite/<secret>". */
  link: string;
}

export interface AuditEntry {
  id: string | number;
  org_id: string;
  at: number;
  /** A user id, "system" or "probe:<id>". */
  actor: string;
  actor_email?: string | null;
  action: string;
  target: string | null;
  result: string;
  details: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: string | number | null;
}

export interface OrgProbe {
  id: string;
  hostname: string;
  version: string;
  connected: boolean;
  firstSeen: number | null;
  lastSeen: number | null;
  reportsReceived: number;
  droppedReports: number;
  reconnects: number;
  replica: string | null;
}

export interface SignUpRequest {
  email: string;
  password: string;
  orgName?: string;
  bootstrapSecret?: string;
  invite?: string;
}

// ---- errors --------------------------------------------------------------------------------

export class AccountsError extends Error {
  constructor(
    /** 0 when the app could not be reached. */
    readonly status: number,
    message: string,
    /** Seconds to wait before trying again (429). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/**
 * Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. null when absent or
 * unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v));
  // An HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone
  // would take "-3" for a year.
  if (!/[a-z]{3}/i.test(v)) return null;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The `error` of a `{"error": "..."}` body, else null. */
function serverMessage(body: string): string | null {
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object' && typeof (v as { error?: unknown }).error === 'string') return (v as { error: string }).error;
  } catch {
    // Not JSON: a proxy's page or plain text.
  }
  return null;
}

/** The error for a failed answer: what the status means for the call that got it. */
export function errorFor(path: string, status: number, statusText: string, body: string, retryAfter: string | null, now: number): AccountsError {
  const said = serverMessage(body);
  if (status === 429) {
    const wait = parseRetryAfter(retryAfter, now);
    return new AccountsError(status, wait !== null ? `Too many attempts, try again in ${wait} s.` : 'Too many attempts, try again later.', wait);
  }
  if (status === 401) {
    if (path === '/api/auth/signin') return new AccountsError(status, 'Wrong email or password.');
    return new AccountsError(status, said ?? 'Your session has ended. Sign in again.');
  }
  if (said) return new AccountsError(status, said);
  if (status === 403) return new AccountsError(status, 'You are not allowed to do this.');
  if (status === 404) return new AccountsError(status, 'Not found.');
  const text = body.trim().slice(0, 200);
  return new AccountsError(status, `The app answered ${status}${statusText ? ` ${statusText}` : ''}${text && !text.startsWith('<') ? `: ${text}` : ''}.`);
}

// ---- client ----------------------------------------------------------------------------------

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export function isMutation(method: Method): boolean {
  return method !== 'GET';
}

export interface ClientOptions {
  fetch: FetchLike;
  /** Prefix of every path ('' when the app is served at the root). */
  base?: () => string;
  /** The session's CSRF token, sent with every state-changing call. */
  csrfToken: () => string | null;
  /** A call made with a session got 401: the session is gone. */
  onUnauthorized?: () => void;
  now?: () => number;
}

interface CallOptions {
  method?: Method;
  body?: unknown;
  /** A 401 here is an answer of this call (not signed in, wrong password), not a lost session. */
  anonymous?: boolean;
  /** Give up after this long (the console's first calls, which it retries). */
  timeoutMs?: number;
}

export class AccountsClient {
  constructor(private readonly opts: ClientOptions) {}

  async call<T>(path: string, o: CallOptions = {}): Promise<T> {
    const method = o.method ?? 'GET';
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    if (isMutation(method)) {
      const token = this.opts.csrfToken();
      if (token) headers['X-CSRF-Token'] = token;
    }
    const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (o.body !== undefined) init.body = JSON.stringify(o.body);
    const signal = o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined;
    if (signal) init.signal = signal;
    let res: Response;
    try {
      res = await this.opts.fetch(`${this.opts.base?.() ?? ''}${path}`, init);
    } catch (e) {
      if (signal?.aborted) throw new AccountsError(0, `The Scope app did not answer within ${Math.ceil((o.timeoutMs ?? 0) / 1000)} s.`);
      throw new AccountsError(0, `Cannot reach the Scope app${e instanceof Error && e.message ? ` (${e.message})` : ''}.`);
    }
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      const err = errorFor(path, res.status, res.statusText, body, res.headers.get('Retry-After'), this.opts.now?.() ?? Date.now());
      if (res.status === 401 && !o.anonymous) this.opts.onUnauthorized?.();
      throw err;
    }
    const text = res.status === 204 ? '' : await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The mode; a binary that predates the accounts API answers 404, which means local mode. */
  async config(timeoutMs?: number): Promise<AuthConfig> {
    try {
      const c = await this.call<Partial<AuthConfig>>('/api/auth/config', { anonymous: true, ...(timeoutMs ? { timeoutMs } : {}) });
      return { mode: c.mode === 'accounts' ? 'accounts' : 'local', signup: c.signup === 'open' ? 'open' : 'closed', bootstrapRequired: c.bootstrapRequired === true };
    } catch (e) {
      // 404: no accounts API. A SyntaxError: something answered with a page, not JSON (a server
      // that serves the console for every path); neither has accounts.
      if ((e instanceof AccountsError && e.status === 404) || e instanceof SyntaxError) return LOCAL_CONFIG;
      throw e;
    }
  }

  /** The signed-in user, or null without a session. */
  async me(timeoutMs?: number): Promise<Me | null> {
    try {
      return await this.call<Me>('/api/auth/me', { anonymous: true, ...(timeoutMs ? { timeoutMs } : {}) });
    } catch (e) {
      if (e instanceof AccountsError && e.status === 401) return null;
      throw e;
    }
  }

  signIn(email: string, password: string): Promise<Me> {
    return this.call('/api/auth/signin', { method: 'POST', body: { email, password }, anonymous: true });
  }

  signUp(req: SignUpRequest): Promise<Me> {
    return this.call('/api/auth/signup', { method: 'POST', body: req, anonymous: true });
  }

  async signOut(): Promise<void> {
    await this.call('/api/auth/signout', { method: 'POST', anonymous: true });
  }

  switchOrg(orgId: string): Promise<Me> {
    return this.call('/api/auth/org', { method: 'POST', body: { orgId } });
  }

  acceptInvite(secret: string): Promise<Me> {
    return this.call('/api/auth/invite/accept', { method: 'POST', body: { secret } });
  }

  async probes(): Promise<OrgProbe[]> {
    return (await this.call<OrgProbe[] | null>('/api/org/probes')) ?? [];
  }

  async tokens(): Promise<TokenInfo[]> {
    return (await this.call<TokenInfo[] | null>('/api/org/tokens')) ?? [];
  }

  createToken(name: string): Promise<CreatedToken> {
    return this.call('/api/org/tokens', { method: 'POST', body: { name } });
  }

  async revokeToken(id: string): Promise<void> {
    await this.call(`/api/org/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async members(): Promise<Member[]> {
    return (await this.call<Member[] | null>('/api/org/members')) ?? [];
  }

  setRole(userId: string, role: Role): Promise<Member> {
    return this.call(`/api/org/members/${encodeURIComponent(userId)}`, { method: 'PUT', body: { role } });
  }

  async removeMember(userId: string): Promise<void> {
    await this.call(`/api/org/members/${encodeURIComponent(userId)}`, { method: 'DELETE' });
  }

  async invites(): Promise<Invite[]> {
    return (await this.call<Invite[] | null>('/api/org/invites')) ?? [];
  }

  createInvite(email: string, role: Role): Promise<CreatedInvite> {
    return this.call('/api/org/invites', { method: 'POST', body: { email, role } });
  }

  async revokeInvite(id: string): Promise<void> {
    await this.call(`/api/org/invites/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async audit(limit: number, before?: string | number | null): Promise<AuditPage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) q.set('before', String(before));
    const page = await this.call<Partial<AuditPage> | null>(`/api/org/audit?${q.toString()}`);
    return { entries: page?.entries ?? [], next: page?.next ?? null };
  }
}

/** An invite is pending while nobody accepted it, nobody revoked it and it has not expired. */
export function isPendingInvite(i: Invite, now: number): boolean {
  return !i.accepted_at && !i.revoked_at && (!i.expires || i.expires > now);
}

/** Who did it, as the audit log shows it. */
export function auditActor(e: AuditEntry): string {
  if (e.actor_email) return e.actor_email;
  return e.actor;
}

/** An audit entry's details as one line of text (they are free-form JSON). */
export function auditDetails(details: unknown): string {
  if (details === null || details === undefined || details === '') return '';
  if (typeof details === 'string') return details;
  if (typeof details === 'object' && Object.keys(details).length === 0) return '';
  return JSON.stringify(details);
}
