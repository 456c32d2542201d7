// Generated routing cases: two or three links with one to four addresses
// each (primaries, secondaries, several subnets, none), routes of every kind
// (via, dev, onlink, src, blackhole, unreachable, prohibit, metrics), and a
// few frames from neighbours: forwarded, answered, or refused with an ICMP
// error (no route, TTL, fragmentation needed, closed port), so that source
// address choice and ICMP limits show; and sometimes a datagram the host
// itself sends first, to a broadcast or unicast address.
import fc from 'fast-check';
import type { RouteSpec } from '../../src/host.js';
import { echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { printable, type KCase, type KFrame, type KLink, type KSend, type KSetup } from './setup.js';
import { sendsUnavailable } from './linux.js';

export const hostMac = (k: number) => `02:00:00:00:00:0${k}`;
/** Host h behind link k. */
export const remoteMac = (k: number, h: number) => `02:aa:00:00:0${k}:${h.toString(16).padStart(2, '0')}`;

/** Addresses link k may get, in the order drawn: 10.k.0.2/24 is a secondary once 10.k.0.1/24 is there. */
const addrChoices = (k: number) => [`10.${k}.0.1/24`, `10.${k}.0.2/24`, `10.${k}.1.1/24`, `10.${k}.2.1/30`, `10.${k}.3.1/32`];

type Hop = 'gw0' | 'gw1' | 'dev' | 'onlink' | 'blackhole' | 'unreachable' | 'prohibit';

const arbRoute = fc.record({
  dst: fc.constantFrom('default', '172.16.0.0/12', '172.16.5.0/24', '192.168.1.0/24', '10.9.0.0/16', '10.LINK.5.0/24'),
  hop: fc.constantFrom<Hop>('gw0', 'gw0', 'gw1', 'dev', 'onlink', 'blackhole', 'unreachable', 'prohibit'),
  link: fc.integer({ min: 1, max: 3 }),
  src: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined, freq: 4 }),
  metric: fc.constantFrom(0, 0, 0, 10, 20),
});

const arbSetup = fc.record({
  forwarding: fc.constantFrom(true, true, true, false),
  links: fc.integer({ min: 2, max: 3 }),
  mtus: fc.array(fc.constantFrom(1500, 1500, 1500, 1400, 576), { minLength: 3, maxLength: 3 }),
  addrs: fc.array(fc.subarray([0, 1, 2, 3, 4]), { minLength: 3, maxLength: 3 }),
  /** The order addresses are added across links. */
  order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  routes: fc.array(arbRoute, { maxLength: 5 }),
  /** Gateways and neighbours left unresolved (their frames wait for ARP). */
  unresolved: fc.subarray(['gw0', 'gw1', 'onlink', 'host']),
});

type SetupChoice = typeof arbSetup extends fc.Arbitrary<infer T> ? T : never;

