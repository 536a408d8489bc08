// Exports of the map: SVG (vector, from the scene, not from pixels) and PNG (the canvas renderer
// drawn off screen at a size that fits the whole map). Both show every visible node, whatever
// part of the map is on screen.
import type { Scene } from '../../layout/graph-model';
import { boundsOf, fit } from '../../layout/viewport';
import { drawScene, NODE_RADIUS } from './draw';
import { svgShapePath } from './shapes';
import type { Theme } from './theme';
import { colourIndex } from './theme';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sceneToSvg(scene: Scene, theme: Theme, title: string): string {
  const b = boundsOf(scene.xy, (i) => (scene.vis[i] ?? 2) !== 2 && scene.nodes[i] !== undefined) ?? { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  const pad = NODE_RADIUS + 60;
  const minX = b.minX - pad;
  const minY = b.minY - pad;
  const w = b.maxX - b.minX + 2 * pad;
  const h = b.maxY - b.minY + 2 * pad;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${minX.toFixed(0)} ${minY.toFixed(0)} ${w.toFixed(0)} ${h.toFixed(0)}" width="${w.toFixed(0)}" height="${h.toFixed(0)}">`,
    `<title>${esc(title)}</title>`,
    `<rect x="${minX.toFixed(0)}" y="${minY.toFixed(0)}" width="${w.toFixed(0)}" height="${h.toFixed(0)}" fill="${theme.background}"/>`,
    `<g stroke="${theme.edge}" stroke-width="1" fill="none">`,
  ];
  const { xy, vis, edges } = scene;
  for (let k = 0; k + 1 < edges.length; k += 2) {
    const s = edges[k] ?? 0;
    const d = edges[k + 1] ?? 0;
    if ((vis[s] ?? 2) === 2 || (vis[d] ?? 2) === 2) continue;
    out.push(`<line x1="${(xy[2 * s] ?? 0).toFixed(1)}" y1="${(xy[2 * s + 1] ?? 0).toFixed(1)}" x2="${(xy[2 * d] ?? 0).toFixed(1)}" y2="${(xy[2 * d + 1] ?? 0).toFixed(1)}"/>`);
  }
  out.push('</g>', `<g stroke="${theme.stroke}" font-family="system-ui, sans-serif" text-anchor="middle">`);
  for (let i = 0; i < scene.ids.length; i++) {
    const node = scene.nodes[i];
    if (!node || (vis[i] ?? 2) === 2) continue;
    const x = xy[2 * i] ?? 0;
    const y = xy[2 * i + 1] ?? 0;
    const fill = node.pseudo ? theme.pseudoFill : (theme.hues[colourIndex(node.rank, node.label)] ?? theme.pseudoFill);
    const opacity = vis[i] === 1 ? ' opacity="0.2"' : '';
    out.push(
      `<g data-node-id="${esc(node.id)}"${opacity}><path d="${svgShapePath(scene.shape[i] ?? 0, x, y, NODE_RADIUS)}" fill="${fill}"/>` +
        `<text x="${x.toFixed(1)}" y="${(y + NODE_RADIUS + 14).toFixed(1)}" font-size="12" fill="${theme.label}" stroke="none">${esc(node.label)}</text>` +
        (node.labelMinor ? `<text x="${x.toFixed(1)}" y="${(y + NODE_RADIUS + 28).toFixed(1)}" font-size="10" fill="${theme.labelMinor}" stroke="none">${esc(node.labelMinor)}</text>` : '') +
        '</g>',
    );
  }
  out.push('</g></svg>');
  return out.join('\n');
}

/** Renders the whole map into a PNG no larger than `max` pixels on a side. */
export function sceneToPng(scene: Scene, theme: Theme, max = 4096): Promise<Blob> {
  const b = boundsOf(scene.xy, (i) => (scene.vis[i] ?? 2) !== 2) ?? { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  const pad = 80;
  const scale = Math.min(1.5, max / (b.maxX - b.minX + 2 * pad), max / (b.maxY - b.minY + 2 * pad));
  const width = Math.ceil((b.maxX - b.minX + 2 * pad) * scale);
  const height = Math.ceil((b.maxY - b.minY + 2 * pad) * scale);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no 2D canvas'));
  const t = fit(b, width, height, pad * scale);
  drawScene(ctx, scene, t, { width, height, dpr: 1, theme, hovered: -1, highlight: null, selected: -1 });
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

export function download(name: string, data: Blob | string, type = 'application/octet-stream'): void {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
