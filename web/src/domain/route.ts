// Hash routes of the console in accounts mode. The map is the default route (and the only one in
// local mode); the query string keeps holding the map's view, so both live side by side:
// `/?topology=hosts#/tokens`.

export type Page = 'map' | 'probes' | 'tokens' | 'members' | 'audit' | 'signin' | 'signup';

export type Route = { page: Page } | { page: 'invite'; secret: string };

export const MAP: Route = { page: 'map' };

const PAGES: ReadonlySet<string> = new Set<Page>(['probes', 'tokens', 'members', 'audit', 'signin', 'signup']);

/** `#/tokens` → tokens; `#/invite/<secret>` → the invite; anything else is the map. */
export function parseRoute(hash: string): Route {
  let h = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = h.indexOf('?');
  if (q >= 0) h = h.slice(0, q);
  const parts = h.split('/').filter((p) => p !== '');
  const [first, ...rest] = parts;
  if (first === undefined) return MAP;
  if (first === 'invite') {
    const raw = rest.join('/');
    if (!raw) return MAP;
    let secret: string;
    try {
      secret = decodeURIComponent(raw);
    } catch {
      secret = raw;
    }
    return { page: 'invite', secret };
  }
  if (rest.length === 0 && PAGES.has(first)) return { page: first as Page };
  return MAP;
}

export function routeHash(r: Route): string {
  if (r.page === 'invite') return `#/invite/${encodeURIComponent(r.secret)}`;
  if (r.page === 'map') return '#/';
  return `#/${r.page}`;
}

export function sameRoute(a: Route, b: Route): boolean {
  return routeHash(a) === routeHash(b);
}

/** Pages one sees without a session. */
export function isPublic(r: Route): boolean {
  return r.page === 'signin' || r.page === 'signup' || r.page === 'invite';
}

/** Pages only an organisation's admins may open. */
export function isAdminOnly(r: Route): boolean {
  return r.page === 'tokens' || r.page === 'audit';
}

/**
 * The route to show instead of `r`, or null to show `r`: without a session every private page
 * goes to the sign-in page; with one, the sign-in and sign-up pages go to where the user was
 * headed (`returnTo`) or the map. Invite links work both ways.
 */
export function redirect(r: Route, signedIn: boolean, returnTo: Route | null): Route | null {
  if (!signedIn) return isPublic(r) ? null : { page: 'signin' };
  if (r.page === 'signin' || r.page === 'signup') return returnTo && !isPublic(returnTo) ? returnTo : MAP;
  return null;
}

/**
 * The absolute invite link from the app's relative one ("/#/invite/<secret>"), under the path
 * the console is served at (`base`, '' at the root).
 */
export function inviteUrl(origin: string, base: string, link: string): string {
  return `${origin}${base}${link.startsWith('/') ? link : `/${link}`}`;
}
