// The bar above every page when signed in: the current organisation (a switcher over the user's
// organisations), the pages this role may open, the user and sign-out.
import { useState } from 'preact/hooks';
import type { Page } from '../../domain/route';
import { ErrorAlert, errorText } from './common';
import { useAccounts, useSession } from './context';

const LINKS: readonly { page: Page; label: string; admin: boolean }[] = [
  { page: 'map', label: 'Map', admin: false },
  { page: 'probes', label: 'Probes', admin: false },
  { page: 'tokens', label: 'Tokens', admin: true },
  { page: 'members', label: 'Members', admin: false },
  { page: 'audit', label: 'Audit log', admin: true },
];

export function TopBar() {
  const { session } = useAccounts();
  const me = useSession((s) => s.me);
  const page = useSession((s) => s.route.page);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!me) return null;
  const admin = me.role === 'admin';
  const run = (f: () => Promise<void>): void => {
    setBusy(true);
    setError(null);
    void f()
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  return (
    <header class="topbar">
      <span class="topbar-logo" aria-hidden="true">
        <svg width="18" height="18" viewBox="0 0 24 24">
          <polygon points="12,2 21,7 21,17 12,22 3,17 3,7" fill="none" stroke="currentColor" stroke-width="2" />
          <circle cx="12" cy="12" r="3" fill="currentColor" />
        </svg>
      </span>
      <label class="org-switch">
        <span class="visually-hidden">Organisation</span>
        <select data-testid="org-switcher" value={me.org.id} disabled={busy} onChange={(e) => {
            const select = e.target as HTMLSelectElement;
            // On failure the select shows the organisation that is still current.
            run(() => session.switchOrg(select.value).catch((err: unknown) => ((select.value = me.org.id), Promise.reject(err))));
          }}
        >
          {me.orgs.some((o) => o.id === me.org.id) ? null : <option value={me.org.id}>{me.org.name}</option>}
          {me.orgs.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </select>
      </label>
      <nav aria-label="Console">
        <ul class="topnav">
          {LINKS.filter((l) => admin || !l.admin).map((l) => (
            <li key={l.page}>
              <a href={l.page === 'map' ? '#/' : `#/${l.page}`} aria-current={page === l.page ? 'page' : undefined} data-nav={l.page}>
                {l.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <span class="spacer" />
      <ErrorAlert error={error} testid="topbar-error" />
      <span class="whoami">
        <span data-testid="user-email">{me.user.email}</span> <span class="role-badge" data-testid="user-role">{me.role}</span>
      </span>
      <button type="button" class="btn" disabled={busy} onClick={() => run(() => session.signOut())}>
        Sign out
      </button>
    </header>
  );
}
