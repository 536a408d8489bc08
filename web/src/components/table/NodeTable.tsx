// The table view: every node that matches the search, one row each, sortable by any column
// (first click on a number sorts high-first, like `top`). Only the rows in view are rendered,
// so 5,000 nodes scroll smoothly.
import { useMemo, useState } from 'preact/hooks';
import type { NodeSummary } from '../../api/types';
import type { SortSpec, TableColumn } from '../../domain/table';
import { cellText, defaultSort, sortNodes, tableColumns } from '../../domain/table';
import { tableNodes } from '../../store/derive';
import { useApp, useServices } from '../context';

const ROW_HEIGHT = 28;
const OVERSCAN = 12;

function widthOf(c: TableColumn): number {
  if (c.kind === 'label') return 240;
  if (c.kind === 'labelMinor') return 180;
  if (c.kind === 'metric') return 110;
  return c.numeric ? 110 : 170;
}

export function parseSort(s: string | null): SortSpec | null {
  if (!s) return null;
  return s.startsWith('-') ? { key: s.slice(1), desc: true } : { key: s, desc: false };
}

export function NodeTable() {
  const { controller } = useServices();
  const nodes = useApp(tableNodes);
  const sortParam = useApp((s) => s.view.sort);
  const selected = useApp((s) => s.view.node);
  const hovered = useApp((s) => s.hovered);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });

  const columns = useMemo(() => tableColumns(nodes), [nodes]);
  const sort = parseSort(sortParam) ?? defaultSort(columns);
  const col = columns.find((c) => c.key === sort.key);
  const rows = useMemo(() => sortNodes(nodes, col, sort.desc), [nodes, col, sort.desc]);
  const template = columns.map((c) => `${widthOf(c)}px`).join(' ');
  const totalWidth = columns.reduce((a, c) => a + widthOf(c), 0);

  const first = Math.max(0, Math.floor(scroll.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scroll.top + scroll.height) / ROW_HEIGHT) + OVERSCAN);

  const sortBy = (c: TableColumn): void => {
    const desc = sort.key === c.key ? !sort.desc : c.numeric;
    controller.setView({ sort: `${desc ? '-' : ''}${c.key}` });
  };

  return (
    <div
      class="node-table"
      role="table"
      aria-label="Nodes"
      aria-rowcount={rows.length + 1}
      onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
      ref={(el) => {
        if (el && el.clientHeight && el.clientHeight !== scroll.height) setScroll({ top: el.scrollTop, height: el.clientHeight });
      }}
    >
      <div class="node-table-head" role="row" style={{ gridTemplateColumns: template, width: `${totalWidth}px` }}>
        {columns.map((c) => {
          const active = c.key === sort.key;
          return (
            <button
              type="button"
              role="columnheader"
              key={c.key}
              class={`th${c.numeric ? ' num' : ''}${active ? ' active' : ''}`}
              aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
              data-column={c.key}
              onClick={() => sortBy(c)}
              title={`Sort by ${c.label}`}
            >
              {c.label}
              {active ? (sort.desc ? ' ▼' : ' ▲') : ''}
            </button>
          );
        })}
      </div>
      <div class="node-table-body" style={{ height: `${rows.length * ROW_HEIGHT}px`, width: `${totalWidth}px` }}>
        {rows.slice(first, last).map((n: NodeSummary, k) => (
          <div
            role="row"
            key={n.id}
            aria-rowindex={first + k + 2}
            aria-selected={n.id === selected}
            class={`tr${n.id === selected ? ' selected' : ''}${n.id === hovered ? ' hovered' : ''}`}
            data-node-id={n.id}
            style={{ gridTemplateColumns: template, transform: `translateY(${(first + k) * ROW_HEIGHT}px)`, height: `${ROW_HEIGHT}px` }}
            onClick={() => controller.selectNode(n.id)}
            onMouseEnter={() => controller.setHovered(n.id)}
            onMouseLeave={() => controller.setHovered(null)}
          >
            {columns.map((c) => (
              <div role="cell" key={c.key} class={`td${c.numeric ? ' num' : ''}`} title={cellText(n, c)}>
                {cellText(n, c)}
              </div>
            ))}
          </div>
        ))}
      </div>
      {rows.length === 0 && <div class="node-table-empty">No nodes match.</div>}
    </div>
  );
}
