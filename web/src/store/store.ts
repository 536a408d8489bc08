// A minimal observable store: one immutable state object, shallow patches, and a Preact hook
// that re-renders a component only when the slice it selects changes.
import { useEffect, useReducer, useRef } from 'preact/hooks';

export type Listener = () => void;

export class Store<S extends object> {
  private listeners = new Set<Listener>();

  constructor(private state: S) {}

  get(): S {
    return this.state;
  }

  set(patch: Partial<S> | ((s: S) => Partial<S>)): void {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    let changed = false;
    for (const k of Object.keys(p) as (keyof S)[]) {
      if (!Object.is(this.state[k], p[k])) changed = true;
    }
    if (!changed) return;
    this.state = { ...this.state, ...p };
    for (const l of [...this.listeners]) l();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.is(ra[k], rb[k]));
}

/** Subscribes a component to `select(state)`; compares results shallowly. */
export function useStore<S extends object, T>(store: Store<S>, select: (s: S) => T): T {
  const [, force] = useReducer((x: number) => x + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(store.get());
  const valueRef = useRef(value);
  valueRef.current = value;
  useEffect(() => {
    const check = (): void => {
      const next = selectRef.current(store.get());
      if (!shallowEqual(next, valueRef.current)) force(0);
    };
    const unsubscribe = store.subscribe(check);
    // Effects run after the paint: a change between the render and now would otherwise be missed
    // until the next one (for a store that rarely changes, like the session's, forever).
    check();
    return unsubscribe;
  }, [store]);
  return value;
}
