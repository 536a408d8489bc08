// A synthetic topology shaped like the app's JSON: N containers in service groups, E directed
// edges (mostly within a group, some across, a few hubs), with metadata and metrics sparklines.
// Deterministic, so benchmark runs compare.

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticTopology({ nodes = 5000, edges = 20000, seed = 42 } = {}) {
  const rand = rng(seed);
  const groupSize = 20;
  const groups = Math.ceil(nodes / groupSize);
  const now = Date.now();
  const ids = [];
  const list = [];
  for (let i = 0; i < nodes; i++) {
    const g = Math.floor(i / groupSize);
    const image = `svc-${g}`;
    const id = `${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}${i.toString(16).padStart(56, '0')};<container>`;
    ids.push(id);
    const cpu = rand() * 50;
    const mem = Math.floor(rand() * 512 * 1024 * 1024);
    const samples = (base) => Array.from({ length: 10 }, (_, k) => ({ date: new Date(now - (10 - k) * 1000).toISOString(), value: base * (0.8 + rand() * 0.4) }));
    list.push({
      id,
      label: `${image}-${i % groupSize}`,
      labelMinor: `host-${g % 50}`,
      rank: image,
      shape: 'hexagon',
      metadata: [
        { id: 'docker_image_name', label: 'Image name', priority: 2, value: image },
        { id: 'docker_container_command', label: 'Command', priority: 3, value: `/bin/${image} --port ${8000 + (i % 100)}` },
        { id: 'docker_container_state', label: 'State', priority: 4, value: 'Up 3 hours' },
        { id: 'docker_container_ips', label: 'IPs', priority: 8, value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        { id: 'docker_container_id', label: 'ID', priority: 11, truncate: 12, value: id.slice(0, 64) },
      ],
      metrics: [
        { id: 'docker_cpu_total_usage', label: 'CPU', format: 'percent', value: cpu, priority: 1, min: 0, max: 200, samples: samples(cpu) },
        { id: 'docker_memory_usage', label: 'Memory', format: 'filesize', value: mem, priority: 2, min: 0, max: 64 * 1024 ** 3, samples: samples(mem) },
      ],
      parents: [
        { id: `${image};<container_image>`, label: image, topologyId: 'containers-by-image' },
        { id: `host-${g % 50};<host>`, label: `host-${g % 50}`, topologyId: 'hosts' },
      ],
      adjacency: [],
    });
  }
  // Edges: 70% within the group, 25% to another group, 5% to one of 20 hubs (databases, DNS).
  const adj = list.map(() => new Set());
  let made = 0;
  let guard = 0;
  while (made < edges && guard++ < edges * 10) {
    const s = Math.floor(rand() * nodes);
    const g = Math.floor(s / groupSize);
    const r = rand();
    let t;
    if (r < 0.7) t = g * groupSize + Math.floor(rand() * groupSize);
    else if (r < 0.95) t = Math.floor(rand() * groups) * groupSize + Math.floor(rand() * groupSize);
    else t = Math.floor(rand() * 20) * groupSize;
    if (t >= nodes || t === s || adj[s].has(t)) continue;
    adj[s].add(t);
    made++;
  }
  list.forEach((n, i) => {
    n.adjacency = [...adj[i]].map((j) => ids[j]).sort();
  });
  return { nodes: list, edges: made };
}
