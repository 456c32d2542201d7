// Frames crossing from one worker's host to another's, in shared memory:
// bursts arrive whole and in order across many waves, buffers return to
// their pools, and when the pools can grow no more the frames are dropped
// with a name and counted (never lost). And during a run a host has one
// writer: the debug build refuses any other.
import { describe, it, expect } from 'vitest';
import { Network } from '../src/network.js';
import { Engine } from '../src/engine/engine.js';
import { Host } from '../src/host.js';
import * as L from '../src/engine/layout.gen.js';
import { udpPacket, ipFrame, echoRequest, decodeIp } from '../src/packet/index.js';

/** Host a (worker 0) routes from its outside link eth1 to b (worker 1) on a wire. */
async function pair(opts: { buffers?: number } = {}) {
  const net = new Network({ workers: 2, assign: (n) => (n === 'b' ? 1 : 0), buffers: opts.buffers });
  const a = net.host({ name: 'a', forwarding: true });
  a.link.add({ name: 'eth0', type: 'veth', mac: '02:00:00:00:00:0a' });
  a.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:0a' });
  a.addr.add('eth0', '10.0.0.1/24');
  a.addr.add('eth1', '10.0.1.1/24');
  a.neigh.add({ ip: '10.0.0.2', mac: '02:00:00:00:00:0b', dev: 'eth0' });
  const b = net.host({ name: 'b' });
  b.link.add({ name: 'eth0', type: 'veth', mac: '02:00:00:00:00:0b' });
  b.addr.add('eth0', '10.0.0.2/24');
  b.route.add({ dst: 'default', via: '10.0.0.1' });
  b.neigh.add({ ip: '10.0.0.1', mac: '02:00:00:00:00:0a', dev: 'eth0' });
  b.listen('udp', 9);
  net.connect('a:eth0', 'b:eth0');
  await net.ready();
  return { net, a, b };
}

const datagram = (i: number, size = 200) => ipFrame('02:00:00:00:01:0a', '02:00:00:00:01:ff',
  udpPacket({ src: '10.0.1.9', dst: '10.0.0.2', sport: 1 + (i % 60000), dport: 9, size, id: i & 0xffff }));

function poolsWhole(net: Network): void {
  for (const p of net.bufferPools()) expect(p.free, `worker ${p.worker}`).toBe(p.capacity);
}

describe('queues between workers', () => {
  it('a burst of 20,000 frames crosses to the other worker in one wave, whole and in order', async () => {
    const { net } = await pair();
    try {
      net.inject('a:eth1', Array.from({ length: 20_000 }, (_, i) => datagram(i)));
      const s = net.run();
      expect(s).toMatchObject({ local: 20_000, dropped: 0, inFlight: 0 });
      const ids = net.delivered('b').map((d) => decodeIp(d.packet).ip!.id);
      expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => i & 0xffff));
      poolsWhole(net);
    } finally {
      await net.close();
    }
  });

  it("traffic sent to a host is copied in at the run by the host's worker, into its own pool", async () => {
    const { net } = await pair();
    try {
      net.run(); // lays the nodes out over the workers
      const before = net.bufferPools().map((p) => p.free);
      // To an on-link address nobody answers: the packets stay queued on b's neighbour entry, in the buffers b took.
      const packets = Array.from({ length: 100 }, (_, i) => udpPacket({ src: '10.0.0.2', dst: '10.0.0.77', sport: 1000 + i, dport: 7, size: 100 }));
      net.send('b', packets);
      expect(net.bufferPools().map((p) => p.free)).toEqual(before);
      expect(net.inFlight).toBe(100);
      expect(net.run()).toMatchObject({ sent: 100, inFlight: 0 });
      const after = net.bufferPools().map((p) => p.free);
      expect(before[0] - after[0]).toBe(0);
      expect(before[1] - after[1]).toBe(100);
      // Resolution fails after three probes: the queue is dropped and every buffer is home.
      net.advance(5000);
      poolsWhole(net);
    } finally {
      await net.close();
    }
  });

  it('hundreds of runs of waves back and forth (each wave switches lists) lose nothing', async () => {
    const { net, b } = await pair();
    try {
      b.listen('udp', 9);
      let answered = 0;
      for (let round = 0; round < 300; round++) {
        net.send('b', [echoRequest({ src: '0.0.0.0', dst: '10.0.0.1', id: round, seq: 1 })]);
        const s = net.run({ until: net.now + 1 });
        expect(s.dropped).toBe(0);
        answered = net.delivered('b').filter((d) => decodeIp(d.packet).icmp?.type === 0).length;
      }
      expect(answered).toBe(300);
      poolsWhole(net);
    } finally {
      await net.close();
    }
  });

  it('when the pools can grow no more, frames are dropped NOMEM and counted; the pools come back whole', async () => {
    const { net, a, b } = await pair({ buffers: 16 });
    try {
      net.inject('a:eth1', Array.from({ length: 5_000 }, (_, i) => datagram(i, 1000)));
      const s = net.run();
      const drops = net.drops().map((d) => d.reason);
      expect(new Set(drops)).toEqual(new Set(['NOMEM']));
      expect(s.local + s.dropped).toBe(5_000);
      expect(s.dropped).toBeGreaterThan(0);
      for (const h of [a, b]) {
        const f = h.stats().fates;
        expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + f.queued - f.dequeued);
      }
      poolsWhole(net);
    } finally {
      await net.close();
    }
  });
});

describe('one writer per host during a run', () => {
  it('the debug build refuses a batch on a host another worker owns', () => {
    const engine = new Engine({ debug: true });
    const h = new Host({ name: 'h', engine });
    h.link.add({ name: 'eth0', type: 'ether' });
    h.addr.add('eth0', '10.0.0.1/24');
    // What a Network sets while worker 1 runs the host.
    engine.dv.setUint32(h.ptr + L.H_OWNER, 2, true);
    expect(() => h.tick(0)).toThrow(/assertion failed/);
    engine.dv.setUint32(h.ptr + L.H_OWNER, 0, true);
    expect(h.tick(0)).toEqual([]);
  });
});
