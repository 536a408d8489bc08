// The current topology's option groups (system / stopped / pseudo / unconnected), as the server
// describes them. A choice changes the URL, the WebSocket and every API call.
import type { OptionGroup } from '../../api/types';
import { effectiveValue, toggleUnion } from '../../domain/options';
import { findTopology } from '../../domain/topologies';
import { useApp, useServices } from '../context';

function Group({ g, value }: { g: OptionGroup; value: string }) {
  const { controller } = useServices();
  const union = g.selectType === 'union';
  const selected = union ? new Set(value.split(',').filter(Boolean)) : new Set([value]);
  return (
    <div class="option-group" role="group" aria-label={g.id} data-option-group={g.id}>
      {g.options.map((o) => {
        const on = selected.has(o.value);
        return (
          <button
            type="button"
            key={o.value}
            class={`option${on ? ' active' : ''}`}
            aria-pressed={on}
            data-option={`${g.id}=${o.value}`}
            onClick={() => controller.setOption(g.id, union ? toggleUnion(value, o.value) : o.value)}
          >
            {o.label}
          </button>
        );
      })}
      {union && selected.size === 0 && g.noneLabel && <span class="option-none">{g.noneLabel}</span>}
    </div>
  );
}

export function Options() {
  const topologies = useApp((s) => s.topologies);
  const current = useApp((s) => s.view.topology);
  const chosen = useApp((s) => s.view.options);
  const t = topologies && current ? findTopology(topologies, current) : undefined;
  const groups = t?.options ?? [];
  if (groups.length === 0) return null;
  return (
    <div class="options" aria-label="Topology options">
      {groups.map((g) => (
        <Group key={g.id} g={g} value={effectiveValue(g, chosen)} />
      ))}
    </div>
  );
}
