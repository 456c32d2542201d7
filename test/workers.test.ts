// A network runs the same at any worker count: the same deliveries, drops,
// pcap bytes, counters and conntrack tables (NAT ports included), whatever
// host goes to which worker, run after run. And frames crossing from one
// worker to another are never lost: held while the pools can grow, counted
// when they cannot.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildDocker, HOST_IP, SERVER_IP } from '../src/scenarios/docker.js';
import { buildCalico, calicoNetwork } from '../src/scenarios/calico.js';
import { Network } from '../src/network.js';
import type { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { echoRequest, udpPacket, tcpPacket, ipFrame } from '../src/packet/index.js';
import { fragmentOf } from './kernel/packets.js';

/** Everything a run leaves behind, as one hash. */
function digest(net: Network, hosts: Host[], captures: { pcap(): Uint8Array }[], summaries: unknown[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(summaries));
  for (const host of hosts) {
    h.update(host.name);
    for (const d of net.delivered(host.name)) h.update(`${d.timeMs}:`).update(d.packet);
    h.update(JSON.stringify(host.stats()));
    h.update(JSON.stringify(host.conntrack.list(net.now)));
    h.update(JSON.stringify(host.neigh.list()));
  }
  h.update(JSON.stringify(net.drops()));
  for (const c of captures) h.update(c.pcap());
  return h.digest('hex');
}

type Flow = { from: number; to: number; proto: 'udp' | 'tcp' | 'icmp' | 'frag'; port: number; at: number };

const flows = (endpoints: number) => fc.array(
  fc.record({
    from: fc.nat(endpoints - 1),
    to: fc.nat(endpoints - 1),
    proto: fc.constantFrom('udp' as const, 'tcp' as const, 'icmp' as const, 'frag' as const),
    port: fc.constantFrom(53, 80, 8080, 5353, 40000),
    at: fc.nat(3),
  }),
  { minLength: 1, maxLength: 30 },
);

function packet(f: Flow, i: number, dst: string): Uint8Array {
  if (f.proto === 'icmp') return echoRequest({ src: '0.0.0.0', dst, id: i, seq: 1 });
  if (f.proto === 'udp') return udpPacket({ src: '0.0.0.0', dst, sport: 20000 + i, dport: f.port, size: 16 });
  // Bigger than any link: it leaves in fragments, which hosts with rules gather (nf_defrag) and cut again.
  if (f.proto === 'frag') return udpPacket({ src: '0.0.0.0', dst, sport: 20000 + i, dport: f.port, size: 3000, id: 0x4000 + i });
  return tcpPacket({ src: '0.0.0.0', dst, sport: 20000 + i, dport: f.port, flags: 'S', seq: i });
}

/** Docker's host, its containers and an outside server exchanging random flows. */
async function dockerRun(workers: number, traffic: Flow[]): Promise<string> {
  const d = buildDocker({
    containers: [{ name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] }, { name: 'dns', publish: [{ hostPort: 5353, containerPort: 53, proto: 'udp' }] }, { name: 'db' }],
    workers,
  });
  const net = d.net;
  await net.ready();
  try {
    for (const c of d.containers) {
      c.host.listen('tcp', 80);
      c.host.listen('udp', 53);
    }
    d.server.listen('udp', 40000);
    const ends = [...d.containers.map((c) => ({ name: c.host.name, ip: c.ip })), { name: 'server', ip: SERVER_IP }, { name: 'docker-host', ip: HOST_IP }];
    const caps = [net.capture('docker-host:eth0'), net.capture('web:eth0')];
    const summaries: unknown[] = [];
    for (let t = 0; t < 4; t++) {
      traffic.forEach((f, i) => {
        if (f.at !== t) return;
        net.send(ends[f.from % ends.length].name, [packet(f, i, ends[f.to % ends.length].ip)]);
      });
      summaries.push(net.run({ until: net.now + 1500 }));
    }
    return digest(net, net.hosts, caps, summaries);
  } finally {
    await net.close();
  }
}

