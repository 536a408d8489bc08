// Draws the map on a 2D canvas. Built for 5,000 nodes and 20,000 edges at interactive rates:
// everything off screen is culled, all plain edges go into one path and one stroke, nodes are
// batched into one path per (shape, colour), and labels appear only when zoomed in far enough
// to read them.
import type { Scene } from '../../layout/graph-model';
import type { Bounds, Transform } from '../../layout/viewport';
import { visibleWorld } from '../../layout/viewport';
import { traceShape } from './shapes';
import type { Theme } from './theme';
import { colourIndex } from './theme';

/** Node radius in world units. */
export const NODE_RADIUS = 18;
/** Labels show once a node is at least this many pixels across (radius). */
const LABEL_MIN_RADIUS = 9;
const MINOR_LABEL_MIN_RADIUS = 14;
/** Arrowheads show from this zoom on; below it they are sub-pixel noise. */
const ARROW_MIN_ZOOM = 0.5;
/** Below this on-screen radius nodes are drawn as plain squares without outline. */
const TINY_RADIUS = 2.5;
/** Outlines only from this on-screen radius: at a few pixels they are all outline. */
const OUTLINE_MIN_RADIUS = 5;
/** Upper bound on labels per frame, so a zoom level that shows thousands stays fast. */
const MAX_LABELS = 1200;

export interface DrawOptions {
  width: number;
  height: number;
  dpr: number;
  theme: Theme;
  hovered: number;
  /** Indices highlighted with the hovered node (its neighbours). */
  highlight: Set<number> | null;
  selected: number;
}

function inside(b: Bounds, x: number, y: number): boolean {
  return x >= b.minX && x <= b.maxX && y >= b.minY && y <= b.maxY;
}

/** Indices of the nodes sharing an edge with `i`, plus `i`. */
export function neighbourhood(scene: Scene, i: number): Set<number> {
  const out = new Set<number>([i]);
  const e = scene.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    if (e[k] === i) out.add(e[k + 1] ?? i);
    else if (e[k + 1] === i) out.add(e[k] ?? i);
  }
  return out;
}

