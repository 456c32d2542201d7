// Following one packet through a network, stage by stage, as VPP's `show
// trace` or pwru do: the network runs on the trace build of the data plane,
// whose stages record each decision into a buffer of the worker's context;
// this reads the records back and says what each one means, host by host.
import * as L from '../engine/layout.gen.js';
import { Engine } from '../engine/engine.js';
import type { Host } from '../host.js';
import type { Network } from '../network.js';
import { describe, describeIp, ipFrame } from '../packet/craft.js';
import { BUILTIN_CHAINS } from '../netfilter/iptables.js';
import { buildScenario } from '../scenarios/build.js';
import { builtinScenario } from '../scenarios/builtin.js';
import type { Scenario } from '../scenarios/spec.js';
import { settle } from '../scenarios/probe.js';
import { eventKind, type HostView, type RawEvent } from './events.js';
import { packetOf, parsePacketSpec } from './packet-spec.js';

/** Room for a trace's records: thousands of events, each with its packet. */
const TRACE_BUFFER = 4 << 20;

export interface TraceOptions {
  /**
   * Where the packet starts: `HOST` (the host's own stack sends it) or
   * `HOST:LINK` (a frame arriving on that link from its wire).
   */
  from: string;
  /**
   * The packet: a description (`udp 10.0.0.1:4000 > 10.0.0.2:53`, host names
   * allowed for addresses), an IPv4 packet (from a host), or Ethernet frames
   * (arriving on a link: several are sent in turn).
   */
  packet: string | Uint8Array | Uint8Array[];
}

export interface TraceStep {
  host: string;
  timeMs: number;
  /** The event: 'rx', 'route', 'chain', 'conntrack', 'nat', 'tx', 'drop', ... */
  event: string;
  /** The pipeline stage that took the decision (an assembly/stages/ file). */
  stage: string;
  /** The Linux function the stage follows. */
  fn: string;
  /** The decision, in words. */
  text: string;
  /** The event's raw words (assembly/trace/events.ts says what each is). */
  words: number[];
  /** The frame or packet the event carries (rx, tx, originate, deliver), as it was then. */
  bytes?: Uint8Array;
}

export interface PacketTrace {
  from: string;
  /** The packet as sent, described. */
  packet: string;
  steps: TraceStep[];
  /** Events the buffer had no room for (0 unless the packet loops for long). */
  lost: number;
}

/**
 * Builds a scenario (or a built-in one, by name) on the trace build of the
 * data plane and traces one packet through it.
 */
export function traceScenario(scenario: Scenario | string, opts: TraceOptions, engine?: Engine): PacketTrace {
  const s = typeof scenario === 'string' ? builtinScenario(scenario) : scenario;
  if (!s) throw new Error(`trace: no built-in scenario "${scenario}" (a file: loadScenario() it first)`);
  const built = buildScenario(s, { engine: engine ?? new Engine({ trace: true }) });
  return tracePacket(built.net, opts);
}

/**
 * Sends one packet into a network whose engine is a trace build (`new
 * Engine({ trace: true })`), lets the network settle, and returns what every
 * stage of every host did with it and with what it caused (ARP, answers,
 * ICMP errors), in the order it happened.
 */
export function tracePacket(net: Network, opts: TraceOptions): PacketTrace {
  const e = net.engine;
  if (!e.traces) throw new Error('trace: the network does not run the trace build of the data plane; build it on new Engine({ trace: true }) (traceScenario does)');
  const { host, link } = endpoint(net, opts.from);
  const spec = typeof opts.packet === 'string' ? parsePacketSpec(opts.packet, (name) => addressOf(net, name)) : undefined;
  const packet = spec ? packetOf(spec) : opts.packet as Uint8Array | Uint8Array[];
  let frames: Uint8Array[];
  let what: string;
  if (link === undefined) {
    if (Array.isArray(packet)) throw new Error(`trace: from ${opts.from}, a host's stack sends one IPv4 packet`);
    what = describeIp(packet);
    frames = [packet];
  } else {
    const l = host.link.get(link);
    frames = Array.isArray(packet) ? packet : [spec ? ipFrame(l.mac, peerMac(net, host, l.index), packet) : packet];
    what = frames.map(describe).join('; ');
  }
  const { steps, lost } = traceSteps(net, () => {
    for (const f of frames) {
      if (link === undefined) net.send(host.name, [f]);
      else net.inject(`${host.name}:${link}`, [f]);
      settle(net);
    }
  });
  return { from: opts.from, packet: what, steps, lost };
}

/**
 * The steps of whatever `act` makes the network do (it sends and runs), on a
 * network whose engine is a trace build.
 */
export function traceSteps(net: Network, act: () => void): { steps: TraceStep[]; lost: number } {
  const e = net.engine;
  if (!e.traces) throw new Error('trace: the network does not run the trace build of the data plane; build it on new Engine({ trace: true })');
  const buffers = attach(net);
  try {
    act();
    const raw = buffers.flatMap((b) => read(e, b));
    const lost = buffers.reduce((n, b) => n + e.dv.getUint32(b + L.TB_LOST, true), 0);
    return { steps: explain(net, merge(net, raw)), lost };
  } finally {
    detach(net, buffers);
  }
}

/** `HOST` or `HOST:LINK` of the network. */
function endpoint(net: Network, from: string): { host: Host; link?: string } {
  const i = from.indexOf(':');
  const host = net.get(i < 0 ? from : from.slice(0, i));
  if (i < 0) return { host };
  const link = from.slice(i + 1);
  host.link.get(link);
  return { host, link };
}

function addressOf(net: Network, name: string): string {
  const h = net.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`"${name}" is neither an address nor a host of the network`);
  const a = h.addr.list().find((x) => !x.cidr.startsWith('127.'));
  if (!a) throw new Error(`host ${name} has no address`);
  return a.cidr.split('/')[0];
}

