// The organisation's probes: which are connected, when each was last heard from, and how its
// reports fare (received, dropped, reconnects) and on which replica it lands. Refreshed every 5 s.
import type { OrgProbe } from '../../api/accounts';
import { ErrorAlert, Page, RelTime, useResource } from './common';
import { useAccounts, useNow, useSession } from './context';

export const PROBES_EVERY = 5000;

/** Connected first, then by host name. */
function order(a: OrgProbe, b: OrgProbe): number {
  if (a.connected !== b.connected) return a.connected ? -1 : 1;
  return a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id);
}

export function ProbesPage() {
  const { client } = useAccounts();
  const admin = useSession((s) => s.me?.role === 'admin');
  const now = useNow();
  const { data, error } = useResource(() => client.probes(), PROBES_EVERY);
  const probes = data ? [...data].sort(order) : null;
  return (
    <Page title="Probes">
      <ErrorAlert error={error} />
      {probes === null && !error && <p class="muted">Loading…</p>}
      {probes !== null && probes.length === 0 && (
        <div class="empty" data-testid="probes-empty">
          <p>No probe has connected to this organisation yet.</p>
          <p>
            {admin ? (
              <>
                Create a service token on the <a href="#/tokens">Tokens</a> page and run the command it shows on each host.
              </>
            ) : (
              'An admin of this organisation can create a service token for probes.'
            )}
          </p>
        </div>
      )}
      {probes !== null && probes.length > 0 && (
        <table class="grid data" data-testid="probes-table">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Probe id</th>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
              <th scope="col" class="num">
                Reports
              </th>
              <th scope="col" class="num">
                Dropped
              </th>
              <th scope="col" class="num">
                Reconnects
              </th>
              <th scope="col">Replica</th>
            </tr>
          </thead>
          <tbody>
            {probes.map((p) => (
              <tr key={p.id} data-probe-id={p.id} data-hostname={p.hostname} data-connected={p.connected ? 'true' : 'false'}>
                <td>{p.hostname}</td>
                <td>
                  <code>{p.id}</code>
                </td>
                <td>{p.version}</td>
                <td>
                  <span class={`state ${p.connected ? 'ok' : 'off'}`}>
                    <span class="dot" aria-hidden="true" /> {p.connected ? 'Connected' : 'Disconnected'}
                  </span>
                </td>
                <td>
                  <RelTime at={p.lastSeen} now={now} />
                </td>
                <td class="num">{p.reportsReceived ?? 0}</td>
                <td class="num">{p.droppedReports ?? 0}</td>
                <td class="num">{p.reconnects ?? 0}</td>
                <td>{p.replica ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
