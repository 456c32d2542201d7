// Host: one network namespace, with the nouns of iproute2 and friends (link,
// addr, route, neigh, fdb: src/nouns/; rules, conntrack: src/netfilter/). The control plane keeps the configuration as
// plain data, lays it out in the shared memory, and swaps whole tables so the
// data plane never sees a half-written one.
import { Engine, defaultEngine } from './engine/engine.js';
import { Context, mainContext } from './engine/context.js';
import * as L from './engine/layout.gen.js';
import { buildLpm } from './tables/lpm.js';
import { ConntrackNoun, RulesNoun } from './netfilter/nouns.js';
import { LinkNoun } from './nouns/link.js';
import { AddrNoun } from './nouns/addr.js';
import { RouteNoun } from './nouns/route.js';
import { NeighNoun } from './nouns/neigh.js';
import { FdbNoun } from './nouns/fdb.js';
import { compileRoutes, primaryOf, withSources, isSecondary, type Route, type RouteType } from './routes.js';
import { broadcastOf } from './packet/addr.js';
import { growNeighbours, engineGrowth, type GrowthEnv } from './tables/growth.js';

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
    // icmp_global_allow: the first error finds a full second to refill from.
    dv.setUint32(p + L.H_ICMP_STAMP, -1000 >>> 0, true);
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
    this.prepare(n);
    return ctx.process(this.ptr, n, now);
  }

  /** Before a batch of n: configuration published, and tables with room for what n packets can add. */
  private prepare(n: number): void {
    this.commit();
    this.conntrack.grow(2 * n + 2);
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
      this.prepare(n);
      for (let j = 0; j < n; j++) fill(ctx, start + j, j);
      for (const o of this.collect(ctx, ctx.process(this.ptr, n, now))) out.push(o);
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

  /**
   * The local table: each address as a local /32 and each subnet's broadcast,
   * both with the subnet's primary address as their source (fib_add_ifaddr).
   */
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
    for (const a of this.addrs) out.push({ dst: a.ip, plen: 32, type: 'local', dev: a.dev, src: primaryOf(this.addrs, a).ip, metric: 0, proto: 'kernel' });
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
    const { prefixes, nexthops } = compileRoutes(withSources(this.routes, this.addrs), this.localRoutes());
    const blob = buildLpm(prefixes);
    const lpm = e.alloc(blob.length);
    e.u8.set(blob, lpm);
    const nh = e.alloc(nexthops.length);
    e.u8.set(nexthops, nh);
    const addrBytes = Math.max(1, this.addrs.length) * L.ADDR_SIZE;
    const addrs = e.alloc(addrBytes);
    const dv = e.dv;
    // By link, in the order added on each: inet_select_addr's fallback takes the first link's first primary.
    const order = this.addrs.map((a, i) => ({ a, i })).sort((x, y) => x.a.dev - y.a.dev || x.i - y.i);
    order.forEach(({ a, i }, k) => {
      const p = addrs + k * L.ADDR_SIZE;
      dv.setUint32(p + L.A_IP, a.ip, true);
      dv.setUint8(p + L.A_PLEN, a.plen);
      dv.setUint8(p + L.A_FLAGS, isSecondary(this.addrs, i) ? L.AF_SECONDARY : 0);
      dv.setUint16(p + L.A_DEV, a.dev, true);
      dv.setUint32(p + L.A_BCAST, a.plen < 31 ? broadcastOf(a.ip, a.plen) : 0, true);
    });
    // Nexthops and addresses first, the table that points into them last.
    dv.setUint32(this.ptr + L.H_NH, nh, true);
    dv.setUint32(this.ptr + L.H_NNH, nexthops.length / L.NH_SIZE, true);
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
    growNeighbours(this.growth, this.ptr);
  }

  /** @internal */ get growth(): GrowthEnv {
    return (this.growthEnv ??= engineGrowth(this.engine));
  }

  private growthEnv?: GrowthEnv;

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
