// The page: header (topologies, search, view switch), options, the map or table with the details
// panel beside it, and the status bar. Also the keyboard shortcuts.
import { useEffect } from 'preact/hooks';
import { findTopology } from '../../domain/topologies';
import { Details } from '../details/Details';
import { Footer } from '../footer/Footer';
import { Graph } from '../graph/Graph';
import { currentGraph } from '../graph/hooks';
import { Help } from '../help/Help';
import { Options } from '../options/Options';
import { SEARCH_INPUT_ID, Search } from '../search/Search';
import { Overlay } from '../status/Overlay';
import { NodeTable } from '../table/NodeTable';
import { Topologies } from '../topologies/Topologies';
import { useApp, useServices } from '../context';

function isTyping(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
}

function useShortcuts(): void {
  const { controller } = useServices();
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Escape') {
        const s = controller.store.get();
        if (s.helpOpen) controller.setHelp(false);
        else if (s.view.node) controller.selectNode(null);
        else if (s.view.search) controller.setSearch('');
        return;
      }
      if (isTyping(e)) return;
      switch (e.key) {
        case '/':
          e.preventDefault();
          document.getElementById(SEARCH_INPUT_ID)?.focus();
          break;
        case 'g':
          controller.setView({ view: 'graph' }, true);
          break;
        case 't':
          controller.setView({ view: 'table' }, true);
          break;
        case 'c':
          controller.toggleContrast();
          break;
        case '?':
          controller.setHelp(!controller.store.get().helpOpen);
          break;
        case '+':
        case '=':
          currentGraph()?.zoom(1.4);
          break;
        case '-':
          currentGraph()?.zoom(1 / 1.4);
          break;
        case '0':
          currentGraph()?.fit();
          break;
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [controller]);
}

function ViewSwitch() {
  const { controller } = useServices();
  const view = useApp((s) => s.view.view);
  return (
    <div class="view-switch" role="group" aria-label="View">
      <button type="button" class={view === 'graph' ? 'active' : ''} aria-pressed={view === 'graph'} data-view="graph" title="Graph (g)" onClick={() => controller.setView({ view: 'graph' }, true)}>
        Graph
      </button>
      <button type="button" class={view === 'table' ? 'active' : ''} aria-pressed={view === 'table'} data-view="table" title="Table (t)" onClick={() => controller.setView({ view: 'table' }, true)}>
        Table
      </button>
    </div>
  );
}

/** The tab says which view it shows, so several open tabs can be told apart. */
function useTitle(): void {
  const name = useApp((s) => (s.topologies && s.view.topology ? findTopology(s.topologies, s.view.topology)?.name : undefined));
  const node = useApp((s) => s.details?.node?.label ?? null);
  useEffect(() => {
    document.title = ['Scope', name, node].filter(Boolean).join(' · ');
  }, [name, node]);
}

export function App() {
  useShortcuts();
  useTitle();
  const view = useApp((s) => s.view.view);
  const hasDetails = useApp((s) => s.view.node !== null);
  return (
    <div class={`app${hasDetails ? ' with-details' : ''}`}>
      <header class="header">
        <div class="logo" aria-label="Scope">
          <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
            <polygon points="12,2 21,7 21,17 12,22 3,17 3,7" fill="none" stroke="currentColor" stroke-width="2" />
            <circle cx="12" cy="12" r="3" fill="currentColor" />
          </svg>
          Scope
        </div>
        <Topologies />
        <span class="spacer" />
        <Search />
        <ViewSwitch />
      </header>
      <Options />
      <main class="main">
        <div class="stage">
          {view === 'graph' ? <Graph /> : <NodeTable />}
          <Overlay />
        </div>
        <Details />
      </main>
      <Footer />
      <Help />
    </div>
  );
}