function buildSetup(c: SetupChoice): KSetup {
  const links: KLink[] = [];
  for (let k = 1; k <= c.links; k++) links.push({ name: `eth${k}`, type: 'veth', mac: hostMac(k), mtu: c.mtus[k - 1] });
  const pending: { dev: string; cidr: string }[][] = [];
  for (let k = 1; k <= c.links; k++) pending.push(c.addrs[k - 1].map((i) => ({ dev: `eth${k}`, cidr: addrChoices(k)[i] })));
  // Interleave the links' lists (each keeps its own order).
  const addrs: { dev: string; cidr: string }[] = [];
  for (let i = 0; pending.some((p) => p.length); i++) {
    const open = pending.filter((p) => p.length);
    addrs.push(open[c.order[i % c.order.length] % open.length].shift()!);
  }
  const locals = addrs.map((a) => a.cidr.split('/')[0]);
  const routes: RouteSpec[] = [];
  const seen = new Set<string>();
  for (const r of c.routes) {
    const k = Math.min(r.link, c.links);
    const dst = r.dst.replace('LINK', String(k));
    const key = `${dst}/${r.metric}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const dev = `eth${k}`;
    const spec: RouteSpec = { dst, metric: r.metric || undefined };
    if (r.hop === 'blackhole' || r.hop === 'unreachable' || r.hop === 'prohibit') spec.type = r.hop;
    else if (r.hop === 'dev') spec.dev = dev;
    else if (r.hop === 'onlink') Object.assign(spec, { via: `10.${k}.7.254`, dev, onlink: true });
    else Object.assign(spec, { via: `10.${k}.${r.hop === 'gw0' ? 0 : 1}.254`, dev });
    if (r.src !== undefined && locals.length && !spec.type) spec.src = locals[r.src % locals.length];
    routes.push(spec);
  }
  const neighs: KSetup['neighs'] = [];
  for (let k = 1; k <= c.links; k++) {
    const dev = `eth${k}`;
    if (!c.unresolved.includes('gw0')) neighs.push({ ip: `10.${k}.0.254`, mac: remoteMac(k, 0xfe), dev });
    if (!c.unresolved.includes('gw1')) neighs.push({ ip: `10.${k}.1.254`, mac: remoteMac(k, 0xfd), dev });
    if (!c.unresolved.includes('onlink')) neighs.push({ ip: `10.${k}.7.254`, mac: remoteMac(k, 0xfc), dev });
    neighs.push({ ip: `10.${k}.0.7`, mac: remoteMac(k, 7), dev });
    if (!c.unresolved.includes('host')) neighs.push({ ip: `10.${k}.1.7`, mac: remoteMac(k, 8), dev });
  }
  return { forwarding: c.forwarding, links, addrs, routes, neighs };
}

const arbPacket = fc.record({
  link: fc.integer({ min: 1, max: 3 }),
  src: fc.constantFrom('10.L.0.7', '10.L.0.7', '10.L.0.7', '10.L.1.7', '172.16.5.9'),
  dst: fc.constantFrom(
    '172.16.5.7', '192.168.1.1', '10.9.1.1', '8.8.8.8', '10.O.0.7', '10.O.1.9', '10.O.5.1', '10.L.5.1',
    '10.L.0.1', '10.L.0.2', '10.L.1.1', '10.O.0.1', '10.O.3.1', '10.L.0.255', '255.255.255.255', '10.L.2.2',
  ),
  l2: fc.constantFrom('host', 'host', 'host', 'host', 'broadcast'),
  proto: fc.constantFrom('udp', 'udp', 'icmp', 'tcp'),
  ttl: fc.constantFrom(64, 64, 64, 1, 2),
  big: fc.constantFrom(false, false, false, true),
  df: fc.boolean(),
});

type PacketChoice = typeof arbPacket extends fc.Arbitrary<infer T> ? T : never;

function buildFrame(s: KSetup, p: PacketChoice, i: number): KFrame {
  const n = s.links.length;
  const k = Math.min(p.link, n);
  const o = (k % n) + 1;
  const fill = (a: string) => a.replace('L', String(k)).replace('O', String(o));
  const src = fill(p.src);
  const dst = fill(p.dst);
  // A big packet fills its ingress link (the sender keeps to the wire's MTU).
  const room = (s.links[k - 1].mtu ?? 1500) - 20 - (p.proto === 'tcp' ? 20 : 8);
  const data = new Uint8Array(p.big ? room : 12).map((_, j) => (j * 7 + i) & 0xff);
  const ip = { src, dst, ttl: p.ttl, df: p.df, id: 0x100 + i };
  const packet =
    p.proto === 'udp' ? udpPacket({ ...ip, sport: 40000 + i, dport: 33434, payload: data })
    : p.proto === 'tcp' ? tcpPacket({ ...ip, sport: 40000 + i, dport: 80, flags: 'S', seq: 1000 + i, payload: data })
    : echoRequest({ ...ip, id: 0x100 + i, seq: i, data });
  const sender = src === `10.${k}.1.7` ? remoteMac(k, 8) : remoteMac(k, 7);
  return { link: `eth${k}`, frame: ipFrame(p.l2 === 'host' ? hostMac(k) : 'ff:ff:ff:ff:ff:ff', sender, packet) };
}

/** What the host's own stack sends first (when the harness can send from its namespace): broadcasts and unicasts, routed as drawn. */
const arbSend = fc.option(
  fc.record({ dst: fc.constantFrom('255.255.255.255', '10.L.0.255', '10.L.1.255', '172.16.5.7', '10.L.0.7', '192.168.1.1'), link: fc.integer({ min: 1, max: 3 }) }),
  { nil: undefined, freq: 3 },
);

const canSend = !sendsUnavailable();

export const arbRoutingCase: fc.Arbitrary<KCase> = fc
  .record({ setup: arbSetup.map(buildSetup), packets: fc.array(arbPacket, { minLength: 1, maxLength: 8 }), send: arbSend })
  .map(({ setup, packets, send }) => {
    const sends: KSend[] = [];
    if (send && canSend) sends.push({ dst: send.dst.replace('L', String(Math.min(send.link, setup.links.length))), sport: 5353, dport: 9, payload: Uint8Array.from([1, 2, 3, 4]) });
    return printable({ setup, steps: [{ gap: 0, sends, frames: packets.map((p, i) => buildFrame(setup, p, i)) }] });
  });
