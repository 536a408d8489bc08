// Service tokens (admins): the list, creating one (its secret and the probe command shown once)
// and revoking one (its probes are cut off within one publish interval).
import { useState } from 'preact/hooks';
import type { CreatedToken } from '../../api/accounts';
import { ConfirmButton, CopyButton, ErrorAlert, Page, RelTime, errorText, useResource } from './common';
import { useAccounts, useNow } from './context';

function NewToken({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  return (
    <section class="secret-box" aria-labelledby="new-token-title" data-testid="new-token">
      <h2 id="new-token-title">Token “{created.token.name}” created</h2>
      <p class="warning" role="note">
        <strong>Copy it now: the secret will not be shown again.</strong> Run this on each host to report to this organisation
        {/\bADDRESS\b/.test(created.command) ? (
          <>
            , with <code>ADDRESS</code> the app's probe address:
          </>
        ) : (
          ':'
        )}
      </p>
      <pre data-testid="token-command">{created.command}</pre>
      <div class="form-actions">
        <CopyButton text={created.command} label="Copy command" />
        <CopyButton text={created.secret} label="Copy secret only" />
        <button type="button" class="btn" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}

export function TokensPage() {
  const { client } = useAccounts();
  const now = useNow();
  const tokens = useResource(() => client.tokens());
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(await client.createToken(name.trim()));
      setName('');
      await tokens.reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string): Promise<void> => {
    setError(null);
    try {
      await client.revokeToken(id);
    } catch (err) {
      setError(errorText(err));
    }
    await tokens.reload();
  };

  const list = tokens.data;
  return (
    <Page title="Service tokens">
      <p class="muted">Probes authenticate with a service token; its organisation is where their reports go.</p>
      {created && <NewToken created={created} onDone={() => setCreated(null)} />}
      <form class="inline-form" onSubmit={(e) => void create(e)} aria-label="Create a token">
        <label for="token-name">New token name</label>
        <input id="token-name" required maxLength={100} placeholder="e.g. production hosts" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button type="submit" class="btn primary" disabled={busy}>
          Create token
        </button>
      </form>
      <ErrorAlert error={error ?? tokens.error} />
      {list === null && !tokens.error && <p class="muted">Loading…</p>}
      {list !== null && list.length === 0 && (
        <p class="empty" data-testid="tokens-empty">
          No token yet.
        </p>
      )}
      {list !== null && list.length > 0 && (
        <table class="grid data" data-testid="tokens-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Token</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id} data-token-id={t.id} data-token-name={t.name} data-revoked={t.revoked_at ? 'true' : 'false'}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>
                  <RelTime at={t.created} now={now} />
                </td>
                <td>
                  <RelTime at={t.last_used} now={now} />
                </td>
                <td>
                  {t.revoked_at ? (
                    <span class="state off">
                      Revoked <RelTime at={t.revoked_at} now={now} />
                    </span>
                  ) : (
                    <span class="state ok">Active</span>
                  )}
                </td>
                <td class="actions">
                  {!t.revoked_at && (
                    <ConfirmButton
                      label="Revoke"
                      question={`Revoke “${t.name}”? Probes using it are cut off.`}
                      confirmLabel="Revoke token"
                      onConfirm={() => revoke(t.id)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
