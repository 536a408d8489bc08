// The session in accounts mode: which mode the app runs in, who is signed in and in which
// organisation, and the hash route. It owns the rules: without a session only the sign-in,
// sign-up and invite pages show; a 401 from any call ends the session and returns to sign-in;
// whenever whose data the console shows changes (sign-in, organisation switch, invite accepted),
// the map starts over with fresh WebSockets, and pages reload (`epoch`).
import type { AccountsClient, AuthConfig, Me, SignUpRequest } from '../api/accounts';
import { AccountsError } from '../api/accounts';
import type { Route } from '../domain/route';
import { MAP, isAdminOnly, isPublic, parseRoute, redirect, routeHash, sameRoute } from '../domain/route';
import { Store } from './store';

export interface SessionState {
  phase: 'loading' | 'unreachable' | 'ready';
  /** Why the mode could not be learned (phase unreachable). */
  error: string | null;
  config: AuthConfig | null;
  me: Me | null;
  /** The route the location shows. */
  route: Route;
  /** Said on the sign-in page: why the user is there. */
  notice: string | null;
  /** Bumped whenever whose data the console shows changes, so pages reload. */
  epoch: number;
  /** Why accepting an invite failed. */
  inviteError: string | null;
}

/** The location's hash, behind an interface so the rules are testable without a browser. */
export interface HashNav {
  hash(): string;
  push(hash: string): void;
  replace(hash: string): void;
  listen(f: () => void): () => void;
}

/** The map's controller, as the session drives it. */
export interface MapLifecycle {
  start(): void;
  stop(): void;
  /** Forgets the data shown (another organisation's) and starts again. */
  restart(): void;
}

export const SESSION_ENDED = 'Your session has ended. Sign in again.';
const CONFIG_RETRY_MS = 3000;
/** The first calls give up after this long and are retried (the page must not hang on "Loading…"). */
const BOOT_TIMEOUT_MS = 10000;

export function browserNav(): HashNav {
  return {
    hash: () => location.hash,
    push: (h) => {
      if (location.hash !== h) location.hash = h;
    },
    replace: (h) => history.replaceState(history.state, '', `${location.pathname}${location.search}${h}`),
    listen: (f) => {
      window.addEventListener('hashchange', f);
      return () => window.removeEventListener('hashchange', f);
    },
  };
}

export class Session {
  readonly store: Store<SessionState>;
  private returnTo: Route | null = null;
  private mapRunning = false;

  constructor(
    private readonly client: AccountsClient,
    private readonly nav: HashNav,
    private readonly map: MapLifecycle,
    private readonly retryMs = CONFIG_RETRY_MS,
  ) {
    this.store = new Store<SessionState>({ phase: 'loading', error: null, config: null, me: null, route: parseRoute(nav.hash()), notice: null, epoch: 0, inviteError: null });
  }

  get(): SessionState {
    return this.store.get();
  }

  /** The CSRF token of the session, for the client. */
  csrfToken(): string | null {
    return this.get().me?.csrfToken ?? null;
  }

  accounts(): boolean {
    return this.get().config?.mode === 'accounts';
  }

