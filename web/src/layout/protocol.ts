// Messages between the main thread and the layout worker. Positions travel as transferable
// Float32Arrays (x0, y0, x1, y1, ...) in the order of the ids of the graph message they answer.

export interface GraphMessage {
  type: 'graph';
  /** Increases with every graph; positions carry the version they belong to. */
  version: number;
  ids: string[];
  /** Nodes of equal rank are seeded together (Scope draws them together). */
  ranks: string[];
  /** Edge endpoints as indices into `ids`: source0, target0, source1, target1, ... */
  edges: Uint32Array;
  /** How much to shake the layout: 1 for a fresh view, small for a diff so old nodes stay put. */
  reheat: number;
}

export interface PositionsMessage {
  type: 'positions';
  version: number;
  xy: Float32Array;
  /** The simulation has cooled down; no more frames until the graph changes. */
  settled: boolean;
}

export type ToWorker = GraphMessage | { type: 'stop' };
export type FromWorker = PositionsMessage;
