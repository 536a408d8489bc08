// Wire types of the app's JSON API, as services/render/src/json.rs and services/api write them
// (Weave Scope's shapes). Optional fields are omitted by the server when empty, so every list
// that may be absent is optional here and read through the helpers in domain/.

export interface ApiInfo {
  id: string;
  version: string;
  hostname: string;
  plugins?: PluginSpec[];
  capabilities?: Record<string, boolean>;
  newVersion?: { version: string; downloadUrl: string };
}

export interface PluginSpec {
  id: string;
  label?: string;
  status?: string;
}

export interface OptionChoice {
  value: string;
  label: string;
}

export interface OptionGroup {
  id: string;
  defaultValue: string;
  selectType?: 'one' | 'union';
  noneLabel?: string;
  options: OptionChoice[];
}

export interface TopologyStats {
  node_count: number;
  nonpseudo_node_count: number;
  edge_count: number;
  filtered_nodes: number;
}

export interface TopologyDesc {
  id?: string;
  name: string;
  rank: number;
  hide_if_empty?: boolean;
  options?: OptionGroup[];
  url: string;
  sub_topologies?: TopologyDesc[];
  stats?: TopologyStats;
}

export interface MetadataRow {
  id: string;
  label: string;
  value: string;
  priority?: number;
  dataType?: string;
  truncate?: number;
}

export interface Sample {
  date: string;
  value: number;
}

export interface MetricRow {
  id: string;
  label: string;
  format?: string;
  group?: string;
  value: number;
  priority?: number;
  samples?: Sample[];
  min: number;
  max: number;
}

export interface Parent {
  id: string;
  label: string;
  topologyId: string;
}

export interface Column {
  id: string;
  label: string;
  dataType?: string;
  defaultSort?: boolean;
}

export interface TableRow {
  id: string;
  entries: Record<string, string>;
}

export interface NodeTable {
  id: string;
  label: string;
  type?: string;
  columns?: Column[];
  rows?: TableRow[];
  truncationCount?: number;
}

export interface NodeSummary {
  id: string;
  label: string;
  labelMinor?: string;
  rank?: string;
  shape?: string;
  tag?: string;
  stack?: boolean;
  pseudo?: boolean;
  metadata?: MetadataRow[];
  parents?: Parent[];
  metrics?: MetricRow[];
  tables?: NodeTable[];
  adjacency?: string[];
}

export interface Control {
  probeId: string;
  nodeId: string;
  id: string;
  human: string;
  icon?: string;
  confirmation?: string;
  rank?: number;
}

export interface ChildrenTable {
  id: string;
  label: string;
  topologyId: string;
  columns?: Column[];
  nodes?: NodeSummary[];
}

export interface ConnectionRow {
  id: string;
  nodeId: string;
  label: string;
  labelMinor?: string;
  metadata?: MetadataRow[];
}

export interface ConnectionsTable {
  id: string;
  topologyId: string;
  label: string;
  columns?: Column[];
  connections?: ConnectionRow[];
}

export interface NodeDetails extends NodeSummary {
  controls?: Control[];
  children?: ChildrenTable[];
  connections?: ConnectionsTable[];
}

/** One frame of the topology WebSocket. */
export interface Diff {
  reset?: boolean;
  add?: NodeSummary[] | null;
  update?: NodeSummary[] | null;
  remove?: string[] | null;
}

export interface ProbeInfo {
  id: string;
  hostname: string;
  version: string;
  /** ms since the epoch of the probe's newest report. */
  lastSeen: number;
  firstSeen?: number;
  connected?: boolean;
  capabilities?: string[];
  reportsReceived?: number;
  droppedReports?: number;
  reconnects?: number;
}
