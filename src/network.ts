// Network: hosts and the wires between their links. Frames move on a virtual
// clock in a fixed order, batch by batch, so a whole cluster runs the same way
// every time and any link can be captured to pcap.
import { Host, type HostOptions, type Output } from './host.js';
import { Engine } from './engine/engine.js';
import { mainContext } from './engine/context.js';
import { PcapWriter } from './packet/pcap.js';
import { nodeBuiltins } from './platform.js';

/** The most frames handed to a host in one call: the engine's batch. */
const BATCH = 256;
/** Host timers (ARP retransmission) advance in these steps when nothing is in flight. */
const TICK_MS = 1000;
const DEFAULT_MAX_STEPS = 1_000_000;

export interface NetworkOptions {
  /** The engine every host of the network lives in (default: a new one). */
  engine?: Engine;
}

export interface WireOptions {
  /** One-way delay in ms (default 0: same instant, still in order). */
  latencyMs?: number;
}

export interface SegmentOptions extends WireOptions {
  /** Learn source MACs and forward known unicast to one member only, like a switch (default true); false: a hub. */
  learning?: boolean;
}

export interface RunOptions {
  /** Run until this time (ms), ticking hosts every second on the way; without it, run until nothing is in flight. */
  until?: number;
  /** The most frame deliveries before the run gives up (default 1,000,000): a loop must not hang. */
  maxSteps?: number;
}

export interface RunSummary {
  /** The clock when the run ended (ms). */
  now: number;
  /** Frames delivered to links. */
  steps: number;
  /** Packets the hosts' own stacks sent (net.send). */
  sent: number;
  /** Packets delivered to sockets. */
  local: number;
  /** Packets the hosts dropped. */
  dropped: number;
  /** Frames sent on a link with no wire. */
  lost: number;
  /** Frames a learning segment kept back: the destination sits behind the sender's own port. */
  filtered: number;
  /** Frames and packets still queued (due after `until`). */
  inFlight: number;
}

export interface Delivery {
  timeMs: number;
  packet: Uint8Array;
}

export interface DropRecord {
  timeMs: number;
  host: string;
  reason: string;
}

export interface CapturedFrame {
  timeMs: number;
  frame: Uint8Array;
  /** 'out': the host sent it on the link; 'in': it arrived there. */
  direction: 'in' | 'out';
}

/** Every frame sent or received on one link from the moment it was started. */
export class Capture {
  readonly frames: CapturedFrame[] = [];
  active = true;

  constructor(readonly link: string) {}

  stop(): void {
    this.active = false;
  }

  pcap(): Uint8Array {
    const w = new PcapWriter();
    for (const f of this.frames) w.add(f.timeMs, f.frame);
    return w.bytes();
  }

  /** Writes the pcap file (Node; in a browser, take pcap()'s bytes). */
  save(path: string): void {
    const node = nodeBuiltins();
    if (!node) throw new Error('capture save: files are written under Node; in a browser, use pcap()');
    node.fs.writeFileSync(path, this.pcap());
  }
}

interface End {
  host: Host;
  link: string;
  /** 'host:link' */
  key: string;
}

interface Wire {
  name: string;
  ends: End[];
  latencyMs: number;
  /** Present on a learning segment: MAC (48 bits as a number) -> the member it was last seen from. */
  fdb?: Map<number, End>;
}

type Event =
  | { kind: 'rx'; end: End; frame: Uint8Array }
  | { kind: 'send'; host: Host; packet: Uint8Array };

export class Network {
  readonly engine: Engine;
  private clock = 0;
  private readonly byName = new Map<string, Host>();
  private readonly attached = new Map<string, { wire: Wire; end: End }>();
  private readonly captures = new Map<string, Capture[]>();
  private readonly deliveries = new Map<string, Delivery[]>();
  private readonly dropLog: DropRecord[] = [];
  // The queue: events bucketed by due time, buckets FIFO, times sorted.
  private readonly due = new Map<number, Event[]>();
  private readonly times: number[] = [];
  private summary = emptySummary(0);

  constructor(opts: NetworkOptions = {}) {
    // A network of its own by default, so two networks never share state.
    this.engine = opts.engine ?? new Engine();
  }

  /** Virtual time, ms. It moves only in run() and advance(). */
  get now(): number {
    return this.clock;
  }

  // ---- topology

  /** Adds a host created on this network's engine. */
  add(host: Host): Host {
    if (host.engine !== this.engine) {
      throw new Error(`network: host ${host.name} lives in another engine (create it with { engine: net.engine })`);
    }
    if (host.name.includes(':')) throw new Error(`network: host name "${host.name}" contains ':' (links are named host:link)`);
    if (this.byName.has(host.name)) throw new Error(`network: a host named ${host.name} exists`);
    this.byName.set(host.name, host);
    this.deliveries.set(host.name, []);
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
    this.wire(`${a}<->${b}`, [a, b], opts.latencyMs, false);
  }

