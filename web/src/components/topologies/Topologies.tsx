// The topology menu: each view with its node count, sub-views beneath, and while the search box
// has focus, how many nodes of each view match.
import type { TopologyDesc } from '../../api/types';
import { isHidden, rootOf, topologyId, visibleTopologies } from '../../domain/topologies';
import { matchCounts } from '../../store/derive';
import { useApp, useServices } from '../context';

function Item({ t, active, count, sub }: { t: TopologyDesc; active: boolean; count: number | undefined; sub?: boolean }) {
  const { controller } = useServices();
  const id = topologyId(t);
  const nodes = t.stats?.node_count;
  return (
    <button
      type="button"
      class={`topology${sub ? ' sub' : ''}${active ? ' active' : ''}`}
      aria-pressed={active}
      data-topology={id}
      onClick={() => controller.selectTopology(id)}
      title={t.stats ? `${t.stats.node_count} nodes, ${t.stats.edge_count} edges${t.stats.filtered_nodes ? `, ${t.stats.filtered_nodes} hidden by options` : ''}` : undefined}
    >
      <span class="topology-name">{t.name}</span>
      {nodes !== undefined && <span class="count">{nodes}</span>}
      {count !== undefined && (
        <span class={`matches${count === 0 ? ' none' : ''}`} data-matches={id}>
          {count} {count === 1 ? 'match' : 'matches'}
        </span>
      )}
    </button>
  );
}

export function Topologies() {
  const topologies = useApp((s) => s.topologies);
  const current = useApp((s) => s.view.topology);
  const counts = useApp(matchCounts);
  if (!topologies) return <nav class="topologies" aria-label="Topologies" />;
  const root = current ? rootOf(topologies, current) : undefined;
  return (
    <nav class="topologies" aria-label="Topologies">
      {visibleTopologies(topologies).map((t) => {
        const id = topologyId(t);
        const subs = (t.sub_topologies ?? []).filter((s) => !isHidden(s) || topologyId(s) === current);
        return (
          <div class={`topology-group${root === t ? ' open' : ''}`} key={id}>
            <Item t={t} active={current === id} count={counts?.[id]} />
            {subs.length > 0 && (
              <div class="subs">
                {subs.map((s) => (
                  <Item key={topologyId(s)} t={s} active={current === topologyId(s)} count={counts?.[topologyId(s)]} sub />
                ))}
              </div>
            )}
          </div>
        );
      })}
    </nav>
  );
}
