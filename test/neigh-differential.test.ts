// The neighbour table's bounds, engine against reference model: a router
// with small gc thresholds and queue bounds, traffic to many next hops, ARP
// from many senders, replies that resolve some, and gaps that cross the
// timers' edges (1 s probes, the forced gc's 5 s, the periodic gc's 15 s and
// gc_staletime's 60 s). Outputs, counters and the table must agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { ModelHost } from './model/host.js';
import { comparableStats, conservationError, diffOutputs, type Batch, runBatch, type DataPlaneLike } from './model/drive.js';
import { ETH_P_ARP, ETH_P_IP, arpPacket, ethernet, ipv4, parseIPv4, parseMac, udpSegment } from './model/wire.js';
import type { NeighParams } from './model/neigh.js';

const R0 = parseMac('02:00:00:00:00:01');
const R1 = parseMac('02:00:00:00:01:01');
const PEER = parseMac('02:00:00:00:00:02');
const macOf = (k: number) => parseMac(`02:aa:00:00:00:${k.toString(16).padStart(2, '0')}`);

function build(h: { link: { add(s: object): void }; addr: { add(d: string, c: string): void } }): void {
  h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('eth1', '10.1.0.1/24');
}

type Ev =
  | { kind: 'forward'; hop: number; n: number }
  | { kind: 'request'; sender: number }
  | { kind: 'reply'; hop: number }
  | { kind: 'tick' };

const arbEv: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('forward' as const), hop: fc.integer({ min: 2, max: 11 }), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), sender: fc.integer({ min: 2, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reply' as const), hop: fc.integer({ min: 2, max: 11 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

const arbGap = fc.constantFrom(0, 0, 1, 999, 1000, 1001, 3000, 4999, 5000, 5001, 14_999, 15_000, 15_001, 45_000, 59_999, 60_000, 60_001);

const arbParams: fc.Arbitrary<Partial<NeighParams>> = fc.record({
  gcThresh1: fc.integer({ min: 0, max: 6 }),
  gcThresh2: fc.integer({ min: 0, max: 5 }),
  gcThresh3: fc.integer({ min: 0, max: 7 }),
  unresQlenBytes: fc.constantFrom(0, 2048, 4096, 5000, 206_848),
  unresHostBytes: fc.constantFrom(0, 2048, 3 * 2048, 8 * 2048, 1 << 20),
});

const arbCase = fc.record({
  params: arbParams,
  steps: fc.array(fc.record({ gap: arbGap, evs: fc.array(arbEv, { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 25 }),
});

function framesOf(ev: Ev, tag: () => number): { link: string; frame: Uint8Array; tag: number }[] {
  if (ev.kind === 'forward') {
    const ip = ipv4({ src: parseIPv4('10.0.0.2'), dst: parseIPv4(`10.1.0.${ev.hop}`), proto: 17, ttl: 64 }, udpSegment(parseIPv4('10.0.0.2'), parseIPv4(`10.1.0.${ev.hop}`), 1, 2, new Uint8Array(4)));
    return Array.from({ length: ev.n }, () => ({ link: 'eth0', frame: ethernet(R0, PEER, ETH_P_IP, ip), tag: tag() }));
  }
  if (ev.kind === 'request') {
    const arp = arpPacket(1, macOf(ev.sender), parseIPv4(`10.0.0.${ev.sender + 10}`), new Uint8Array(6), parseIPv4('10.0.0.1'));
    return [{ link: 'eth0', frame: ethernet(parseMac('ff:ff:ff:ff:ff:ff'), macOf(ev.sender), ETH_P_ARP, arp), tag: tag() }];
  }
  if (ev.kind === 'reply') {
    const arp = arpPacket(2, macOf(ev.hop + 0x40), parseIPv4(`10.1.0.${ev.hop}`), R1, parseIPv4('10.1.0.1'));
    return [{ link: 'eth1', frame: ethernet(R1, macOf(ev.hop + 0x40), ETH_P_ARP, arp), tag: tag() }];
  }
  return [];
}

type Neighs = { neigh: { list(): { ip: string; state: string; queued: number }[] } };

async function compare(c: fc.RecordValue<{ params: Partial<NeighParams>; steps: { gap: number; evs: Ev[] }[] }>, run: number): Promise<void> {
  const model = ModelHost.create({ name: 'model', forwarding: true, neigh: c.params });
  const engine = await Host.create({ name: `nd${run}`, forwarding: true, engine: new Engine(), neigh: c.params });
  build(model);
  build(engine);
  let now = 0;
  let t = 1;
  for (const [i, step] of c.steps.entries()) {
    now += step.gap;
    const frames = step.evs.flatMap((ev) => framesOf(ev, () => t++));
    const b: Batch = frames.length ? { kind: 'receive', now, frames } : { kind: 'tick', now };
    const want = await runBatch(model, b);
    const got = await runBatch(engine as unknown as DataPlaneLike, b);
    const where = `step #${i} (${b.kind} at ${now} ms)`;
    const diff = diffOutputs(want, got);
    if (diff) throw new Error(`${where}: ${diff}`);
    expect(comparableStats(engine.stats()), `${where}: counters`).toEqual(comparableStats(model.stats()));
    expect(conservationError(engine.stats()), where).toBeUndefined();
    const table = (h: Neighs) => h.neigh.list().map((n) => `${n.ip} ${n.state} ${n.queued}`).sort();
    const modelTable = model.arpTbl.all().map((n) => `${[n.ip >>> 24, (n.ip >>> 16) & 255, (n.ip >>> 8) & 255, n.ip & 255].join('.')} ${n.state} ${n.queue.length}`).sort();
    expect(table(engine as unknown as Neighs), `${where}: the table`).toEqual(modelTable);
  }
}

describe('neighbour table bounds: engine vs reference model', () => {
  it('agree on gc, thresholds and queue bounds, step for step', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(arbCase, (c) => compare(c, run++)), { numRuns: 300, seed: 0x9e1f });
  });
});