  /** An L2 segment: a frame one member sends reaches the others (all of them when flooded). */
  segment(name: string, members: string[], opts: SegmentOptions = {}): void {
    if (members.length < 2) throw new Error(`segment ${name}: needs at least two members`);
    this.wire(name, members, opts.latencyMs, opts.learning ?? true);
  }

  private wire(name: string, specs: string[], latencyMs = 0, learning: boolean): void {
    const what = `network: ${name}`;
    if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) throw new Error(`${what}: invalid latency ${latencyMs}`);
    const ends = specs.map((s) => this.end(s, what));
    const seen = new Set<string>();
    for (const e of ends) {
      if (seen.has(e.key)) throw new Error(`${what}: ${e.key} appears twice`);
      seen.add(e.key);
      const other = this.attached.get(e.key);
      if (other) throw new Error(`${what}: ${e.key} is already wired to ${other.wire.name}`);
    }
    const wire: Wire = { name, ends, latencyMs, ...(learning ? { fdb: new Map() } : {}) };
    for (const end of ends) this.attached.set(end.key, { wire, end });
  }

  private end(spec: string, what: string): End {
    const i = String(spec).indexOf(':');
    if (i <= 0 || i === spec.length - 1) throw new Error(`${what}: "${spec}" is not host:link`);
    const host = this.byName.get(spec.slice(0, i));
    if (!host) throw new Error(`${what}: no host named "${spec.slice(0, i)}"`);
    const link = spec.slice(i + 1);
    try {
      host.link.get(link);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    return { host, link, key: spec };
  }

  // ---- traffic

  /** The host's stack sends IPv4 packets, now. */
  send(host: string, packets: Uint8Array[]): void {
    const h = this.get(host);
    for (const packet of packets) this.enqueue(this.now, { kind: 'send', host: h, packet });
  }

  /** Frames arriving on a link from outside the network, now. */
  inject(link: string, frames: Uint8Array[]): void {
    const end = this.end(link, 'inject');
    for (const frame of frames) this.enqueue(this.now, { kind: 'rx', end, frame });
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
   * Delivers what is in flight and whatever it causes, in time order, FIFO at
   * each instant. With `until`, time also passes when nothing is in flight:
   * hosts are ticked every second, so ARP retries and failures happen.
   */
  run(opts: RunOptions = {}): RunSummary {
    const { until, maxSteps = DEFAULT_MAX_STEPS } = opts;
    if (until !== undefined && !(Number.isFinite(until) && until >= this.now)) {
      throw new Error(`network run: until ${until} is not a time at or after now (${this.now})`);
    }
    if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new Error(`network run: invalid maxSteps ${maxSteps}`);
    this.summary = emptySummary(this.now);
    for (;;) {
      const next = this.times.length > 0 ? this.times[0] : Infinity;
      if (until === undefined) {
        if (next === Infinity) break;
        this.wave(next, maxSteps);
        continue;
      }
      // Timers fire before the frames due at the same instant, as the data plane runs them at the start of a batch.
      const tick = (Math.floor(this.now / TICK_MS) + 1) * TICK_MS;
      if (tick <= until && tick <= next) this.tickAll(tick);
      else if (next <= until) this.wave(next, maxSteps);
      else break;
    }
    if (until !== undefined) this.clock = until;
    return this.finish();
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

  /** Frames and packets queued and not yet delivered. */
  get inFlight(): number {
    let n = 0;
    for (const b of this.due.values()) n += b.length;
    return n;
  }

  // ---- the machinery

  private enqueue(time: number, ev: Event): void {
    let bucket = this.due.get(time);
    if (!bucket) {
      this.due.set(time, (bucket = []));
      let i = this.times.length;
      while (i > 0 && this.times[i - 1] > time) i--;
      this.times.splice(i, 0, time);
    }
    bucket.push(ev);
  }

  /** Puts events back at the head of the queue (a run stopped halfway through an instant). */
  private requeue(time: number, evs: Event[]): void {
    if (evs.length === 0) return;
    const later = this.due.get(time) ?? [];
    this.due.delete(time);
    const i = this.times.indexOf(time);
    if (i >= 0) this.times.splice(i, 1);
    for (const ev of [...evs, ...later]) this.enqueue(time, ev);
  }

  /**
   * Everything due at `time` as of now, host by host in order of first
   * appearance, each host's share in batches. What it causes at the same
   * instant forms the next wave.
   */
  private wave(time: number, maxSteps: number): void {
    this.clock = time;
    const events = this.due.get(time)!;
    this.due.delete(time);
    this.times.shift();
    const groups = new Map<Host, Event[]>();
    for (const ev of events) {
      const h = ev.kind === 'rx' ? ev.end.host : ev.host;
      const g = groups.get(h);
      if (g) g.push(ev);
      else groups.set(h, [ev]);
    }
    const order = [...groups];
    for (let g = 0; g < order.length; g++) {
      const [host, evs] = order[g];
      const max = this.batchSize(host);
      for (let i = 0; i < evs.length;) {
        const kind = evs[i].kind;
        let j = i + 1;
        while (j < evs.length && j - i < max && evs[j].kind === kind) j++;
        if (kind === 'rx' && this.summary.steps + (j - i) > maxSteps) {
          this.requeue(time, [...evs.slice(i), ...order.slice(g + 1).flatMap(([, rest]) => rest)]);
          throw new Error(`network run: maxSteps (${maxSteps}) reached at ${this.now} ms with ${this.inFlight} frames in flight; a loop in the L2 topology?`);
        }
        this.batch(host, evs.slice(i, j));
        i = j;
      }
    }
  }

  private batch(host: Host, evs: Event[]): void {
    let outs: Output[];
    if (evs[0].kind === 'rx') {
      const frames = evs.map((ev) => {
        const { end, frame } = ev as Extract<Event, { kind: 'rx' }>;
        this.record(end.key, frame, 'in');
        return { link: end.link, frame };
      });
      outs = host.receive(frames, this.now);
      this.summary.steps += frames.length;
    } else {
      outs = host.send(evs.map((ev) => ({ packet: (ev as Extract<Event, { kind: 'send' }>).packet })), this.now);
      this.summary.sent += evs.length;
    }
    this.handle(host, outs);
  }

  private tickAll(time: number): void {
    this.clock = time;
    for (const h of this.byName.values()) this.handle(h, h.tick(time));
  }

  private handle(host: Host, outs: Output[]): void {
    for (const o of outs) {
      if (o.kind === 'tx') this.transmit(host, o.link, o.frame);
      else if (o.kind === 'local') {
        this.deliveries.get(host.name)!.push({ timeMs: this.now, packet: o.packet });
        this.summary.local++;
      } else {
        this.dropLog.push({ timeMs: this.now, host: host.name, reason: o.reason });
        this.summary.dropped++;
      }
    }
  }

  private transmit(host: Host, link: string, frame: Uint8Array): void {
    const key = `${host.name}:${link}`;
    this.record(key, frame, 'out');
    const at = this.attached.get(key);
    if (!at) {
      this.summary.lost++;
      return;
    }
    const { wire, end } = at;
    const to = egress(wire, end, frame);
    if (to.length === 0) this.summary.filtered++;
    for (const peer of to) this.enqueue(this.now + wire.latencyMs, { kind: 'rx', end: peer, frame });
  }

  private record(key: string, frame: Uint8Array, direction: CapturedFrame['direction']): void {
    const list = this.captures.get(key);
    if (!list) return;
    for (const c of list) if (c.active) c.frames.push({ timeMs: this.now, frame, direction });
  }

  /**
   * A batch's outputs must fit the engine context's output vector and buffer
   * pool, and a bridge copies a flooded frame to every port: the more links a
   * host has, the fewer frames go in one call, or floods would be dropped
   * FULL_RING / NOMEM.
   */
  private batchSize(host: Host): number {
    const ctx = mainContext(this.engine);
    const budget = Math.min(ctx.buffers, ctx.outputs) >> 1;
    return Math.max(1, Math.min(BATCH, ctx.batch, Math.floor(budget / (host.links.length + 2))));
  }

  private finish(): RunSummary {
    const s = this.summary;
    s.now = this.now;
    s.inFlight = this.inFlight;
    this.summary = emptySummary(this.now);
    return s;
  }
}

/** Where a frame sent by `from` on `wire` goes. */
function egress(wire: Wire, from: End, frame: Uint8Array): End[] {
  if (wire.fdb && frame.length >= 14) {
    if ((frame[6] & 1) === 0) wire.fdb.set(macAt(frame, 6), from);
    if ((frame[0] & 1) === 0) {
      const to = wire.fdb.get(macAt(frame, 0));
      if (to) return to === from ? [] : [to];
    }
  }
  return wire.ends.filter((e) => e !== from);
}

function macAt(b: Uint8Array, o: number): number {
  return (b[o] * 2 ** 40) + (b[o + 1] * 2 ** 32) + ((b[o + 2] << 24) >>> 0) + (b[o + 3] << 16) + (b[o + 4] << 8) + b[o + 5];
}

function emptySummary(now: number): RunSummary {
  return { now, steps: 0, sent: 0, local: 0, dropped: 0, lost: 0, filtered: 0, inFlight: 0 };
}
