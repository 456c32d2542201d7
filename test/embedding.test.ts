// The embedding contract (docs/embedding.md): with drops and fates recorded,
// every input of a batch has a record carrying its tag, and output buffers
// go on to the next host as inputs without a copy.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import { Host } from '../src/host.js';
import * as L from '../src/engine/layout.gen.js';
import { echoRequest, udpPacket, ipFrame, arpFrame } from '../src/packet/index.js';

function gateway(engine: Engine): Host {
  const h = new Host({ name: 'gw', forwarding: true, engine });
  h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('eth1', '10.0.1.1/24');
  h.listen('udp', 53);
  h.neigh.add({ ip: '10.0.1.2', mac: '02:00:00:00:01:02', dev: 'eth1' });
  return h;
}

const inputs = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('forward' as const), dst: fc.constantFrom('10.0.1.2', '10.0.1.3', '192.0.2.1'), ttl: fc.constantFrom(1, 64) }),
  fc.record({ kind: fc.constant('local' as const), port: fc.constantFrom(53, 54) }),
  fc.record({ kind: fc.constant('ping' as const) }),
  fc.record({ kind: fc.constant('arp' as const), tpa: fc.constantFrom('10.0.0.1', '10.0.0.9') }),
  fc.record({ kind: fc.constant('junk' as const), len: fc.integer({ min: 0, max: 40 }) }),
), { minLength: 1, maxLength: 64 });

function frameOf(x: fc.Infer<typeof inputs>[number], i: number): Uint8Array {
  const mac = '02:00:00:00:00:aa';
  switch (x.kind) {
    case 'forward': return ipFrame('02:00:00:00:00:01', mac, udpPacket({ src: '10.0.0.2', dst: x.dst, sport: 1000 + i, dport: 9, ttl: x.ttl }));
    case 'local': return ipFrame('02:00:00:00:00:01', mac, udpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 1000 + i, dport: x.port }));
    case 'ping': return ipFrame('02:00:00:00:00:01', mac, echoRequest({ src: '10.0.0.2', dst: '10.0.0.1', id: i, seq: 1 }));
    case 'arp': return arpFrame({ op: 1, sha: mac, spa: '10.0.0.2', tpa: x.tpa });
    case 'junk': return new Uint8Array(x.len).fill(0x5a);
  }
}

describe('embedding', () => {
  it('with drops and fates recorded, every input has a record with its tag', () => {
    fc.assert(fc.property(inputs, (xs) => {
      const engine = new Engine();
      const h = gateway(engine);
      const ctx = new Context(engine, { buffers: 512, batch: 64, outputs: 1024 });
      ctx.recordDrops = true;
      ctx.recordFates = true;
      xs.forEach((x, i) => ctx.setInput(i, L.K_RX, 0, frameOf(x, i), 1000 + i));
      const n = h.process(ctx, xs.length, 5);
      const outs = Array.from({ length: n }, (_, i) => ctx.readOutput(i));
      const tags = new Set(outs.map((o) => o.tag));
      for (let i = 0; i < xs.length; i++) expect(tags.has(1000 + i), `input ${i} (${xs[i].kind}) has no record`).toBe(true);
      for (const o of outs) if (o.buf !== 0) ctx.freeBuffer(o.buf);
      expect(ctx.free).toBe(ctx.capacity - h.stats().fates.queued + h.stats().fates.dequeued);
    }), { numRuns: 100 });
  });

  it("a frame sent by one host becomes the next host's input as it is: same buffer, no copy", () => {
    const engine = new Engine();
    const ctx = new Context(engine, { buffers: 64, batch: 8, outputs: 64 });
    const a = new Host({ name: 'a', engine });
    a.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0a' });
    a.addr.add('eth0', '10.0.0.1/24');
    a.neigh.add({ ip: '10.0.0.2', mac: '02:00:00:00:00:0b', dev: 'eth0' });
    const b = new Host({ name: 'b', engine });
    b.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0b' });
    b.addr.add('eth0', '10.0.0.2/24');
    b.listen('udp', 9);
    ctx.setInput(0, L.K_ORIGINATE, 0, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 9 }), 7, L.HEADROOM + 14);
    expect(a.process(ctx, 1, 0)).toBe(1);
    const sent = ctx.readOutput(0);
    expect(sent).toMatchObject({ kind: L.O_TX, tag: 7 });
    ctx.setDescriptor(0, { buf: sent.buf, off: sent.off, len: sent.len, link: 0, kind: L.K_RX, tag: sent.tag });
    expect(b.process(ctx, 1, 1)).toBe(1);
    const got = ctx.readOutput(0);
    expect(got).toMatchObject({ kind: L.O_LOCAL, tag: 7, buf: sent.buf });
    ctx.freeBuffer(got.buf);
    expect(ctx.free).toBe(ctx.capacity);
  });
});
