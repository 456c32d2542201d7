// An L2 segment of a network whose members' senders forward for it: every
// lookup of a wave sees the table as the wave began, what the wave taught it
// is learned before the next, and frames reaching a member from several
// workers arrive in the order of their senders' ranks, so all of it is the
// same at any worker count and any assignment of hosts to workers.
import { describe, it, expect } from 'vitest';
import { Network } from '../src/network.js';
import { echoRequest, ipFrame, udpPacket, decode } from '../src/packet/index.js';

const ping = (dst: string, seq = 1) => echoRequest({ src: '0.0.0.0', dst, id: 7, seq });
const mac = (i: number) => `02:00:00:00:00:0${i}`;

/** n1..n3 on segment 'lan'; n1 and n3 know each other's MAC (no ARP between them). */
function lan(workers: number, assign?: (name: string) => number) {
  const net = new Network({ workers, assign });
  for (const i of [1, 2, 3]) {
    const h = net.host({ name: `n${i}` });
    h.link.add({ name: 'eth0', type: 'ether', mac: mac(i) });
    h.addr.add('eth0', `192.168.0.${i}/24`);
  }
  net.get('n3').neigh.add({ ip: '192.168.0.1', mac: mac(1), dev: 'eth0' });
  net.get('n1').neigh.add({ ip: '192.168.0.3', mac: mac(3), dev: 'eth0' });
  net.segment('lan', ['n1:eth0', 'n2:eth0', 'n3:eth0']);
  return net;
}

describe('a segment learns between waves', () => {
  it("a frame sent in the same wave as its destination's first frame is flooded; after that wave, it is not", async () => {
    const seen: string[][][] = [];
    for (const [workers, assign] of [[1, undefined], [2, (n: string) => (n === 'n3' ? 0 : 1)], [3, (n: string) => (n.startsWith('n') ? Number(n.slice(1)) % 3 : 2)]] as const) {
      const net = lan(workers, assign);
      await net.ready();
      try {
        const n2 = net.capture('n2:eth0');
        // Both at 0 ms, in the first wave: the segment knows no MAC yet, so n3's ping to n1 is flooded (n2 sees it).
        // n1's reply to it is not: n3 was learned in that wave.
        net.send('n1', [ping('192.168.0.2', 9)]);
        net.send('n3', [ping('192.168.0.1', 1)]);
        net.run();
        // Later, n1's MAC is known: n3's next ping goes to n1 alone.
        net.send('n3', [ping('192.168.0.1', 2)]);
        net.run();
        const frames = n2.frames.map((f) => {
          const d = decode(f.frame);
          return `${f.direction} ${d.arp ? `arp ${d.arp.op}` : `icmp ${d.icmp?.type} seq ${d.icmp?.seq}`}`;
        });
        seen.push([frames, net.drops('n2').map((d) => d.reason)]);
      } finally {
        await net.close();
      }
    }
    expect(seen[0]).toEqual([
      // n1's ARP and n3's flooded ping, in the order of their senders' ranks; then n1's own ping to n2.
      ['in arp 1', 'in icmp 8 seq 1', 'out arp 2', 'in icmp 8 seq 9', 'out icmp 0 seq 9'],
      ['OTHERHOST'],
    ]);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  it('a member bridging thousands of source MACs in one wave: all learned, the log grows, the same at 1 and 2 workers', async () => {
    const outcome: unknown[] = [];
    for (const workers of [1, 2]) {
      const net = new Network({ workers, assign: (n) => (n === 'br' ? workers - 1 : 0) });
      const br = net.host({ name: 'br' });
      br.link.add({ name: 'br0', type: 'bridge' });
      br.link.add({ name: 'eth0', type: 'ether', master: 'br0' });
      br.link.add({ name: 'eth1', type: 'ether', master: 'br0' });
      for (const i of [2, 3]) {
        const h = net.host({ name: `n${i}` });
        h.link.add({ name: 'eth0', type: 'ether', mac: mac(i) });
        h.addr.add('eth0', `192.168.0.${i}/24`);
      }
      net.segment('lan', ['br:eth0', 'n2:eth0', 'n3:eth0']);
      await net.ready();
      try {
        // 6,000 frames from 1,000 MACs taking turns, to a MAC nobody has: the bridge floods them onto the segment.
        const src = (i: number) => `02:aa:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
        const frames = Array.from({ length: 6000 }, (_, i) => ipFrame('02:bb:00:00:00:01', src(i % 1000), udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 9, size: 10 })));
        net.inject('br:eth1', frames);
        const first = net.run();
        // n2 now sends to five of those MACs: the segment sends each to br alone.
        for (let i = 0; i < 5; i++) net.get('n2').neigh.add({ ip: `192.168.0.${100 + i}`, mac: src(i * 199), dev: 'eth0' });
        const n3 = net.capture('n3:eth0');
        const toBr = net.capture('br:eth0');
        net.send('n2', Array.from({ length: 5 }, (_, i) => ping(`192.168.0.${100 + i}`)));
        net.run();
        expect(n3.frames).toHaveLength(0);
        expect(toBr.frames.filter((f) => f.direction === 'in')).toHaveLength(5);
        outcome.push([first, net.hosts.map((h) => h.stats())]);
      } finally {
        await net.close();
      }
    }
    expect(outcome[1]).toEqual(outcome[0]);
  });
});