  /** Learns the mode (retrying while the app is unreachable), then who is signed in. */
  async init(): Promise<void> {
    this.nav.listen(() => this.onHash());
    for (;;) {
      try {
        const config = await this.client.config(BOOT_TIMEOUT_MS);
        const me = config.mode === 'accounts' ? await this.client.me(BOOT_TIMEOUT_MS) : null;
        this.store.set({ config, me, phase: 'ready', error: null });
        break;
      } catch (e) {
        this.store.set({ phase: 'unreachable', error: e instanceof Error ? e.message : String(e) });
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
    if (!this.accounts() || this.get().me) this.startMap(false);
    this.guard();
  }

  // ---- routes ----------------------------------------------------------------------------------

  navigate(r: Route): void {
    this.store.set({ route: r });
    this.nav.push(routeHash(r));
    this.guard();
  }

  private onHash(): void {
    const r = parseRoute(this.nav.hash());
    if (!sameRoute(r, this.get().route)) this.store.set({ route: r });
    this.guard();
  }

  private replace(r: Route): void {
    this.store.set({ route: r });
    this.nav.replace(routeHash(r));
  }

  /** Applies the rules of `redirect` (accounts mode only: local mode shows the map whatever the hash). */
  private guard(): void {
    const s = this.get();
    if (s.phase !== 'ready' || !this.accounts()) return;
    const to = redirect(s.route, s.me !== null, this.returnTo);
    if (!to) return;
    if (!s.me && !isPublic(s.route)) this.returnTo = s.route;
    if (s.me) this.returnTo = null;
    this.replace(to);
  }

  // ---- session changes -------------------------------------------------------------------------

  private startMap(fresh: boolean): void {
    if (fresh || this.mapRunning) this.map.restart();
    else this.map.start();
    this.mapRunning = true;
  }

  private stopMap(): void {
    if (this.mapRunning) this.map.stop();
    this.mapRunning = false;
  }

  /** A new session or a new current organisation: everything shown is someone else's now. */
  private became(me: Me, to: Route | null): void {
    this.store.set((s) => ({ me, notice: null, epoch: s.epoch + 1 }));
    this.startMap(true);
    if (to) {
      this.returnTo = null;
      this.navigate(to);
    } else if (isAdminOnly(this.get().route) && me.role !== 'admin') {
      this.navigate(MAP);
    }
  }

  /**
   * Signs in; with `invite`, then joins the inviting organisation (the invite page, which stays
   * shown, says what went wrong if that fails: the user is signed in either way).
   */
  async signIn(email: string, password: string, invite?: string): Promise<void> {
    const me = await this.client.signIn(email, password);
    if (invite) {
      this.became(me, null);
      await this.acceptInvite(invite).catch(() => {});
      return;
    }
    this.became(me, this.returnTo && !isPublic(this.returnTo) ? this.returnTo : MAP);
  }

  async signUp(req: SignUpRequest): Promise<void> {
    const me = await this.client.signUp(req);
    this.became(me, MAP);
    void this.refreshConfig();
  }

  /** Joins the organisation of an invite; a failure is kept in `inviteError` and rethrown. */
  async acceptInvite(secret: string): Promise<void> {
    this.store.set({ inviteError: null });
    try {
      this.became(await this.client.acceptInvite(secret), MAP);
    } catch (e) {
      this.store.set({ inviteError: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  }

  async switchOrg(orgId: string): Promise<void> {
    if (orgId === this.get().me?.org.id) return;
    this.became(await this.client.switchOrg(orgId), null);
  }

  /** Re-reads the session (after changing one's own role, say). */
  async refreshMe(): Promise<void> {
    const me = await this.client.me();
    if (!me) return this.ended(SESSION_ENDED);
    const prev = this.get().me;
    if (prev && prev.org.id !== me.org.id) return this.became(me, null);
    this.store.set({ me });
    if (isAdminOnly(this.get().route) && me.role !== 'admin') this.navigate(MAP);
  }

  async signOut(): Promise<void> {
    try {
      await this.client.signOut();
    } catch (e) {
      // A session that already ended is signed out; anything else is worth saying.
      if (!(e instanceof AccountsError && e.status === 401)) throw e;
    }
    this.ended(null);
  }

  /** Any call got 401: the session expired or was revoked. */
  sessionEnded(): void {
    if (!this.get().me) return;
    this.ended(SESSION_ENDED);
  }

  private ended(notice: string | null): void {
    const route = this.get().route;
    this.stopMap();
    this.returnTo = notice && !isPublic(route) ? route : null;
    this.store.set((s) => ({ me: null, notice, epoch: s.epoch + 1 }));
    this.replace({ page: 'signin' });
    void this.refreshConfig();
  }

  /** Sign-up rules change after the first user (no bootstrap secret any more). */
  private async refreshConfig(): Promise<void> {
    try {
      const config = await this.client.config();
      this.store.set({ config });
    } catch {
      // Keep what we knew.
    }
  }
}
