// What the main area says when there is nothing to draw: the app is unreachable, no probe is
// connected (and what to run), the topology is empty (and why), or a search hides everything.
import { explainEmpty } from '../../domain/options';
import { findTopology } from '../../domain/topologies';
import { searchResult } from '../../store/derive';
import { useApp, useServices } from '../context';
import { useAccountsMode } from '../account/context';

function NoProbes() {
  const accounts = useAccountsMode();
  if (accounts)
    return (
      <div class="overlay" data-testid="no-probes" role="status">
        <h2>No probe is connected</h2>
        <p>Scope draws what this organisation's probes report. Start one on each host you want to see:</p>
        <pre>scope probe --service-token TOKEN ADDRESS</pre>
        <p>
          with a service token from the <a href="#/tokens">Tokens</a> page (admins create them; it shows the exact command) and the app's probe address.
        </p>
      </div>
    );
  return (
    <div class="overlay" data-testid="no-probes" role="status">
      <h2>No probe is connected</h2>
      <p>Scope draws what its probes report. Start one on each host you want to see:</p>
      <pre>scope probe --service-token TOKEN ADDRESS</pre>
      <p>
        with the token and address <code>scope app</code> printed at start, or run <code>scope launch</code> to start the app and a probe for this host
        together.
      </p>
    </div>
  );
}

export function Overlay() {
  const { controller } = useServices();
  const apiError = useApp((s) => s.apiError);
  const hasTopologies = useApp((s) => s.topologies !== null);
  const probes = useApp((s) => s.probes);
  const loaded = useApp((s) => s.loaded);
  const size = useApp((s) => s.nodes.size);
  const shown = useApp((s) => searchResult(s).pinnedIds?.size ?? s.nodes.size);
  const view = useApp((s) => s.view);
  const topology = useApp((s) => (s.topologies && s.view.topology ? findTopology(s.topologies, s.view.topology) : undefined));

  if (apiError && !hasTopologies)
    return (
      <div class="overlay" role="alert">
        <h2>Cannot reach the Scope app</h2>
        <p>{apiError}</p>
        <p>Retrying every few seconds.</p>
      </div>
    );
  if (probes !== null && probes.length === 0 && size === 0) return <NoProbes />;
  if (!loaded)
    return (
      <div class="overlay quiet" role="status">
        Loading…
      </div>
    );
  if (size === 0 && topology) {
    const why = explainEmpty(topology, view.options, topology.name);
    return (
      <div class="overlay" data-testid="empty-topology" role="status">
        <h2>Nothing to show in {topology.name}</h2>
        <p>{why.message}</p>
        {why.fixes.length > 0 && (
          <div class="fixes">
            {why.fixes.map((f) => (
              <button type="button" key={`${f.group}=${f.value}`} onClick={() => controller.setOption(f.group, f.value)}>
                {f.label}
              </button>
            ))}
          </div>
        )}
      </div>
    );
  }
  if (size > 0 && shown === 0)
    return (
      <div class="overlay" role="status">
        <h2>No node matches the pinned searches</h2>
        <p>
          {view.pinned.map((p, i) => (
            <button type="button" key={p} onClick={() => controller.unpin(i)}>
              Unpin “{p}”
            </button>
          ))}
        </p>
      </div>
    );
  return null;
}
