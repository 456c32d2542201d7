// Network: hosts and the wires between their links. A wire (a veth pair) and
// an L2 segment live in the shared memory: a frame a host sends on a wired
// link is put in its peer's port by the data plane, and the receiver takes it
// in at the next wave. Waves move on a virtual clock in one canonical order,
// on one thread or several, so a run is the same every time, at any worker
// count, and any link can be captured to pcap.
import { Host, type HostOptions } from './host.js';
import { Engine } from './engine/engine.js';
import { Context } from './engine/context.js';
import { auditBuffers } from './engine/audit.js';
import * as L from './engine/layout.gen.js';
import { partition } from './parallel/partition.js';
import { Barrier } from './parallel/barrier.js';
import type { WorkerPool } from './parallel/pool.js';
import { nodeBuiltins } from './platform.js';
import { Capture } from './net/capture.js';
import type { CapturedFrame, NetworkOptions, WireOptions, SegmentOptions, RunOptions, RunSummary, Delivery, DropRecord } from './net/types.js';
import { Injector, type StagedTraffic } from './net/staging.js';
import { runWaves } from './net/waves.js';
import { threadMemory } from './net/thread-memory.js';
import { rxPort, wireTo, makeSegment, segmentMember, segmentPort } from './net/wiring.js';
import { layoutNodes } from './net/nodes.js';
import { takeRecords } from './net/records.js';

export { Capture };
export type { CapturedFrame, NetworkOptions, WireOptions, SegmentOptions, RunOptions, RunSummary, Delivery, DropRecord, StagedTraffic };

const DEFAULT_MAX_STEPS = 1_000_000;
/** A worker's context: a batch of 256 and room for the outputs of a few batches. */
const BATCH = 256;
const OUTPUTS = 16384;

interface End {
  host: Host;
  link: string;
  index: number;
  /** 'host:link' */
  key: string;
}

type Node = { kind: 'host'; name: string; host: Host } | { kind: 'segment'; name: string; ptr: number; members: End[] };

export class Network {
  readonly engine: Engine;
  /** Worker threads the runs use (the calling thread counts as one). */
  readonly workers: number;
  private clock = 0;
  private wave = 1;
  private readonly nodes: Node[] = [];
  private readonly byName = new Map<string, Host>();
  private readonly attached = new Map<string, string>();
  private readonly wires: [number, number][] = [];
  private readonly captures = new Map<string, Capture[]>();
  private readonly deliveries = new Map<string, Delivery[]>();
  private readonly dropLog: DropRecord[] = [];
  private readonly contexts: Context[];
  private readonly net: number;
  private readonly opts: NetworkOptions;
  private pool?: WorkerPool;
  /** Bumped by every change of the topology: the run's layout is made again. */
  private topology = 0;
  private laidOut = -1;
  /** Links whose frames the data plane copies for captures now. */
  private readonly captured = new Set<string>();
  private readonly injector: Injector;

