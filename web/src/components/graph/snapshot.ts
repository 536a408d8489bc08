// A bitmap of the last full frame, with a margin around the viewport, that stands in for the map
// while the user drags or wheels. Redrawing 20,000 edges per mouse move costs 15-30 ms on a small
// machine without a GPU; moving and scaling one bitmap costs about one. The full drawing comes
// back as soon as the gesture pauses.
import type { Transform } from '../../layout/viewport';

export class Snapshot {
  private readonly canvas = document.createElement('canvas');
  private t: Transform | null = null;
  private mx = 0;
  private my = 0;

  get valid(): boolean {
    return this.t !== null;
  }

  invalidate(): void {
    this.t = null;
  }

  /**
   * Draws the map at transform `t` into the snapshot, `margin` of the viewport wider on each side,
   * by calling `draw` with the transform and size to use.
   */
  capture(t: Transform, width: number, height: number, dpr: number, draw: (ctx: CanvasRenderingContext2D, t: Transform, w: number, h: number) => void, margin = 0.5): void {
    this.mx = Math.round(width * margin);
    this.my = Math.round(height * margin);
    const w = width + 2 * this.mx;
    const h = height + 2 * this.my;
    this.canvas.width = Math.floor(w * dpr);
    this.canvas.height = Math.floor(h * dpr);
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) return;
    draw(ctx, { k: t.k, x: t.x + this.mx, y: t.y + this.my }, w, h);
    this.t = t;
  }

  /** Paints the snapshot as it would look at transform `t`. */
  blit(ctx: CanvasRenderingContext2D, t: Transform, width: number, height: number, dpr: number, background: string): void {
    const c = this.t;
    if (!c) return;
    const s = t.k / c.k;
    const dx = t.x - (c.x + this.mx) * s;
    const dy = t.y - (c.y + this.my) * s;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, width * dpr, height * dpr);
    ctx.drawImage(this.canvas, dx * dpr, dy * dpr, this.canvas.width * s, this.canvas.height * s);
  }
}
