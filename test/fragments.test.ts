// Reassembly in the engine beyond what the kernel judges: results that do
// not depend on how a batch is cut, the memory limit (ipfrag_high_thresh),
// the queue table's limit, buffers given back, the books balanced.
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { mainContext } from '../src/engine/context.js';
import { ipFrame, udpPacket } from '../src/packet/index.js';
import { fragmentOf, type Piece } from './kernel/packets.js';

const HOST_MAC = '02:00:00:00:00:01';
const PEER_MAC = '02:aa:00:00:00:07';

async function host(engine = new Engine()): Promise<Host> {
  const h = await Host.create({ name: 'h', engine, ipfragTime: 1 });
  h.link.add({ name: 'eth0', type: 'veth', mac: HOST_MAC });
  h.addr.add('eth0', '10.0.0.1/24');
  h.neigh.add({ ip: '10.0.0.7', mac: PEER_MAC, dev: 'eth0' });
  h.listen('udp', 9);
  return h;
}

const datagram = (id: number, size: number) => udpPacket({ src: '10.0.0.7', dst: '10.0.0.1', sport: 5000, dport: 9, size, id });
const frames = (p: Uint8Array, pieces: Piece[]) => pieces.map((x) => ({ link: 'eth0', frame: ipFrame(HOST_MAC, PEER_MAC, fragmentOf(p, x)) }));
const cut = (payload: number, size: number): Piece[] => {
  const out: Piece[] = [];
  for (let s = 0; s < payload; s += size) out.push({ start: s, end: Math.min(payload, s + size) });
  return out;
};

function conserved(h: Host): void {
  const f = h.stats().fates;
  expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued));
}

describe('reassembly', () => {
  it('gives the same datagrams however a moment\'s fragments are cut into calls', async () => {
    const trains = [
      ...frames(datagram(1, 600), [{ start: 400, end: 608 }, { start: 0, end: 200 }, { start: 0, end: 200 }, { start: 200, end: 400 }]),
      ...frames(datagram(2, 600), [{ start: 0, end: 200 }, { start: 192, end: 400 }, { start: 400, end: 608 }]),
      ...frames(datagram(3, 300), [{ start: 152, end: 308 }, { start: 0, end: 152 }]),
    ];
    const runs: string[] = [];
    for (const sizes of [[trains.length], trains.map(() => 1), [3, trains.length - 3]]) {
      const h = await host();
      const out: unknown[] = [];
      let i = 0;
      for (const n of sizes) {
        out.push(...h.receive(trains.slice(i, i + n).map((t, k) => ({ ...t, frame: t.frame.slice(), tag: i + k })), 0));
        i += n;
      }
      conserved(h);
      runs.push(JSON.stringify({ out, stats: h.stats() }));
    }
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
    const delivered = JSON.parse(runs[0]).out.filter((o: { kind: string }) => o.kind === 'local');
    expect(delivered.length).toBe(2);
  });

  it('holds no more than ipfrag_high_thresh (4 MiB): past it fragments are dropped NOMEM; expired queues give every buffer back', async () => {
    const engine = new Engine();
    const h = await host(engine);
    const ctx = mainContext(engine);
    // Datagrams of 64,000 bytes in 1,400-byte pieces, each without its last: 46 held fragments of 2 KiB each, about 92 KiB a datagram.
    const sent: { link: string; frame: Uint8Array }[] = [];
    for (let id = 1; id <= 60; id++) sent.push(...frames(datagram(id, 64_000), cut(64_008, 1400).slice(0, -1)));
    const out = [];
    for (let i = 0; i < sent.length; i += 64) out.push(...h.receive(sent.slice(i, i + 64), 0));
    const held = h.stats().fates.queued;
    expect(held * 2048).toBeGreaterThan(4 * 1024 * 1024 - 2048 * 46);
    expect(held * 2048).toBeLessThan(4 * 1024 * 1024 + 2 * 2048 + 64 * 60);
    expect(h.stats().drops.NOMEM).toBe(sent.length - held);
    expect(out.filter((o) => o.kind === 'drop' && o.reason === 'NOMEM').length).toBe(sent.length - held);
    conserved(h);
    // ipfrag_time later every queue expires; those whose first fragment came answer time exceeded (under the ICMP limits).
    const later = h.tick(1000);
    expect(h.stats().drops.FRAG_REASM_TIMEOUT).toBe(held);
    expect(later.filter((o) => o.kind === 'tx').length).toBeGreaterThan(0);
    expect(ctx.free).toBe(ctx.capacity);
    conserved(h);
  });

  it('keeps 767 datagrams in reassembly at most (its table under 3/4 of a 64 KiB buffer); the rest are dropped NOMEM', async () => {
    const engine = new Engine();
    const h = await host(engine);
    const ctx = mainContext(engine);
    const sent = [];
    for (let id = 1; id <= 800; id++) sent.push(...frames(datagram(id, 64), [{ start: 8, end: 72 }]));
    for (let i = 0; i < sent.length; i += 64) h.receive(sent.slice(i, i + 64), 0);
    expect(h.stats().fates.queued).toBe(767);
    expect(h.stats().drops.NOMEM).toBe(800 - 767);
    h.tick(1000);
    expect(h.stats().fates.dequeued).toBe(767);
    expect(ctx.free).toBe(ctx.capacity);
    conserved(h);
  });

  it('takes ipfrag_time in whole seconds and refuses anything else by name', async () => {
    const h = await host();
    expect(h.ipfragTime).toBe(1);
    h.ipfragTime = 30;
    expect(h.ipfragTime).toBe(30);
    expect(() => (h.ipfragTime = 0.5)).toThrow(/ipfragTime/);
    expect(() => (h.ipfragTime = 0)).toThrow(/ipfragTime/);
    expect(h.ipfragTime).toBe(30);
    expect(await Host.create({ name: 'default' }).then((d) => d.ipfragTime)).toBe(30);
  });
});
