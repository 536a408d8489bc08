// Node outlines, traced into a path so many nodes of one shape can be filled in one call.
// Scope's shapes: hexagon containers, square processes, circle hosts, cloud for pseudo nodes.

export interface PathSink {
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, r: number, a0: number, a1: number): void;
  closePath(): void;
}

function polygon(p: PathSink, x: number, y: number, r: number, sides: number, rotation: number): void {
  for (let i = 0; i < sides; i++) {
    const a = rotation + (i * 2 * Math.PI) / sides;
    const px = x + r * Math.cos(a);
    const py = y + r * Math.sin(a);
    if (i === 0) p.moveTo(px, py);
    else p.lineTo(px, py);
  }
  p.closePath();
}

function cloud(p: PathSink, x: number, y: number, r: number): void {
  // Four overlapping puffs on a flat base; nonzero fill merges them into one cloud.
  const puffs: [number, number, number][] = [
    [-0.55, 0.2, 0.45],
    [-0.1, -0.2, 0.6],
    [0.45, -0.05, 0.5],
    [0.7, 0.3, 0.35],
  ];
  for (const [dx, dy, pr] of puffs) {
    p.moveTo(x + (dx + pr) * r, y + dy * r);
    p.arc(x + dx * r, y + dy * r, pr * r, 0, Math.PI * 2);
  }
  p.moveTo(x - 0.95 * r, y + 0.2 * r);
  p.lineTo(x + 1.0 * r, y + 0.2 * r);
  p.lineTo(x + 1.0 * r, y + 0.62 * r);
  p.lineTo(x - 0.95 * r, y + 0.62 * r);
  p.closePath();
}

/** Traces shape number `shape` (index into SHAPES) centred at (x, y) with radius r. */
export function traceShape(p: PathSink, shape: number, x: number, y: number, r: number): void {
  switch (shape) {
    case 1: // hexagon, pointy sides left and right
      return polygon(p, x, y, r, 6, 0);
    case 2: {
      // square, slightly smaller so its area matches the others
      const h = r * 0.85;
      p.moveTo(x - h, y - h);
      p.lineTo(x + h, y - h);
      p.lineTo(x + h, y + h);
      p.lineTo(x - h, y + h);
      p.closePath();
      return;
    }
    case 3:
      return cloud(p, x, y, r);
    case 4:
      return polygon(p, x, y, r, 7, -Math.PI / 2);
    case 5:
      return polygon(p, x, y, r, 8, Math.PI / 8);
    case 6:
      return polygon(p, x, y, r, 3, -Math.PI / 2);
    default:
      p.moveTo(x + r, y);
      p.arc(x, y, r, 0, Math.PI * 2);
      p.closePath();
  }
}

/** SVG path data for one node, for the SVG export. */
export function svgShapePath(shape: number, x: number, y: number, r: number): string {
  const parts: string[] = [];
  const f = (n: number): string => n.toFixed(1);
  const sink: PathSink = {
    moveTo: (px, py) => parts.push(`M${f(px)} ${f(py)}`),
    lineTo: (px, py) => parts.push(`L${f(px)} ${f(py)}`),
    arc: (cx, cy, rr) => parts.push(`M${f(cx + rr)} ${f(cy)}A${f(rr)} ${f(rr)} 0 1 0 ${f(cx - rr)} ${f(cy)}A${f(rr)} ${f(rr)} 0 1 0 ${f(cx + rr)} ${f(cy)}`),
    closePath: () => parts.push('Z'),
  };
  traceShape(sink, shape, x, y, r);
  return parts.join('');
}
