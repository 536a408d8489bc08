// The status bar: live / reconnecting, probes and the age of the newest report, the app's
// version (with an update link when checkpoint knows a newer one), contrast, exports and help.
import { api } from '../../api/http';
import { formatAgo } from '../../domain/format';
import { findTopology } from '../../domain/topologies';
import { download, sceneToPng, sceneToSvg } from '../graph/export';
import { themeFor } from '../graph/theme';
import { useApp, useServices } from '../context';

function Connection() {
  const { controller } = useServices();
  const socket = useApp((s) => s.socket);
  const now = useApp((s) => s.now);
  if (socket.state === 'live')
    return (
      <span class="status live" data-status="live" title="Receiving live updates">
        <span class="dot" /> Live
      </span>
    );
  if (socket.state === 'connecting')
    return (
      <span class="status connecting" data-status="connecting">
        <span class="dot" /> Connecting…
      </span>
    );
  const wait = Math.max(0, Math.ceil((socket.retryAt - now) / 1000));
  return (
    <span class="status reconnecting" data-status="reconnecting" role="status">
      <span class="dot" /> Connection lost; reconnecting{wait > 0 ? ` in ${wait}s` : '…'}{' '}
      <button type="button" class="link" onClick={() => controller.retryNow()}>
        retry now
      </button>
    </span>
  );
}

function Probes() {
  const probes = useApp((s) => s.probes);
  const now = useApp((s) => s.now);
  if (probes === null) return null;
  const last = probes.reduce((m, p) => Math.max(m, p.lastSeen || 0), 0);
  return (
    <span class="probes" data-testid="probes" title={probes.map((p) => `${p.hostname} (${p.version})`).join('\n')}>
      {probes.length} {probes.length === 1 ? 'probe' : 'probes'}
      {last > 0 && <>, last report {formatAgo(now - last)}</>}
    </span>
  );
}

function Exports() {
  const { controller, model } = useServices();
  const contrast = useApp((s) => s.view.contrast);
  const name = useApp((s) => (s.topologies && s.view.topology ? (findTopology(s.topologies, s.view.topology)?.name ?? s.view.topology) : 'scope'));
  const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const base = `scope-${(controller.view().topology ?? 'map').replace(/[^a-z0-9-]/gi, '')}-${stamp()}`;
  const scene = model.scene;
  return (
    <details class="menu">
      <summary>Export</summary>
      <div class="menu-items" role="menu">
        <button type="button" role="menuitem" disabled={!scene} onClick={() => scene && download(`${base}.svg`, sceneToSvg(scene, themeFor(contrast), `Scope: ${name}`), 'image/svg+xml')}>
          Save map as SVG
        </button>
        <button type="button" role="menuitem" disabled={!scene} onClick={() => scene && void sceneToPng(scene, themeFor(contrast)).then((b) => download(`${base}.png`, b))}>
          Save map as PNG
        </button>
        <a role="menuitem" href={api.reportUrl()} download={`scope-report-${stamp()}.json`}>
          Save raw report as JSON
        </a>
      </div>
    </details>
  );
}

export function Footer() {
  const { controller } = useServices();
  const info = useApp((s) => s.info);
  const contrast = useApp((s) => s.view.contrast);
  return (
    <footer class="footer">
      <Connection />
      <Probes />
      <span class="spacer" />
      {info && (
        <span class="version" data-testid="version">
          Scope {info.version} on {info.hostname}
        </span>
      )}
      {info?.newVersion && (
        <a class="update" href={info.newVersion.downloadUrl} target="_blank" rel="noopener noreferrer" data-testid="update">
          Version {info.newVersion.version} is available
        </a>
      )}
      <button type="button" class="link" aria-pressed={contrast} onClick={() => controller.toggleContrast()} title="High-contrast theme">
        {contrast ? 'Normal contrast' : 'High contrast'}
      </button>
      <Exports />
      <button type="button" class="link" onClick={() => controller.setHelp(true)} title="Keyboard shortcuts and search syntax (?)">
        Help
      </button>
    </footer>
  );
}
