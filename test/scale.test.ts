// Many hosts per process: a Calico cluster of 1,000 nodes with 10 pods each
// (11,000 hosts and a router) in one engine, and 10,000 pings across it.
import { describe, it, expect } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { buildCalico, calicoNetwork } from '../src/scenarios/calico.js';
import { echoRequest, decodeIp } from '../src/packet/index.js';

describe('scale', () => {
  it('1,000 nodes x 10 pods: every one of 10,000 pod-to-pod pings is answered', () => {
    const cluster = buildCalico({ nodes: 1000, podsPerNode: 10, engine: new Engine(), subnets: 20 });
    const net = calicoNetwork(cluster);
    expect(net.hosts).toHaveLength(1000 + 10_000 + 1);
    const pods = cluster.nodes.flatMap((n) => n.pods);
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    const sent = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      const a = pods[rnd() % pods.length];
      const b = pods[rnd() % pods.length];
      net.send(a.host.name, [echoRequest({ src: '0.0.0.0', dst: b.ip, id: i, seq: 1 })]);
      sent.set(`${a.host.name}/${i}`, b.ip);
      if (i % 1000 === 999) net.run();
    }
    net.run();
    let answered = 0;
    for (const p of pods) {
      for (const d of net.delivered(p.host.name)) {
        const x = decodeIp(d.packet);
        if (x.icmp?.type === 0 && sent.get(`${p.host.name}/${x.icmp.id}`) === x.ip?.src) answered++;
      }
    }
    expect(answered).toBe(10_000);
    // 4 GiB is the most one wasm memory can hold; the cluster needs a small part of it.
    expect(cluster.engine.memory.buffer.byteLength).toBeLessThan(1 << 30);
  }, 300_000);
});
