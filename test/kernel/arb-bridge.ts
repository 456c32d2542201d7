// Generated bridge cases: a bridge over two or three ports (hairpin,
// learning, flooding as drawn), maybe with an address, and a run of frames
// between hosts behind the ports: learned and unknown unicast, broadcast,
// multicast, the reserved group addresses 01:80:c2:00:00:0X, the bridge's and
// the ports' own MACs, and sources that are nobody's (multicast, zero).
import fc from 'fast-check';
import { arpFrame, echoRequest, ipFrame, udpPacket } from '../../src/packet/index.js';
import { hostMac } from './arb-routing.js';
import { printable, type KCase, type KFrame, type KLink, type KSetup } from './setup.js';

const BRIDGE_MAC = '02:00:00:00:00:b0';
/** Hosts behind the ports: host i has MAC 02:bb:00:00:00:0i and address 10.0.0.(10 + i). */
const hostMacs = [1, 2, 3, 4, 5].map((i) => `02:bb:00:00:00:0${i}`);
const hostIp = (i: number) => `10.0.0.${10 + i}`;

const arbSetup = fc.record({
  ports: fc.integer({ min: 2, max: 3 }),
  flags: fc.array(fc.record({ hairpin: fc.constantFrom(false, false, false, true), learning: fc.constantFrom(true, true, true, false), flood: fc.constantFrom(true, true, true, false) }), { minLength: 3, maxLength: 3 }),
  addressed: fc.constantFrom(true, true, false),
  forwarding: fc.constantFrom(false, false, true),
});

type SetupChoice = typeof arbSetup extends fc.Arbitrary<infer T> ? T : never;

function buildSetup(c: SetupChoice): KSetup {
  const links: KLink[] = [{ name: 'br0', type: 'bridge', mac: BRIDGE_MAC }];
  for (let k = 1; k <= c.ports; k++) links.push({ name: `p${k}`, type: 'veth', mac: hostMac(k), master: 'br0', ...c.flags[k - 1] });
  return { forwarding: c.forwarding, links, addrs: c.addressed ? [{ dev: 'br0', cidr: '10.0.0.1/24' }] : [], routes: [], neighs: [] };
}

type Dst = 'host' | 'unknown' | 'broadcast' | 'multicast' | 'group0' | 'group1' | 'group2' | 'group14' | 'bridge' | 'port';

const arbFrame = fc.record({
  port: fc.integer({ min: 1, max: 3 }),
  src: fc.constantFrom<'host' | 'multicast' | 'zero' | 'port'>('host', 'host', 'host', 'host', 'host', 'host', 'multicast', 'zero', 'port'),
  from: fc.integer({ min: 0, max: 4 }),
  dst: fc.constantFrom<Dst>('host', 'host', 'host', 'unknown', 'broadcast', 'multicast', 'group0', 'group1', 'group2', 'group14', 'bridge', 'port', 'port'),
  to: fc.integer({ min: 0, max: 4 }),
  body: fc.constantFrom<'udp' | 'echo' | 'arp'>('udp', 'udp', 'echo', 'arp'),
  toBridge: fc.boolean(),
});

type FrameChoice = typeof arbFrame extends fc.Arbitrary<infer T> ? T : never;

function buildFrame(s: KSetup, f: FrameChoice, i: number): KFrame {
  const ports = s.links.length - 1;
  const k = Math.min(f.port, ports);
  const otherPort = (k % ports) + 1;
  const srcMac = { host: hostMacs[f.from], multicast: '01:00:5e:00:00:09', zero: '00:00:00:00:00:00', port: hostMac(otherPort) }[f.src];
  const dstMac = {
    host: hostMacs[f.to],
    unknown: '02:cc:00:00:00:01',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    multicast: '01:00:5e:00:00:01',
    group0: '01:80:c2:00:00:00',
    group1: '01:80:c2:00:00:01',
    group2: '01:80:c2:00:00:02',
    group14: '01:80:c2:00:00:0e',
    bridge: BRIDGE_MAC,
    port: hostMac(f.to % 2 === 0 ? k : otherPort),
  }[f.dst];
  const sip = hostIp(f.from);
  const dip = f.toBridge ? '10.0.0.1' : hostIp(f.to);
  let frame: Uint8Array;
  if (f.body === 'arp') {
    frame = arpFrame({ op: 1, sha: srcMac, spa: sip, tpa: dip, dst: dstMac });
  } else {
    const packet = f.body === 'udp' ? udpPacket({ src: sip, dst: dip, sport: 5000 + i, dport: 7 }) : echoRequest({ src: sip, dst: dip, id: 7, seq: i });
    frame = ipFrame(dstMac, srcMac, packet);
  }
  return { link: `p${k}`, frame };
}

export const arbBridgeCase: fc.Arbitrary<KCase> = fc
  .record({ setup: arbSetup.map(buildSetup), frames: fc.array(arbFrame, { minLength: 1, maxLength: 8 }) })
  .map(({ setup, frames }) => printable({ setup, steps: [{ gap: 0, frames: frames.map((f, i) => buildFrame(setup, f, i)) }] }));
