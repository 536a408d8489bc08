// The details panel of the selected node. It re-fetches when a WebSocket diff touches the node
// and every few seconds, so its metrics and connections stay live.
import { formatAgo } from '../../domain/format';
import { findTopology } from '../../domain/topologies';
import { useApp, useServices } from '../context';
import { Children, Connections, Metadata, Metrics, Parents, PropertyTables } from './Sections';

export function Details() {
  const { controller } = useServices();
  const details = useApp((s) => s.details);
  const now = useApp((s) => s.now);
  const topologyName = useApp((s) => (s.topologies && s.details ? findTopology(s.topologies, s.details.topology)?.name : undefined));
  const summary = useApp((s) => (s.details ? s.nodes.get(s.details.id) : undefined));
  if (!details) return null;
  const node = details.node;
  const title = node?.label ?? summary?.label ?? details.id;
  return (
    <aside class="details" aria-label="Node details" data-testid="details" data-node-id={details.id}>
      <header class="details-header">
        <div class="details-titles">
          <div class="details-kind">{topologyName ?? details.topology}</div>
          <h2 class="details-title" title={title}>
            {title}
          </h2>
          {(node?.labelMinor ?? summary?.labelMinor) && <div class="details-minor">{node?.labelMinor ?? summary?.labelMinor}</div>}
        </div>
        <button type="button" class="close" aria-label="Close details" title="Close (Esc)" onClick={() => controller.selectNode(null)}>
          ×
        </button>
      </header>
      {node && <Parents parents={node.parents ?? []} />}
      <div class="details-body">
        {details.error && <p class={`notice${details.gone ? ' gone' : ''}`}>{details.gone ? 'This node has gone away. ' : ''}{details.error}</p>}
        {!node && !details.error && <p class="muted">Loading…</p>}
        {node && (
          <>
            <Metrics metrics={node.metrics ?? []} />
            <Metadata rows={node.metadata ?? []} />
            <PropertyTables tables={node.tables ?? []} />
            <Connections tables={node.connections ?? []} />
            <Children tables={node.children ?? []} />
            {(node.controls ?? []).length > 0 && (
              <section class="details-section" aria-label="Controls">
                <h3>Controls</h3>
                <p class="muted">
                  {(node.controls ?? []).map((c) => c.human).join(', ')}: reported by the probe; running controls from the console is not available yet.
                </p>
              </section>
            )}
          </>
        )}
        {details.loadedAt && <p class="muted updated">Updated {formatAgo(now - details.loadedAt)}</p>}
      </div>
    </aside>
  );
}
