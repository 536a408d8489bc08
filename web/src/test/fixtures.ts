// Nodes shaped like the app's real JSON (captured from /api/topology/containers and /processes).
import type { NodeSummary } from '../api/types';

export function container(name: string, opts: Partial<NodeSummary> & { cpu?: number; mem?: number; image?: string; ip?: string } = {}): NodeSummary {
  const { cpu = 0, mem = 618496, image = 'scope-test-busybox', ip = '172.17.0.2', ...rest } = opts;
  return {
    id: `${name}-id;<container>`,
    label: name,
    labelMinor: 'vm',
    rank: image,
    shape: 'hexagon',
    metadata: [
      { id: 'docker_image_name', label: 'Image name', priority: 2, value: image },
      { id: 'docker_container_command', label: 'Command', priority: 3, value: 'httpd -f -p 80 -h /www' },
      { id: 'docker_container_uptime', label: 'Uptime', priority: 5, value: '8', dataType: 'duration' },
      { id: 'docker_container_ips', label: 'IPs', priority: 8, value: ip },
      { id: 'docker_container_created', label: 'Created', priority: 10, value: '2026-11-23T04:21:37.864249685Z', dataType: 'datetime' },
    ],
    metrics: [
      { id: 'docker_cpu_total_usage', label: 'CPU', format: 'percent', value: cpu, priority: 1, min: 0, max: 200, samples: [] },
      { id: 'docker_memory_usage', label: 'Memory', format: 'filesize', value: mem, priority: 2, min: 0, max: 2.5e10, samples: [] },
    ],
    parents: [
      { id: `${image};<container_image>`, label: image, topologyId: 'containers-by-image' },
      { id: 'vm;<host>', label: 'vm', topologyId: 'hosts' },
    ],
    tables: [
      {
        id: 'docker_label_',
        label: 'Docker labels',
        type: 'property-list',
        columns: [
          { id: 'label', label: 'Label' },
          { id: 'value', label: 'Value' },
        ],
        rows: [{ id: 'label_maintainer', entries: { label: 'maintainer', value: `${name}@example.com` } }],
      },
    ],
    ...rest,
  };
}

export function process(pid: number, name: string, adjacency: string[] = []): NodeSummary {
  return {
    id: `vm;${pid}`,
    label: name,
    labelMinor: `vm (${pid})`,
    rank: name,
    shape: 'square',
    metadata: [
      { id: 'pid', label: 'PID', priority: 1, value: String(pid), dataType: 'number' },
      { id: 'cmdline', label: 'Command', priority: 2, value: `${name} --serve` },
    ],
    metrics: [{ id: 'process_cpu_usage_percent', label: 'CPU', format: 'percent', value: pid % 7, priority: 1, min: 0, max: 200 }],
    adjacency,
  };
}
