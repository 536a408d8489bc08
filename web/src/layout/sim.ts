// The force layout, independent of the worker plumbing so it can be unit tested in Node.
// d3-force with Barnes-Hut repulsion; parameters scale with the graph so 5,000 nodes and 20,000
// edges still settle in seconds. Node objects persist across graphs by id: that is what keeps the
// map stable as nodes come and go.
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY } from 'd3-force';
import type { Simulation, SimulationLinkDatum, SimulationNodeDatum } from 'd3-force';
import type { GraphMessage } from './protocol';
import { gridRepulsion } from './repel';
import { initialPositions, seedPositions } from './seed';
import type { Placed, SeedInput } from './seed';

export interface SimNode extends SimulationNodeDatum {
  id: string;
  rank: string;
}

type SimLink = SimulationLinkDatum<SimNode>;

/** Up to this many nodes d3's many-body force and collision; above, the grid repulsion. */
const BIG_GRAPH = 1200;
/** Alpha decay giving ~300 ticks for small graphs (d3's default) and ~120 for big ones. */
const DECAY_SMALL = 1 - Math.pow(0.001, 1 / 300);
const DECAY_BIG = 1 - Math.pow(0.001, 1 / 120);

export class Layout {
  private byId = new Map<string, SimNode>();
  private nodes: SimNode[] = [];
  private readonly sim: Simulation<SimNode, SimLink>;
  private readonly link = forceLink<SimNode, SimLink>().distance(70);
  private readonly charge = forceManyBody<SimNode>().theta(0.9);
  private readonly repel = gridRepulsion<SimNode>(120, 2500, 52);
  private readonly centreX = forceX<SimNode>(0);
  private readonly centreY = forceY<SimNode>(0);
  version = 0;
  /** While set, nodes that were already placed are held still until alpha cools below it. */
  private holdUntil = 0;
  private held: SimNode[] = [];

  constructor() {
    this.sim = forceSimulation<SimNode, SimLink>()
      .stop()
      .velocityDecay(0.45)
      .force('link', this.link)
      // Weak pull to the centre keeps unconnected nodes (most containers) in a disc instead of
      // drifting off to infinity.
      .force('x', this.centreX)
      .force('y', this.centreY);
  }

