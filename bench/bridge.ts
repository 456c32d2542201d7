// Bench mode 'bridge': a Linux bridge with 4 ports and 64K learned MACs,
// frames between random MACs on different ports, one core.
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { formatMac } from '../src/packet/addr.js';
import { ethernetFrame } from '../src/packet/craft.js';
import { prng } from './tables.js';
import { nsPerUnit, gbps } from './timing.js';
import { modelMpps } from './baseline.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';

const BATCH = 256;
const PORTS = 4;
const BATCHES = 64;
type Fn = (...a: number[]) => number;

function macOf(i: number): string {
  return formatMac([0x02, 0x10, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, 0x01]);
}

export const bridgeMode: BenchMode = {
  name: 'bridge',
  description: 'L2 forwarding through a bridge with 64K learned MACs (learning on)',
  // Two MACs at least: every frame goes to a MAC on another port.
  flows: { what: 'learned MACs', min: 2, max: 262_144 },
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const macs = opts.flows || (opts.quick ? 16_384 : 65_536);
    const e = new Engine({ initialMiB: 64 });
    const ctx = new Context(e, { buffers: BATCH * BATCHES + 1024 });
    const host = new Host({ name: 'bridge', engine: e });
    host.link.add({ name: 'br0', type: 'bridge', fdbMax: macs * 2 });
    for (let p = 0; p < PORTS; p++) host.link.add({ name: `veth${p}`, type: 'veth', master: 'br0' });
    const portOf = (m: number) => m % PORTS;
    const frameLen = opts.size - 4;
    const payload = new Uint8Array(frameLen - 14);

    // Learning: every MAC says hello once from its port.
    opts.progress(0.05, 'learning');
    const hello: { link: string; frame: Uint8Array }[] = [];
    for (let m = 0; m < macs; m++) {
      hello.push({ link: `veth${portOf(m)}`, frame: ethernetFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: macOf(m), ethertype: 0x88b5 }, payload) });
    }
    for (let i = 0; i < hello.length; i += 4096) host.receive(hello.slice(i, i + 4096), 0);
    const learned = host.fdb.list('br0').length;
    if (learned !== macs) throw new Error(`bridge: learned ${learned} of ${macs} MACs`);

    // Traffic: each frame from a MAC on its port to a random MAC on another port.
    const rnd = prng(3);
    const vecs: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const vec = e.alloc(BATCH * L.DESC_SIZE);
      for (let i = 0; i < BATCH; i++) {
        const src = rnd() % macs;
        let dst = rnd() % macs;
        while (portOf(dst) === portOf(src)) dst = rnd() % macs;
        const frame = ethernetFrame({ dst: macOf(dst), src: macOf(src), ethertype: 0x88b5 }, payload);
        const buf = ctx.allocBuffer();
        e.u8.set(frame, buf + L.HEADROOM);
        const d = vec + i * L.DESC_SIZE;
        e.dv.setUint32(d + L.D_BUF, buf, true);
        e.dv.setUint16(d + L.D_OFF, L.HEADROOM, true);
        e.dv.setUint16(d + L.D_LEN, frameLen, true);
        e.dv.setUint16(d + L.D_LINK, 1 + portOf(src), true);
        e.dv.setUint8(d + L.D_KIND, L.K_RX);
      }
      vecs.push(vec);
    }
    const process = e.dp.process as Fn;
    ctx.recordDrops = false;
    host.commit();
    const before = host.stats().fates.dropped;
    let b = 0;
    const batch = () => {
      const n = process(ctx.ptr, host.ptr, vecs[b], BATCH, 1000);
      b = (b + 1) % BATCHES;
      return n;
    };
    for (let i = 0; i < BATCHES; i++) {
      const n = batch();
      if (n !== BATCH) throw new Error(`bridge: a batch gave ${n} outputs, expected ${BATCH}`);
    }
    const perRound = 200;
    const ns = nsPerUnit(() => {
      for (let i = 0; i < perRound; i++) batch();
    }, perRound * BATCH, opts.quick ? 5 : 41, 5, (f) => opts.progress(0.2 + 0.8 * f));
    if (host.stats().fates.dropped !== before) throw new Error('bridge: frames were dropped');
    const mpps = 1e3 / ns;
    // The model, with 4,096 of the MACs learned and frames among them.
    const modelMacs = Math.min(macs, 4096);
    const sample = [];
    for (let i = 0; i < 4096; i++) {
      const src = rnd() % modelMacs;
      let dst = rnd() % modelMacs;
      while (portOf(dst) === portOf(src)) dst = rnd() % modelMacs;
      sample.push({ link: `veth${portOf(src)}`, frame: ethernetFrame({ dst: macOf(dst), src: macOf(src), ethertype: 0x88b5 }, payload) });
    }
    const model = await modelMpps((m) => {
      m.link.add({ name: 'br0', type: 'bridge', mac: '02:00:00:00:00:b0', fdbMax: macs * 2 });
      for (let p = 0; p < PORTS; p++) m.link.add({ name: `veth${p}`, type: 'veth', mac: `02:00:00:00:00:0${p}`, master: 'br0' });
      m.receive(hello.slice(0, modelMacs).map((f, i) => ({ ...f, tag: i })), 0);
    }, sample, opts.quick ? 3 : 5);
    return [{
      mode: 'bridge', size: opts.size, flows: macs, workers: 1,
      mpps, gbps: gbps(mpps, opts.size), nsPerPacket: ns,
      label: `${PORTS} ports, ${macs} MACs`,
      baselines: { model: model },
      baselineTableSize: modelMacs,
      fdbBytes: (1 << Math.ceil(Math.log2(macs * 4))) * L.FDB_SIZE,
    }];
  },
};
