// Bench modes for connection tracking and NAT:
//  nat      established UDP flows through MASQUERADE (100K and 1M connections)
//  nat-new  new connections per second (rule walk, port choice, entry creation)
//  docker   the published-port path: outside -> host:8080 -> container:80
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { formatIPv4 } from '../src/packet/addr.js';
import { udpPacket, tcpPacket, ipFrame } from '../src/packet/craft.js';
import { dockerRules } from '../src/scenarios/docker.js';
import { gbps } from './timing.js';
import type { Lane } from './lanes.js';
import { pathTask, type BenchTask, type PathLane } from './task.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';
import type { ModelHost } from '../test/model/host.js';
import { median } from './timing.js';
import { modelHosts } from './baseline.js';

const BATCH = 256;
/** The connections a nat mode takes: the conntrack table holds twice as many. */
const CONNECTIONS = { what: 'connections', min: 1, max: 1_048_576 };
type Fn = (...a: number[]) => number;

const GW_IN_MAC = '02:00:0a:00:00:01';
const CLIENT_MAC = '02:00:0a:00:00:02';

const MASQUERADE = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A POSTROUTING -s 10.0.0.0/8 -o eth1 -j MASQUERADE',
  'COMMIT',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
  'COMMIT',
  '',
].join('\n');

/**
 * A masquerading gateway, 10.0.0.0/8 inside on eth0 and 192.168.1.1 outside
 * on eth1: the same configuration for the engine and for the model.
 */
function configureGateway<H extends Host | ModelHost>(gw: H, max: number): H {
  gw.link.add({ name: 'eth0', type: 'ether', mac: GW_IN_MAC });
  gw.addr.add('eth0', '10.0.0.1/8');
  gw.link.add({ name: 'eth1', type: 'ether', mac: '02:00:c0:a8:01:01' });
  gw.addr.add('eth1', '192.168.1.1/24');
  gw.route.add({ dst: 'default', via: '192.168.1.254' });
  gw.neigh.add({ ip: '192.168.1.254', mac: '02:00:c0:a8:01:fe', dev: 'eth1' });
  gw.conntrack.max = max;
  gw.rules.load(MASQUERADE);
  return gw;
}

function gateway(e: Engine, max: number): Host {
  return configureGateway(new Host({ name: 'gw', forwarding: true, engine: e }), max);
}

/**
 * The model's rate on `flows` flows: new connections (the first pass) or
 * established ones (the passes after), in million packets per second; null
 * when the model is absent (an installed podnet).
 */
async function modelRates(flows: number, size: number): Promise<{ established: number | null; fresh: number | null }> {
  const model = await modelHosts();
  if (!model) return { established: null, fresh: null };
  const m: ModelHost = configureGateway(model.ModelHost.create({ name: 'gw', forwarding: true }), flows * 2);
  const frames = Array.from({ length: flows }, (_, i) => ({ link: 'eth0', frame: flowFrame(i, size), tag: i }));
  const pass = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < frames.length; i += BATCH) m.receive(frames.slice(i, i + BATCH).map((f) => ({ ...f, frame: f.frame.slice() })), 1);
    return Number(process.hrtime.bigint() - t0) / frames.length;
  };
  const fresh = pass();
  const established = median([pass(), pass(), pass()]);
  return { established: 1e3 / established, fresh: 1e3 / fresh };
}

/** Flow i: a client inside (10.x.y.z, a port) to one of a few servers outside. */
function flowFrame(i: number, size: number): Uint8Array {
  const client = formatIPv4((10 << 24) | (1 << 16) | (1 + (i >>> 6)));
  const server = `198.51.${100 + ((i >>> 8) & 3)}.${1 + (i & 253)}`; // about 1,000 servers: ports enough for 1M flows
  const payload = size - 4 - 14 - 20 - 8;
  return ipFrame(GW_IN_MAC, CLIENT_MAC, udpPacket({ src: client, dst: server, sport: 1024 + (i & 63) * 512 + ((i >>> 6) & 511), dport: 443, size: payload }));
}

interface Replay {
  ctx: Context;
  tmpl: number;
  stride: number;
  count: number;
  vec: number;
}

/**
 * count flows' frames in a template area, replayed BATCH at a time through
 * one input vector; the last batch is filled up with the first flows again.
 */
