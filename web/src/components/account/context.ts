// The session and the accounts client, handed to the account pages (and to the map's overlay,
// which words its advice by mode).
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { AccountsClient } from '../../api/accounts';
import type { Session, SessionState } from '../../store/session';
import { useStore } from '../../store/store';

export interface AccountServices {
  session: Session;
  client: AccountsClient;
}

export const Accounts = createContext<AccountServices | null>(null);

export function useAccounts(): AccountServices {
  const a = useContext(Accounts);
  if (!a) throw new Error('Accounts not provided');
  return a;
}

/** Selects a slice of the session state; re-renders when it changes. */
export function useSession<T>(select: (s: SessionState) => T): T {
  return useStore(useAccounts().session.store, select);
}

/** True in accounts mode; false in local mode and where no session is provided. */
export function useAccountsMode(): boolean {
  const a = useContext(Accounts);
  const [mode, setMode] = useState(a?.session.accounts() ?? false);
  useEffect(() => {
    if (!a) return;
    const update = (): void => setMode(a.session.accounts());
    const unsubscribe = a.session.store.subscribe(update);
    update(); // the mode may have been learnt between the render and this effect
    return unsubscribe;
  }, [a]);
  return mode;
}

/** The wall clock, ticking every `ms`, for "5 s ago" texts. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
