// Bench mode 'bridge': a Linux bridge with 4 ports and 64K learned MACs,
// frames between random MACs on different ports, one core.
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { formatMac } from '../src/packet/addr.js';
import { ethernetFrame } from '../src/packet/craft.js';
import { prng } from './tables.js';
import { runLane, type Lane } from './lanes.js';
import { pathTask, type BenchTask, type PathLane } from './task.js';
import { modelMpps } from './baseline.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';

const BATCH = 256;
const PORTS = 4;
const BATCHES = 64;

function macOf(i: number): string {
  return formatMac([0x02, 0x10, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, 0x01]);
}

/** A bridge with PORTS ports that has learned `macs` MACs, one lane of frames between them. */
function bridgeLane(e: Engine, macs: number, size: number, extras: () => Partial<BenchResult>): PathLane {
  const ctx = new Context(e, { buffers: BATCH * BATCHES + 1024 });
  const host = new Host({ name: 'bridge', engine: e });
  host.link.add({ name: 'br0', type: 'bridge', fdbMax: macs * 2 });
  for (let p = 0; p < PORTS; p++) host.link.add({ name: `veth${p}`, type: 'veth', master: 'br0' });
  const frameLen = size - 4;
  const payload = new Uint8Array(frameLen - 14);
  // Learning: every MAC says hello once from its port.
  const hello = helloFrames(macs, payload);
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
  ctx.recordDrops = false;
  host.commit();
  const lane: Lane = { ctx: ctx.ptr, hosts: [host.ptr], links: [], vecs, outs: [], outCap: 0, refill: null, now: 1000 };
  for (let b = 0; b < BATCHES; b++) {
    const n = runLane(e.dp, () => e.dv, lane, b, 1);
    if (n !== BATCH) throw new Error(`bridge: a batch gave ${n} outputs, expected ${BATCH}`);
  }
  return { lane, hosts: [host], extras };
}

const portOf = (m: number) => m % PORTS;

function helloFrames(macs: number, payload: Uint8Array): { link: string; frame: Uint8Array }[] {
  const hello: { link: string; frame: Uint8Array }[] = [];
  for (let m = 0; m < macs; m++) {
    hello.push({ link: `veth${portOf(m)}`, frame: ethernetFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: macOf(m), ethertype: 0x88b5 }, payload) });
  }
  return hello;
}

export const bridgeMode: BenchMode = {
  name: 'bridge',
  description: 'L2 forwarding through a bridge with 64K learned MACs (learning on)',
  // Two MACs at least: every frame goes to a MAC on another port.
  flows: { what: 'learned MACs', min: 2, max: 262_144 },
  async task(opts: BenchOptions): Promise<BenchTask> {
    const macs = opts.flows || (opts.quick ? 16_384 : 65_536);
    const payload = new Uint8Array(opts.size - 4 - 14);
    // The model, with 4,096 of the MACs learned and frames among them (once, with one worker).
    const modelMacs = Math.min(macs, 4096);
    let model: number | null | undefined;
    if (opts.workers === 1) {
      const rnd = prng(5);
      const sample = [];
      for (let i = 0; i < 4096; i++) {
        const src = rnd() % modelMacs;
        let dst = rnd() % modelMacs;
        while (portOf(dst) === portOf(src)) dst = rnd() % modelMacs;
        sample.push({ link: `veth${portOf(src)}`, frame: ethernetFrame({ dst: macOf(dst), src: macOf(src), ethertype: 0x88b5 }, payload) });
      }
      const hello = helloFrames(modelMacs, payload);
      model = await modelMpps((m) => {
        m.link.add({ name: 'br0', type: 'bridge', mac: '02:00:00:00:00:b0', fdbMax: macs * 2 });
        for (let p = 0; p < PORTS; p++) m.link.add({ name: `veth${p}`, type: 'veth', mac: `02:00:00:00:00:0${p}`, master: 'br0' });
        m.receive(hello.map((f, i) => ({ ...f, tag: i })), 0);
      }, sample, opts.quick ? 3 : 5);
    }
    const extras = (): Partial<BenchResult> => ({
      flows: macs,
      label: `${PORTS} ports, ${macs} MACs`,
      ...(model !== undefined ? { baselines: { model }, baselineTableSize: modelMacs } : {}),
      fdbBytes: (1 << Math.ceil(Math.log2(macs * 4))) * L.FDB_SIZE,
    });
    return pathTask(opts, (e) => bridgeLane(e, macs, opts.size, extras));
  },
};
