// Host: one network namespace, with the nouns of iproute2 and friends (link,
// addr, route, neigh, fdb). The control plane keeps the configuration as
// plain data, lays it out in the shared memory, and swaps whole tables so the
// data plane never sees a half-written one.
import { Engine, defaultEngine } from './engine/engine.js';
import { Context, mainContext } from './engine/context.js';
import * as L from './engine/layout.gen.js';
import { buildLpm } from './tables/lpm.js';
import { ConntrackNoun, RulesNoun } from './netfilter/nouns.js';
import { compileRoutes, lookupRoute, formatRoute, type Route, type RouteType } from './routes.js';
import {
  parseIPv4, formatIPv4, parseCidr, formatCidr, parseMac, formatMac, networkOf, broadcastOf, inPrefix,
} from './packet/addr.js';

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
  fates: { in: number; originated: number; generated: number; sent: number; local: number; dropped: number; queued: number; dequeued: number };
  drops: Record<string, number>;
  stages: Record<string, number>;
  links: Record<string, LinkInfo['stats']>;
}

export interface HostOptions {
  name: string;
  /** net.ipv4.ip_forward; off by default, as on Linux. */
  forwarding?: boolean;
  engine?: Engine;
  /** Neighbour table slots (a power of two; entries fill at most 3/4). */
  neighSlots?: number;
}

interface LinkRec {
  name: string;
  type: LinkType;
  deleted?: boolean;
}

interface AddrRec {
  ip: number;
  plen: number;
  dev: number;
}

const LINK_TYPES: Record<LinkType, number> = { ether: L.LT_ETHER, veth: L.LT_VETH, bridge: L.LT_BRIDGE, ipip: L.LT_IPIP };
const NUD_NAMES: Record<number, NeighInfo['state']> = {
  [L.NUD_INCOMPLETE]: 'INCOMPLETE',
  [L.NUD_REACHABLE]: 'REACHABLE',
  [L.NUD_FAILED]: 'FAILED',
  [L.NUD_PERMANENT]: 'PERMANENT',
};
const MIN_MTU = 68;
const MAX_MTU = L.MAX_FRAME - 14;
const IFNAMSIZ = 15;

type Fn = (...args: number[]) => number;

export class Host {
  readonly name: string;
  readonly engine: Engine;
  /** Address of the host block in the shared memory. */
  readonly ptr: number;
  readonly link = new LinkNoun(this);
  readonly addr = new AddrNoun(this);
  readonly route = new RouteNoun(this);
  readonly neigh = new NeighNoun(this);
  readonly fdb = new FdbNoun(this);
  /** nf_conntrack: the connection table, created with the first rules. */
  readonly conntrack = new ConntrackNoun(this);
  /** iptables: `rules.load(iptablesSaveText)`. */
  readonly rules = new RulesNoun(this, this.conntrack);

  /** @internal */ links: LinkRec[] = [];
  /** @internal */ addrs: AddrRec[] = [];
  /** @internal */ routes: Route[] = [];
  /** @internal */ ports = new Set<number>();
  private linkCap = 0;
  private dirty = true;
  private lpmRegion?: { ptr: number; size: number };
  private nhRegion?: { ptr: number; size: number };
  private addrRegion?: { ptr: number; size: number };
  private nexthopBytes?: Uint8Array;

  static async create(opts: HostOptions): Promise<Host> {
    return new Host(opts);
  }

  constructor(opts: HostOptions) {
    if (!opts || typeof opts.name !== 'string' || opts.name === '') throw new Error('host: a name is required');
    this.name = opts.name;
    this.engine = opts.engine ?? defaultEngine();
    const e = this.engine;
    const slots = opts.neighSlots ?? 64;
    if (!Number.isInteger(slots) || slots < 8 || (slots & (slots - 1)) !== 0) {
      throw new Error(`host ${opts.name}: neighSlots must be a power of two >= 8, got ${slots}`);
    }
    this.ptr = e.alloc(L.HOST_SIZE);
    const dv = e.dv;
    const p = this.ptr;
    dv.setUint32(p + L.H_COUNTERS, e.alloc(L.CNT_COUNT * 8), true);
    dv.setUint32(p + L.H_NEIGH, e.alloc(slots * L.NEIGH_SIZE), true);
    dv.setUint32(p + L.H_NEIGH_MASK, slots - 1, true);
    const rl = 256;
    dv.setUint32(p + L.H_RL, e.alloc(rl * L.RL_SIZE), true);
    dv.setUint32(p + L.H_RL_MASK, rl - 1, true);
    const pend = 64;
    dv.setUint32(p + L.H_PEND, e.alloc(pend * 4), true);
    dv.setUint32(p + L.H_PEND_CAP, pend, true);
    dv.setUint32(p + L.H_PORTS, e.alloc(L.PORTS_MAX * 4), true);
    this.growLinks(4);
    this.forwarding = opts.forwarding ?? false;
  }

  // ---- sysctl

  get forwarding(): boolean {
    return (this.engine.dv.getUint32(this.ptr + L.H_FLAGS, true) & L.HF_FORWARDING) !== 0;
  }

  set forwarding(on: boolean) {
    const dv = this.engine.dv;
    const f = dv.getUint32(this.ptr + L.H_FLAGS, true);
    dv.setUint32(this.ptr + L.H_FLAGS, on ? f | L.HF_FORWARDING : f & ~L.HF_FORWARDING, true);
  }

  // ---- sockets

