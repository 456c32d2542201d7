// The headline: Calico's pod-to-pod path (pod -> node 1 -> underlay -> node 2
// -> pod) in IPIP mode against native (BGP) mode, and the two IPIP halves
// alone. Frames are moved from one node to the next by descriptor, as a wire.
// The -felix variants load Felix's rules on both nodes (buildCalico's felix)
// and time themselves against the same path without rules, in one engine,
// in alternating rounds: the difference is netfilter's cost per packet (both
// nodes' hooks, conntrack and the rule walk).
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import type { Host } from '../src/host.js';
import { buildCalico, CALI_MAC } from '../src/scenarios/calico.js';
import { udpPacket, ipFrame } from '../src/packet/craft.js';
import { gbps, median } from './timing.js';
import { Engine } from '../src/engine/engine.js';
import { runLane, type Lane } from './lanes.js';
import { pathTask, PER_SAMPLE, type PathLane } from './task.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';

const BATCH = 256;
const PODS = 10;
/** Flows by default; the templates are the flows repeated to whole batches. */
const DEFAULT_FLOWS = 4096;
export const CALICO_FLOWS = { what: 'UDP flows between the pods', min: 1, max: 65_536 };
const TUNNEL_MTU = 1480;
/** The largest frame (FCS included) whose IPv4 packet fits tunl0. */
const MAX_IPIP_SIZE = TUNNEL_MTU + 14 + 4;
type Kind = 'calico-ipip' | 'calico-native' | 'ipip-encap' | 'ipip-decap' | 'calico-ipip-felix' | 'calico-native-felix';

interface Path {
  ctx: Context;
  hosts: Host[];
  /** Link index on hosts[k+1] where hosts[k]'s frames arrive. */
  links: number[];
  vecs: number[];
  templates: number;
  stride: number;
  frameLen: number;
  payload: number;
}

function podMac(node: number, pod: number): string {
  return `02:aa:00:00:${node.toString(16).padStart(2, '0')}:${pod.toString(16).padStart(2, '0')}`;
}

/** Two nodes with PODS pods each; frames from node 1's pods to node 2's. */
function setup(kind: Kind, opts: BenchOptions, engine: Engine): Path {
  const ipip = !kind.startsWith('calico-native');
  const cluster = buildCalico({ nodes: 2, podsPerNode: PODS, ipipMode: ipip ? 'Always' : 'Never', engine, felix: kind.endsWith('-felix') });
  const [n1, n2] = cluster.nodes;
  const e = cluster.engine;
  // The underlay and the pods' MACs are resolved: the path measured is the steady state.
  n1.host.neigh.add({ ip: n2.ip, mac: n2.host.link.get('eth0').mac, dev: 'eth0' });
  n2.host.neigh.add({ ip: n1.ip, mac: n1.host.link.get('eth0').mac, dev: 'eth0' });
  n2.pods.forEach((p, j) => n2.host.neigh.add({ ip: p.ip, mac: podMac(2, j), dev: p.cali }));
  const ctx = new Context(e, { buffers: BATCH * 4, outputs: BATCH * 4 });
  const frameLen = opts.size - 4; // without the FCS
  const payload = frameLen - 14 - 20 - 8;
  if (payload < 0) throw new Error(`${kind}: --size ${opts.size} is too small for a UDP frame`);
  if (frameLen - 14 > TUNNEL_MTU && ipip) throw new Error(`${kind}: --size ${opts.size} does not fit tunl0's MTU of ${TUNNEL_MTU}`);
  const flows = opts.flows || DEFAULT_FLOWS;
  const stride = (frameLen + 63) & ~63;
  // Whole batches of templates: flow i % flows in slot i.
  const templates = Math.ceil(flows / BATCH) * BATCH;
  const tmpl = e.alloc(templates * stride);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < templates; i++) {
    const f = i % flows;
    const a = f % PODS;
    const b = Math.floor(f / PODS) % PODS;
    const ip = udpPacket({ src: n1.pods[a].ip, dst: n2.pods[b].ip, sport: 10000 + Math.floor(f / (PODS * PODS)), dport: 5201, size: payload });
    frames.push(ipFrame(CALI_MAC, podMac(1, a), ip));
  }
  const hosts = [n1.host, n2.host];
  const n1Links = frames.map((_, i) => n1.host.link.get(n1.pods[(i % flows) % PODS].cali).index);
  const eth0On2 = n2.host.link.get('eth0').index;
  hosts.forEach((h) => h.commit());
  if (kind === 'ipip-decap') {
    // Node 2 alone, fed with what node 1 puts on the underlay.
    const out = n1.host.receive(frames.map((frame, i) => ({ link: n1.pods[(i % flows) % PODS].cali, frame })), 0);
    const encapsulated = out.filter((o) => o.kind === 'tx').map((o) => (o as { frame: Uint8Array }).frame);
    if (encapsulated.length !== templates) throw new Error('ipip-decap: node 1 did not encapsulate every frame');
    const s2 = (encapsulated[0].length + 63) & ~63;
    const t2 = e.alloc(templates * s2);
    encapsulated.forEach((f, i) => e.u8.set(f, t2 + i * s2));
    const vecs = makeVectors(ctx, encapsulated, () => eth0On2);
    return { ctx, hosts: [n2.host], links: [], vecs, templates: t2, stride: s2, frameLen, payload };
  }
  frames.forEach((f, i) => e.u8.set(f, tmpl + i * stride));
  const vecs = makeVectors(ctx, frames, (i) => n1Links[i]);
  return { ctx, hosts: kind === 'ipip-encap' ? [n1.host] : hosts, links: [eth0On2], vecs, templates: tmpl, stride, frameLen, payload };
}

