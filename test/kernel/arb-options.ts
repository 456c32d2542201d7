// Generated option-bearing packets: one to three options drawn from valid,
// full and malformed Record Routes, timestamps of every flag (times,
// addresses, prespecified, overflowing), loose and strict source routes,
// router alerts, CIPSO, unknown options, NOPs and END, put into UDP, TCP and
// echo packets that the host forwards (sometimes fragmenting them),
// answers, refuses, or has no route for.
import fc from 'fast-check';
import { echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { hostMac, remoteMac } from './arb-routing.js';
import { withOptions } from './packets.js';
import { printable, type KCase, type KFrame, type KSetup } from './setup.js';

const ADDRS = [[10, 1, 0, 1], [10, 2, 0, 1], [10, 9, 0, 9], [0, 0, 0, 0], [10, 1, 0, 7], [172, 31, 0, 1]];
const slots = (n: number, fill: fc.Arbitrary<number[]>) => fc.array(fill, { minLength: n, maxLength: n }).map((xs) => xs.flat());
const anAddr = fc.constantFrom(...ADDRS);
const zeros = fc.constant([0, 0, 0, 0]);

const recordRoute = fc
  .record({ n: fc.integer({ min: 1, max: 4 }), used: fc.integer({ min: 0, max: 5 }), bad: fc.constantFrom(0, 0, 0, 0, -1, 1, 2) })
  .chain(({ n, used, bad }) => slots(n, fc.oneof(anAddr, zeros)).map((body) => [7, 3 + 4 * n, Math.max(0, 4 + 4 * Math.min(used, n) + bad), ...body]));

// Pointers on an entry's boundary (or under 5): a time written elsewhere could not be masked (compare.ts).
const timestamp = fc
  .record({ flag: fc.constantFrom(0, 0, 1, 1, 3, 3, 2), n: fc.integer({ min: 1, max: 4 }), used: fc.integer({ min: 0, max: 4 }), overflow: fc.constantFrom(0, 0, 0, 1, 14, 15), bad: fc.constantFrom(false, false, false, false, true) })
  .chain(({ flag, n, used, overflow, bad }) => {
    const entry = flag === 0 ? 4 : 8;
    const entries = Math.max(1, Math.min(n, Math.floor(36 / entry)));
    const body = slots(entries, flag === 0 ? zeros : fc.tuple(anAddr, zeros).map(([a, t]) => [...a, ...t]));
    return body.map((b) => [0x44, 4 + entry * entries, bad ? 4 : 5 + entry * Math.min(used, entries), (overflow << 4) | flag, ...b]);
  });

const sourceRoute = fc
  .record({ strict: fc.boolean(), n: fc.integer({ min: 1, max: 3 }), used: fc.integer({ min: 0, max: 3 }) })
  .chain(({ strict, n, used }) => slots(n, anAddr).map((hops) => [strict ? 0x89 : 0x83, 3 + 4 * n, 4 + 4 * Math.min(used, n), ...hops]));

const other = fc.constantFrom([1], [1, 1, 1], [0], [0, 7, 4, 0], [0x94, 4, 0, 0], [0x94, 3, 0], [0x19, 4, 0, 0], [0x82, 4, 1, 2], [0x86, 6, 0, 0, 0, 1], [0x86, 10, 0, 0, 0, 1, 1, 4, 0, 0], [7, 1], [7, 2], [0x44, 3, 5]);

const anOption = fc.oneof({ weight: 4, arbitrary: recordRoute }, { weight: 4, arbitrary: timestamp }, { weight: 2, arbitrary: sourceRoute }, { weight: 3, arbitrary: other });

/** One to three options, as many as fit in 40 bytes. */
const arbOptions = fc.array(anOption, { minLength: 1, maxLength: 3 }).map((os) => {
  const out: number[] = [];
  for (const o of os) if (out.length + o.length <= 40) out.push(...o);
  return out.length ? out : [1];
});

const arbSetup = fc.record({
  forwarding: fc.constantFrom(true, true, true, false),
  smallMtu: fc.constantFrom(false, false, true),
  defaultRoute: fc.boolean(),
  second: fc.boolean(),
});

function buildSetup(c: typeof arbSetup extends fc.Arbitrary<infer T> ? T : never): KSetup {
  const addrs = [{ dev: 'eth1', cidr: '10.1.0.1/24' }, { dev: 'eth2', cidr: '10.2.0.1/24' }];
  if (c.second) addrs.push({ dev: 'eth1', cidr: '10.1.5.1/24' });
  return {
    forwarding: c.forwarding,
    links: [
      { name: 'eth1', type: 'veth', mac: hostMac(1) },
      { name: 'eth2', type: 'veth', mac: hostMac(2), mtu: c.smallMtu ? 576 : 1500 },
    ],
    addrs,
    routes: [c.defaultRoute ? { dst: 'default', via: '10.2.0.254' } : { dst: '172.31.0.0/16', via: '10.2.0.254' }],
    neighs: [
      { ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' },
      { ip: '10.1.0.9', mac: remoteMac(1, 9), dev: 'eth1' },
      { ip: '10.2.0.7', mac: remoteMac(2, 7), dev: 'eth2' },
      { ip: '10.2.0.254', mac: remoteMac(2, 0xfe), dev: 'eth2' },
    ],
  };
}

const arbPacket = fc.record({
  from: fc.constantFrom(1, 1, 1, 2),
  dst: fc.constantFrom('172.31.0.1', '172.31.0.1', '10.1.0.1', '10.1.0.1', '10.2.0.1', '10.1.0.255', '192.0.2.1', 'other'),
  proto: fc.constantFrom('udp', 'udp', 'icmp', 'icmp', 'tcp'),
  ttl: fc.constantFrom(64, 64, 64, 1),
  big: fc.constantFrom(false, false, false, true),
  df: fc.boolean(),
  options: arbOptions,
});

function buildFrame(s: KSetup, p: typeof arbPacket extends fc.Arbitrary<infer T> ? T : never, i: number): KFrame {
  const src = `10.${p.from}.0.7`;
  const dst = p.dst === 'other' ? `10.${3 - p.from}.0.7` : p.dst;
  const ip = { src, dst, ttl: p.ttl, df: p.df, id: 0x200 + i };
  // A big packet fills its ingress link (the sender keeps to the wire's MTU).
  const padded = Math.ceil(p.options.length / 4) * 4;
  const size = p.big ? (s.links[p.from - 1].mtu ?? 1500) - 20 - padded - 20 : 6;
  const packet =
    p.proto === 'udp' ? udpPacket({ ...ip, sport: 4000 + i, dport: 53, size })
    : p.proto === 'tcp' ? tcpPacket({ ...ip, sport: 4000 + i, dport: 80, flags: 'S', seq: i, payload: new Uint8Array(p.big ? size : 0) })
    : echoRequest({ ...ip, id: 0x300 + i, seq: i, size });
  return { link: `eth${p.from}`, frame: ipFrame(hostMac(p.from), remoteMac(p.from, 7), withOptions(packet, p.options)) };
}

export const arbOptionsCase: fc.Arbitrary<KCase> = fc
  .record({ setup: arbSetup.map(buildSetup), packets: fc.array(arbPacket, { minLength: 1, maxLength: 6 }) })
  .map(({ setup, packets }) => printable({ setup, steps: [{ gap: 0, frames: packets.map((p, i) => buildFrame(setup, p, i)) }] }));
