// Host: one network namespace, with the nouns of iproute2 and friends (link,
// addr, route, neigh, fdb: src/nouns/; rules, conntrack: src/netfilter/). The control plane keeps the configuration as
// plain data, lays it out in the shared memory, and swaps whole tables so the
// data plane never sees a half-written one.
import { Engine, defaultEngine } from './engine/engine.js';
import { Context, mainContext } from './engine/context.js';
import { auditBuffers } from './engine/audit.js';
import * as L from './engine/layout.gen.js';
import { buildLpm } from './tables/lpm.js';
import { ConntrackNoun, IpsetNoun, RulesNoun } from './netfilter/nouns.js';
import { LinkNoun } from './nouns/link.js';
import { AddrNoun } from './nouns/addr.js';
import { RouteNoun } from './nouns/route.js';
import { NeighNoun } from './nouns/neigh.js';
import { FdbNoun } from './nouns/fdb.js';
import { compileRoutes, primaryOf, withSources, isSecondary, type Route, type RouteType } from './routes.js';
import { broadcastOf } from './packet/addr.js';
import { growNeighbours, makeRoom, engineGrowth, type GrowthEnv } from './tables/growth.js';
import { initNeighbours, neighbourBytes, INITIAL_SLOTS } from './tables/neigh.js';
import { checkBool, checkKeys } from './nouns/common.js';

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

