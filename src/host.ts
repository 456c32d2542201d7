// Host: one network namespace, with the nouns of iproute2 and friends (link,
// addr, route, neigh, fdb: src/nouns/; rules, conntrack: src/netfilter/). The control plane keeps the configuration as
// plain data, lays it out in the shared memory, and swaps whole tables so the
// data plane never sees a half-written one.
//
// Here: a host's construction and memory, its sysctls, sockets and counters,
// and the nouns wired to it. Its plain-data types are in ./host-types.ts,
// what it does with a batch in ./host-batch.ts, its published routing tables
// in ./host-routing.ts.
import { Engine, defaultEngine } from './engine/engine.js';
import type { Context } from './engine/context.js';
import * as L from './engine/layout.gen.js';
import { ConntrackNoun, IpsetNoun, RulesNoun } from './netfilter/nouns.js';
import { LinkNoun } from './nouns/link.js';
import { AddrNoun } from './nouns/addr.js';
import { RouteNoun } from './nouns/route.js';
import { NeighNoun } from './nouns/neigh.js';
import { FdbNoun } from './nouns/fdb.js';
import type { Route } from './routes.js';
import { growNeighbours, engineGrowth, type GrowthEnv } from './tables/growth.js';
import { initNeighbours, neighbourBytes, INITIAL_SLOTS } from './tables/neigh.js';
import { checkBool, checkKeys } from './nouns/common.js';
import type { AddrRec, HostOptions, HostStats, LinkRec, Output } from './host-types.js';
import { processBatch, receiveFrames, sendPackets, tickHost } from './host-batch.js';
import { localRoutesOf, publishRouting, type RoutingRegions } from './host-routing.js';

export type {
  LinkType, LinkSpec, LinkChange, LinkInfo, RouteSpec, RouteInfo, NeighInfo, FdbInfo, Output, HostStats, NeighParams, HostOptions,
} from './host-types.js';

const HOST_OPTIONS = ['name', 'forwarding', 'engine', 'neighSlots', 'neigh', 'ipfragTime'] as const;

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
  private routing?: RoutingRegions;

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
    return receiveFrames(this, frames, now);
  }

  /** IPv4 packets from the host's own stack (source 0.0.0.0: routing chooses). */
  send(packets: { packet: Uint8Array; tag?: number }[], now: number): Output[] {
    return sendPackets(this, packets, now);
  }

  /** Lets time pass: neighbour timers fire. */
  tick(now: number): Output[] {
    return tickHost(this, now);
  }

  /** Runs a batch the caller laid out in ctx's input vector (the fast path). */
  process(ctx: Context, n: number, now: number): number {
    return processBatch(this, ctx, n, now);
  }

  /** The host's clock: the last time (ms) it was given. Time never goes back. */
  get now(): number {
    return this.engine.dv.getUint32(this.ptr + L.H_NOW, true);
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

  /** The local table the addresses imply (localRoutesOf). */
  /** @internal */ localRoutes(): Route[] {
    return localRoutesOf(this.addrs);
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
    this.routing = publishRouting(this.engine, this.ptr, this.routes, this.addrs, this.routing);
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
    return (this.routing?.lpm.size ?? 0) + (this.routing?.nh.size ?? 0);
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
