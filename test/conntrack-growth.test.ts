// A conntrack table admits every connection up to its max, whatever the
// batch shape: it grows before each batch by as much as the batch can add.
import { describe, it, expect } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { udpPacket, ipFrame } from '../src/packet/index.js';

function gateway() {
  const h = new Host({ name: 'gw', forwarding: true, engine: new Engine() });
  h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:00:02' });
  h.addr.add('eth0', '10.0.0.1/16');
  h.addr.add('eth1', '192.168.0.1/24');
  h.route.add({ dst: 'default', via: '192.168.0.254' });
  h.neigh.add({ ip: '192.168.0.254', mac: '02:00:00:00:01:fe', dev: 'eth1' });
  h.rules.load(['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -s 10.0.0.0/16 -o eth1 -j MASQUERADE', 'COMMIT', ''].join('\n'));
  return h;
}

const flow = (i: number) => ipFrame('02:00:00:00:00:01', '02:00:00:00:00:aa',
  udpPacket({ src: `10.0.${16 + (i >> 8)}.${i & 255}`, dst: '8.8.8.8', sport: 1024 + i, dport: 53, size: 8 }));

describe('conntrack table growth', () => {
  it('4,096 new flows in one receive() on a fresh host are all tracked', () => {
    const h = gateway();
    const out = h.receive(Array.from({ length: 4096 }, (_, i) => ({ link: 'eth0', frame: flow(i) })), 0);
    expect(out.filter((o) => o.kind === 'drop')).toEqual([]);
    expect(h.conntrack.count).toBe(4096);
  });

  it('a single batch of 256 new flows through process() is tracked whole', () => {
    const h = gateway();
    const ctx = new Context(h.engine, { buffers: 1024 });
    ctx.recordDrops = true;
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 256; i++) ctx.setInput(i, L.K_RX, 0, flow(round * 256 + i), i);
      const n = h.process(ctx, 256, round);
      for (let i = 0; i < n; i++) {
        const o = ctx.readOutput(i);
        expect(o.kind).toBe(L.O_TX);
        ctx.freeBuffer(o.buf);
      }
    }
    expect(h.conntrack.count).toBe(2048);
  });

  it('up to max, then early drop makes room; never CONNTRACK_FULL while unassured entries remain', () => {
    const h = gateway();
    h.conntrack.max = 3000;
    const out = h.receive(Array.from({ length: 5000 }, (_, i) => ({ link: 'eth0', frame: flow(i) })), 0);
    expect(out.filter((o) => o.kind === 'drop')).toEqual([]);
    expect(h.conntrack.count).toBe(3000);
    expect(h.stats().stages.conntrack_evicted).toBe(2000);
  });
});
