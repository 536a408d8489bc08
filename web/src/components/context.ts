// The controller and the graph model, handed to every component.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { GraphModel } from '../layout/graph-model';
import type { Controller } from '../store/controller';
import type { AppState } from '../store/state';
import { useStore } from '../store/store';

export interface AppServices {
  controller: Controller;
  model: GraphModel;
}

export const Services = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const s = useContext(Services);
  if (!s) throw new Error('Services not provided');
  return s;
}

/** Selects a slice of the app state; re-renders when it changes. */
export function useApp<T>(select: (s: AppState) => T): T {
  return useStore(useServices().controller.store, select);
}