export function drawScene(ctx: CanvasRenderingContext2D, scene: Scene | null, t: Transform, o: DrawOptions): { nodes: number; edges: number } {
  const { dpr, theme } = o;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, o.width, o.height);
  if (!scene) return { nodes: 0, edges: 0 };
  const r = NODE_RADIUS;
  const view = visibleWorld(t, o.width, o.height, r * t.k + 40);
  const { xy, vis, edges } = scene;
  const dimming = o.highlight !== null;
  let drawnEdges = 0;
  let drawnNodes = 0;

  ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);

  // Edges: one path for all; highlighted ones again on top.
  const plain = new Path2D();
  const hot = new Path2D();
  const arrows = t.k >= ARROW_MIN_ZOOM ? new Path2D() : null;
  const hotArrows = t.k >= ARROW_MIN_ZOOM ? new Path2D() : null;
  for (let k = 0; k + 1 < edges.length; k += 2) {
    const s = edges[k] ?? 0;
    const d = edges[k + 1] ?? 0;
    if ((vis[s] ?? 2) === 2 || (vis[d] ?? 2) === 2) continue;
    const x1 = xy[2 * s] ?? 0;
    const y1 = xy[2 * s + 1] ?? 0;
    const x2 = xy[2 * d] ?? 0;
    const y2 = xy[2 * d + 1] ?? 0;
    // Cull edges whose bounding box misses the view.
    if (Math.max(x1, x2) < view.minX || Math.min(x1, x2) > view.maxX || Math.max(y1, y2) < view.minY || Math.min(y1, y2) > view.maxY) continue;
    const isHot = dimming && (s === o.hovered || d === o.hovered);
    const path = isHot ? hot : plain;
    path.moveTo(x1, y1);
    path.lineTo(x2, y2);
    drawnEdges++;
    const arrowPath = isHot ? hotArrows : arrows;
    if (arrowPath) {
      // Arrowhead at the target's rim: edges are directed (client -> server).
      const len = Math.hypot(x2 - x1, y2 - y1);
      if (len > 2 * r) {
        const ux = (x2 - x1) / len;
        const uy = (y2 - y1) / len;
        const tipX = x2 - ux * (r + 2);
        const tipY = y2 - uy * (r + 2);
        const a = 7;
        arrowPath.moveTo(tipX, tipY);
        arrowPath.lineTo(tipX - ux * a * 1.6 - uy * a * 0.7, tipY - uy * a * 1.6 + ux * a * 0.7);
        arrowPath.lineTo(tipX - ux * a * 1.6 + uy * a * 0.7, tipY - uy * a * 1.6 - ux * a * 0.7);
        arrowPath.closePath();
      }
    }
  }
  ctx.lineWidth = Math.max(1 / t.k, 0.6);
  ctx.globalAlpha = dimming ? 0.25 : 1;
  ctx.strokeStyle = theme.edge;
  ctx.stroke(plain);
  if (arrows) {
    ctx.fillStyle = theme.edge;
    ctx.fill(arrows);
  }
  ctx.globalAlpha = 1;
  if (dimming) {
    ctx.lineWidth = Math.max(2 / t.k, 1.5);
    ctx.strokeStyle = theme.edgeHighlight;
    ctx.stroke(hot);
    if (hotArrows) {
      ctx.fillStyle = theme.edgeHighlight;
      ctx.fill(hotArrows);
    }
  }

  // Nodes, batched by (faded?, shape, colour).
  const groups = new Map<number, Path2D>();
  const stacks = new Path2D();
  const visible: number[] = [];
  const n = scene.ids.length;
  const tiny = r * t.k < TINY_RADIUS;
  for (let i = 0; i < n; i++) {
    const v = vis[i] ?? 2;
    if (v === 2) continue;
    const x = xy[2 * i] ?? 0;
    const y = xy[2 * i + 1] ?? 0;
    if (!inside(view, x, y)) continue;
    const node = scene.nodes[i];
    if (!node) continue;
    const faded = v === 1 || (dimming && !(o.highlight?.has(i) ?? false));
    const shape = scene.shape[i] ?? 0;
    const colour = node.pseudo ? 31 : colourIndex(node.rank, node.label);
    const key = ((faded ? 1 : 0) << 12) | (shape << 6) | colour;
    let path = groups.get(key);
    if (!path) groups.set(key, (path = new Path2D()));
    if (tiny) {
      // A few pixels across, every shape looks the same: squares are the cheapest to fill.
      path.rect(x - r, y - r, 2 * r, 2 * r);
    } else {
      if (node.stack) traceShape(stacks, shape, x + 4, y + 4, r);
      traceShape(path, shape, x, y, r);
    }
    visible.push(i);
    drawnNodes++;
  }
  ctx.lineWidth = Math.max(1 / t.k, 0.75);
  ctx.fillStyle = theme.stackFill;
  ctx.fill(stacks);
  for (const [key, path] of [...groups].sort((a, b) => b[0] - a[0])) {
    const faded = key >> 12 === 1;
    const colour = key & 63;
    ctx.globalAlpha = faded ? 0.2 : 1;
    ctx.fillStyle = colour === 31 ? theme.pseudoFill : (theme.hues[colour] ?? theme.pseudoFill);
    ctx.fill(path);
    if (r * t.k >= OUTLINE_MIN_RADIUS) {
      ctx.strokeStyle = theme.stroke;
      ctx.stroke(path);
    }
  }
  ctx.globalAlpha = 1;

  // Selection ring.
  if (o.selected >= 0 && (vis[o.selected] ?? 2) !== 2) {
    const x = xy[2 * o.selected] ?? 0;
    const y = xy[2 * o.selected + 1] ?? 0;
    const ring = new Path2D();
    traceShape(ring, scene.shape[o.selected] ?? 0, x, y, r + 5);
    ctx.lineWidth = 3 / Math.min(t.k, 1.5);
    ctx.strokeStyle = theme.selected;
    ctx.stroke(ring);
  }

  // Labels in screen space so text stays crisp at any zoom.
  const screenR = r * t.k;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const wanted = screenR >= LABEL_MIN_RADIUS ? visible : [o.hovered, o.selected].filter((i) => i >= 0 && (vis[i] ?? 2) !== 2);
  if (wanted.length > 0) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.lineJoin = 'round';
    const minor = screenR >= MINOR_LABEL_MIN_RADIUS;
    let count = 0;
    for (const i of wanted) {
      if (count++ >= MAX_LABELS) break;
      const node = scene.nodes[i];
      if (!node) continue;
      const faded = (vis[i] ?? 0) === 1 || (dimming && !(o.highlight?.has(i) ?? false));
      ctx.globalAlpha = faded ? 0.3 : 1;
      const sx = (xy[2 * i] ?? 0) * t.k + t.x;
      const sy = (xy[2 * i + 1] ?? 0) * t.k + t.y + screenR + 4;
      ctx.font = '600 12px system-ui, sans-serif';
      ctx.lineWidth = 3;
      ctx.strokeStyle = theme.labelHalo;
      const label = node.label.length > 32 ? `${node.label.slice(0, 31)}…` : node.label;
      ctx.strokeText(label, sx, sy);
      ctx.fillStyle = theme.label;
      ctx.fillText(label, sx, sy);
      if ((minor || i === o.hovered || i === o.selected) && node.labelMinor) {
        ctx.font = '11px system-ui, sans-serif';
        const m = node.labelMinor.length > 36 ? `${node.labelMinor.slice(0, 35)}…` : node.labelMinor;
        ctx.strokeText(m, sx, sy + 15);
        ctx.fillStyle = theme.labelMinor;
        ctx.fillText(m, sx, sy + 15);
      }
    }
    ctx.globalAlpha = 1;
  }
  return { nodes: drawnNodes, edges: drawnEdges };
}

/** The node under a world point, or -1: the nearest centre within the node radius. */
export function hitTest(scene: Scene | null, wx: number, wy: number, slack = 4): number {
  if (!scene) return -1;
  const max = (NODE_RADIUS + slack) ** 2;
  let best = -1;
  let bestD = max;
  const { xy, vis } = scene;
  for (let i = 0; i < scene.ids.length; i++) {
    if ((vis[i] ?? 2) === 2 || !scene.nodes[i]) continue;
    const dx = (xy[2 * i] ?? 0) - wx;
    const dy = (xy[2 * i + 1] ?? 0) - wy;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
