// Zoom and pan as a transform: screen = world * k + (x, y). Pure math, unit tested.

export interface Transform {
  k: number;
  x: number;
  y: number;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 8;

export const IDENTITY: Transform = { k: 1, x: 0, y: 0 };

export function toWorld(t: Transform, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - t.x) / t.k, y: (sy - t.y) / t.k };
}

export function toScreen(t: Transform, wx: number, wy: number): { x: number; y: number } {
  return { x: wx * t.k + t.x, y: wy * t.k + t.y };
}

/** Zooms by `factor` keeping the world point under (sx, sy) where it is. */
export function zoomAt(t: Transform, factor: number, sx: number, sy: number): Transform {
  const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, t.k * factor));
  const w = toWorld(t, sx, sy);
  return { k, x: sx - w.x * k, y: sy - w.y * k };
}

export function pan(t: Transform, dx: number, dy: number): Transform {
  return { k: t.k, x: t.x + dx, y: t.y + dy };
}

export function boundsOf(xy: Float32Array, visible?: (i: number) => boolean): Bounds | null {
  let b: Bounds | null = null;
  for (let i = 0; 2 * i + 1 < xy.length; i++) {
    if (visible && !visible(i)) continue;
    const x = xy[2 * i] ?? 0;
    const y = xy[2 * i + 1] ?? 0;
    if (!b) b = { minX: x, minY: y, maxX: x, maxY: y };
    else {
      if (x < b.minX) b.minX = x;
      if (y < b.minY) b.minY = y;
      if (x > b.maxX) b.maxX = x;
      if (y > b.maxY) b.maxY = y;
    }
  }
  return b;
}

/** The transform that shows `b` whole in a width x height viewport, never zooming in past 1.5x. */
export function fit(b: Bounds, width: number, height: number, padding = 60): Transform {
  const w = Math.max(1, b.maxX - b.minX);
  const h = Math.max(1, b.maxY - b.minY);
  const k = Math.max(MIN_ZOOM, Math.min(1.5, (width - 2 * padding) / w, (height - 2 * padding) / h));
  const cx = (b.minX + b.maxX) / 2;
  const cy = (b.minY + b.maxY) / 2;
  return { k, x: width / 2 - cx * k, y: height / 2 - cy * k };
}

/** The world rectangle visible on screen, grown by `margin` screen pixels. */
export function visibleWorld(t: Transform, width: number, height: number, margin = 0): Bounds {
  const a = toWorld(t, -margin, -margin);
  const b = toWorld(t, width + margin, height + margin);
  return { minX: a.x, minY: a.y, maxX: b.x, maxY: b.y };
}