  /** Opens a socket: packets to proto/port are delivered instead of refused. */
  listen(proto: 'udp' | 'tcp', port: number): void {
    const p = protoNumber(proto);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`listen: invalid port ${port}`);
    const key = (p << 16) | port;
    if (this.ports.has(key)) return;
    if (this.ports.size >= L.PORTS_MAX) throw new Error(`listen: at most ${L.PORTS_MAX} open ports per host`);
    this.ports.add(key);
    this.writePorts();
  }

  unlisten(proto: 'udp' | 'tcp', port: number): void {
    this.ports.delete((protoNumber(proto) << 16) | port);
    this.writePorts();
  }

  private writePorts(): void {
    const dv = this.engine.dv;
    const base = dv.getUint32(this.ptr + L.H_PORTS, true);
    [...this.ports].forEach((k, i) => dv.setUint32(base + i * 4, k, true));
    dv.setUint32(this.ptr + L.H_NPORTS, this.ports.size, true);
  }

  // ---- packets

  /** Frames received on links; returns what the host did with them. */
  receive(frames: { link: string; frame: Uint8Array; tag?: number }[], now: number): Output[] {
    return this.run(frames.length, now, (ctx, i, j) => {
      const f = frames[i];
      ctx.setInput(j, L.K_RX, this.linkIndex(f.link), f.frame, f.tag ?? i);
    });
  }

  /** IPv4 packets from the host's own stack (source 0.0.0.0: routing chooses). */
  send(packets: { packet: Uint8Array; tag?: number }[], now: number): Output[] {
    return this.run(packets.length, now, (ctx, i, j) => {
      ctx.setInput(j, L.K_ORIGINATE, 0, packets[i].packet, packets[i].tag ?? i, L.HEADROOM + 14);
    });
  }

  /** Lets time pass: neighbour timers fire. */
  tick(now: number): Output[] {
    this.commit();
    const ctx = mainContext(this.engine);
    ctx.recordDrops = true;
    return this.collect(ctx, ctx.tick(this.ptr, now));
  }

  /** Runs a batch the caller laid out in ctx's input vector (the fast path). */
  process(ctx: Context, n: number, now: number): number {
    this.commit();
    return ctx.process(this.ptr, n, now);
  }

  private run(count: number, now: number, fill: (ctx: Context, i: number, j: number) => void): Output[] {
    this.commit();
    const ctx = mainContext(this.engine);
    ctx.recordDrops = true;
    const out: Output[] = [];
    // A frame can fan out to every link (a flood) plus a few generated packets:
    // batches are cut so the outputs and the buffer pool always suffice.
    const fanout = this.links.length + 4;
    const step = Math.max(1, Math.min(ctx.batch, Math.floor(ctx.outputs / fanout), Math.floor(ctx.buffers / (2 * fanout))));
    for (let start = 0; start < count; start += step) {
      const n = Math.min(step, count - start);
      for (let j = 0; j < n; j++) fill(ctx, start + j, j);
      out.push(...this.collect(ctx, ctx.process(this.ptr, n, now)));
    }
    return out;
  }

  private collect(ctx: Context, n: number): Output[] {
    const out: Output[] = [];
    const u8 = this.engine.u8;
    for (let i = 0; i < n; i++) {
      const o = ctx.readOutput(i);
      if (o.kind === L.O_DROP) {
        out.push({ kind: 'drop', reason: L.DROP_NAMES[o.reason] ?? `reason ${o.reason}`, tag: o.tag });
        continue;
      }
      const bytes = u8.slice(o.buf + o.off, o.buf + o.off + o.len);
      if (o.kind === L.O_TX) out.push({ kind: 'tx', link: this.links[o.link].name, frame: bytes, tag: o.tag });
      else out.push({ kind: 'local', packet: bytes, tag: o.tag });
      ctx.freeBuffer(o.buf);
    }
    return out;
  }

  // ---- counters

  stats(): HostStats {
    const dv = this.engine.dv;
    const base = dv.getUint32(this.ptr + L.H_COUNTERS, true);
    const c = (i: number) => Number(dv.getBigUint64(base + i * 8, true));
    const drops: Record<string, number> = {};
    for (const [code, name] of Object.entries(L.DROP_NAMES)) {
      const v = c(L.CNT_DROP_BASE + Number(code));
      if (v) drops[name] = v;
    }
    const stages: Record<string, number> = {};
    for (const [i, name] of Object.entries(L.STAT_NAMES)) {
      const v = c(L.CNT_STAGE_BASE + Number(i));
      if (v) stages[name] = v;
    }
    const links: HostStats['links'] = {};
    for (const l of this.link.list()) links[l.name] = l.stats;
    return {
      fates: {
        in: c(L.CNT_IN), originated: c(L.CNT_ORIGINATED), generated: c(L.CNT_GENERATED), sent: c(L.CNT_SENT),
        local: c(L.CNT_LOCAL), dropped: c(L.CNT_DROPPED), queued: c(L.CNT_QUEUED), dequeued: c(L.CNT_DEQUEUED),
      },
      drops,
      stages,
      links,
    };
  }

  // ---- internals shared by the nouns

  /** @internal */ linkNames(): string[] {
    return this.links.map((l) => (l.deleted ? '' : l.name));
  }

  /** @internal */ linkIndex(name: string): number {
    const i = this.links.findIndex((l) => !l.deleted && l.name === name);
    if (i < 0) throw new Error(`${this.name}: no such device "${name}"`);
    return i;
  }

  /** @internal */ linkPtr(i: number): number {
    return this.engine.dv.getUint32(this.ptr + L.H_LINKS, true) + i * L.LINK_SIZE;
  }

  /** @internal */ markDirty(): void {
    this.dirty = true;
  }

  /** @internal */ growLinks(cap: number): void {
    const e = this.engine;
    const dv = e.dv;
    const ptr = e.alloc(cap * L.LINK_SIZE);
    if (this.linkCap > 0) {
      const old = dv.getUint32(this.ptr + L.H_LINKS, true);
      e.u8.copyWithin(ptr, old, old + this.linkCap * L.LINK_SIZE);
      dv.setUint32(this.ptr + L.H_LINKS, ptr, true);
      e.arena.release(old, this.linkCap * L.LINK_SIZE);
    } else {
      dv.setUint32(this.ptr + L.H_LINKS, ptr, true);
    }
    this.linkCap = cap;
  }

  /** @internal */ get linkCapacity(): number {
    return this.linkCap;
  }

  /** The local table: each address as a local /32, each subnet's broadcast. */
  /** @internal */ localRoutes(): Route[] {
    const out: Route[] = [];
    const seen = new Set<number>();
    for (const a of this.addrs) {
      // A secondary address of a subnet adds no broadcast route: the primary's stands.
      const bcast = broadcastOf(a.ip, a.plen);
      if (a.plen < 31 && !seen.has(bcast)) {
        seen.add(bcast);
        out.push({ dst: bcast, plen: 32, type: 'broadcast', dev: a.dev, src: a.ip, metric: 0, proto: 'kernel' });
      }
    }
    for (const a of this.addrs) out.push({ dst: a.ip, plen: 32, type: 'local', dev: a.dev, src: a.ip, metric: 0, proto: 'kernel' });
    // The limited broadcast, as inet_addr_type() answers for it.
    if (this.addrs.length > 0) out.push({ dst: 0xffffffff, plen: 32, type: 'broadcast', dev: this.addrs[0].dev, src: this.addrs[0].ip, metric: 0, proto: 'kernel' });
    return out;
  }

  /**
   * Publishes configuration changes to the data plane: new address list,
   * nexthops and LPM table are written aside, then swapped in by pointer.
   */
  commit(): void {
    this.growNeighbours();
    this.conntrack.grow();
    this.rules.refresh();
    if (!this.dirty) return;
    const e = this.engine;
    const { prefixes, nexthops } = compileRoutes(this.routes, this.localRoutes());
    const blob = buildLpm(prefixes);
    const lpm = e.alloc(blob.length);
    e.u8.set(blob, lpm);
    const nh = e.alloc(nexthops.length);
    e.u8.set(nexthops, nh);
    this.nexthopBytes = nexthops;
    const addrBytes = Math.max(1, this.addrs.length) * L.ADDR_SIZE;
    const addrs = e.alloc(addrBytes);
    const dv = e.dv;
    this.addrs.forEach((a, i) => {
      const p = addrs + i * L.ADDR_SIZE;
      dv.setUint32(p + L.A_IP, a.ip, true);
      dv.setUint8(p + L.A_PLEN, a.plen);
      dv.setUint16(p + L.A_DEV, a.dev, true);
      dv.setUint32(p + L.A_BCAST, a.plen < 31 ? broadcastOf(a.ip, a.plen) : 0, true);
    });
    // Nexthops and addresses first, the table that points into them last.
    dv.setUint32(this.ptr + L.H_NH, nh, true);
    dv.setUint32(this.ptr + L.H_ADDRS, addrs, true);
    dv.setUint32(this.ptr + L.H_NADDRS, this.addrs.length, true);
    let bloom = 0n;
    for (const a of this.addrs) bloom |= 1n << BigInt(Math.imul(a.ip, 0x9e3779b1) >>> 26);
    dv.setBigUint64(this.ptr + L.H_LOCAL_BLOOM, bloom, true);
    dv.setUint32(this.ptr + L.H_LPM, lpm, true);
    for (const r of [this.lpmRegion, this.nhRegion, this.addrRegion]) if (r) e.arena.release(r.ptr, r.size);
    this.lpmRegion = { ptr: lpm, size: blob.length };
    this.nhRegion = { ptr: nh, size: nexthops.length };
    this.addrRegion = { ptr: addrs, size: addrBytes };
    this.dirty = false;
  }

  /** Doubles the neighbour table once it is half full (Linux's gc thresholds grow it too). */
  private growNeighbours(): void {
    const dv = this.engine.dv;
    const slots = dv.getUint32(this.ptr + L.H_NEIGH_MASK, true) + 1;
    if (dv.getUint32(this.ptr + L.H_NEIGH_USED, true) * 2 < slots) return;
    const old = dv.getUint32(this.ptr + L.H_NEIGH, true);
    const table = this.engine.alloc(slots * 2 * L.NEIGH_SIZE);
    this.call('neigh_grow', this.ptr, table, slots * 2 - 1);
    this.engine.arena.release(old, slots * L.NEIGH_SIZE);
    // Nexthops remember neighbour entries by address: a fresh copy forgets them.
    if (this.nhRegion && this.nexthopBytes) {
      const nh = this.engine.alloc(this.nexthopBytes.length);
      this.engine.u8.set(this.nexthopBytes, nh);
      dv.setUint32(this.ptr + L.H_NH, nh, true);
      this.engine.arena.release(this.nhRegion.ptr, this.nhRegion.size);
      this.nhRegion = { ptr: nh, size: this.nexthopBytes.length };
    }
  }

  /** Bytes of the routing table the data plane reads (LPM + nexthops). */
  get routeTableBytes(): number {
    this.commit();
    return (this.lpmRegion?.size ?? 0) + (this.nhRegion?.size ?? 0);
  }

  /** @internal */ call(name: string, ...args: number[]): number {
    return (this.engine.dp[name] as Fn)(...args);
  }
}

