// What a Host takes and gives back as plain data: link, route, neighbour and
// FDB specs and views, a batch's outputs, counters, the host's options, and
// the records it keeps of its links and addresses.
import type { Engine } from './engine/engine.js';
import type { RouteType } from './routes.js';

export type LinkType = 'ether' | 'veth' | 'bridge' | 'ipip';

export interface LinkSpec {
  name: string;
  type: LinkType;
  mac?: string;
  mtu?: number;
  up?: boolean;
  master?: string;
  proxyArp?: boolean;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
  /** Bridges: the most MACs the FDB learns (default 4096). */
  fdbMax?: number;
  /** Bridges: FDB ageing time in ms (default 300 s). */
  ageingMs?: number;
  /** IPIP: the outer source address (default: chosen by routing, as tunl0 does). */
  local?: string;
  /** IPIP: outer TTL, 0 = inherit the inner packet's (the default). */
  ttl?: number;
  /** IPIP: path MTU discovery (outer DF always set); Calico creates tunl0 with it off. */
  pmtudisc?: boolean;
  /** IPIP: decapsulate only packets from these addresses (Felix's allowlist); default: any. */
  peers?: string[];
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  master?: string | null;
  proxyArp?: boolean;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
  /** IPIP: replace the allowlist (null: accept any source). */
  peers?: string[] | null;
}

export interface LinkInfo {
  name: string;
  index: number;
  type: LinkType;
  mac: string;
  mtu: number;
  up: boolean;
  master?: string;
  proxyArp: boolean;
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
  /** IPIP links: tunnel parameters. */
  tunnel?: { local?: string; ttl: number; pmtudisc: boolean; peers?: string[] };
  stats: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

export interface RouteSpec {
  /** CIDR, a bare address (/32) or 'default'. */
  dst: string;
  via?: string;
  dev?: string;
  onlink?: boolean;
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  src?: string;
  metric?: number;
}

export interface RouteInfo {
  dst: string;
  type: RouteType;
  dev?: string;
  via?: string;
  src?: string;
  metric: number;
  proto: 'kernel' | 'static';
  onlink: boolean;
}

export interface NeighInfo {
  ip: string;
  dev: string;
  mac?: string;
  state: 'INCOMPLETE' | 'REACHABLE' | 'FAILED' | 'PERMANENT';
  queued: number;
}

export interface FdbInfo {
  mac: string;
  dev: string;
  master: string;
  static: boolean;
  ageMs: number;
}

export type Output =
  | { kind: 'tx'; link: string; frame: Uint8Array; tag: number }
  | { kind: 'local'; packet: Uint8Array; tag: number }
  | { kind: 'drop'; reason: string; tag: number };

export interface HostStats {
  fates: { in: number; originated: number; generated: number; sent: number; local: number; dropped: number; queued: number; dequeued: number; reassembled: number };
  drops: Record<string, number>;
  stages: Record<string, number>;
  links: Record<string, LinkInfo['stats']>;
}

/** The neighbour table's sysctls (net.ipv4.neigh.default.*), and podnet's bound per host. */
export interface NeighParams {
  /** gc_thresh1: below this many entries the periodic gc leaves the table alone (128). */
  gcThresh1: number;
  /** gc_thresh2: above it a new entry runs a forced gc, at most every 5 s (512). */
  gcThresh2: number;
  /** gc_thresh3: no new entry above it unless a forced gc makes room (1024). */
  gcThresh3: number;
  /** unres_qlen_bytes: buffer bytes one unresolved entry may queue (101 small buffers). */
  unresQlenBytes: number;
  /** Buffer bytes all unresolved entries of the host may queue together (1 MiB). */
  unresHostBytes: number;
}

export interface HostOptions {
  name: string;
  /** net.ipv4.ip_forward; off by default, as on Linux. */
  forwarding?: boolean;
  engine?: Engine;
  /** Initial neighbour table slots (a power of two, at least 8; the table grows as needed). */
  neighSlots?: number;
  /** Neighbour table bounds; host.neigh.setParams changes them later. */
  neigh?: Partial<NeighParams>;
  /** net.ipv4.ipfrag_time: seconds a datagram may take to come whole (default 30). */
  ipfragTime?: number;
}

/** @internal A link as the host keeps it (index = link index; a deleted one keeps its slot). */
export interface LinkRec {
  name: string;
  type: LinkType;
  deleted?: boolean;
}

/** @internal An address as the host keeps it, in the order added. */
export interface AddrRec {
  ip: number;
  plen: number;
  dev: number;
}