const HOST_OPTIONS = ['name', 'forwarding', 'engine', 'neighSlots', 'neigh', 'ipfragTime'] as const;
/** The host's clock: ms in a u32, as the data plane keeps time. */
const MAX_NOW = 0xffff_ffff;

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
  /** ipset: `ipset.load(ipsetSaveText)`, `save()`; the sets rules match with -m set. */
  readonly ipset = new IpsetNoun(this, this.conntrack);
  /** iptables: `rules.load(iptablesSaveText, { noflush })`, `save()`. */
  readonly rules = new RulesNoun(this, this.conntrack, this.ipset);

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
    if (!opts || typeof opts !== 'object' || typeof opts.name !== 'string' || opts.name === '') throw new Error('host: a name is required');
    const what = `host ${opts.name}`;
    checkKeys(what, opts, HOST_OPTIONS, 'option');
    checkBool(what, 'forwarding', opts.forwarding);
    const slots = opts.neighSlots ?? INITIAL_SLOTS;
    if (!Number.isInteger(slots) || slots < 8 || slots > 1 << 24 || (slots & (slots - 1)) !== 0) {
      throw new Error(`${what}: neighSlots must be a power of two 8..16777216, got ${slots}`);
    }
    const neigh = NeighNoun.check(`${what}: neigh`, opts.neigh ?? {});
    if (opts.engine !== undefined && !(opts.engine instanceof Engine)) throw new Error(`${what}: engine must be an Engine`);
    this.name = opts.name;
    this.engine = opts.engine ?? defaultEngine();
    const e = this.engine;
    this.ptr = e.alloc(L.HOST_SIZE);
    e.registry.hosts.push(this.ptr);
    const dv = e.dv;
    const p = this.ptr;
    dv.setUint32(p + L.H_COUNTERS, e.alloc(L.CNT_COUNT * 8), true);
    initNeighbours(e, p, slots);
    this.neigh.setParams(neigh);
    const rl = 256;
    dv.setUint32(p + L.H_RL, e.alloc(rl * L.RL_SIZE), true);
    dv.setUint32(p + L.H_RL_MASK, rl - 1, true);
    // icmp_global_allow: the first error finds a full second to refill from.
    dv.setUint32(p + L.H_ICMP_STAMP, -1000 >>> 0, true);
    dv.setUint32(p + L.H_PORTS, e.alloc(L.PORTS_MAX * 4), true);
    this.growLinks(4);
    this.forwarding = opts.forwarding ?? false;
    this.ipfragTime = opts.ipfragTime ?? L.FRAG_TIME_MS / 1000;
  }

  // ---- sysctl

  get forwarding(): boolean {
    return (this.engine.dv.getUint32(this.ptr + L.H_FLAGS, true) & L.HF_FORWARDING) !== 0;
  }

  set forwarding(on: boolean) {
    checkBool(`host ${this.name}`, 'forwarding', on);
    const dv = this.engine.dv;
    const f = dv.getUint32(this.ptr + L.H_FLAGS, true);
    dv.setUint32(this.ptr + L.H_FLAGS, on ? f | L.HF_FORWARDING : f & ~L.HF_FORWARDING, true);
  }

  /** net.ipv4.ipfrag_time, in seconds: a reassembly queue expires this long after its first fragment. */
  get ipfragTime(): number {
    return this.engine.dv.getUint32(this.ptr + L.H_FRAG_TIME, true) / 1000;
  }

  set ipfragTime(seconds: number) {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new Error(`host ${this.name}: ipfragTime must be a whole number of seconds 1..3600, got ${seconds}`);
    this.engine.dv.setUint32(this.ptr + L.H_FRAG_TIME, seconds * 1000, true);
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
    const p = protoNumber(proto);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`unlisten: invalid port ${port}`);
    this.ports.delete((p << 16) | port);
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
    const what = `${this.name}: receive`;
    this.checkNow(what, now);
    if (!Array.isArray(frames)) throw new Error(`${what}: frames must be a list of { link, frame }`);
    const links = frames.map((f, i) => {
      if (!f || typeof f !== 'object') throw new Error(`${what}: frame #${i} must be an object { link, frame }`);
      if (!(f.frame instanceof Uint8Array)) throw new Error(`${what}: frame #${i} must be a Uint8Array`);
      checkTag(what, f.tag, `frame #${i}`);
      return this.linkIndex(f.link);
    });
    return this.run(frames.length, now, (ctx, i, j) => {
      const f = frames[i];
      ctx.setInput(j, L.K_RX, links[i], f.frame, f.tag ?? i);
    });
  }

  /** IPv4 packets from the host's own stack (source 0.0.0.0: routing chooses). */
  send(packets: { packet: Uint8Array; tag?: number }[], now: number): Output[] {
    const what = `${this.name}: send`;
    this.checkNow(what, now);
    if (!Array.isArray(packets)) throw new Error(`${what}: packets must be a list of { packet }`);
    packets.forEach((p, i) => {
      if (!p || typeof p !== 'object') throw new Error(`${what}: packet #${i} must be an object { packet }`);
      if (!(p.packet instanceof Uint8Array)) throw new Error(`${what}: packet #${i} must be a Uint8Array`);
      checkTag(what, p.tag, `packet #${i}`);
    });
    return this.run(packets.length, now, (ctx, i, j) => {
      ctx.setInput(j, L.K_ORIGINATE, 0, packets[i].packet, packets[i].tag ?? i, L.HEADROOM + 14);
    });
  }

  /** Lets time pass: neighbour timers fire. */
  tick(now: number): Output[] {
    this.checkNow(`${this.name}: tick`, now);
    this.commit();
    const ctx = mainContext(this.engine);
    ctx.recordDrops = true;
    return this.collect(ctx, ctx.tick(this.ptr, now));
  }

  /** Runs a batch the caller laid out in ctx's input vector (the fast path). */
  process(ctx: Context, n: number, now: number): number {
    const what = `${this.name}: process`;
    if (!(ctx instanceof Context)) throw new Error(`${what}: ctx must be a Context of the host's engine`);
    this.checkNow(what, now);
    if (!Number.isInteger(n) || n < 0 || n > ctx.batch) throw new Error(`${what}: n must be an integer 0..${ctx.batch}, got ${n}`);
    this.prepare(n);
    return ctx.process(this.ptr, n, now);
  }

  /** The host's clock: the last time (ms) it was given. Time never goes back. */
  get now(): number {
    return this.engine.dv.getUint32(this.ptr + L.H_NOW, true);
  }

  private checkNow(what: string, now: number): void {
    if (!Number.isInteger(now) || now < 0 || now > MAX_NOW) throw new Error(`${what}: now must be an integer number of ms 0..${MAX_NOW}, got ${now}`);
    if (now < this.now) throw new Error(`${what}: now ${now} is before the host's clock (${this.now})`);
  }

  /** Before a batch of n: configuration published, and tables with room for what n packets can add. */
  private prepare(n: number): void {
    this.commit();
    makeRoom(this.growth, this.ptr, n);
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
    // No packets is still time passing: the timers run.
    for (let start = 0; start < count || start === 0; start += step) {
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
    // Every buffer back, or in a queue: no call leaves one behind.
    if (this.engine.audit) auditBuffers(this.engine, [ctx]);
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
        reassembled: c(L.CNT_REASSEMBLED),
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
    if (typeof name !== 'string' || name === '') throw new Error(`${this.name}: a device name is required, got ${String(name)}`);
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
    growNeighbours(this.growth, this.ptr, 0);
    this.conntrack.grow();
    this.publish();
  }

  /**
   * Publishes configuration changes alone (a network's run grows the tables
   * itself, between batches, as they fill).
   */
  /** @internal */ publish(): void {
    this.rules.refresh();
    if (!this.dirty) return;
    const e = this.engine;
    const { prefixes, nexthops, lbcast } = compileRoutes(withSources(this.routes, this.addrs), this.localRoutes());
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
    dv.setUint32(this.ptr + L.H_LBCAST, lbcast, true);
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

  /** Bytes of the neighbour table. */
  get neighTableBytes(): number {
    return neighbourBytes(this.engine, this.ptr);
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

function checkTag(what: string, tag: unknown, whose: string): void {
  if (tag !== undefined && !(Number.isInteger(tag) && (tag as number) >= 0 && (tag as number) <= 0xffff_ffff)) {
    throw new Error(`${what}: tag ${String(tag)} of ${whose} is not an integer 0..${0xffff_ffff}`);
  }
}

function protoNumber(proto: string): number {
  if (proto === 'udp') return L.IPPROTO_UDP;
  if (proto === 'tcp') return L.IPPROTO_TCP;
  throw new Error(`unknown protocol "${proto}" (udp or tcp)`);
}
