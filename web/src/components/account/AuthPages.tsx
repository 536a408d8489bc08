// The pages one sees without a session: sign in, sign up (the first organisation with the
// bootstrap secret, a new one when sign-up is open, or joining one with an invite) and invite links.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorAlert, errorText } from './common';
import { useAccounts, useSession } from './context';

function Logo() {
  return (
    <div class="auth-logo" aria-hidden="true">
      <svg width="28" height="28" viewBox="0 0 24 24">
        <polygon points="12,2 21,7 21,17 12,22 3,17 3,7" fill="none" stroke="currentColor" stroke-width="2" />
        <circle cx="12" cy="12" r="3" fill="currentColor" />
      </svg>
      Scope
    </div>
  );
}

function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `Scope · ${title}`;
  }, [title]);
  return (
    <main class="auth" aria-labelledby="auth-title">
      <div class="auth-card">
        <Logo />
        <h1 id="auth-title">{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** A labelled input; `id` ties label and input. */
function Field(props: {
  id: string;
  label: string;
  type?: string;
  value: string;
  onInput: (v: string) => void;
  autocomplete?: string;
  required?: boolean;
  hint?: ComponentChildren;
  minLength?: number;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? 'text'}
        value={props.value}
        required={props.required ?? true}
        autocomplete={props.autocomplete}
        minLength={props.minLength}
        aria-describedby={hintId}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      {props.hint && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

function SignInForm({ invite, idPrefix = 'signin' }: { invite?: string; idPrefix?: string }) {
  const { session } = useAccounts();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn(email.trim(), password, invite);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="auth-form" onSubmit={(e) => void submit(e)} data-testid="signin-form">
      <Field id={`${idPrefix}-email`} label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} />
      <Field id={`${idPrefix}-password`} label="Password" type="password" autocomplete="current-password" value={password} onInput={setPassword} />
      <ErrorAlert error={error} testid="signin-error" />
      <button type="submit" class="btn primary" disabled={busy}>
        {invite ? 'Sign in and accept' : 'Sign in'}
      </button>
    </form>
  );
}

export function SignInPage() {
  const notice = useSession((s) => s.notice);
  const config = useSession((s) => s.config);
  const canSignUp = config?.signup === 'open' || config?.bootstrapRequired === true;
  return (
    <AuthLayout title="Sign in">
      {notice && (
        <p class="notice" role="status" data-testid="signin-notice">
          {notice}
        </p>
      )}
      {config?.bootstrapRequired && (
        <p class="notice" role="status">
          No account exists yet. <a href="#/signup">Sign up</a> to create the first organisation.
        </p>
      )}
      <SignInForm />
      <p class="auth-alt">
        {canSignUp ? (
          <>
            No account? <a href="#/signup">Sign up</a>
          </>
        ) : (
          'No account? Ask an admin of your organisation for an invitation.'
        )}
      </p>
    </AuthLayout>
  );
}

function SignUpForm({ invite }: { invite?: string }) {
  const { session } = useAccounts();
  const bootstrap = useSession((s) => !invite && s.config?.bootstrapRequired === true);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [orgName, setOrgName] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const p = invite ? 'invite-signup' : 'signup';
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signUp({
        email: email.trim(),
        password,
        ...(invite ? { invite } : { orgName: orgName.trim() }),
        ...(bootstrap ? { bootstrapSecret: secret.trim() } : {}),
      });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="auth-form" onSubmit={(e) => void submit(e)} data-testid="signup-form">
      <Field id={`${p}-email`} label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} />
      <Field id={`${p}-password`} label="Password" type="password" autocomplete="new-password" value={password} onInput={setPassword} />
      {!invite && <Field id={`${p}-org`} label="Organisation name" autocomplete="organization" value={orgName} onInput={setOrgName} />}
      {bootstrap && (
        <Field
          id={`${p}-bootstrap`}
          label="Bootstrap secret"
          type="password"
          autocomplete="off"
          value={secret}
          onInput={setSecret}
          hint={
            <>
              The first account needs the one-time secret the app printed in its log when it started (or the value given with <code>--bootstrap-secret</code>).
            </>
          }
        />
      )}
      <ErrorAlert error={error} testid="signup-error" />
      <button type="submit" class="btn primary" disabled={busy}>
        {invite ? 'Create account and join' : 'Sign up'}
      </button>
    </form>
  );
}

export function SignUpPage() {
  const config = useSession((s) => s.config);
  const allowed = config?.signup === 'open' || config?.bootstrapRequired === true;
  return (
    <AuthLayout title={config?.bootstrapRequired ? 'Create the first organisation' : 'Sign up'}>
      {allowed ? (
        <SignUpForm />
      ) : (
        <p class="notice" role="status" data-testid="signup-closed">
          Sign-up needs an invitation: ask an admin of your organisation for an invite link.
        </p>
      )}
      <p class="auth-alt">
        Have an account? <a href="#/signin">Sign in</a>
      </p>
    </AuthLayout>
  );
}

/** `#/invite/<secret>`: accept when signed in; otherwise sign up with it, or sign in and accept. */
export function InvitePage({ secret }: { secret: string }) {
  const { session } = useAccounts();
  const me = useSession((s) => s.me);
  const inviteError = useSession((s) => s.inviteError);
  const [busy, setBusy] = useState(false);
  const [haveAccount, setHaveAccount] = useState(false);
  if (me)
    return (
      <AuthLayout title="Invitation">
        <p>
          You are invited to join an organisation on Scope. You are signed in as <strong>{me.user.email}</strong>; accepting adds the organisation to yours and
          switches to it.
        </p>
        <ErrorAlert error={inviteError} testid="invite-error" />
        <div class="form-actions">
          <button
            type="button"
            class="btn primary"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              void session
                .acceptInvite(secret)
                .catch(() => {})
                .finally(() => setBusy(false));
            }}
          >
            Accept invitation
          </button>
          <a class="btn" href="#/">
            Not now
          </a>
        </div>
      </AuthLayout>
    );
  return (
    <AuthLayout title="Invitation">
      <p>You are invited to join an organisation on Scope.</p>
      {haveAccount ? (
        <>
          <h2>Sign in to accept</h2>
          <SignInForm invite={secret} idPrefix="invite-signin" />
          <p class="auth-alt">
            New to Scope?{' '}
            <button type="button" class="link" onClick={() => setHaveAccount(false)}>
              Create an account
            </button>
          </p>
        </>
      ) : (
        <>
          <h2>Create your account</h2>
          <SignUpForm invite={secret} />
          <p class="auth-alt">
            Already have an account?{' '}
            <button type="button" class="link" onClick={() => setHaveAccount(true)}>
              Sign in to accept
            </button>
          </p>
        </>
      )}
    </AuthLayout>
  );
}
