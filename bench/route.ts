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
import { nsPerUnit, gbps } from './timing.js';
import { modelMpps } from './baseline.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';
import type { ModelHost } from '../test/model/host.js';

const BATCH = 256;
const TEMPLATES = 65536;
const ROUTER_MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:02';
type Fn = (...a: number[]) => number;

function excluded(a: number): boolean {
  const top = a >>> 24;
  return top === 0 || top === 10 || top === 127 || top >= 224 || (a >>> 16) === 0xc0a8;
}

export const routeMode: BenchMode = {
  name: 'route',
  description: 'IPv4 forwarding through a router Host with a full (1M-prefix) table',
  flows: { what: 'routes in the table', min: 1, max: 2_000_000 },
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const routes = opts.flows || (opts.quick ? 100_000 : 1_000_000);
    const e = new Engine({ initialMiB: 128 });
    const ctx = new Context(e, { buffers: BATCH * 2 });
    const host = new Host({ name: 'router', forwarding: true, engine: e });
    const gateways: { via: string; dev: string }[] = [];
    // The same router for the engine and for the model baseline.
    const router = (h: Host | ModelHost) => {
      h.link.add({ name: 'eth0', type: 'ether', mac: ROUTER_MAC });
      h.addr.add('eth0', '10.0.0.1/24');
      for (let l = 1; l <= 4; l++) {
        h.link.add({ name: `eth${l}`, type: 'ether', mac: `02:00:00:00:0${l}:01` });
        h.addr.add(`eth${l}`, `192.168.${l}.1/24`);
        for (let g = 2; g < 6; g++) h.neigh.add({ ip: `192.168.${l}.${g}`, mac: `02:00:00:00:0${l}:0${g}`, dev: `eth${l}` });
      }
    };
    router(host);
    for (let l = 1; l <= 4; l++) for (let g = 2; g < 6; g++) gateways.push({ via: `192.168.${l}.${g}`, dev: `eth${l}` });
    opts.progress(0.05, 'building table');
    // Exactly `routes` routes: prefixes the router's own networks would shadow are left out of the table.
    const specs: { dst: string; via: string; dev: string }[] = [];
    const kept: { addr: number; len: number }[] = [];
    for (let extra = 64; kept.length < routes; extra *= 4) {
      const table = internetTable(routes + extra, 1);
      specs.length = 0;
      kept.length = 0;
      for (let i = 0; i < table.count && kept.length < routes; i++) {
        if (excluded(table.addrs[i])) continue;
        const gw = gateways[i % gateways.length];
        specs.push({ dst: formatCidr(table.addrs[i], table.lens[i]), via: gw.via, dev: gw.dev });
        kept.push({ addr: table.addrs[i], len: table.lens[i] });
      }
    }
    const t0 = performance.now();
    host.route.addMany(specs);
    host.commit();
    const buildMs = performance.now() - t0;
    opts.progress(0.3, 'traffic');

    // Random destinations inside the table's prefixes, as UDP frames to the router.
    const rnd = prng(7);
    const frameLen = opts.size - 4; // the buffer holds the frame without its FCS
    const payload = frameLen - 14 - 20 - 8;
    if (payload < 0) throw new Error(`route: --size ${opts.size} is too small for a UDP frame`);
    const stride = (frameLen + 63) & ~63;
    const tmpl = e.alloc(TEMPLATES * stride);
    for (let i = 0; i < TEMPLATES; i++) {
      let dst: number;
      do {
        const k = kept[rnd() % kept.length];
        dst = (k.addr + (rnd() % 2 ** (32 - k.len))) >>> 0;
      } while (excluded(dst));
      const ip = udpPacket({ src: '10.0.0.2', dst: formatIPv4(dst), sport: 1024 + (i & 0x7fff), dport: 53, size: payload });
      e.u8.set(ipFrame(ROUTER_MAC, CLIENT_MAC, ip), tmpl + i * stride);
    }
    for (let i = 0; i < BATCH; i++) ctx.setInput(i, L.K_RX, 0, new Uint8Array(frameLen), 0);

    const process = e.dp.process as Fn;
    const refill = e.dp.rx_refill as Fn;
    let b = 0;
    const batch = () => {
      refill(ctx.input, BATCH, tmpl + b * BATCH * stride, stride);
      b = (b + 1) % (TEMPLATES / BATCH);
      return process(ctx.ptr, host.ptr, ctx.input, BATCH, 1);
    };
    // Every packet must be forwarded, or the buffers are no longer ours to reuse.
    for (let i = 0; i < TEMPLATES / BATCH; i++) {
      const n = batch();
      if (n !== BATCH) throw new Error(`route: a batch gave ${n} outputs, expected ${BATCH}: ${JSON.stringify(host.stats().drops)}`);
    }
    const perRound = 200;
    const refillOnly = nsPerUnit(() => {
      for (let i = 0; i < perRound; i++) refill(ctx.input, BATCH, tmpl + (i % 256) * BATCH * stride, stride);
    }, perRound * BATCH, opts.quick ? 5 : 15);
    const ns = nsPerUnit(() => {
      for (let i = 0; i < perRound; i++) batch();
    }, perRound * BATCH, opts.quick ? 5 : 41, 5, (f) => opts.progress(0.3 + 0.7 * f));
    const stats = host.stats();
    if (stats.fates.dropped !== 0) throw new Error(`route: packets were dropped: ${JSON.stringify(stats.drops)}`);
    const mpps = 1e3 / ns;
    // The model, on a 10,000-route slice of the table and 4,096 of the frames.
    const modelRoutes = Math.min(specs.length, 10_000);
    const sample = [];
    for (let i = 0; i < 4096; i++) sample.push({ link: 'eth0', frame: e.u8.slice(tmpl + i * stride, tmpl + i * stride + frameLen) });
    const model = await modelMpps((m) => {
      router(m);
      for (let i = 0; i < modelRoutes; i++) m.route.add(specs[i]);
      m.route.add({ dst: 'default', via: gateways[0].via });
    }, sample, opts.quick ? 3 : 5);
    return [{
      mode: 'route', size: opts.size, flows: specs.length, workers: 1,
      mpps, gbps: gbps(mpps, opts.size), nsPerPacket: ns,
      label: `forward, ${(specs.length / 1e6).toFixed(2)}M routes`,
      baselines: { model: model },
      baselineTableSize: modelRoutes,
      routes: specs.length,
      tableBytes: host.routeTableBytes,
      buildMs: Math.round(buildMs),
      refillNsPerPacket: refillOnly,
    }];
  },
};
