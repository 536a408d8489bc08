// The organisation's audit log (admins), newest first, a page at a time.
import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry } from '../../api/accounts';
import { auditActor, auditDetails } from '../../api/accounts';
import { formatTimestamp } from '../../domain/format';
import { ErrorAlert, Page, RelTime, errorText } from './common';
import { useAccounts, useNow } from './context';

export const AUDIT_PAGE = 50;

function ok(result: string): boolean {
  return /^(ok|success|succeeded|allowed)$/i.test(result);
}

export function AuditPage() {
  const { client } = useAccounts();
  const now = useNow(5000);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async (before: string | number | null): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const page = await client.audit(AUDIT_PAGE, before);
      setEntries((prev) => (before === null ? page.entries : [...(prev ?? []), ...page.entries]));
      setNext(page.next);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void load(null), []);

  return (
    <Page
      title="Audit log"
      actions={
        <button type="button" class="btn" disabled={busy} onClick={() => void load(null)}>
          Refresh
        </button>
      }
    >
      <ErrorAlert error={error} />
      {entries === null && !error && <p class="muted">Loading…</p>}
      {entries !== null && entries.length === 0 && <p class="empty">Nothing recorded yet.</p>}
      {entries !== null && entries.length > 0 && (
        <table class="grid data" data-testid="audit-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Result</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={String(e.id)} data-action={e.action}>
                <td class="nowrap" title={formatTimestamp(e.at)}>
                  {formatTimestamp(e.at)} <span class="muted">(<RelTime at={e.at} now={now} />)</span>
                </td>
                <td title={e.actor}>{auditActor(e)}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.target ?? ''}</td>
                <td>
                  <span class={`state ${ok(e.result) ? 'ok' : 'off'}`}>{e.result}</span>
                </td>
                <td class="details-cell">{auditDetails(e.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <p>
          <button type="button" class="btn" disabled={busy} onClick={() => void load(next)}>
            Load more
          </button>
        </p>
      )}
    </Page>
  );
}
