// The parts of the details panel: metrics, metadata, property tables, connections, children,
// parents. Rows that name another node link to it (in its own topology).
import type { ChildrenTable, ConnectionsTable, MetadataRow, MetricRow, NodeSummary, NodeTable as Table, Parent } from '../../api/types';
import { formatMetadata, formatMetric } from '../../domain/format';
import { useServices } from '../context';
import { Sparkline } from './Sparkline';

export function Metrics({ metrics }: { metrics: MetricRow[] }) {
  if (metrics.length === 0) return null;
  return (
    <section class="details-section" aria-label="Metrics">
      <h3>Metrics</h3>
      <div class="metrics">
        {metrics.map((m) => (
          <div class="metric" key={m.id} data-metric={m.id}>
            <div class="metric-label">{m.label}</div>
            <Sparkline metric={m} />
            <div class="metric-value">{formatMetric(m)}</div>
          </div>
        ))}
      </div>
    </section>
  );
}

export function Metadata({ rows }: { rows: MetadataRow[] }) {
  if (rows.length === 0) return null;
  return (
    <section class="details-section" aria-label="Info">
      <h3>Info</h3>
      <table class="kv">
        <tbody>
          {[...rows]
            .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0))
            .map((r) => (
              <tr key={r.id} data-meta={r.id}>
                <th scope="row">{r.label}</th>
                <td title={r.value}>{formatMetadata(r)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}

export function PropertyTables({ tables }: { tables: Table[] }) {
  return (
    <>
      {tables.map((t) => {
        const rows = t.rows ?? [];
        const cols = t.columns ?? [];
        const isList = t.type === undefined || t.type === 'property-list';
        if (rows.length === 0) return null;
        return (
          <section class="details-section" key={t.id} aria-label={t.label}>
            <h3>{t.label}</h3>
            <table class={isList ? 'kv' : 'grid'}>
              {!isList && (
                <thead>
                  <tr>
                    {cols.map((c) => (
                      <th key={c.id}>{c.label}</th>
                    ))}
                  </tr>
                </thead>
              )}
              <tbody>
                {rows.map((r) =>
                  isList ? (
                    <tr key={r.id}>
                      <th scope="row">{r.entries['label'] ?? r.id}</th>
                      <td>{r.entries['value'] ?? ''}</td>
                    </tr>
                  ) : (
                    <tr key={r.id}>
                      {cols.map((c) => (
                        <td key={c.id}>{r.entries[c.id] ?? ''}</td>
                      ))}
                    </tr>
                  ),
                )}
              </tbody>
            </table>
            {t.truncationCount ? <p class="muted">{t.truncationCount} more rows not shown.</p> : null}
          </section>
        );
      })}
    </>
  );
}

function cellOf(node: NodeSummary, id: string): string {
  const m = node.metrics?.find((x) => x.id === id);
  if (m) return formatMetric(m);
  const row = node.metadata?.find((x) => x.id === id);
  return row ? formatMetadata(row) : '';
}

export function Connections({ tables }: { tables: ConnectionsTable[] }) {
  const { controller } = useServices();
  return (
    <>
      {tables.map((t) => {
        const rows = t.connections ?? [];
        const cols = t.columns ?? [];
        return (
          <section class="details-section" key={t.id} aria-label={`${t.label} connections`} data-connections={t.id}>
            <h3>
              {t.label} <span class="muted">({rows.length})</span>
            </h3>
            {rows.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <table class="grid">
                <thead>
                  <tr>
                    <th>{t.label === 'Inbound' ? 'From' : 'To'}</th>
                    {cols.map((c) => (
                      <th key={c.id} class={c.dataType === 'number' ? 'num' : undefined}>
                        {c.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <a
                          href="#"
                          onClick={(e) => {
                            e.preventDefault();
                            controller.selectNode(r.nodeId, t.topologyId);
                          }}
                        >
                          {r.label}
                        </a>
                        {r.labelMinor ? <span class="muted"> {r.labelMinor}</span> : null}
                      </td>
                      {cols.map((c) => (
                        <td key={c.id} class={c.dataType === 'number' ? 'num' : undefined}>
                          {r.metadata?.find((m) => m.id === c.id)?.value ?? ''}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      })}
    </>
  );
}

export function Children({ tables }: { tables: ChildrenTable[] }) {
  const { controller } = useServices();
  return (
    <>
      {tables.map((t) => {
        const nodes = t.nodes ?? [];
        const cols = t.columns ?? [];
        if (nodes.length === 0) return null;
        return (
          <section class="details-section" key={t.id} aria-label={t.label} data-children={t.topologyId}>
            <h3>
              {t.label} <span class="muted">({nodes.length})</span>
            </h3>
            <table class="grid">
              <thead>
                <tr>
                  <th>Name</th>
                  {cols.map((c) => (
                    <th key={c.id} class={c.dataType === 'number' ? 'num' : undefined}>
                      {c.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {nodes.map((n) => (
                  <tr key={n.id}>
                    <td>
                      <a
                        href="#"
                        onClick={(e) => {
                          e.preventDefault();
                          controller.selectNode(n.id, t.topologyId);
                        }}
                      >
                        {n.label}
                      </a>
                    </td>
                    {cols.map((c) => (
                      <td key={c.id} class={c.dataType === 'number' ? 'num' : undefined}>
                        {cellOf(n, c.id)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      })}
    </>
  );
}

export function Parents({ parents }: { parents: Parent[] }) {
  const { controller } = useServices();
  if (parents.length === 0) return null;
  return (
    <div class="parents" aria-label="Parents">
      {parents.map((p) => (
        <a
          key={`${p.topologyId}:${p.id}`}
          href="#"
          class="parent"
          data-parent={p.id}
          title={`Open in ${p.topologyId}`}
          onClick={(e) => {
            e.preventDefault();
            controller.selectNode(p.id, p.topologyId);
          }}
        >
          <span class="parent-topology">{p.topologyId}</span> {p.label}
        </a>
      ))}
    </div>
  );
}