/** Input vectors of BATCH descriptors, one per template, each with its own buffer. */
function makeVectors(ctx: Context, frames: Uint8Array[], link: (i: number) => number): number[] {
  const e = ctx.engine;
  const vecs: number[] = [];
  for (let start = 0; start < frames.length; start += BATCH) {
    const vec = e.alloc(BATCH * L.DESC_SIZE);
    for (let j = 0; j < BATCH; j++) {
      const i = (start + j) % frames.length;
      const d = vec + j * L.DESC_SIZE;
      const buf = j < BATCH && start === 0 ? ctx.allocBuffer() : e.dv.getUint32(vecs[0] + j * L.DESC_SIZE + L.D_BUF, true);
      e.dv.setUint32(d + L.D_BUF, buf, true);
      e.dv.setUint16(d + L.D_OFF, L.HEADROOM, true);
      e.dv.setUint16(d + L.D_LEN, frames[i].length, true);
      e.dv.setUint16(d + L.D_LINK, link(i), true);
      e.dv.setUint8(d + L.D_KIND, L.K_RX);
    }
    vecs.push(vec);
  }
  return vecs;
}

/**
 * One lane of the measured path: each batch refills one vector of frames
 * and takes it through every host of the path, node 1's outputs becoming
 * node 2's inputs by descriptor, as a wire. Checked: every frame comes through.
 */
export function calicoLane(kind: Kind, opts: BenchOptions, e: Engine): PathLane {
  const p = setup(kind, opts, e);
  const multi = p.hosts.length > 1;
  const lane: Lane = {
    ctx: p.ctx.ptr,
    hosts: p.hosts.map((h) => h.ptr),
    links: p.links,
    vecs: p.vecs,
    outs: multi ? [e.alloc(BATCH * 4 * L.DESC_SIZE), e.alloc(BATCH * 4 * L.DESC_SIZE)] : [],
    outCap: BATCH * 4,
    refill: { tmpl: p.templates, stride: p.stride, batches: p.vecs.length },
    now: 1,
  };
  for (const h of p.hosts) h.commit();
  for (let b = 0; b < p.vecs.length * 2; b++) {
    // Room for the batch's new connections (with rules loaded), as receive() makes it.
    for (const h of p.hosts) h.conntrack.grow(2 * BATCH + 2);
    const n = runLane(e.dp, () => e.dv, lane, b, 1);
    if (n !== BATCH) {
      const why = p.hosts.map((h) => `${h.name} ${JSON.stringify(h.stats().drops)}`).join('; ');
      throw new Error(`${kind}: ${n} of ${BATCH} frames came through (${why})`);
    }
  }
  const ipip = !kind.startsWith('calico-native');
  const underlayBytes = opts.size + (ipip ? 20 : 0);
  return {
    lane,
    hosts: p.hosts,
    extras: (mpps) => ({
      flows: opts.flows || DEFAULT_FLOWS,
      label: kind === 'ipip-encap' ? 'node 1: pod -> tunl0 -> eth0' : kind === 'ipip-decap' ? 'node 2: eth0 -> tunl0 -> pod' : 'pod -> node1 -> underlay -> node2 -> pod',
      underlayFrame: underlayBytes,
      underlayGbps: gbps(mpps, underlayBytes),
      goodputGbps: (mpps * p.payload * 8) / 1000,
    }),
  };
}

