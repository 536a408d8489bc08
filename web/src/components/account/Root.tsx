// What the console shows: in local mode the map, exactly as always; in accounts mode the sign-in
// pages without a session, and with one the top bar over the map or an account page.
import { App } from '../app/App';
import { isAdminOnly } from '../../domain/route';
import { AuditPage } from './AuditPage';
import { InvitePage, SignInPage, SignUpPage } from './AuthPages';
import { MembersPage } from './MembersPage';
import { Page } from './common';
import { ProbesPage } from './ProbesPage';
import { TokensPage } from './TokensPage';
import { TopBar } from './TopBar';
import { useSession } from './context';

function Boot() {
  const phase = useSession((s) => s.phase);
  const error = useSession((s) => s.error);
  if (phase === 'unreachable')
    return (
      <div class="boot" role="alert">
        <h1>Cannot reach the Scope app</h1>
        <p>{error}</p>
        <p>Retrying every few seconds.</p>
      </div>
    );
  return (
    <div class="boot muted" role="status">
      Loading…
    </div>
  );
}

function NeedsAdmin() {
  return (
    <Page title="Admins only">
      <p class="notice" role="status">
        Only admins of this organisation can open this page.
      </p>
    </Page>
  );
}

export function Root() {
  const phase = useSession((s) => s.phase);
  const mode = useSession((s) => s.config?.mode ?? 'local');
  const me = useSession((s) => s.me);
  const route = useSession((s) => s.route);
  const epoch = useSession((s) => s.epoch);
  if (phase !== 'ready') return <Boot />;
  if (mode !== 'accounts') return <App />;
  if (!me) {
    if (route.page === 'signup') return <SignUpPage />;
    if (route.page === 'invite') return <InvitePage secret={route.secret} />;
    return <SignInPage />;
  }
  let page;
  if (route.page === 'invite') page = <InvitePage secret={route.secret} />;
  else if (isAdminOnly(route) && me.role !== 'admin') page = <NeedsAdmin />;
  else if (route.page === 'probes') page = <ProbesPage />;
  else if (route.page === 'tokens') page = <TokensPage />;
  else if (route.page === 'members') page = <MembersPage />;
  else if (route.page === 'audit') page = <AuditPage />;
  else page = <App />;
  return (
    <div class="shell" data-org-id={me.org.id}>
      <TopBar />
      {/* A new key per session and organisation: pages reload whose data they show. */}
      <div class="shell-body" key={`${route.page}:${me.org.id}:${epoch}`}>
        {page}
      </div>
    </div>
  );
}
