// A host with netfilter on (Docker's rules, conntrack, NAT) under random and
// mutated traffic from both sides: it never traps, every packet is accounted
// for, and the conntrack table stays consistent with its own count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDocker, HOST_IP, SERVER_IP } from '../src/scenarios/docker.js';
import { udpPacket, tcpPacket, echoRequest, icmpError, ipFrame } from '../src/packet/index.js';
import { mutate, type Mutation } from './arb/topology.js';

const HOST_MAC = '02:00:c0:a8:00:0b';
const ROUTER_MAC = '02:00:c0:a8:00:01';
const BRIDGE_MAC = '02:42:ac:11:00:01';
const WEB_MAC = '02:42:ac:11:00:02';

const arbMutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('truncate' as const), len: fc.nat(120) }),
  ) as fc.Arbitrary<Mutation>,
  { maxLength: 3 },
);

/** Packets a Docker host meets: outside to published and other ports, containers out, ICMP errors. */
const arbPacket = fc.oneof(
  fc.record({ sport: fc.integer({ min: 1, max: 65535 }), dport: fc.constantFrom(8080, 8081, 22), flags: fc.constantFrom('S', 'A', 'SA', 'F', 'R', 'PA', 'FA', 'SF', '') })
    .map((p) => ({ link: 'eth0', frame: ipFrame(HOST_MAC, ROUTER_MAC, tcpPacket({ src: SERVER_IP, dst: HOST_IP, ...p, seq: 1, ack: 1 })) })),
  fc.record({ sport: fc.integer({ min: 1, max: 65535 }), dport: fc.integer({ min: 1, max: 65535 }) })
    .map((p) => ({ link: 'veth0', frame: ipFrame(BRIDGE_MAC, WEB_MAC, udpPacket({ src: '172.17.0.2', dst: SERVER_IP, ...p })) })),
  fc.record({ id: fc.nat(65535) }).map((p) => ({ link: 'veth0', frame: ipFrame(BRIDGE_MAC, WEB_MAC, echoRequest({ src: '172.17.0.2', dst: SERVER_IP, id: p.id, seq: 1 })) })),
  fc.record({ dport: fc.integer({ min: 1, max: 65535 }), type: fc.constantFrom(3, 11) }).map((p) => {
    const quoted = udpPacket({ src: HOST_IP, dst: SERVER_IP, sport: 1024 + (p.dport % 60000), dport: p.dport });
    return { link: 'eth0', frame: ipFrame(HOST_MAC, ROUTER_MAC, icmpError({ src: '192.168.0.1', dst: HOST_IP, type: p.type, code: 0, original: quoted })) };
  }),
  fc.uint8Array({ maxLength: 200 }).map((frame) => ({ link: 'eth0', frame })),
);

describe('netfilter under random traffic', () => {
  it('never traps, keeps the books, and keeps the conntrack table consistent (100,000 frames)', () => {
    const d = buildDocker({ containers: [{ name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] }] });
    d.host.conntrack.max = 512; // small, so eviction and CONNTRACK_FULL are exercised too
    d.host.neigh.add({ ip: '192.168.0.1', mac: ROUTER_MAC, dev: 'eth0' });
    d.host.neigh.add({ ip: '172.17.0.2', mac: WEB_MAC, dev: 'docker0' });
    const frames = fc.sample(fc.tuple(arbPacket, arbMutations, fc.boolean()), { seed: 0xf00d, numRuns: 100_000 })
      .map(([p, ms, fix]) => ({ link: p.link, frame: mutate(p.frame, ms, fix) }));
    let now = 0;
    for (let off = 0; off < frames.length; off += 256) {
      now += [0, 1, 2500, 31_000, 130_000][(off / 256) % 5];
      d.host.receive(frames.slice(off, off + 256).map((f, j) => ({ ...f, tag: off + j })), now);
      const f = d.host.stats().fates;
      expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued));
      expect(d.host.conntrack.list(now).length).toBeLessThanOrEqual(d.host.conntrack.count);
      expect(d.host.conntrack.count).toBeLessThanOrEqual(512);
    }
    const s = d.host.stats();
    expect(s.stages.conntrack_new).toBeGreaterThan(1000);
    expect(s.drops.NETFILTER_DROP).toBeGreaterThan(0);
  }, 120_000);
});
