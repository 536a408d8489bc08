// Pieces the account pages share: loading a resource (optionally every few seconds), error
// alerts, relative times, a copy button and an inline confirmation.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { formatRelative, formatTimestamp } from '../../domain/format';

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface Resource<T> {
  data: T | null;
  error: string | null;
  reload: () => Promise<void>;
}

/** Loads `load()` on mount (and every `everyMs` when given); keeps the last good data on errors. */
export function useResource<T>(load: () => Promise<T>, everyMs?: number): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const alive = useRef(true);
  const reload = useCallback(async () => {
    try {
      const v = await loadRef.current();
      if (!alive.current) return;
      setData(v);
      setError(null);
    } catch (e) {
      if (alive.current) setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    alive.current = true;
    void reload();
    const t = everyMs ? setInterval(() => void reload(), everyMs) : undefined;
    return () => {
      alive.current = false;
      if (t !== undefined) clearInterval(t);
    };
  }, [reload, everyMs]);
  return { data, error, reload };
}

export function ErrorAlert({ error, testid }: { error: string | null; testid?: string }) {
  if (!error) return null;
  return (
    <p class="form-error" role="alert" data-testid={testid ?? 'error'}>
      {error}
    </p>
  );
}

/** "5 min ago", with the exact time as a tooltip. */
export function RelTime({ at, now }: { at: number | null | undefined; now: number }) {
  const exact = formatTimestamp(at);
  return <time {...(exact ? { dateTime: new Date(at ?? 0).toISOString(), title: exact } : {})}>{formatRelative(at, now)}</time>;
}

function copyWithSelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state !== 'copied') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState(copyWithSelection(text) ? 'copied' : 'failed');
    }
  };
  return (
    <>
      <button type="button" class="btn" onClick={() => void copy()}>
        {state === 'copied' ? 'Copied' : label}
      </button>
      <span class="copy-status" role="status" aria-live="polite">
        {state === 'failed' ? 'Could not copy: select the text and copy it.' : ''}
      </span>
    </>
  );
}

/**
 * A destructive action behind a second click: the button turns into a question with "yes" and
 * "cancel" in place (no modal dialog to lose keyboard focus in).
 */
export function ConfirmButton(props: { label: string; question: string; confirmLabel: string; onConfirm: () => Promise<void> | void; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class="btn danger" disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span>{props.question}</span>{' '}
      <button
        ref={yes}
        type="button"
        class="btn danger"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void Promise.resolve(props.onConfirm()).finally(() => {
            setBusy(false);
            setAsking(false);
          });
        }}
      >
        {props.confirmLabel}
      </button>{' '}
      <button type="button" class="btn" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `Scope · ${title}`;
  }, [title]);
  return (
    <main class="page" aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions}
      </div>
      {children}
    </main>
  );
}
