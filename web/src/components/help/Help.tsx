// Keyboard shortcuts and the search syntax.
import { useApp, useServices } from '../context';

export function Help() {
  const { controller } = useServices();
  const open = useApp((s) => s.helpOpen);
  if (!open) return null;
  return (
    <div class="modal-backdrop" onClick={() => controller.setHelp(false)}>
      <div class="modal" role="dialog" aria-modal="true" aria-label="Help" onClick={(e) => e.stopPropagation()}>
        <button type="button" class="close" aria-label="Close help" onClick={() => controller.setHelp(false)}>
          ×
        </button>
        <h2>Keyboard shortcuts</h2>
        <table class="kv">
          <tbody>
            <tr><th><kbd>/</kbd></th><td>Search</td></tr>
            <tr><th><kbd>g</kbd></th><td>Graph view</td></tr>
            <tr><th><kbd>t</kbd></th><td>Table view</td></tr>
            <tr><th><kbd>c</kbd></th><td>Toggle high contrast</td></tr>
            <tr><th><kbd>+</kbd> <kbd>-</kbd> <kbd>0</kbd></th><td>Zoom in, out, fit the map</td></tr>
            <tr><th><kbd>Esc</kbd></th><td>Close details, clear search, close this</td></tr>
            <tr><th><kbd>?</kbd></th><td>This help</td></tr>
          </tbody>
        </table>
        <h2>Search</h2>
        <table class="kv">
          <tbody>
            <tr><th><code>nginx</code></th><td>Name, details, metadata, parents or table cells match (case-insensitive regular expression)</td></tr>
            <tr><th><code>image: redis</code></th><td>Only the field whose label is “image…” (labels without spaces or punctuation)</td></tr>
            <tr><th><code>pid: 1234</code></th><td>A process by PID</td></tr>
            <tr><th><code>cpu &gt; 4%</code></th><td>A metric above, below (<code>&lt;</code>) or equal (<code>=</code>) to a value</td></tr>
            <tr><th><code>memory &lt; 10mb</code></th><td>K, M, G, T are powers of 1024</td></tr>
            <tr><th><kbd>Enter</kbd></th><td>Pin the search; pinned searches combine (AND) and hide what they do not match</td></tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
