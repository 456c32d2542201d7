// Bench mode 'scale': how big a Calico cluster one process holds. Builds
// N nodes with 10 pods each on a Network, then pings between random pods;
// reports build time, memory and the ping rate.
import { Engine } from '../src/engine/engine.js';
import { buildCalico, calicoNetwork } from '../src/scenarios/calico.js';
import { echoRequest, decodeIp } from '../src/packet/index.js';
import { prng } from './tables.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';

const PODS = 10;

export const scaleMode: BenchMode = {
  name: 'scale',
  description: 'build a Calico cluster (--flows = nodes, default 1000, 10 pods each) and ping across it',
  // Two nodes at least, for an underlay between them; the default pool, a /16, holds 1,024 /26 blocks, one per node.
  flows: { what: 'nodes (10 pods each)', min: 2, max: 1024 },
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const nodes = opts.flows || (opts.quick ? 100 : 1000);
    const pings = nodes * PODS;
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    opts.progress(0.05, 'building');
    const cluster = buildCalico({ nodes, podsPerNode: PODS, engine: new Engine(), subnets: Math.ceil(nodes / 50) });
    const net = calicoNetwork(cluster);
    for (const h of net.hosts) h.commit();
    const buildMs = performance.now() - t0;
    opts.progress(0.5, 'pinging');
    const pods = cluster.nodes.flatMap((n) => n.pods);
    const rnd = prng(11);
    const expect = new Map<string, string>();
    const t1 = performance.now();
    for (let i = 0; i < pings; i++) {
      const a = pods[rnd() % pods.length];
      const b = pods[rnd() % pods.length];
      net.send(a.host.name, [echoRequest({ src: '0.0.0.0', dst: b.ip, id: i & 0xffff, seq: i >>> 16 })]);
      expect.set(`${a.host.name}/${i & 0xffff}/${i >>> 16}`, b.ip);
      if (i % 1000 === 999) {
        net.run({ maxSteps: 100_000_000 });
        opts.progress(0.5 + (0.5 * i) / pings);
      }
    }
    net.run({ maxSteps: 100_000_000 });
    const pingMs = performance.now() - t1;
    let answered = 0;
    for (const p of pods) {
      for (const d of net.delivered(p.host.name)) {
        const x = decodeIp(d.packet);
        if (x.icmp?.type === 0 && expect.get(`${p.host.name}/${x.icmp.id}/${x.icmp.seq}`) === x.ip?.src) answered++;
      }
    }
    const mpps = pings / pingMs / 1000;
    return [{
      mode: 'scale', size: 98, flows: nodes, workers: 1,
      mpps, gbps: 0, nsPerPacket: (pingMs * 1e6) / pings,
      label: `${nodes} nodes x ${PODS} pods, ${pings} pings`,
      hosts: net.hosts.length,
      buildMs: Math.round(buildMs),
      wasmMemoryBytes: cluster.engine.memory.buffer.byteLength,
      rssBytes: process.memoryUsage().rss,
      rssGrowthBytes: process.memoryUsage().rss - rss0,
      pingsAnswered: answered,
      pingsPerSecond: Math.round(pings / (pingMs / 1000)),
    }];
  },
};