/** The MAC at the other end of a host's wired link (a veth's peer), or a made-up one beyond a segment. */
function peerMac(net: Network, host: Host, index: number): string {
  const dv = net.engine.dv;
  const port = dv.getUint32(host.linkPtr(index) + L.L_PEER, true);
  if (port !== 0) {
    const rank = dv.getUint32(port + L.PT_NODE, true);
    const peer = net.hosts.find((h) => dv.getUint32(h.ptr + L.H_RANK, true) === rank);
    const mac = peer?.link.list()[dv.getUint32(port + L.PT_LINK, true)]?.mac;
    if (mac) return mac;
  }
  return PEER_MAC;
}

const PEER_MAC = '02:00:00:00:00:fe';

function attach(net: Network): number[] {
  const e = net.engine;
  return net.contextPointers.map((ctx) => {
    const tb = e.alloc(L.TB_HDR + TRACE_BUFFER);
    const dv = e.dv;
    dv.setUint32(tb + L.TB_CAP, TRACE_BUFFER, true);
    dv.setUint32(ctx + L.C_TRACE, tb, true);
    return tb;
  });
}

function detach(net: Network, buffers: number[]): void {
  const e = net.engine;
  net.contextPointers.forEach((ctx, k) => {
    e.dv.setUint32(ctx + L.C_TRACE, 0, true);
    e.arena.release(buffers[k], L.TB_HDR + TRACE_BUFFER);
  });
}

function read(e: Engine, tb: number): RawEvent[] {
  const dv = e.dv;
  const out: RawEvent[] = [];
  const end = tb + L.TB_HDR + dv.getUint32(tb + L.TB_USED, true);
  for (let r = tb + L.TB_HDR; r < end;) {
    const len = dv.getUint16(r + L.TR_LEN, true);
    out.push({
      ev: dv.getUint16(r + L.TR_EV, true),
      host: dv.getUint32(r + L.TR_HOST, true),
      wave: dv.getUint32(r + L.TR_WAVE, true),
      timeMs: dv.getFloat64(r + L.TR_TIME, true),
      words: [0, 1, 2, 3, 4].map((i) => dv.getUint32(r + L.TR_A + 4 * i, true)),
      bytes: e.u8.slice(r + L.TR_HDR, r + L.TR_HDR + len),
    });
    r += (L.TR_HDR + len + 7) & ~7;
  }
  return out;
}

/** The workers' records in the network's canonical order: by wave, then by node rank. */
function merge(net: Network, raw: RawEvent[]): RawEvent[] {
  if (net.workers === 1) return raw;
  const dv = net.engine.dv;
  const rank = (r: RawEvent) => dv.getUint32(r.host + L.H_RANK, true);
  return raw.map((r, i) => ({ r, i })).sort((a, b) => a.r.wave - b.r.wave || rank(a.r) - rank(b.r) || a.i - b.i).map((x) => x.r);
}

function explain(net: Network, raw: RawEvent[]): TraceStep[] {
  const hosts = new Map(net.hosts.map((h) => [h.ptr, h]));
  const views = new Map<number, HostView>();
  return raw.map((r) => {
    const h = hosts.get(r.host);
    let view = views.get(r.host);
    if (!view) views.set(r.host, (view = h ? viewOf(net, h) : UNKNOWN));
    const kind = eventKind(r.ev);
    const carries = r.ev === L.EV_RX || r.ev === L.EV_TX || r.ev === L.EV_ORIGINATE || r.ev === L.EV_DELIVER;
    return { host: h?.name ?? '?', timeMs: r.timeMs, event: kind.name, stage: kind.stage, fn: kind.fn, text: kind.text(r, view), words: r.words, ...(carries ? { bytes: r.bytes } : {}) };
  });
}

const UNKNOWN: HostView = { link: (i) => `link ${i}`, mac: () => '?', rule: (o) => `rule at ${o}` };

function viewOf(net: Network, h: Host): HostView {
  const links = h.link.list();
  let rules: ((offset: number) => string) | undefined;
  return {
    link: (i) => (i === 0xffff ? '(none)' : links[i]?.name ?? `link ${i}`),
    mac: (i) => links[i]?.mac ?? '?',
    rule: (offset) => (rules ??= ruleNames(h))(offset),
  };
}

/** The rule at a verdict's offset, as the host's rules noun names it. */
function ruleNames(h: Host): (offset: number) => string {
  return (offset) => {
    const place = h.rules.ruleAt(offset);
    if (!place) return `the rule at offset ${offset} of the ruleset`;
    if (place.text) return place.text;
    return BUILTIN_CHAINS[place.table].includes(place.chain) ? `the policy of ${place.chain}` : `the end of ${place.chain} (back to its caller)`;
  };
}

/** The trace as a person reads it: host by host, one line per stage. */
export function formatTrace(t: PacketTrace): string {
  const out = [`trace ${t.packet}`, `  from ${t.from}`];
  let last = '';
  const stage = Math.max(10, ...t.steps.map((s) => s.stage.length));
  const fn = Math.max(10, ...t.steps.map((s) => s.fn.length));
  for (const s of t.steps) {
    const head = `${s.host} at ${s.timeMs.toFixed(3)} ms`;
    if (head !== last) {
      out.push('', head);
      last = head;
    }
    out.push(`  ${s.stage.padEnd(stage)}  ${s.fn.padEnd(fn)}  ${s.text}`);
  }
  if (t.steps.length === 0) out.push('', 'nothing happened: no host took the packet in');
  if (t.lost) out.push('', `(${t.lost} more events found no room in the trace buffer)`);
  return out.join('\n') + '\n';
}
