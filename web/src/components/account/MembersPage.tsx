// The organisation's members (everyone sees them; admins change roles and remove members) and,
// for admins, invitations: create one (its link shown once) and revoke pending ones.
import { useState } from 'preact/hooks';
import type { CreatedInvite, Role } from '../../api/accounts';
import { ROLES, isPendingInvite } from '../../api/accounts';
import { apiBase } from '../../api/http';
import { inviteUrl } from '../../domain/route';
import { ConfirmButton, CopyButton, ErrorAlert, RelTime, Page, errorText, useResource } from './common';
import { useAccounts, useNow, useSession } from './context';

const ROLE_HELP: Record<Role, string> = {
  viewer: 'sees the map and the probes',
  operator: 'viewer, plus lifecycle controls on containers',
  admin: 'everything, including tokens, members, invitations and the audit log',
};

function RoleSelect(props: { id: string; value: Role; onChange: (r: Role, select: HTMLSelectElement) => void; disabled?: boolean; label: string }) {
  const { id, value, onChange, disabled, label } = props;
  return (
    <select id={id} aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange((e.target as HTMLSelectElement).value as Role, e.target as HTMLSelectElement)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

function Invites() {
  const { client } = useAccounts();
  const now = useNow();
  const invites = useResource(() => client.invites());
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(await client.createInvite(email.trim(), role));
      setEmail('');
      await invites.reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string): Promise<void> => {
    setError(null);
    try {
      await client.revokeInvite(id);
    } catch (err) {
      setError(errorText(err));
    }
    await invites.reload();
  };
  const pending = invites.data?.filter((i) => isPendingInvite(i, now)) ?? null;
  const link = created ? inviteUrl(location.origin, apiBase(), created.link) : '';
  return (
    <section aria-labelledby="invites-title">
      <h2 id="invites-title">Invite someone</h2>
      <form class="inline-form" onSubmit={(e) => void create(e)} aria-label="Invite someone">
        <label for="invite-email">Email</label>
        <input id="invite-email" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        <label for="invite-role">Role</label>
        <RoleSelect id="invite-role" label="Role" value={role} onChange={setRole} />
        <button type="submit" class="btn primary" disabled={busy}>
          Create invite
        </button>
      </form>
      <p class="hint">{`A ${role} ${ROLE_HELP[role]}.`}</p>
      {created && (
        <div class="secret-box" data-testid="new-invite" aria-labelledby="new-invite-title">
          <h3 id="new-invite-title">Invitation for {created.invite.email}</h3>
          <p class="warning" role="note">
            <strong>Send this link to them now: it will not be shown again.</strong> It expires <RelTime at={created.invite.expires} now={now} />.
          </p>
          <pre data-testid="invite-link">{link}</pre>
          <div class="form-actions">
            <CopyButton text={link} label="Copy link" />
            <button type="button" class="btn" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ErrorAlert error={error ?? invites.error} />
      <h2>Pending invitations</h2>
      {pending !== null && pending.length === 0 && <p class="empty">No pending invitation.</p>}
      {pending !== null && pending.length > 0 && (
        <table class="grid data" data-testid="invites-table">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Invited</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pending.map((i) => (
              <tr key={i.id} data-invite-id={i.id} data-email={i.email}>
                <td>{i.email}</td>
                <td>{i.role}</td>
                <td>
                  <RelTime at={i.created} now={now} />
                </td>
                <td>
                  <RelTime at={i.expires} now={now} />
                </td>
                <td class="actions">
                  <button type="button" class="btn danger" onClick={() => void revoke(i.id)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function MembersPage() {
  const { client, session } = useAccounts();
  const me = useSession((s) => s.me);
  const now = useNow();
  const members = useResource(() => client.members());
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === 'admin';
  const change = async (f: () => Promise<unknown>, self: boolean, undo?: () => void): Promise<void> => {
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(errorText(err));
      undo?.();
    }
    await members.reload();
    if (self) await session.refreshMe().catch(() => {});
  };
  const list = members.data;
  return (
    <Page title="Members">
      <ErrorAlert error={error ?? members.error} />
      {list === null && !members.error && <p class="muted">Loading…</p>}
      {list !== null && (
        <table class="grid data" data-testid="members-table">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              {admin && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {list.map((m) => {
              const self = m.user_id === me?.user.id;
              return (
                <tr key={m.user_id} data-user-id={m.user_id} data-email={m.email}>
                  <td>
                    {m.email}
                    {self && <span class="muted"> (you)</span>}
                  </td>
                  <td>
                    {admin ? (
                      <RoleSelect
                        id={`role-${m.user_id}`}
                        label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(r, select) => void change(() => client.setRole(m.user_id, r), self, () => (select.value = m.role))}
                      />
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    <RelTime at={m.created} now={now} />
                  </td>
                  {admin && (
                    <td class="actions">
                      <ConfirmButton
                        label={self ? 'Leave' : 'Remove'}
                        question={self ? 'Leave this organisation?' : `Remove ${m.email} from this organisation?`}
                        confirmLabel={self ? 'Leave' : 'Remove member'}
                        onConfirm={() => change(() => client.removeMember(m.user_id), self)}
                      />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {admin && <Invites />}
    </Page>
  );
}