function protoNumber(proto: string): number {
  if (proto === 'udp') return L.IPPROTO_UDP;
  if (proto === 'tcp') return L.IPPROTO_TCP;
  throw new Error(`unknown protocol "${proto}" (udp or tcp)`);
}

/** A MAC that depends only on the host's and the link's names: 02:xx:xx:xx:xx:xx. */
function defaultMac(host: string, link: string): Uint8Array {
  let h = 0x811c9dc5;
  let g = 0x01000193;
  for (const ch of `${host}/${link}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    g = Math.imul(g ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
  }
  return Uint8Array.of(0x02, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff, g & 0xff);
}

function macWords(mac: Uint8Array): [number, number] {
  return [(mac[0] | (mac[1] << 8) | (mac[2] << 16) | (mac[3] << 24)) >>> 0, mac[4] | (mac[5] << 8)];
}

// ---------------------------------------------------------------- ip link

class LinkNoun {
  constructor(private readonly host: Host) {}

  add(spec: LinkSpec): LinkInfo {
    const h = this.host;
    const what = `link add ${spec?.name ?? ''}`.trim();
    if (!spec || typeof spec.name !== 'string' || !/^[A-Za-z0-9_.@:+-]+$/.test(spec.name) || spec.name.length > IFNAMSIZ) {
      throw new Error(`${what}: invalid device name (1-${IFNAMSIZ} characters: letters, digits, _.@:+-)`);
    }
    if (h.links.some((l) => !l.deleted && l.name === spec.name)) throw new Error(`${what}: device exists`);
    const type = LINK_TYPES[spec.type];
    if (!type) throw new Error(`${what}: unknown link type "${spec.type}" (ether, veth, bridge, ipip)`);
    const mac = spec.mac !== undefined ? parseMacFor(what, spec.mac) : defaultMac(h.name, spec.name);
    const mtu = spec.mtu ?? (spec.type === 'ipip' ? 1480 : 1500);
    checkMtu(what, mtu);
    const tunnel = spec.type === 'ipip' ? this.tunnelParams(what, spec) : undefined;
    if (spec.type !== 'ipip' && (spec.local ?? spec.ttl ?? spec.pmtudisc ?? spec.peers) !== undefined) {
      throw new Error(`${what}: local, ttl, pmtudisc and peers are for ipip links`);
    }
    if (spec.type === 'ipip' && spec.master !== undefined) throw new Error(`${what}: an ipip link cannot be a bridge port`);
    let master = 0;
    if (spec.master !== undefined) master = this.bridgeIndex(what, spec.master) + 1;
    if (spec.master !== undefined && spec.type === 'bridge') throw new Error(`${what}: a bridge cannot be a bridge port`);
    let fdb = 0;
    let slots = 0;
    const fdbMax = spec.fdbMax ?? 4096;
    if (spec.type === 'bridge') {
      if (!Number.isInteger(fdbMax) || fdbMax < 1 || fdbMax > 1 << 24) throw new Error(`${what}: fdbMax must be 1..16777216`);
      slots = 1 << Math.ceil(Math.log2(fdbMax * 2));
      fdb = h.engine.alloc(slots * L.FDB_SIZE);
    }
    const ageing = spec.ageingMs ?? 300_000;
    if (!Number.isInteger(ageing) || ageing < 0 || ageing > 0x7fffffff) throw new Error(`${what}: ageingMs out of range`);
    const index = h.links.length;
    if (index >= 0xffff) throw new Error(`${what}: too many links`);
    if (index >= h.linkCapacity) h.growLinks(h.linkCapacity * 2);
    h.links.push({ name: spec.name, type: spec.type });
    const p = h.linkPtr(index);
    const dv = h.engine.dv;
    dv.setUint32(h.ptr + L.H_NLINKS, h.links.length, true);
    dv.setUint8(p + L.L_TYPE, type);
    dv.setUint16(p + L.L_MASTER, master, true);
    dv.setUint16(p + L.L_MTU, mtu, true);
    h.engine.u8.set(mac, p + L.L_MAC);
    dv.setUint32(p + L.L_FDB, fdb, true);
    dv.setUint32(p + L.L_FDB_MASK, Math.max(0, slots - 1), true);
    dv.setUint32(p + L.L_FDB_MAX, fdbMax, true);
    dv.setUint32(p + L.L_AGEING, ageing, true);
    let flags = L.LF_LEARNING | L.LF_FLOOD;
    if (spec.up ?? true) flags |= L.LF_UP;
    if (spec.proxyArp) flags |= L.LF_PROXY_ARP;
    if (spec.hairpin) flags |= L.LF_HAIRPIN;
    if (spec.learning === false) flags &= ~L.LF_LEARNING;
    if (spec.flood === false) flags &= ~L.LF_FLOOD;
    dv.setUint8(p + L.L_FLAGS, flags);
    if (tunnel) {
      dv.setUint32(p + L.L_TUN_LOCAL, tunnel.local, true);
      dv.setUint8(p + L.L_TUN_TTL, tunnel.ttl);
      dv.setUint8(p + L.L_TUN_FLAGS, tunnel.pmtudisc ? L.TF_PMTUDISC : 0);
      this.writePeers(index, tunnel.peers);
      if (dv.getUint32(h.ptr + L.H_IPIP, true) === 0) dv.setUint32(h.ptr + L.H_IPIP, index + 1, true);
    }
    return this.info(index);
  }

  private tunnelParams(what: string, spec: LinkSpec) {
    const local = spec.local !== undefined ? wrap(what, () => parseIPv4(spec.local!)) : 0;
    const ttl = spec.ttl ?? 0;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new Error(`${what}: ttl must be 0 (inherit) to 255`);
    const peers = spec.peers === undefined ? undefined : this.parsePeers(what, spec.peers);
    return { local, ttl, pmtudisc: spec.pmtudisc ?? true, peers };
  }

  private parsePeers(what: string, peers: string[]): Uint32Array {
    if (!Array.isArray(peers)) throw new Error(`${what}: peers must be a list of addresses`);
    return Uint32Array.from(new Set(peers.map((a) => wrap(what, () => parseIPv4(a))))).sort();
  }

  /** The allowlist is written aside and swapped in whole. */
  private writePeers(i: number, peers: Uint32Array | undefined): void {
    const h = this.host;
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    const flags = dv.getUint8(p + L.L_TUN_FLAGS);
    if (!peers) {
      dv.setUint8(p + L.L_TUN_FLAGS, flags & ~L.TF_PEERS);
      return;
    }
    const region = h.engine.alloc(Math.max(4, peers.length * 4));
    new Uint32Array(h.engine.memory.buffer, region, peers.length).set(peers);
    const old = dv.getUint32(p + L.L_TUN_PEERS, true);
    const oldN = dv.getUint32(p + L.L_TUN_NPEERS, true);
    dv.setUint32(p + L.L_TUN_NPEERS, 0, true);
    dv.setUint32(p + L.L_TUN_PEERS, region, true);
    dv.setUint32(p + L.L_TUN_NPEERS, peers.length, true);
    dv.setUint8(p + L.L_TUN_FLAGS, flags | L.TF_PEERS);
    if (old) h.engine.arena.release(old, Math.max(4, oldN * 4));
  }

  set(name: string, change: LinkChange): LinkInfo {
    const h = this.host;
    const what = `link set ${name}`;
    const i = h.linkIndex(name);
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    // Check everything before changing anything.
    if (change.mtu !== undefined) checkMtu(what, change.mtu);
    const mac = change.mac !== undefined ? parseMacFor(what, change.mac) : undefined;
    if (change.peers !== undefined && h.links[i].type !== 'ipip') throw new Error(`${what}: peers are for ipip links`);
    const peers = change.peers ? this.parsePeers(what, change.peers) : undefined;
    let master: number | undefined;
    if (change.master === null) master = 0;
    else if (change.master !== undefined) {
      if (h.links[i].type === 'bridge') throw new Error(`${what}: a bridge cannot be a bridge port`);
      master = this.bridgeIndex(what, change.master) + 1;
    }
    if (change.mtu !== undefined) dv.setUint16(p + L.L_MTU, change.mtu, true);
    if (mac) h.engine.u8.set(mac, p + L.L_MAC);
    if (master !== undefined) {
      const old = dv.getUint16(p + L.L_MASTER, true);
      if (old !== 0 && old !== master) h.call('fdb_flush_port', h.ptr, old - 1, i);
      dv.setUint16(p + L.L_MASTER, master, true);
    }
    let flags = dv.getUint8(p + L.L_FLAGS);
    const flag = (on: boolean | undefined, bit: number) => {
      if (on === true) flags |= bit;
      else if (on === false) flags &= ~bit;
    };
    flag(change.up, L.LF_UP);
    flag(change.proxyArp, L.LF_PROXY_ARP);
    flag(change.hairpin, L.LF_HAIRPIN);
    flag(change.learning, L.LF_LEARNING);
    flag(change.flood, L.LF_FLOOD);
    dv.setUint8(p + L.L_FLAGS, flags);
    if (change.peers !== undefined) this.writePeers(i, peers);
    return this.info(i);
  }

  /** Deletes a link with its addresses, routes through it and FDB entries. */
  del(name: string): void {
    const h = this.host;
    const i = h.linkIndex(name);
    if (h.links.some((l, j) => !l.deleted && h.engine.dv.getUint16(h.linkPtr(j) + L.L_MASTER, true) === i + 1)) {
      throw new Error(`link del ${name}: the bridge still has ports`);
    }
    const dv = h.engine.dv;
    const master = dv.getUint16(h.linkPtr(i) + L.L_MASTER, true);
    if (master) h.call('fdb_flush_port', h.ptr, master - 1, i);
    h.addrs = h.addrs.filter((a) => a.dev !== i);
    h.routes = h.routes.filter((r) => r.dev !== i);
    h.links[i].deleted = true;
    if (dv.getUint32(h.ptr + L.H_IPIP, true) === i + 1) {
      const next = h.links.findIndex((l) => !l.deleted && l.type === 'ipip');
      dv.setUint32(h.ptr + L.H_IPIP, next + 1, true);
    }
    // The slot stays (indices are stable) but the link is down and detached.
    dv.setUint8(h.linkPtr(i) + L.L_FLAGS, 0);
    dv.setUint16(h.linkPtr(i) + L.L_MASTER, 0, true);
    h.markDirty();
  }

  get(name: string): LinkInfo {
    return this.info(this.host.linkIndex(name));
  }

  list(): LinkInfo[] {
    return this.host.links.flatMap((l, i) => (l.deleted ? [] : [this.info(i)]));
  }

  private bridgeIndex(what: string, name: string): number {
    const h = this.host;
    const i = h.links.findIndex((l) => !l.deleted && l.name === name);
    if (i < 0) throw new Error(`${what}: no such device "${name}"`);
    if (h.links[i].type !== 'bridge') throw new Error(`${what}: "${name}" is not a bridge`);
    return i;
  }

  private tunnelInfo(p: number): NonNullable<LinkInfo['tunnel']> {
    const h = this.host;
    const dv = h.engine.dv;
    const local = dv.getUint32(p + L.L_TUN_LOCAL, true);
    const tf = dv.getUint8(p + L.L_TUN_FLAGS);
    const n = dv.getUint32(p + L.L_TUN_NPEERS, true);
    const base = dv.getUint32(p + L.L_TUN_PEERS, true);
    return {
      ...(local ? { local: formatIPv4(local) } : {}),
      ttl: dv.getUint8(p + L.L_TUN_TTL),
      pmtudisc: (tf & L.TF_PMTUDISC) !== 0,
      ...(tf & L.TF_PEERS ? { peers: Array.from({ length: n }, (_, k) => formatIPv4(dv.getUint32(base + k * 4, true))) } : {}),
    };
  }

  private info(i: number): LinkInfo {
    const h = this.host;
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    const flags = dv.getUint8(p + L.L_FLAGS);
    const master = dv.getUint16(p + L.L_MASTER, true);
    const n = (off: number) => Number(dv.getBigUint64(p + off, true));
    return {
      name: h.links[i].name,
      index: i,
      type: h.links[i].type,
      mac: formatMac(h.engine.u8, p + L.L_MAC),
      mtu: dv.getUint16(p + L.L_MTU, true),
      up: (flags & L.LF_UP) !== 0,
      ...(master ? { master: h.links[master - 1].name } : {}),
      proxyArp: (flags & L.LF_PROXY_ARP) !== 0,
      hairpin: (flags & L.LF_HAIRPIN) !== 0,
      learning: (flags & L.LF_LEARNING) !== 0,
      flood: (flags & L.LF_FLOOD) !== 0,
      ...(h.links[i].type === 'ipip' ? { tunnel: this.tunnelInfo(p) } : {}),
      stats: { rxPackets: n(L.L_RX_PACKETS), rxBytes: n(L.L_RX_BYTES), txPackets: n(L.L_TX_PACKETS), txBytes: n(L.L_TX_BYTES) },
    };
  }
}

function checkMtu(what: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new Error(`${what}: mtu ${mtu} out of range ${MIN_MTU}..${MAX_MTU}`);
  }
}

function parseMacFor(what: string, mac: string): Uint8Array {
  const b = wrap(what, () => parseMac(mac));
  if (b[0] & 1) throw new Error(`${what}: ${mac} is a multicast MAC address`);
  return b;
}

function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------- ip addr

class AddrNoun {
  constructor(private readonly host: Host) {}

  add(dev: string, cidr: string): void {
    const h = this.host;
    const what = `addr add ${cidr} dev ${dev}`;
    const { addr, plen } = wrap(what, () => parseCidr(cidr));
    const i = h.linkIndex(dev);
    if (plen === 0) throw new Error(`${what}: a /0 address is not allowed`);
    if (addr === 0 || addr >>> 28 === 0xe || addr === 0xffffffff) throw new Error(`${what}: not a unicast address`);
    if (plen < 31 && (addr === networkOf(addr, plen) || addr === broadcastOf(addr, plen))) {
      throw new Error(`${what}: ${formatIPv4(addr)} is the network or broadcast address of /${plen}`);
    }
    if (h.addrs.some((a) => a.ip === addr && a.dev === i)) throw new Error(`${what}: address exists`);
    h.addrs.push({ ip: addr, plen, dev: i });
    // The connected route (proto kernel scope link), as the kernel adds it.
    const net = networkOf(addr, plen);
    if (plen < 32 && !h.routes.some((r) => r.dst === net && r.plen === plen && r.dev === i && r.proto === 'kernel')) {
      h.routes.push({ dst: net, plen, type: 'unicast', dev: i, src: addr, metric: 0, proto: 'kernel' });
    }
    h.markDirty();
  }

  del(dev: string, cidr: string): void {
    const h = this.host;
    const what = `addr del ${cidr} dev ${dev}`;
    const { addr, plen } = wrap(what, () => parseCidr(cidr));
    const i = h.linkIndex(dev);
    const k = h.addrs.findIndex((a) => a.ip === addr && a.dev === i && a.plen === plen);
    if (k < 0) throw new Error(`${what}: no such address`);
    h.addrs.splice(k, 1);
    const net = networkOf(addr, plen);
    if (!h.addrs.some((a) => a.dev === i && a.plen === plen && networkOf(a.ip, plen) === net)) {
      h.routes = h.routes.filter((r) => !(r.proto === 'kernel' && r.dst === net && r.plen === plen && r.dev === i));
    }
    h.markDirty();
  }

  list(dev?: string): { dev: string; cidr: string }[] {
    const h = this.host;
    const only = dev === undefined ? -1 : h.linkIndex(dev);
    return h.addrs.filter((a) => only < 0 || a.dev === only).map((a) => ({ dev: h.links[a.dev].name, cidr: formatCidr(a.ip, a.plen) }));
  }
}

// ---------------------------------------------------------------- ip route

class RouteNoun {
  constructor(private readonly host: Host) {}

  add(spec: RouteSpec): void {
    this.host.routes.push(this.parse(spec, 'route add', true));
    this.host.markDirty();
  }

  /** Adds many routes at once (a full table, say); none are added if one is invalid. */
  addMany(specs: RouteSpec[]): void {
    const h = this.host;
    const seen = new Set(h.routes.map((r) => `${r.dst}/${r.plen}/${r.metric}`));
    const connected = h.routes.filter((r) => r.type === 'unicast' && r.via === undefined && r.dev !== undefined);
    const parsed = specs.map((s) => {
      const r = this.parse(s, 'route add', true, connected);
      const k = `${r.dst}/${r.plen}/${r.metric}`;
      if (seen.has(k)) throw new Error(`route add ${s.dst}: route exists`);
      seen.add(k);
      return r;
    });
    for (const r of parsed) h.routes.push(r);
    h.markDirty();
  }

  del(spec: RouteSpec | string): void {
    const h = this.host;
    const s = typeof spec === 'string' ? { dst: spec } : spec;
    const r = this.parse({ ...s, type: s.type ?? 'unicast' }, 'route del', false);
    const k = h.routes.findIndex((x) => x.dst === r.dst && x.plen === r.plen && x.metric === r.metric &&
      (s.dev === undefined || x.dev === r.dev) && (s.via === undefined || x.via === r.via));
    if (k < 0) throw new Error(`route del ${s.dst}: no such route`);
    h.routes.splice(k, 1);
    h.markDirty();
  }

  list(): RouteInfo[] {
    return this.host.routes.map((r) => this.info(r));
  }

  /** Like `ip route get`: the route that matches, its link, gateway and source; null when none. */
  get(ip: string): (RouteInfo & { gateway?: string }) | null {
    const h = this.host;
    const a = wrap(`route get ${ip}`, () => parseIPv4(ip));
    const r = lookupRoute(h.routes, h.localRoutes(), a);
    if (!r) return null;
    const info = this.info(r);
    if (r.type === 'unicast' && r.dev !== undefined && !info.src) {
      const src = this.selectSource(r.dev, r.via ?? a);
      if (src !== undefined) info.src = formatIPv4(src);
    }
    return info;
  }

  /** Text like `ip route show`. */
  show(): string {
    const h = this.host;
    return h.routes.map((r) => formatRoute(r, (i) => h.links[i].name)).join('\n');
  }

  private selectSource(dev: number, dst: number): number | undefined {
    const addrs = this.host.addrs;
    const on = addrs.filter((a) => a.dev === dev);
    return (on.find((a) => inPrefix(dst, a.ip, a.plen)) ?? on[0] ?? addrs[0])?.ip;
  }

  private info(r: Route): RouteInfo {
    const h = this.host;
    return {
      dst: r.plen === 0 ? 'default' : formatCidr(r.dst, r.plen),
      type: r.type,
      ...(r.dev !== undefined ? { dev: h.links[r.dev].name } : {}),
      ...(r.via !== undefined ? { via: formatIPv4(r.via), gateway: formatIPv4(r.via) } : {}),
      ...(r.src !== undefined ? { src: formatIPv4(r.src) } : {}),
      metric: r.metric,
      proto: r.proto,
      onlink: !!r.onlink,
    };
  }

  private parse(spec: RouteSpec, verb: string, adding: boolean, connected?: Route[]): Route {
    const h = this.host;
    const what = `${verb} ${spec?.dst ?? ''}`.trim();
    if (!spec || typeof spec.dst !== 'string') throw new Error(`${what}: dst is required`);
    const { addr, plen } = spec.dst === 'default' ? { addr: 0, plen: 0 } : wrap(what, () => parseCidr(spec.dst));
    if (networkOf(addr, plen) !== addr) throw new Error(`${what}: invalid prefix for the given prefix length`);
    const type = spec.type ?? 'unicast';
    if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(type)) throw new Error(`${what}: unknown route type "${type}"`);
    const metric = spec.metric ?? 0;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw new Error(`${what}: invalid metric`);
    const route: Route = { dst: addr, plen, type, metric, proto: 'static' };
    if (!adding) {
      if (spec.dev !== undefined) route.dev = h.linkIndex(spec.dev);
      if (spec.via !== undefined) route.via = wrap(what, () => parseIPv4(spec.via!));
      return route;
    }
    if (!connected && h.routes.some((r) => r.dst === addr && r.plen === plen && r.metric === metric)) throw new Error(`${what}: route exists`);
    if (type !== 'unicast') {
      if (spec.via !== undefined || spec.dev !== undefined) throw new Error(`${what}: a ${type} route takes no via or dev`);
      return route;
    }
    if (spec.dev === undefined && spec.via === undefined) throw new Error(`${what}: needs dev or via`);
    if (spec.dev !== undefined) route.dev = h.linkIndex(spec.dev);
    if (spec.via !== undefined) {
      const gw = wrap(what, () => parseIPv4(spec.via!));
      if (gw === 0 || gw >>> 28 === 0xe || gw === 0xffffffff) throw new Error(`${what}: invalid gateway ${spec.via}`);
      route.via = gw;
      if (spec.onlink) {
        if (route.dev === undefined) throw new Error(`${what}: onlink needs dev`);
        route.onlink = true;
      } else {
        // fib_check_nh: the gateway must be on a connected subnet (or a dev route).
        const candidates = connected ?? h.routes.filter((r) => r.type === 'unicast' && r.via === undefined && r.dev !== undefined);
        const via = candidates.find((r) => (route.dev === undefined || r.dev === route.dev) && inPrefix(gw, r.dst, r.plen));
        if (!via) throw new Error(`${what}: gateway ${spec.via} is unreachable (no connected route${route.dev !== undefined ? ` on ${spec.dev}` : ''}; use onlink)`);
        route.dev = via.dev;
      }
    } else if (spec.onlink) {
      route.onlink = true;
    }
    if (spec.src !== undefined) {
      const src = wrap(what, () => parseIPv4(spec.src!));
      if (!h.addrs.some((a) => a.ip === src)) throw new Error(`${what}: src ${spec.src} is not an address of this host`);
      route.src = src;
    }
    return route;
  }
}

// ---------------------------------------------------------------- ip neigh

class NeighNoun {
  constructor(private readonly host: Host) {}

  /** A permanent entry (ip neigh add ... nud permanent). */
  add(spec: { ip: string; mac: string; dev: string }): void {
    const h = this.host;
    const what = `neigh add ${spec?.ip} dev ${spec?.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const mac = parseMacFor(what, spec.mac);
    const dev = h.linkIndex(spec.dev);
    if (ip === 0 || ip === 0xffffffff || ip >>> 28 === 0xe) throw new Error(`${what}: not a unicast address`);
    const [lo, hi] = macWords(mac);
    if (!h.call('neigh_set', h.ptr, ip, dev, lo, hi, L.NUD_PERMANENT)) throw new Error(`${what}: neighbour table full`);
  }

  del(spec: { ip: string; dev: string }): void {
    const h = this.host;
    const what = `neigh del ${spec?.ip} dev ${spec?.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const dev = h.linkIndex(spec.dev);
    if (!h.call('neigh_del', mainContext(h.engine).ptr, h.ptr, ip, dev)) throw new Error(`${what}: no such entry`);
  }

  list(): NeighInfo[] {
    const h = this.host;
    const dv = h.engine.dv;
    const base = dv.getUint32(h.ptr + L.H_NEIGH, true);
    const slots = dv.getUint32(h.ptr + L.H_NEIGH_MASK, true) + 1;
    const out: NeighInfo[] = [];
    for (let i = 0; i < slots; i++) {
      const e = base + i * L.NEIGH_SIZE;
      const ip = dv.getUint32(e + L.NB_IP, true);
      if (ip === 0 || ip === L.NB_DELETED) continue;
      const state = NUD_NAMES[dv.getUint8(e + L.NB_STATE)] ?? 'FAILED';
      out.push({
        ip: formatIPv4(ip),
        dev: h.links[dv.getUint16(e + L.NB_DEV, true)].name,
        ...(state === 'REACHABLE' || state === 'PERMANENT' ? { mac: formatMac(h.engine.u8, e + L.NB_MAC) } : {}),
        state,
        queued: dv.getUint16(e + L.NB_QLEN, true),
      });
    }
    return out;
  }
}

// ---------------------------------------------------------------- bridge fdb

class FdbNoun {
  constructor(private readonly host: Host) {}

  /** A static entry: mac is behind port dev (bridge fdb add MAC dev PORT master static). */
  add(spec: { mac: string; dev: string }): void {
    const h = this.host;
    const what = `fdb add ${spec?.mac} dev ${spec?.dev}`;
    const mac = parseMacFor(what, spec.mac);
    const port = h.linkIndex(spec.dev);
    const br = this.bridgeOf(what, port);
    const [lo, hi] = macWords(mac);
    if (!h.call('fdb_set', h.ptr, br, lo, hi, port, L.FF_STATIC, 0)) throw new Error(`${what}: FDB full`);
  }

  del(spec: { mac: string; dev: string }): void {
    const h = this.host;
    const what = `fdb del ${spec?.mac} dev ${spec?.dev}`;
    const mac = parseMacFor(what, spec.mac);
    const br = this.bridgeOf(what, h.linkIndex(spec.dev));
    const [lo, hi] = macWords(mac);
    if (!h.call('fdb_del', h.ptr, br, lo, hi)) throw new Error(`${what}: no such entry`);
  }

  /** Like `bridge fdb show br BRIDGE`; ages are relative to now (ms). */
  list(bridge: string, now = 0): FdbInfo[] {
    const h = this.host;
    const br = h.linkIndex(bridge);
    if (h.links[br].type !== 'bridge') throw new Error(`fdb show: "${bridge}" is not a bridge`);
    const dv = h.engine.dv;
    const p = h.linkPtr(br);
    const base = dv.getUint32(p + L.L_FDB, true);
    const slots = dv.getUint32(p + L.L_FDB_MASK, true) + 1;
    const out: FdbInfo[] = [];
    for (let i = 0; i < slots; i++) {
      const e = base + i * L.FDB_SIZE;
      const port = dv.getUint16(e + L.F_PORT, true);
      if (port === 0) continue;
      const flags = dv.getUint32(e + L.F_FLAGS, true);
      out.push({
        mac: formatMac(h.engine.u8, e + L.F_MAC),
        dev: h.links[port - 1].name,
        master: bridge,
        static: (flags & L.FF_STATIC) !== 0,
        ageMs: ((now >>> 0) - dv.getUint32(e + L.F_UPDATED, true)) >>> 0,
      });
    }
    return out.sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }

  private bridgeOf(what: string, port: number): number {
    const h = this.host;
    const master = h.engine.dv.getUint16(h.linkPtr(port) + L.L_MASTER, true);
    if (!master) throw new Error(`${what}: ${h.links[port].name} is not a bridge port`);
    return master - 1;
  }
}