  /** Replaces the graph. Known ids keep position and velocity; new ones are seeded near their neighbours. */
  setGraph(msg: GraphMessage): void {
    this.version = msg.version;
    const n = msg.ids.length;
    const neighbours: string[][] = msg.ids.map(() => []);
    for (let i = 0; i + 1 < msg.edges.length; i += 2) {
      const s = msg.edges[i] ?? 0;
      const t = msg.edges[i + 1] ?? 0;
      const sid = msg.ids[s];
      const tid = msg.ids[t];
      if (sid === undefined || tid === undefined) continue;
      neighbours[s]?.push(tid);
      neighbours[t]?.push(sid);
    }
    const placed = new Map<string, Placed>();
    const fresh: SeedInput[] = [];
    const keep = new Set(msg.ids);
    for (const [id, node] of this.byId) {
      if (!keep.has(id)) this.byId.delete(id);
      else if (node.x !== undefined && node.y !== undefined) placed.set(id, { x: node.x, y: node.y, rank: node.rank });
    }
    msg.ids.forEach((id, i) => {
      if (!this.byId.has(id)) fresh.push({ id, neighbours: neighbours[i] ?? [], rank: msg.ranks[i] ?? '' });
    });
    const seeds = seedPositions(fresh, placed);
    let initial: { x: number; y: number }[] | null = null;
    if (placed.size === 0 && n > 0) {
      const index = new Map(msg.ids.map((id, i) => [id, i]));
      initial = initialPositions(neighbours.map((list) => list.map((id) => index.get(id) ?? 0)));
    }
    this.nodes = msg.ids.map((id, i) => {
      let node = this.byId.get(id);
      if (!node) {
        const p = initial ? initial[i] : seeds.get(id);
        node = p ? { id, rank: msg.ranks[i] ?? '', x: p.x, y: p.y } : { id, rank: msg.ranks[i] ?? '' };
        this.byId.set(id, node);
      }
      node.index = i;
      return node;
    });
    const links: SimLink[] = [];
    for (let i = 0; i + 1 < msg.edges.length; i += 2) {
      const s = this.nodes[msg.edges[i] ?? 0];
      const t = this.nodes[msg.edges[i + 1] ?? 0];
      if (s && t && s !== t) links.push({ source: s, target: t });
    }
    const degreeOf = new Map<SimNode, number>();
    for (const l of links) {
      const s = l.source as SimNode;
      const t = l.target as SimNode;
      degreeOf.set(s, (degreeOf.get(s) ?? 0) + 1);
      degreeOf.set(t, (degreeOf.get(t) ?? 0) + 1);
    }
    const degree = (node: SimNode | string | number): number => (typeof node === 'object' ? (degreeOf.get(node) ?? 1) : 1);
    // The pull to the centre acts on every node; at thousands it would crush the middle.
    const centre = 0.05 * Math.min(1, 250 / Math.max(1, n));
    this.centreX.strength(centre);
    this.centreY.strength(centre);
    if (n <= BIG_GRAPH) {
      // d3's default link strength.
      this.link.strength((l) => 1 / Math.min(degree(l.source), degree(l.target)));
      this.charge.strength(n > 500 ? -80 : -160).distanceMax(600);
      this.sim.force('charge', this.charge).force('collide', forceCollide<SimNode>(n <= 300 ? 46 : 28).iterations(1)).force('repel', null).alphaDecay(DECAY_SMALL);
    } else {
      this.sim.force('charge', null).force('collide', null).force('repel', this.repel).alphaDecay(DECAY_BIG);
      // Thousands of edges pulling at full strength crush the map into a ball; pull gently.
      this.link.strength((l) => 0.2 / Math.min(degree(l.source), degree(l.target)));
    }
    this.sim.nodes(this.nodes);
    this.link.links(links);
    this.release();
    let reheat = msg.reheat;
    if (reheat < 1 && fresh.length === 0) {
      // Only removals or edge changes: a gentle nudge, no newcomers to hold still for.
      reheat *= 0.4;
    } else if (reheat < 1 && placed.size > 0) {
      // A diff: first let the newcomers find their place around a still map, then let the map
      // relax with what energy is left. Old nodes move only as far as the new ones push them.
      this.held = this.nodes.filter((node) => placed.has(node.id));
      for (const node of this.held) {
        node.fx = node.x;
        node.fy = node.y;
      }
      this.holdUntil = reheat * 0.3;
    }
    this.sim.alpha(Math.max(this.sim.alpha(), reheat));
  }

  private release(): void {
    for (const node of this.held) {
      node.fx = null;
      node.fy = null;
      node.vx = 0;
      node.vy = 0;
    }
    this.held = [];
    this.holdUntil = 0;
  }

  /** Runs ticks for up to `budgetMs`; returns true once cooled down. */
  run(budgetMs: number, now: () => number = () => performance.now()): boolean {
    if (budgetMs <= 0) return this.settled();
    const end = now() + budgetMs;
    do {
      if (this.settled()) return true;
      this.sim.tick();
      if (this.held.length > 0 && this.sim.alpha() < this.holdUntil) this.release();
    } while (now() < end);
    return this.settled();
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Big graphs start from a sensible initial layout and are worth showing before any tick. */
  get big(): boolean {
    return this.nodes.length > BIG_GRAPH;
  }

  settled(): boolean {
    return this.sim.alpha() < this.sim.alphaMin() || this.nodes.length === 0;
  }

  /** Positions in the order of the last graph's ids. */
  positions(): Float32Array {
    const xy = new Float32Array(this.nodes.length * 2);
    this.nodes.forEach((node, i) => {
      xy[2 * i] = node.x ?? 0;
      xy[2 * i + 1] = node.y ?? 0;
    });
    return xy;
  }

  positionOf(id: string): { x: number; y: number } | undefined {
    const node = this.byId.get(id);
    return node && node.x !== undefined && node.y !== undefined ? { x: node.x, y: node.y } : undefined;
  }
}
