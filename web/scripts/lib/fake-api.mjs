// A tiny stand-in for the app's API, serving the built console and a synthetic topology over the
// same routes and WebSocket frames as `scope app`. Used by the benchmark; no Rust needed.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

export function startFakeApi({ dist, topology, port = 0 }) {
  const nodesById = Object.fromEntries(topology.nodes.map((n) => [n.id, n]));
  const topologyJson = JSON.stringify({ nodes: nodesById });
  // Serialised once: the benchmark measures the console, not this stand-in's JSON encoder.
  const resetFrame = JSON.stringify({ reset: true, add: topology.nodes });
  const stats = { node_count: topology.nodes.length, nonpseudo_node_count: topology.nodes.length, edge_count: topology.edges, filtered_nodes: 0 };
  const list = [
    {
      id: 'containers',
      name: 'Containers',
      rank: 2,
      hide_if_empty: false,
      url: '/api/topology/containers',
      options: [],
      stats,
      sub_topologies: [],
    },
  ];
  const json = (res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (p === '/api/auth/config') return json(res, { mode: 'local', signup: 'closed', bootstrapRequired: false });
    if (p === '/api') return json(res, { id: 'fake', version: 'bench', hostname: 'bench', capabilities: { historic_reports: false } });
    if (p === '/api/topology') return json(res, list);
    if (p === '/api/probes') return json(res, [{ id: 'p1', hostname: 'bench', version: 'bench', lastSeen: Date.now() }]);
    if (p === '/api/topology/containers') return json(res, topologyJson);
    if (p.startsWith('/api/topology/containers/')) {
      const id = decodeURIComponent(p.slice('/api/topology/containers/'.length));
      const n = nodesById[id];
      if (!n) {
        res.writeHead(404);
        return res.end('not found');
      }
      return json(res, { node: { ...n, connections: [], children: [], controls: [] } });
    }
    let file = normalize(join(dist, p === '/' ? 'index.html' : p));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) file = join(dist, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/topology/containers/ws') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(resetFrame);
    });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        url: `http://127.0.0.1:${addr.port}`,
        close: () =>
          new Promise((r) => {
            for (const c of wss.clients) c.terminate();
            server.close(() => r());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