function replay(e: Engine, frames: (i: number) => Uint8Array, count: number, link: number): Replay {
  const ctx = new Context(e, { buffers: BATCH * 2 });
  const first = frames(0);
  const stride = (first.length + 63) & ~63;
  const slots = batchesOf(count) * BATCH;
  const tmpl = e.alloc(slots * stride);
  for (let i = 0; i < slots; i++) e.u8.set(frames(i % count), tmpl + i * stride);
  for (let i = 0; i < BATCH; i++) ctx.setInput(i, L.K_RX, link, first, i);
  ctx.recordDrops = false;
  return { ctx, tmpl, stride, count, vec: ctx.input };
}

/** Whole batches that hold count frames. */
function batchesOf(count: number): number {
  return Math.ceil(count / BATCH);
}

function runner(e: Engine, host: Host, r: Replay): (b: number) => number {
  const process = e.dp.process as Fn;
  const refill = e.dp.rx_refill as Fn;
  const batches = batchesOf(r.count);
  return (b: number) => {
    refill(r.vec, BATCH, r.tmpl + (b % batches) * BATCH * r.stride, r.stride);
    return process(r.ctx.ptr, host.ptr, r.vec, BATCH, 1);
  };
}

/**
 * A lane of `conns` established connections through a masquerading
 * gateway: the first pass makes them (the table grows between batches),
 * the lane replays them.
 */
function natLane(e: Engine, conns: number, size: number, extras: () => Partial<BenchResult>): PathLane {
  const gw = gateway(e, conns * 2);
  const r = replay(e, (i) => flowFrame(i, size), conns, 0);
  const run = runner(e, gw, r);
  const batches = batchesOf(conns);
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    gw.commit();
    const n = run(b);
    if (n !== BATCH) throw new Error(`nat: ${BATCH - n} of a batch dropped: ${JSON.stringify(gw.stats().drops)}`);
  }
  const setupMs = performance.now() - t0;
  if (gw.conntrack.count !== conns) throw new Error(`nat: ${gw.conntrack.count} connections, expected ${conns}`);
  return { lane: replayLane(gw, r), hosts: [gw], extras: () => ({ ...extras(), setupMs: Math.round(setupMs) }) };
}

/** The lane a replay runs: one host, its template batches in turn. */
function replayLane(host: Host, r: Replay): Lane {
  return { ctx: r.ctx.ptr, hosts: [host.ptr], links: [], vecs: [r.vec], outs: [], outCap: 0, refill: { tmpl: r.tmpl, stride: r.stride, batches: batchesOf(r.count) }, now: 1 };
}

export const natMode: BenchMode = {
  name: 'nat',
  description: 'established UDP connections through MASQUERADE, at 100K and 1M connections',
  flows: CONNECTIONS,
  variants: (opts) => (opts.flows ? [opts.flows] : opts.quick ? [10_000] : [100_000, 1_000_000]),
  async task(opts: BenchOptions): Promise<BenchTask> {
    const conns = opts.flows;
    const tableSize = opts.quick ? 2048 : 8192;
    const model = opts.workers === 1 ? (await modelRates(tableSize, opts.size)).established : undefined;
    const extras = (): Partial<BenchResult> => ({
      flows: conns,
      label: `MASQUERADE, ${conns} connections`,
      ...(model !== undefined ? { baselines: { model }, baselineTableSize: tableSize } : {}),
    });
    return pathTask(opts, (e) => natLane(e, conns, opts.size, extras));
  },
};

export const natNewMode: BenchMode = {
  name: 'nat-new',
  description: 'new connections per second through MASQUERADE (rules, port choice, entry creation)',
  flows: CONNECTIONS,
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const conns = opts.flows || (opts.quick ? 65_536 : 1_048_576);
    const e = new Engine({ initialMiB: 64 });
    const gw = gateway(e, conns * 2);
    const r = replay(e, (i) => flowFrame(i, opts.size), conns, 0);
    const run = runner(e, gw, r);
    const batches = batchesOf(conns);
    // The table is grown to its final size first, so growth is not measured.
    for (let b = 0; b < batches; b++) {
      gw.commit();
      if (run(b) !== BATCH) throw new Error(`nat-new: frames did not come through: ${JSON.stringify(gw.stats().drops)}`);
    }
    const rounds: number[] = [];
    for (let round = 0; round < (opts.quick ? 2 : 4); round++) {
      gw.conntrack.flush();
      gw.commit();
      const t0 = process.hrtime.bigint();
      for (let b = 0; b < batches; b++) run(b);
      rounds.push(Number(process.hrtime.bigint() - t0) / (batches * BATCH));
      opts.progress((round + 1) / 4);
    }
    if (gw.conntrack.count !== conns) throw new Error(`nat-new: ${gw.conntrack.count} connections, expected ${conns}: ${JSON.stringify(gw.stats().drops)} ${JSON.stringify(gw.stats().stages)}`);
    rounds.sort((a, b) => a - b);
    const ns = rounds[rounds.length >> 1];
    const mpps = 1e3 / ns;
    return [{
      mode: 'nat-new', size: opts.size, flows: conns, workers: 1, mpps, gbps: gbps(mpps, opts.size), nsPerPacket: ns,
      label: 'new connections (M/s)',
      baselines: { model: (await modelRates(opts.quick ? 2048 : 8192, opts.size)).fresh },
    }];
  },
};