function mode(kind: Kind, description: string): BenchMode {
  return {
    name: kind,
    description,
    defaultSizes: kind.startsWith('calico') ? [64, 512, 1400] : [64],
    flows: CALICO_FLOWS,
    ...(kind.startsWith('calico-native') ? {} : { sizes: { min: 64, max: MAX_IPIP_SIZE, why: `an IPIP frame's packet must fit tunl0's MTU of ${TUNNEL_MTU}` } }),
    ...(kind.endsWith('-felix') ? { run: (opts: BenchOptions) => felixRun(kind, opts) } : { task: (opts: BenchOptions) => pathTask(opts, (e) => calicoLane(kind, opts, e)) }),
  };
}

/**
 * A -felix mode: the path with Felix's rules and the same path without, in
 * one engine, timed in alternating rounds of PER_SAMPLE batches (one worker);
 * the rate is the first's, the second's is its baseline, and their
 * difference netfilter's cost per packet.
 */
async function felixRun(kind: Kind, opts: BenchOptions): Promise<BenchResult[]> {
  const e = new Engine({ initialMiB: 64 });
  const paths = [calicoLane(kind, opts, e), calicoLane(kind.replace('-felix', '') as Kind, opts, e)];
  const next = paths.map((p) => p.lane.vecs.length * 2);
  const rounds = opts.quick ? 5 : 41;
  const ns: number[][] = [[], []];
  for (let r = -3; r < rounds; r++) {
    for (const [k, p] of paths.entries()) {
      const t0 = process.hrtime.bigint();
      runLane(e.dp, () => e.dv, p.lane, next[k], PER_SAMPLE);
      const t = Number(process.hrtime.bigint() - t0) / (PER_SAMPLE * BATCH);
      next[k] += PER_SAMPLE;
      if (r >= 0) ns[k].push(t);
    }
    if (r >= 0) opts.progress((r + 1) / rounds);
  }
  for (const p of paths) for (const h of p.hosts) if (h.stats().fates.dropped) throw new Error(`${kind}: frames were dropped on ${h.name}`);
  const [felix, bare] = ns.map(median);
  const mpps = 1e3 / felix;
  return [{
    mode: kind, size: opts.size, flows: opts.flows || DEFAULT_FLOWS, workers: 1,
    mpps, gbps: gbps(mpps, opts.size), nsPerPacket: felix,
    ...paths[0].extras?.(mpps),
    baselines: { 'without rules': 1e3 / bare },
    withoutRulesNsPerPacket: bare,
    netfilterNsPerPacket: felix - bare,
    rulesPerNode: paths[0].hosts[0].rules.save().split('\n').filter((l) => l.startsWith('-A ')).length,
  }];
}

export const calicoIpipMode = mode('calico-ipip', "Calico pod-to-pod across two nodes, IPIP mode (tunl0)");
export const calicoNativeMode = mode('calico-native', 'Calico pod-to-pod across two nodes, native (BGP) mode');
export const ipipEncapMode = mode('ipip-encap', 'one node encapsulating pod traffic into IPIP');
export const ipipDecapMode = mode('ipip-decap', 'one node decapsulating IPIP to its pods');
export const calicoIpipFelixMode = mode('calico-ipip-felix', "Calico pod-to-pod, IPIP mode, with Felix's rules on both nodes (against the same path without rules)");
export const calicoNativeFelixMode = mode('calico-native-felix', "Calico pod-to-pod, native mode, with Felix's rules on both nodes (against the same path without rules)");