  constructor(opts: NetworkOptions = {}) {
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`network: workers must be 1..64, got ${workers}`);
    // A network of its own by default, so two networks never share state.
    this.engine = opts.engine ?? new Engine();
    this.workers = workers;
    this.opts = { ...opts };
    const e = this.engine;
    this.net = e.alloc(L.NET_SIZE);
    const wks = e.alloc(workers * L.WK_SIZE);
    const dv = e.dv;
    dv.setUint32(this.net + L.NT_WORKERS, workers, true);
    dv.setUint32(this.net + L.NT_WK, wks, true);
    dv.setUint32(this.net + L.NT_ACT, e.alloc(workers * workers * 2 * 4), true);
    dv.setUint32(this.net + L.NT_RET, e.alloc(workers * workers * 2 * L.LIST_SIZE), true);
    e.registry.networks.push(this.net);
    let flags = L.CTX_NETWORK;
    if (opts.recordDeliveries ?? true) flags |= L.CTX_RECORD_LOCAL;
    if (opts.recordDrops ?? true) flags |= L.CTX_RECORD_DROPS;
    this.contexts = [];
    for (let k = 0; k < workers; k++) {
      // Frames on their way hold buffers: a worker's pools grow to 8 times their first size.
      const ctx = new Context(e, { buffers: opts.buffers, batch: BATCH, outputs: OUTPUTS, growth: 8 });
      ctx.network(k, flags);
      this.contexts.push(ctx);
      const wk = wks + k * L.WK_SIZE;
      e.dv.setUint32(wk + L.WK_ID, k, true);
      e.dv.setUint32(wk + L.WK_NET, this.net, true);
      e.dv.setUint32(wk + L.WK_CTX, ctx.ptr, true);
      const log = e.alloc(LEARN_LOG * L.LEARN_SIZE);
      e.dv.setUint32(wk + L.WK_LEARN, log, true);
      e.dv.setUint32(wk + L.WK_LEARN_CAP, LEARN_LOG, true);
    }
    this.injector = new Injector(e);
  }

  /** Virtual time, ms. It moves only in run() and advance(). */
  get now(): number {
    return this.clock;
  }

  /** Starts the worker threads (workers > 1) and resolves once they are up; run() needs them. */
  async ready(): Promise<this> {
    if (this.closed) throw new Error('network: the network is closed');
    if (this.workers > 1 && !this.pool) {
      if (!nodeBuiltins()) throw new Error('network: worker threads need Node; in a browser a network runs with workers: 1');
      // Loaded on demand: the threads exist under Node only.
      const { WorkerPool } = await import('./parallel/pool.js');
      this.pool ??= new WorkerPool(this.engine, this.net, this.workers);
    }
    await this.pool?.ready();
    return this;
  }

  /** Stops the worker threads; the network does not run again. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.closed = true;
    await pool?.close();
  }

  private closed = false;

  // ---- topology

  /** Adds a host created on this network's engine. */
  add(host: Host): Host {
    if (host.engine !== this.engine) {
      throw new Error(`network: host ${host.name} lives in another engine (create it with { engine: net.engine })`);
    }
    if (host.name.includes(':')) throw new Error(`network: host name "${host.name}" contains ':' (links are named host:link)`);
    if (this.byName.has(host.name) || this.nodes.some((n) => n.name === host.name)) throw new Error(`network: a host named ${host.name} exists`);
    if (membership.has(host)) throw new Error(`network: host ${host.name} is in a network already`);
    membership.add(host);
    this.byName.set(host.name, host);
    this.deliveries.set(host.name, []);
    this.nodes.push({ kind: 'host', name: host.name, host });
    this.topology++;
    host.engine.dv.setUint32(host.ptr + L.H_RANK, this.nodes.length - 1, true);
    return host;
  }

  /** Creates a host on this network's engine and adds it. */
  host(opts: Omit<HostOptions, 'engine'>): Host {
    return this.add(new Host({ ...opts, engine: this.engine }));
  }

  get(name: string): Host {
    const h = this.byName.get(name);
    if (!h) throw new Error(`network: no host named "${name}"`);
    return h;
  }

  get hosts(): Host[] {
    return [...this.byName.values()];
  }

  /** A point-to-point wire (a veth pair, a cable). */
  connect(a: string, b: string, opts: WireOptions = {}): void {
    const name = `${a}<->${b}`;
    const [x, y] = this.ends(name, [a, b], opts.latencyMs);
    const lat = opts.latencyMs ?? 0;
    wireTo(this.engine, x.host.linkPtr(x.index), this.rxPort(y), lat);
    wireTo(this.engine, y.host.linkPtr(y.index), this.rxPort(x), lat);
    for (const e of [x, y]) this.attached.set(e.key, name);
    this.wires.push([this.rankOf(x.host), this.rankOf(y.host)]);
    this.topology++;
  }

  /** An L2 segment: a frame one member sends reaches the others (all of them when flooded). */
  segment(name: string, members: string[], opts: SegmentOptions = {}): void {
    if (!Array.isArray(members) || members.length < 2) throw new Error(`segment ${name}: needs at least two members`);
    if (this.nodes.some((n) => n.name === name)) throw new Error(`network: ${name}: a host or segment of that name exists`);
    const ends = this.ends(name, members, opts.latencyMs);
    const rank = this.nodes.length;
    const seg = makeSegment(this.engine, rank, ends.length, opts.learning ?? true, opts.latencyMs ?? 0);
    ends.forEach((end, i) => {
      segmentMember(this.engine, seg, i, this.rxPort(end, this.workers - 1));
      wireTo(this.engine, end.host.linkPtr(end.index), segmentPort(this.engine, seg, i), 0);
      this.attached.set(end.key, name);
    });
    this.nodes.push({ kind: 'segment', name, ptr: seg, members: ends });
    this.engine.registry.segments.push(seg);
    this.topology++;
  }

  private ends(name: string, specs: string[], latencyMs = 0): End[] {
    const what = `network: ${name}`;
    if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) throw new Error(`${what}: invalid latency ${latencyMs}`);
    const ends = specs.map((s) => this.end(s, what));
    const seen = new Set<string>();
    for (const e of ends) {
      if (seen.has(e.key)) throw new Error(`${what}: ${e.key} appears twice`);
      seen.add(e.key);
      const other = this.attached.get(e.key);
      if (other) throw new Error(`${what}: ${e.key} is already wired to ${other}`);
      const type = e.host.links[e.index].type;
      if (type === 'ipip' || type === 'bridge') throw new Error(`${what}: ${e.key} is a${type === 'ipip' ? 'n ipip' : ' bridge'} link, which has no wire`);
    }
    return ends;
  }

  private end(spec: string, what: string): End {
    const i = String(spec).indexOf(':');
    if (i <= 0 || i === spec.length - 1) throw new Error(`${what}: "${spec}" is not host:link`);
    const host = this.byName.get(spec.slice(0, i));
    if (!host) throw new Error(`${what}: no host named "${spec.slice(0, i)}"`);
    const link = spec.slice(i + 1);
    let index: number;
    try {
      index = host.link.get(link).index;
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    return { host, link, index, key: spec };
  }

  private rankOf(h: Host): number {
    return this.engine.dv.getUint32(h.ptr + L.H_RANK, true);
  }

  /** The port frames for end's link arrive at, made on first use (with a side port for each other worker, for a segment member). */
  private rxPort(end: End, sides = 0): number {
    return rxPort(this.engine, end.host.linkPtr(end.index), this.rankOf(end.host), end.index, sides);
  }

  // ---- traffic

  /** The host's stack sends IPv4 packets, now. */
  send(host: string, packets: Uint8Array[]): void {
    this.queue(this.get(host), 0, L.K_ORIGINATE, packets, L.HEADROOM + 14);
  }

  /** Frames arriving on a link from outside the network, now. */
  inject(link: string, frames: Uint8Array[]): void {
    const end = this.end(link, 'inject');
    this.queue(end.host, end.index, L.K_RX, frames, L.HEADROOM);
  }

  private queue(h: Host, link: number, kind: number, list: Uint8Array[], off: number): void {
    this.injector.queue(h, link, kind, list, off, this.clock);
  }

  /**
   * Packets (or, for 'host:link', frames arriving on that link) written once
   * into the engine's memory, to be queued again and again by `send()` with
   * one call each time and no copy from JavaScript: repeated traffic, as a
   * benchmark or a traffic generator sends it.
   */
  stage(target: string, list: Uint8Array[]): StagedTraffic {
    const end = String(target).includes(':') ? this.end(target, 'stage') : undefined;
    const h = end ? end.host : this.get(target);
    return this.injector.stage(h, end?.index ?? 0, end ? L.K_RX : L.K_ORIGINATE, list, () => this.clock);
  }

  /** Starts capturing a link: frames it sends and frames that arrive on it. */
  capture(link: string): Capture {
    const end = this.end(link, 'capture');
    const c = new Capture(end.key);
    const list = this.captures.get(end.key) ?? [];
    list.push(c);
    this.captures.set(end.key, list);
    return c;
  }

  /**
   * Delivers what is in flight and whatever it causes, in time order, wave by
   * wave at each instant. With `until`, time also passes when nothing is in
   * flight: hosts are ticked every second, so ARP retries and failures happen.
   */
  run(opts: RunOptions = {}): RunSummary {
    const { until, maxSteps = DEFAULT_MAX_STEPS } = opts;
    if (until !== undefined && !(Number.isFinite(until) && until >= this.now)) {
      throw new Error(`network run: until ${until} is not a time at or after now (${this.now})`);
    }
    if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new Error(`network run: invalid maxSteps ${maxSteps}`);
    if (this.closed) throw new Error('network run: the network is closed');
    if (this.workers > 1 && !this.pool?.isReady) throw new Error(`network run: ${this.workers} workers were asked for; await net.ready() before run()`);
    // Configuration changes published; the tables grow during the run as they fill (WAVE_GROW).
    for (const n of this.nodes) if (n.kind === 'host') n.host.publish();
    this.layout();
    const e = this.engine;
    const dv = e.dv;
    const wks = dv.getUint32(this.net + L.NT_WK, true);
    for (let k = 0; k < this.workers; k++) {
      const wk = wks + k * L.WK_SIZE;
      for (const f of [L.WK_STEPS, L.WK_SENT, L.WK_LOCAL, L.WK_DROPPED, L.WK_LOST, L.WK_FILTERED]) dv.setBigUint64(wk + f, 0n, true);
    }
    const d = e.dv;
    d.setFloat64(this.net + L.NT_RUN_NOW, this.clock, true);
    d.setFloat64(this.net + L.NT_RUN_UNTIL, until ?? NaN, true);
    d.setFloat64(this.net + L.NT_RUN_MAX, maxSteps, true);
    d.setUint32(this.net + L.NT_RUN_WAVE, this.wave, true);
    d.setUint32(this.net + L.NT_RUN_END, 0, true);
    const words = new Int32Array(e.memory.buffer);
    const barrier = this.pool ? new Barrier(words, this.net, this.workers) : undefined;
    this.pool?.start();
    let failure: unknown;
    try {
      runWaves({ dp: e.dp, memory: threadMemory(e), net: this.net, wk: wks, ctx: this.contexts[0].ptr, barrier });
    } catch (err) {
      failure = err;
      barrier?.fail();
    }
    this.pool?.join();
    this.injector.settle(this.injectionsLeft());
    const end = e.dv;
    this.clock = end.getFloat64(this.net + L.NT_RUN_LAST, true);
    this.wave = end.getUint32(this.net + L.NT_RUN_WAVE, true);
    const failed = words[(this.net + L.NT_FAILED) >> 2] !== 0;
    if (failure || failed) throw failure ?? new Error('network run: a worker failed');
    this.collect();
    if (this.engine.audit) auditBuffers(this.engine, this.contexts);
    const summary = this.summary();
    if (end.getUint32(this.net + L.NT_RUN_END, true) === 1) {
      throw new Error(`network run: maxSteps (${maxSteps}) reached at ${this.now} ms with ${summary.inFlight} frames in flight; a loop in the L2 topology?`);
    }
    if (until !== undefined) this.clock = until;
    summary.now = this.clock;
    return summary;
  }

  /** Lets `ms` of time pass, delivering and ticking on the way. */
  advance(ms: number): RunSummary {
    if (!(ms >= 0)) throw new Error(`network advance: invalid duration ${ms}`);
    return this.run({ until: this.now + ms });
  }

  /** What the host's sockets received, in order. */
  delivered(host: string): readonly Delivery[] {
    this.get(host);
    return this.deliveries.get(host)!;
  }

  /** Drop records, of one host or of all, in order. */
  drops(host?: string): DropRecord[] {
    if (host === undefined) return [...this.dropLog];
    this.get(host);
    return this.dropLog.filter((d) => d.host === host);
  }

  /**
   * From the next run on, keep what hosts deliver for delivered() and each
   * drop for drops(), or only count them (NetworkOptions.recordDeliveries,
   * recordDrops; a fuzzer turns both off).
   */
  record(what: { deliveries?: boolean; drops?: boolean }): void {
    if (what.deliveries !== undefined) this.opts.recordDeliveries = what.deliveries;
    if (what.drops !== undefined) this.opts.recordDrops = what.drops;
    let flags = L.CTX_NETWORK;
    if (this.opts.recordDeliveries ?? true) flags |= L.CTX_RECORD_LOCAL;
    if (this.opts.recordDrops ?? true) flags |= L.CTX_RECORD_DROPS;
    this.contexts.forEach((c, k) => c.network(k, flags));
  }

  /** @internal The data-plane context of each worker (tracing and check mode attach their regions to them). */
  get contextPointers(): readonly number[] {
    return this.contexts.map((c) => c.ptr);
  }

  /** Each worker's packet buffers: free and in all (the pools grow when frames in flight need more). */
  bufferPools(): { worker: number; free: number; capacity: number }[] {
    return this.contexts.map((c, worker) => ({ worker, free: c.free, capacity: c.capacity }));
  }

  /** Frames and packets queued and not yet delivered. */
  get inFlight(): number {
    this.layout(); // the node table the data plane counts over, whatever joined since the last run
    return (this.engine.dp.net_in_flight as Fn)(this.net) >>> 0;
  }

  // ---- the machinery

  /** The node table, the workers' node lists and bitmaps (again whenever the topology changed), and capture flags. */
  private layout(): void {
    if (this.laidOut !== this.topology) {
      this.layoutNodes();
      this.laidOut = this.topology;
    }
    // Captured links: the data plane copies their frames for us.
    const want = new Set<string>();
    for (const [key, list] of this.captures) if (list.some((c) => c.active)) want.add(key);
    for (const key of new Set([...want, ...this.captured])) {
      const end = this.end(key, 'capture');
      const p = end.host.linkPtr(end.index);
      const dv = this.engine.dv;
      const f = dv.getUint8(p + L.L_FLAGS);
      dv.setUint8(p + L.L_FLAGS, want.has(key) ? f | L.LF_CAPTURE : f & ~L.LF_CAPTURE);
      if (want.has(key)) this.captured.add(key);
      else this.captured.delete(key);
    }
  }

  private layoutNodes(): void {
    const owners = this.assign();
    layoutNodes(this.engine, this.net, this.nodes.map((n) => (n.kind === 'host' ? { host: n.host.ptr } : { segment: n.ptr })), owners, this.workers);
  }

  private assign(): number[] {
    if (this.opts.assign) {
      return this.nodes.map((n) => {
        const k = this.opts.assign!(n.name);
        if (!Number.isInteger(k) || k < 0 || k >= this.workers) throw new Error(`network: assign(${n.name}) gave ${k}, not a worker 0..${this.workers - 1}`);
        return k;
      });
    }
    const members = new Map<number, number[]>();
    this.nodes.forEach((n, r) => {
      if (n.kind === 'segment') members.set(r, n.members.map((m) => this.rankOf(m.host)));
    });
    return partition({ nodes: this.nodes.map((n) => ({ kind: n.kind, weight: 1 })), wires: this.wires, members }, this.workers);
  }

  /** Hosts with traffic given before the run still to take in (none, unless the run stopped early). */
  private injectionsLeft(): number {
    const dv = this.engine.dv;
    let n = 0;
    for (const node of this.nodes) if (node.kind === 'host' && dv.getUint32(node.host.ptr + L.H_INJ, true) !== 0) n++;
    return n;
  }

  /** Takes the workers' logs into deliveries, drops and captures, in the canonical order. */
  private collect(): void {
    takeRecords(threadMemory(this.engine), this.net, this.workers, (rank) => {
      const node = this.nodes[rank];
      if (!node || node.kind !== 'host') return undefined;
      return {
        name: node.name,
        delivered: (d) => this.deliveries.get(node.name)!.push(d),
        dropped: (d) => this.dropLog.push(d),
        captured: (link, f) => {
          for (const c of this.captures.get(`${node.name}:${node.host.links[link].name}`) ?? []) if (c.active) c.frames.push(f);
        },
      };
    });
  }

  private summary(): RunSummary {
    const dv = this.engine.dv;
    const wks = dv.getUint32(this.net + L.NT_WK, true);
    const sum = (f: number) => {
      let n = 0;
      for (let k = 0; k < this.workers; k++) n += Number(dv.getBigUint64(wks + k * L.WK_SIZE + f, true));
      return n;
    };
    const s: RunSummary = {
      now: this.clock,
      steps: sum(L.WK_STEPS),
      sent: sum(L.WK_SENT),
      local: sum(L.WK_LOCAL),
      dropped: sum(L.WK_DROPPED),
      lost: sum(L.WK_LOST),
      filtered: sum(L.WK_FILTERED),
      inFlight: this.inFlight,
    };
    return s;
  }
}

type Fn = (...args: number[]) => number;

/** Entries a worker's learning log starts with (it grows when a wave needs more). */
const LEARN_LOG = 4096;

/** A host's links are wired by one network at most. */
const membership = new WeakSet<Host>();
