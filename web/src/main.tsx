// Entry point: builds the controller (state and side effects), the graph model (layout) and the
// session (mode, sign-in, routes), exposes the test hooks, and renders the console. The map starts
// once the session knows the mode: at once in local mode, after sign-in in accounts mode.
import { render } from 'preact';
import { AccountsClient } from './api/accounts';
import { apiBase, onUnauthorized } from './api/http';
import { Accounts } from './components/account/context';
import { Root } from './components/account/Root';
import { Services } from './components/context';
import { drawnNodes, currentGraph, perf } from './components/graph/hooks';
import { GraphModel } from './layout/graph-model';
import { Controller } from './store/controller';
import { Session, browserNav } from './store/session';
import { toWorld } from './layout/viewport';
import { hitTest } from './components/graph/draw';
import './styles.css';

const controller = new Controller();
const model = new GraphModel(controller.store);
// The client and the session need each other: the client asks the session for the CSRF token and
// tells it when a call answers 401.
let session: Session | null = null;
const client = new AccountsClient({
  fetch: (url, init) => fetch(url, init),
  base: apiBase,
  csrfToken: () => session?.csrfToken() ?? null,
  onUnauthorized: () => session?.sessionEnded(),
});
session = new Session(client, browserNav(), controller);
onUnauthorized(() => session?.sessionEnded());
void session.init();

/**
 * Hooks for end-to-end tests and the benchmark. They read state; they never change what a user
 * would see, so tests still click and type like users.
 */
const hooks = {
  nodes: drawnNodes,
  /** The node drawn at client coordinates, as a click there would pick it. */
  nodeAt(clientX: number, clientY: number): string | null {
    const g = currentGraph();
    const scene = g?.scene() ?? null;
    if (!g || !scene) return null;
    const r = g.canvas().getBoundingClientRect();
    const w = toWorld(g.transform(), clientX - r.left, clientY - r.top);
    const i = hitTest(scene, w.x, w.y, 4 / g.transform().k);
    return i >= 0 ? (scene.ids[i] ?? null) : null;
  },
  layoutSettled: (): boolean => model.scene?.settled ?? false,
  state: () => {
    const s = controller.store.get();
    return { view: s.view, nodeCount: s.nodes.size, loaded: s.loaded, socket: s.socket.state, details: s.details?.node?.id ?? null };
  },
  perf,
  firstPositionsAt: (): number | null => model.firstPositionsAt,
  transform: () => currentGraph()?.transform() ?? null,
  setTransform: (k: number, x: number, y: number): void => currentGraph()?.setTransform({ k, x, y }),
};
(window as unknown as { __scope: typeof hooks }).__scope = hooks;

const root = document.getElementById('app');
if (root)
  render(
    <Accounts.Provider value={{ session, client }}>
      <Services.Provider value={{ controller, model }}>
        <Root />
      </Services.Provider>
    </Accounts.Provider>,
    root,
  );