/**
 * A lane of Docker's published-port path: a host with Docker's rules and
 * `flows` client connections from outside, made by their handshakes, then
 * replayed as established ACKs.
 */
function dockerLane(e: Engine, flows: number, size: number): PathLane {
  const host = new Host({ name: 'docker-host', forwarding: true, engine: e });
  host.link.add({ name: 'eth0', type: 'ether', mac: '02:00:c0:a8:00:0b' });
  host.addr.add('eth0', '192.168.0.11/24');
  host.route.add({ dst: 'default', via: '192.168.0.1' });
  host.neigh.add({ ip: '192.168.0.1', mac: '02:00:c0:a8:00:01', dev: 'eth0' });
  host.link.add({ name: 'docker0', type: 'bridge', mac: '02:42:ac:11:00:01' });
  host.addr.add('docker0', '172.17.0.1/16');
  host.link.add({ name: 'veth0', type: 'veth', master: 'docker0' });
  host.neigh.add({ ip: '172.17.0.2', mac: '02:42:ac:11:00:02', dev: 'docker0' });
  host.fdb.add({ mac: '02:42:ac:11:00:02', dev: 'veth0' });
  host.conntrack.max = flows * 2;
  host.rules.load(dockerRules([{ ip: '172.17.0.2', publish: [{ hostPort: 8080, containerPort: 80 }] }], true));
  const payload = new Uint8Array(Math.max(0, size - 4 - 14 - 20 - 20));
  const frame = (i: number, flags: string) => ipFrame('02:00:c0:a8:00:0b', '02:00:c0:a8:00:01', tcpPacket({
    src: formatIPv4((203 << 24) | (i + 256)), dst: '192.168.0.11', sport: 40000 + (i % 20000), dport: 8080, flags, seq: 1, ack: 1, payload,
  }));
  const eth0 = host.link.get('eth0').index;
  // Replayed buffers are reused batch after batch: every frame must come out.
  const all = (n: number, what: string) => {
    if (n !== BATCH) throw new Error(`docker: ${BATCH - n} ${what} of a batch did not come through: ${JSON.stringify(host.stats().drops)}`);
  };
  const runSyn = runner(e, host, replay(e, (i) => frame(i, 'S'), flows, eth0));
  for (let b = 0; b < batchesOf(flows); b++) {
    host.commit();
    all(runSyn(b), 'SYNs');
  }
  // The containers' SYN-ACKs would make them ESTABLISHED; mark them so by a reply each.
  const reply = (i: number) => ipFrame('02:42:ac:11:00:01', '02:42:ac:11:00:02', tcpPacket({
    src: '172.17.0.2', dst: formatIPv4((203 << 24) | (i + 256)), sport: 80, dport: 40000 + (i % 20000), flags: 'SA', seq: 1, ack: 2,
  }));
  const runSynAck = runner(e, host, replay(e, reply, flows, host.link.get('veth0').index));
  for (let b = 0; b < batchesOf(flows); b++) all(runSynAck(b), 'SYN-ACKs');
  const ack = replay(e, (i) => frame(i, 'A'), flows, eth0);
  const run = runner(e, host, ack);
  for (let b = 0; b < batchesOf(flows); b++) all(run(b), 'ACKs');
  return {
    lane: replayLane(host, ack),
    hosts: [host],
    extras: () => ({ flows, label: 'outside -> host:8080 -> container:80, established' }),
  };
}

export const dockerMode: BenchMode = {
  name: 'docker',
  description: "Docker's published-port path: outside -> host:8080 -> DNAT -> docker0 -> container:80",
  flows: { ...CONNECTIONS, what: 'client connections' },
  task: (opts) => pathTask(opts, (e) => dockerLane(e, opts.flows || 65_536, opts.size)),
};