async function calicoRun(workers: number, traffic: Flow[], assign?: (n: string) => number): Promise<string> {
  const cluster = buildCalico({ nodes: 3, podsPerNode: 3, engine: new Engine(), natOutgoing: true });
  const net = calicoNetwork(cluster, { workers, assign });
  await net.ready();
  try {
    const pods = cluster.nodes.flatMap((n) => n.pods);
    for (const p of pods) {
      p.host.listen('tcp', 80);
      p.host.listen('udp', 53);
    }
    const caps = [net.capture('node1:eth0'), net.capture('node3-pod1:eth0')];
    const summaries: unknown[] = [];
    for (let t = 0; t < 4; t++) {
      traffic.forEach((f, i) => {
        if (f.at !== t) return;
        net.send(pods[f.from % pods.length].host.name, [packet(f, i, pods[f.to % pods.length].ip)]);
      });
      summaries.push(net.run({ until: net.now + 1500 }));
    }
    return digest(net, net.hosts, caps, summaries);
  } finally {
    await net.close();
  }
}

describe('the same at any worker count', () => {
  it('Calico under random traffic: identical at 1, 2 and 3 workers', async () => {
    await fc.assert(
      fc.asyncProperty(flows(9), async (traffic) => {
        const one = await calicoRun(1, traffic);
        expect(await calicoRun(2, traffic)).toBe(one);
        expect(await calicoRun(3, traffic)).toBe(one);
      }),
      { numRuns: 6, seed: 0xc0ffee },
    );
  });

  it('Docker under random traffic: identical at 1, 2 and 3 workers', async () => {
    await fc.assert(
      fc.asyncProperty(flows(5), async (traffic) => {
        const one = await dockerRun(1, traffic);
        expect(await dockerRun(2, traffic)).toBe(one);
        expect(await dockerRun(3, traffic)).toBe(one);
      }),
      { numRuns: 6, seed: 0xd0c4e7 },
    );
  });

  it('a shuffled assignment of hosts to workers changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(flows(9), fc.array(fc.nat(2), { minLength: 32, maxLength: 32 }), async (traffic, shuffle) => {
        const one = await calicoRun(1, traffic);
        let i = 0;
        const byName = new Map<string, number>();
        const assign = (n: string) => {
          if (!byName.has(n)) byName.set(n, shuffle[i++ % shuffle.length]);
          return byName.get(n)!;
        };
        expect(await calicoRun(3, traffic, assign)).toBe(one);
      }),
      { numRuns: 4, seed: 0x5eed5 },
    );
  });

  it('fragments held, reassembled and expired on the way: identical at 1, 2 and 3 workers', async () => {
    const run = async (workers: number) => {
      const d = buildDocker({ containers: [{ name: 'dns', publish: [{ hostPort: 5353, containerPort: 53, proto: 'udp' }] }], workers });
      const net = d.net;
      await net.ready();
      try {
        d.containers[0].host.listen('udp', 53);
        const caps = [net.capture('docker-host:eth0'), net.capture('dns:eth0')];
        const summaries: unknown[] = [];
        for (let k = 0; k < 3; k++) net.send('server', [udpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 30000 + k, dport: 5353, size: 2000 + 700 * k, id: 0x100 + k })]);
        // A first fragment whose rest never comes: its queue on the docker host expires after ipfrag_time.
        const lone = udpPacket({ src: SERVER_IP, dst: HOST_IP, sport: 31000, dport: 5353, size: 2000, id: 0x200 });
        const first = fragmentOf(lone, { start: 0, end: 1480 });
        net.send('server', [first]);
        summaries.push(net.run({ until: net.now + 2000 }));
        summaries.push(net.run({ until: net.now + 31000 }));
        // The three datagrams reached the container whole (DNATed); the lone fragment's queue expired.
        expect(net.delivered('dns').length).toBe(3);
        expect(net.drops('docker-host').filter((x) => x.reason === 'FRAG_REASM_TIMEOUT').length).toBe(1);
        return digest(net, net.hosts, caps, summaries);
      } finally {
        await net.close();
      }
    };
    const one = await run(1);
    expect(await run(2)).toBe(one);
    expect(await run(3)).toBe(one);
  });

  it('20 runs at 2 workers, all identical', async () => {
    const traffic: Flow[] = Array.from({ length: 24 }, (_, i) => ({ from: i, to: i * 7 + 3, proto: (['udp', 'tcp', 'icmp'] as const)[i % 3], port: [53, 80, 40000][i % 3], at: i % 4 }));
    const first = await calicoRun(2, traffic);
    for (let r = 1; r < 20; r++) expect(await calicoRun(2, traffic)).toBe(first);
    expect(await calicoRun(1, traffic)).toBe(first);
  });
});
