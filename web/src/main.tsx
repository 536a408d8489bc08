// Entry point: builds the controller (state and side effects) and the graph model (layout),
// exposes the test hooks, and renders the app.
import { render } from 'preact';
import { App } from './components/app/App';
import { Services } from './components/context';
import { drawnNodes, currentGraph, perf } from './components/graph/hooks';
import { GraphModel } from './layout/graph-model';
import { Controller } from './store/controller';
import { toWorld } from './layout/viewport';
import { hitTest } from './components/graph/draw';
import './styles.css';

const controller = new Controller();
const model = new GraphModel(controller.store);
controller.start();

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
    <Services.Provider value={{ controller, model }}>
      <App />
    </Services.Provider>,
    root,
  );
