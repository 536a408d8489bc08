// A local npm registry that forwards to the real one but serves only this machine's platform
// packages: any package whose versions all declare an `os` or `cpu` this machine is not answers
// 404, the way a registry (or mirror) that never synced other platforms' builds answers.
//
// scripts/web.sh runs the clean install of the console through it, so a lock file that only
// installs when the registry happens to list every platform fails here, in the test command,
// instead of on a user's machine.
//
//   node scripts/partial-registry.mjs UPSTREAM_URL
// Prints `listening <url>` on stdout once ready; on SIGTERM prints `hidden <n> served <n>` on
// stderr and exits. Only GET and HEAD are forwarded (what `npm ci` uses); loopback only.

import http from 'node:http';

const upstream = (process.argv[2] ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');

// npm's os/cpu fields: a list of allowed values, or of `!value` exclusions.
function allows(list, value) {
  if (!Array.isArray(list) || list.length === 0) return true;
  const allowed = list.filter((v) => !String(v).startsWith('!'));
  if (list.includes(`!${value}`)) return false;
  return allowed.length === 0 || allowed.includes(value);
}

function forThisMachine(version) {
  return allows(version.os, process.platform) && allows(version.cpu, process.arch);
}

let hidden = 0;
let served = 0;
const hiddenNames = new Set();

// `/@scope%2fname`, `/@scope/name` or `/name`: a packument; anything with `/-/`: a tarball.
function packageName(path) {
  const p = decodeURIComponent(path.split('?')[0] ?? '').replace(/^\//, '');
  if (p.includes('/-/')) return { name: p.split('/-/')[0] ?? '', tarball: true };
  return { name: p, tarball: false };
}

async function forward(req, res) {
  const { name, tarball } = packageName(req.url ?? '/');
  if (hiddenNames.has(name)) {
    hidden++;
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
    return;
  }
  const target = new URL((req.url ?? '/').replace(/^\//, ''), upstream);
  const headers = {};
  for (const h of ['accept', 'npm-command', 'user-agent']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const answer = await fetch(target, { method: req.method, headers, redirect: 'follow' });
  const body = Buffer.from(await answer.arrayBuffer());
  if (!tarball && answer.ok) {
    const doc = JSON.parse(body.toString('utf8'));
    const versions = Object.values(doc.versions ?? {});
    if (versions.length > 0 && !versions.some(forThisMachine)) {
      hiddenNames.add(name);
      hidden++;
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
      return;
    }
  }
  served++;
  const type = answer.headers.get('content-type') ?? 'application/octet-stream';
  res.writeHead(answer.status, { 'content-type': type, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  forward(req, res).catch((err) => {
    process.stderr.write(`partial-registry: ${req.url}: ${err}\n`);
    res.writeHead(502).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`listening http://127.0.0.1:${address.port}/\n`);
});

process.on('SIGTERM', () => {
  process.stderr.write(`hidden ${hidden} served ${served}\n`);
  process.exit(0);
});
