// Bench mode 'route': the whole IPv4 forward path of a router Host (ethernet
// input, IPv4 checks, LPM over an Internet-shaped table, TTL, neighbour,
// MAC rewrite, transmit), 64-byte frames, batches of 256, one core.
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { formatCidr, formatIPv4 } from '../src/packet/addr.js';
import { udpPacket, ipFrame } from '../src/packet/craft.js';
import { internetTable, prng } from './tables.js';
import { runLane, type Lane } from './lanes.js';
import { pathTask, type BenchTask, type PathLane } from './task.js';
import { modelMpps } from './baseline.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';
import type { ModelHost } from '../test/model/host.js';

const BATCH = 256;
const TEMPLATES = 65536;
const ROUTER_MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:02';

function excluded(a: number): boolean {
  const top = a >>> 24;
  return top === 0 || top === 10 || top === 127 || top >= 224 || (a >>> 16) === 0xc0a8;
}

/** The router, the same for the engine and the model baseline. */
function router(h: Host | ModelHost): void {
  h.link.add({ name: 'eth0', type: 'ether', mac: ROUTER_MAC });
  h.addr.add('eth0', '10.0.0.1/24');
  for (let l = 1; l <= 4; l++) {
    h.link.add({ name: `eth${l}`, type: 'ether', mac: `02:00:00:00:0${l}:01` });
    h.addr.add(`eth${l}`, `192.168.${l}.1/24`);
    for (let g = 2; g < 6; g++) h.neigh.add({ ip: `192.168.${l}.${g}`, mac: `02:00:00:00:0${l}:0${g}`, dev: `eth${l}` });
  }
}

const GATEWAYS: { via: string; dev: string }[] = [];
for (let l = 1; l <= 4; l++) for (let g = 2; g < 6; g++) GATEWAYS.push({ via: `192.168.${l}.${g}`, dev: `eth${l}` });

/** Exactly `routes` routes of an Internet-shaped table (prefixes the router's own networks would shadow left out), and frames to random destinations in them. */
function trafficPlan(routes: number, size: number): { specs: { dst: string; via: string; dev: string }[]; frames: Uint8Array[] } {
  const specs: { dst: string; via: string; dev: string }[] = [];
  const kept: { addr: number; len: number }[] = [];
  for (let extra = 64; kept.length < routes; extra *= 4) {
    const table = internetTable(routes + extra, 1);
    specs.length = 0;
    kept.length = 0;
    for (let i = 0; i < table.count && kept.length < routes; i++) {
      if (excluded(table.addrs[i])) continue;
      const gw = GATEWAYS[i % GATEWAYS.length];
      specs.push({ dst: formatCidr(table.addrs[i], table.lens[i]), via: gw.via, dev: gw.dev });
      kept.push({ addr: table.addrs[i], len: table.lens[i] });
    }
  }
  const rnd = prng(7);
  const payload = size - 4 - 14 - 20 - 8;
  if (payload < 0) throw new Error(`route: --size ${size} is too small for a UDP frame`);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < TEMPLATES; i++) {
    let dst: number;
    do {
      const k = kept[rnd() % kept.length];
      dst = (k.addr + (rnd() % 2 ** (32 - k.len))) >>> 0;
    } while (excluded(dst));
    frames.push(ipFrame(ROUTER_MAC, CLIENT_MAC, udpPacket({ src: '10.0.0.2', dst: formatIPv4(dst), sport: 1024 + (i & 0x7fff), dport: 53, size: payload })));
  }
  return { specs, frames };
}

/** One lane: a router with the table, fed the frames from templates. */
function routeLane(e: Engine, plan: ReturnType<typeof trafficPlan>, extras: (mpps: number) => Partial<BenchResult>): PathLane {
  const ctx = new Context(e, { buffers: BATCH * 2 });
  const host = new Host({ name: 'router', forwarding: true, engine: e });
  router(host);
  const t0 = performance.now();
  host.route.addMany(plan.specs);
  host.commit();
  const buildMs = performance.now() - t0;
  const frameLen = plan.frames[0].length;
  const stride = (frameLen + 63) & ~63;
  const tmpl = e.alloc(TEMPLATES * stride);
  plan.frames.forEach((f, i) => e.u8.set(f, tmpl + i * stride));
  for (let i = 0; i < BATCH; i++) ctx.setInput(i, L.K_RX, 0, new Uint8Array(frameLen), 0);
  ctx.recordDrops = false;
  const lane: Lane = { ctx: ctx.ptr, hosts: [host.ptr], links: [], vecs: [ctx.input], outs: [], outCap: 0, refill: { tmpl, stride, batches: TEMPLATES / BATCH }, now: 1 };
  // Every packet must be forwarded, or the buffers are no longer ours to reuse.
  for (let b = 0; b < TEMPLATES / BATCH; b++) {
    const n = runLane(e.dp, () => e.dv, lane, b, 1);
    if (n !== BATCH) throw new Error(`route: a batch gave ${n} outputs, expected ${BATCH}: ${JSON.stringify(host.stats().drops)}`);
  }
  return {
    lane,
    hosts: [host],
    extras: (mpps) => ({ ...extras(mpps), routes: plan.specs.length, tableBytes: host.routeTableBytes, buildMs: Math.round(buildMs) }),
  };
}

export const routeMode: BenchMode = {
  name: 'route',
  description: 'IPv4 forwarding through a router Host with a full (1M-prefix) table',
  flows: { what: 'routes in the table', min: 1, max: 2_000_000 },
  async task(opts: BenchOptions): Promise<BenchTask> {
    const routes = opts.flows || (opts.quick ? 100_000 : 1_000_000);
    opts.progress(0.05, 'building table');
    const plan = trafficPlan(routes, opts.size);
    // The model, on a 10,000-route slice of the table and 4,096 of the frames (once, with one worker).
    const modelRoutes = Math.min(plan.specs.length, 10_000);
    const model = opts.workers === 1
      ? await modelMpps((m) => {
        router(m);
        for (let i = 0; i < modelRoutes; i++) m.route.add(plan.specs[i]);
        m.route.add({ dst: 'default', via: GATEWAYS[0].via });
      }, plan.frames.slice(0, 4096).map((frame) => ({ link: 'eth0', frame })), opts.quick ? 3 : 5)
      : undefined;
    const extras = (): Partial<BenchResult> => ({
      flows: plan.specs.length,
      label: `forward, ${(plan.specs.length / 1e6).toFixed(2)}M routes`,
      ...(model !== undefined ? { baselines: { model }, baselineTableSize: modelRoutes } : {}),
    });
    return pathTask(opts, (e) => routeLane(e, plan, extras));
  },
};
