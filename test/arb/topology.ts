// fast-check arbitraries: small random topologies (plain data, applied through
// the control API that ModelHost and Host share) and random traffic for them:
// well-formed frames, mutated frames, originated packets, and the passing of time.
import fc from 'fast-check';
import { showFrame, showIp } from '../model/show.js';
import {
  ETH_P_ARP, ETH_P_IP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
  arpPacket, broadcastOf, ethernet, fixIpChecksum, formatIPv4, hex, icmpMessage, ipv4, networkOf,
  parseIPv4, parseMac, tcpSegment, udpSegment,
} from '../model/wire.js';

// ------------------------------------------------------------------ topology

// The control API's shapes, as the model spells them out (the engine's Host takes the same).
export type { LinkType, LinkSpec } from '../model/links.js';
export type { RouteSpec } from '../model/route.js';
import type { LinkSpec } from '../model/links.js';
import type { RouteSpec } from '../model/route.js';
import type { NeighParams } from '../model/neigh.js';
export type RouteType = NonNullable<RouteSpec['type']>;

/** The control API both ModelHost and Host offer. */
export interface HostLike {
  link: { add(spec: LinkSpec): void };
  addr: { add(dev: string, cidr: string): void };
  route: { add(spec: RouteSpec): void };
  neigh: { add(spec: { ip: string; mac: string; dev: string }): void };
  listen(proto: 'udp' | 'tcp', port: number): void;
}

export interface Topology {
  forwarding: boolean;
  /** Neighbour table bounds, small enough for a few frames to reach them (Host.create's `neigh`). */
  neigh?: Partial<NeighParams>;
  links: LinkSpec[];
  addrs: { dev: string; cidr: string }[];
  routes: RouteSpec[];
  neighs: { ip: string; mac: string; dev: string }[];
  listens: { proto: 'udp' | 'tcp'; port: number }[];
  /** What traffic draws from: addresses in and around the topology, MACs, links to receive on. */
  pool: {
    /** The host's own addresses. */
    localIps: string[];
    /** Other hosts: neighbours in the subnets, gateways, destinations behind routes. */
    remoteIps: string[];
    /** Broadcast, network, martian and multicast addresses. */
    oddIps: string[];
    macs: string[];
    /** Links frames arrive on, and the MACs a frame on each is addressed to. */
    rxLinks: string[];
    ownMacs: Record<string, string[]>;
  };
}

/** Builds the topology on a host, in the order ip(8) would. */
export function applyTopology(t: Topology, host: HostLike): void {
  for (const l of t.links) host.link.add({ ...l });
  for (const a of t.addrs) host.addr.add(a.dev, a.cidr);
  for (const r of t.routes) host.route.add({ ...r });
  for (const n of t.neighs) host.neigh.add({ ...n });
  for (const p of t.listens) host.listen(p.proto, p.port);
}

/** Other hosts on the wires. */
export const REMOTE_MACS = ['02:aa:00:00:00:01', '02:aa:00:00:00:02', '02:aa:00:00:00:03', '02:aa:00:00:00:04'];
const MCAST_MAC = '01:00:5e:00:00:05';
const SPECIAL_IPS = ['0.0.0.0', '255.255.255.255', '127.0.0.1', '224.0.0.5', '240.0.0.1'];
/** Destinations the route templates cover (and some nothing covers). */
const REMOTE_IPS = ['172.16.5.7', '172.16.5.8', '172.20.0.1', '192.168.0.1', '192.168.1.1', '192.168.2.1', '169.254.1.1', '10.200.0.1', '8.8.8.8'];

const linkMac = (i: number) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
const BRIDGE_MAC = '02:00:00:00:00:b0';

const PLENS = [24, 24, 24, 16, 30, 31, 32] as const;

interface LinkChoice {
  type: 'ether' | 'veth';
  mtu: number;
  up: boolean;
  proxyArp: boolean;
  port: boolean;
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
}

const arbLinkChoice: fc.Arbitrary<LinkChoice> = fc.record({
  type: fc.constantFrom('ether' as const, 'veth' as const),
  mtu: fc.constantFrom(1500, 1500, 1500, 1500, 1500, 1500, 1400, 576, 68, 1800),
  up: fc.constantFrom(true, true, true, true, true, true, true, true, true, true, true, false),
  proxyArp: fc.constantFrom(false, false, false, true),
  port: fc.boolean(),
  hairpin: fc.boolean(),
  learning: fc.constantFrom(true, true, true, false),
  flood: fc.constantFrom(true, true, true, false),
});

interface DeviceChoice {
  plen: (typeof PLENS)[number];
  second: 'none' | 'other-subnet' | 'same-subnet';
}

const arbDevice: fc.Arbitrary<DeviceChoice> = fc.record({
  plen: fc.constantFrom(...PLENS),
  second: fc.constantFrom('none' as const, 'none' as const, 'other-subnet' as const, 'same-subnet' as const),
});

type NextHop = 'via' | 'dev' | 'onlink';
type Kind = NextHop | 'blackhole' | 'unreachable' | 'prohibit';

interface RouteChoice {
  template: number;
  kind: Kind;
  /** Index into the L3 devices (taken modulo their number). */
  dev: number;
}

const ROUTE_TEMPLATES = ['default', '172.16.0.0/12', '172.16.5.0/24', '172.16.5.7/32', '192.168.0.0/16', '192.168.1.0/24', '192.168.2.0/24', '10.200.0.0/16', 'nested', 'calico'];

const arbRoute: fc.Arbitrary<RouteChoice> = fc.record({
  template: fc.integer({ min: 0, max: ROUTE_TEMPLATES.length - 1 }),
  kind: fc.constantFrom<Kind>('via', 'via', 'dev', 'onlink', 'blackhole', 'unreachable', 'prohibit'),
  dev: fc.nat(7),
});

/** Mostly Linux's defaults; sometimes bounds a handful of next hops and queued packets reach. */
const arbNeighParams: fc.Arbitrary<Partial<NeighParams> | undefined> = fc.option(
  fc.record(
    {
      gcThresh1: fc.constantFrom(0, 1, 2, 4),
      gcThresh2: fc.constantFrom(1, 2, 3),
      gcThresh3: fc.constantFrom(1, 2, 3, 4),
      unresQlenBytes: fc.constantFrom(0, 2048, 3 * 2048, 4000),
      unresHostBytes: fc.constantFrom(2048, 4 * 2048, 20 * 2048),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined, freq: 3 },
);

const arbChoices = fc.record({
  forwarding: fc.constantFrom(true, true, true, false),
  neigh: arbNeighParams,
  links: fc.array(arbLinkChoice, { minLength: 1, maxLength: 4 }),
  bridge: fc.option(
    fc.record({
      fdbMax: fc.option(fc.constantFrom(1, 2, 3), { nil: undefined }),
      ageingMs: fc.option(fc.constantFrom(1000, 2000, 5000), { nil: undefined }),
      proxyArp: fc.boolean(),
      up: fc.constantFrom(true, true, true, true, true, true, true, false),
    }),
    { nil: undefined, freq: 2 },
  ),
  devices: fc.array(arbDevice, { minLength: 5, maxLength: 5 }),
  routes: fc.array(arbRoute, { maxLength: 6 }),
  neighs: fc.array(fc.record({ host: fc.constantFrom(2, 3, 254), dev: fc.nat(7), mac: fc.nat(3) }), { maxLength: 3 }),
  listens: fc.subarray([
    { proto: 'udp' as const, port: 53 },
    { proto: 'udp' as const, port: 7 },
    { proto: 'tcp' as const, port: 80 },
    { proto: 'tcp' as const, port: 22 },
  ]),
});

type Choices = typeof arbChoices extends fc.Arbitrary<infer T> ? T : never;

/** Random small topologies: 1-4 NICs/veths, maybe a bridge over some of them, addresses, routes, neighbours. */
export const arbTopology: fc.Arbitrary<Topology> = arbChoices.map(buildTopology);

function buildTopology(c: Choices): Topology {
  const links: LinkSpec[] = [];
  const bridge = c.bridge && c.links.some((l) => l.port) ? c.bridge : undefined;
  if (bridge) {
    links.push({ name: 'br0', type: 'bridge', mac: BRIDGE_MAC, up: bridge.up, proxyArp: bridge.proxyArp, fdbMax: bridge.fdbMax, ageingMs: bridge.ageingMs });
  }
  c.links.forEach((l, i) => {
    const spec: LinkSpec = { name: `${l.type === 'ether' ? 'eth' : 'veth'}${i}`, type: l.type, mac: linkMac(i), mtu: l.mtu, up: l.up };
    if (bridge && l.port) Object.assign(spec, { master: 'br0', hairpin: l.hairpin, learning: l.learning, flood: l.flood });
    else if (l.proxyArp) spec.proxyArp = true;
    links.push(spec);
  });
  const l3 = links.filter((l) => !l.master).map((l) => l.name);
  const t: Topology = {
    forwarding: c.forwarding,
    ...(c.neigh ? { neigh: c.neigh } : {}),
    links,
    addrs: [],
    routes: [],
    neighs: [],
    listens: c.listens,
    pool: { localIps: [], remoteIps: [], oddIps: [], macs: [], rxLinks: [], ownMacs: {} },
  };
  // Device k (1-based) owns 10.k.0.0/16 and below.
  const plenOf = new Map<string, number>();
  l3.forEach((dev, i) => {
    const k = i + 1;
    const d = c.devices[i];
    plenOf.set(dev, d.plen);
    t.addrs.push({ dev, cidr: `10.${k}.0.1/${d.plen}` });
    if (d.second === 'other-subnet') t.addrs.push({ dev, cidr: `10.${k}.1.1/24` });
    if (d.second === 'same-subnet' && d.plen <= 30) t.addrs.push({ dev, cidr: `10.${k}.0.2/${d.plen}` });
  });
  addRoutes(t, c.routes, l3, plenOf);
  for (const n of c.neighs) {
    const k = (n.dev % l3.length) + 1;
    t.neighs.push({ ip: `10.${k}.0.${n.host}`, mac: REMOTE_MACS[n.mac], dev: l3[k - 1] });
  }
  fillPool(t, l3);
  return t;
}

/** A gateway on device k: 10.k.0.254, onlink when the connected subnet does not hold it. */
function gateway(k: number, dev: string, plenOf: Map<string, number>, forceOnlink: boolean): RouteSpec {
  const onlink = forceOnlink || plenOf.get(dev)! > 24;
  return onlink ? { dst: '', via: `10.${k}.0.254`, dev, onlink: true } : { dst: '', via: `10.${k}.0.254` };
}

function addRoutes(t: Topology, choices: RouteChoice[], l3: string[], plenOf: Map<string, number>): void {
  const taken = new Set<string>();
  const add = (r: RouteSpec) => {
    if (taken.has(r.dst)) return;
    taken.add(r.dst);
    t.routes.push(r);
  };
  for (const ch of choices) {
    const i = ch.dev % l3.length;
    const k = i + 1;
    const dev = l3[i];
    const template = ROUTE_TEMPLATES[ch.template];
    if (template === 'calico') {
      // Calico's pod routes: 169.254.1.1 dev eth0 scope link; default via 169.254.1.1 dev eth0 onlink.
      if (taken.has('default')) continue;
      add({ dst: '169.254.1.1/32', dev });
      add({ dst: 'default', via: '169.254.1.1', dev, onlink: true });
      continue;
    }
    // Nested inside device k's connected /16../24, clear of .1, .2 and the gateway .254.
    const dst = template === 'nested' ? (plenOf.get(dev)! <= 24 ? `10.${k}.0.64/26` : undefined) : template;
    if (!dst) continue;
    if (ch.kind === 'blackhole' || ch.kind === 'unreachable' || ch.kind === 'prohibit') add({ dst, type: ch.kind });
    else if (ch.kind === 'dev') add({ dst, dev });
    else add({ ...gateway(k, dev, plenOf, ch.kind === 'onlink'), dst });
  }
}

function fillPool(t: Topology, l3: string[]): void {
  const local = new Set<string>();
  const remote = new Set<string>(REMOTE_IPS);
  const odd = new Set<string>(SPECIAL_IPS);
  for (const a of t.addrs) {
    const [ip, plen] = a.cidr.split('/');
    const n = parseIPv4(ip);
    local.add(ip);
    odd.add(formatIPv4(broadcastOf(n, Number(plen))));
    odd.add(formatIPv4(networkOf(n, Number(plen))));
  }
  l3.forEach((_, i) => {
    for (const host of ['0.2', '0.3', '0.77', '0.100', '0.254', '1.2']) remote.add(`10.${i + 1}.${host}`);
  });
  t.pool.localIps = [...local];
  t.pool.remoteIps = [...remote].filter((a) => !local.has(a));
  t.pool.oddIps = [...odd].filter((a) => !local.has(a));
  t.pool.macs = [...t.links.map((l) => l.mac!), ...REMOTE_MACS, BROADCAST_STR, MCAST_MAC];
  for (const l of t.links) {
    if (l.type === 'bridge') continue;
    t.pool.rxLinks.push(l.name);
    t.pool.ownMacs[l.name] = l.master ? [BRIDGE_MAC, l.mac!] : [l.mac!];
  }
}

const BROADCAST_STR = 'ff:ff:ff:ff:ff:ff';

// ------------------------------------------------------------------- traffic

const arbSize = fc.oneof(
  { withCrossShrink: true },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: 600 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1300, max: 1480 }) },
);

const OPTIONS = [
  [1, 1, 1, 1], // NOPs
  [7, 7, 4, 0, 0, 0, 0, 0], // record route (not copied)
  [0x83, 7, 4, 10, 0, 0, 1, 0], // loose source route (copied)
  [0x44, 4, 5, 0], // timestamp (not copied)
  [0x94, 4, 0, 0], // router alert (copied)
  [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], // record route with room for two
  [0x44, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0], // timestamps with addresses
  [0x44, 12, 5, 3, 10, 0, 0, 1, 0, 0, 0, 0], // prespecified timestamp
  [0x44, 8, 9, 0xf0, 0, 0, 0, 0], // full timestamp, overflow at its limit: malformed
  [7, 7, 3, 0, 0, 0, 0, 0], // record route pointer too small: malformed
  [7, 9, 4, 0, 0, 0, 0, 0], // longer than the header: malformed
  [0x89, 7, 8, 10, 0, 0, 9, 7, 3, 3, 0], // strict source route, then a bad record route
  [0x86, 10, 0, 0, 0, 1, 1, 4, 0, 0, 0, 0], // CIPSO, no domain defined
  [0, 7, 4, 0], // END then stray bytes
].map((o) => {
  const b = Uint8Array.from(o);
  return b.length % 4 ? Uint8Array.from([...b, ...new Array(4 - (b.length % 4)).fill(0)]) : b;
});

/** An L4 payload builder, given the final addresses. */
type L4 = { proto: number; build: (src: number, dst: number, room: number) => Uint8Array };

function arbL4(t: Topology): fc.Arbitrary<L4> {
  const data = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);
  const echo = fc.record({ type: fc.constantFrom(8, 8, 8, 0, 13), id: fc.nat(0xffff), seq: fc.nat(0xffff), size: arbSize }).map(
    (e): L4 => ({ proto: 1, build: (_s, _d, room) => icmpMessage(e.type, 0, (e.id << 16) | e.seq, data(Math.min(e.size, room - 8))) }),
  );
  const icmpErr = fc.record({ type: fc.constantFrom(3, 11, 5, 12), code: fc.nat(4), inner: fc.constantFrom(1, 6, 17) }).map(
    (e): L4 => ({
      proto: 1,
      build: (s, d) => icmpMessage(e.type, e.code, 0, ipv4({ src: d, dst: s, proto: e.inner, ttl: 1 }, data(8))),
    }),
  );
  const ports = t.listens.map((l) => l.port);
  const udp = fc.record({ sport: fc.nat(0xffff), dport: fc.constantFrom(53, 7, 9, 33434, ...ports), size: arbSize }).map(
    (u): L4 => ({ proto: 17, build: (s, d, room) => udpSegment(s, d, u.sport, u.dport, data(Math.min(u.size, room - 8))) }),
  );
  const flags = fc.constantFrom(TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, TCP_FIN | TCP_ACK, TCP_PSH | TCP_ACK, TCP_SYN | TCP_FIN);
  const tcp = fc.record({ sport: fc.nat(0xffff), dport: fc.constantFrom(80, 22, 443, ...ports), flags, seq: fc.nat(), ack: fc.nat(), size: arbSize }).map(
    (x): L4 => ({
      proto: 6,
      build: (s, d, room) => tcpSegment(s, d, { sport: x.sport, dport: x.dport, seq: x.seq >>> 0, ack: x.ack >>> 0, flags: x.flags }, data(Math.min(x.size, room - 20))),
    }),
  );
  const other = fc.record({ proto: fc.constantFrom(47, 4, 132, 0, 255), size: arbSize }).map(
    (o): L4 => ({ proto: o.proto, build: (_s, _d, room) => data(Math.min(o.size, room)) }),
  );
  // A header cut short, with the IP total length agreeing.
  const short = fc.record({ proto: fc.constantFrom(1, 6, 17), bytes: fc.uint8Array({ maxLength: 19 }) }).map(
    (o): L4 => ({ proto: o.proto, build: () => o.bytes.slice() }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: echo },
    { weight: 1, arbitrary: short },
    { weight: 1, arbitrary: icmpErr },
    { weight: 3, arbitrary: udp },
    { weight: 3, arbitrary: tcp },
    { weight: 1, arbitrary: other },
  );
}

export interface IpChoice {
  src: string;
  dst: string;
  ttl: number;
  df: boolean;
  tos: number;
  id: number;
  options?: Uint8Array;
  frag: 'none' | 'mf' | 'offset';
  l4: L4;
  badL4: boolean;
}

/** Addresses drawn with weights: [local, remote, odd]. */
function arbAddr(t: Topology, [local, remote, odd]: [number, number, number]): fc.Arbitrary<string> {
  const parts: fc.WeightedArbitrary<string>[] = [];
  if (local && t.pool.localIps.length) parts.push({ weight: local, arbitrary: fc.constantFrom(...t.pool.localIps) });
  if (remote) parts.push({ weight: remote, arbitrary: fc.constantFrom(...t.pool.remoteIps) });
  if (odd) parts.push({ weight: odd, arbitrary: fc.constantFrom(...t.pool.oddIps) });
  return fc.oneof(...parts);
}

function arbIp(t: Topology, src: fc.Arbitrary<string>, dst: fc.Arbitrary<string>, ttls: number[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      src,
      dst,
      ttl: fc.constantFrom(...ttls),
      df: fc.boolean(),
      tos: fc.constantFrom(0, 0, 0x10, 0xb8, 0xff),
      id: fc.nat(0xffff),
      options: fc.option(fc.constantFrom(...OPTIONS), { nil: undefined, freq: 6 }),
      frag: fc.constantFrom<IpChoice['frag']>('none', 'none', 'none', 'none', 'none', 'none', 'mf', 'offset'),
      l4: arbL4(t),
      badL4: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
    })
    .map(buildIp);
}

function buildIp(c: IpChoice): Uint8Array {
  const src = parseIPv4(c.src);
  const dst = parseIPv4(c.dst);
  const hlen = 20 + (c.options?.length ?? 0);
  const payload = c.l4.build(src, dst, 1500 - hlen);
  if (c.badL4 && payload.length > 0) payload[payload.length - 1] ^= 0x5a;
  return ipv4(
    { src, dst, proto: c.l4.proto, ttl: c.ttl, df: c.df, tos: c.tos, id: c.id, options: c.options, mf: c.frag === 'mf', fragOffset: c.frag === 'offset' ? 1480 : 0 },
    payload,
  );
}

/** Mostly the receiving link's own MAC (or its bridge's), sometimes broadcast, multicast or another host's. */
function arbEthDst(t: Topology, link: string, bcastWeight = 2): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...t.pool.ownMacs[link]) },
    { weight: bcastWeight, arbitrary: fc.constant(BROADCAST_STR) },
    { weight: 1, arbitrary: fc.constantFrom(MCAST_MAC, ...REMOTE_MACS, ...t.pool.macs) },
  );
}

const arbEthSrc = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...REMOTE_MACS) },
  { weight: 1, arbitrary: fc.constantFrom('00:00:00:00:00:00', MCAST_MAC, BRIDGE_MAC, linkMac(0)) },
);

function arbIpFrame(t: Topology, link: string): fc.Arbitrary<Uint8Array> {
  const ip = arbIp(t, arbAddr(t, [1, 12, 1]), arbAddr(t, [5, 5, 1]), [0, 1, 2, 3, 64, 64, 64, 64, 64]);
  return fc
    .record({ dst: arbEthDst(t, link, 1), src: arbEthSrc, ip })
    .map((f) => ethernet(parseMac(f.dst), parseMac(f.src), ETH_P_IP, f.ip));
}

function arbArpFrame(t: Topology, link: string): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      op: fc.constantFrom(1, 1, 1, 2, 2, 2, 3),
      dst: arbEthDst(t, link, 6),
      src: arbEthSrc,
      shaIsSrc: fc.constantFrom(true, true, true, true, true, false),
      sha: fc.constantFrom(...REMOTE_MACS),
      spa: arbAddr(t, [1, 12, 1]),
      tha: fc.constantFrom(...t.pool.macs),
      tpa: arbAddr(t, [8, 4, 1]),
      pad: fc.constantFrom(0, 0, 0, 18),
    })
    .map((a) => {
      const sha = parseMac(a.shaIsSrc ? a.src : a.sha);
      const arp = arpPacket(a.op, sha, parseIPv4(a.spa), parseMac(a.tha), parseIPv4(a.tpa));
      const body = new Uint8Array(arp.length + a.pad);
      body.set(arp);
      return ethernet(parseMac(a.dst), parseMac(a.src), ETH_P_ARP, body);
    });
}

function arbOtherFrame(t: Topology, link: string): fc.Arbitrary<Uint8Array> {
  return fc
    .record({ dst: arbEthDst(t, link), src: arbEthSrc, type: fc.constantFrom(0x86dd, 0x8100, 0x88cc, 0x0000, 0xffff), body: fc.uint8Array({ maxLength: 64 }) })
    .map((f) => ethernet(parseMac(f.dst), parseMac(f.src), f.type, f.body));
}

export type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'set'; pos: number; value: number }
  | { kind: 'truncate'; len: number }
  | { kind: 'extend'; bytes: Uint8Array };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), value: fc.constantFrom(0, 0xff, 0x45, 0x46, 0x4f, 1, 5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), len: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
);

/** Mutations hit the first 60 bytes (the headers) more often than the rest. */
export function mutate(frame: Uint8Array, ms: Mutation[], fixChecksum: boolean): Uint8Array {
  let f = frame.slice();
  for (const m of ms) {
    if (f.length === 0) break;
    const at = (pos: number) => (pos % 3 === 0 ? pos % f.length : pos % Math.min(f.length, 60));
    if (m.kind === 'flip') f[at(m.pos)] ^= 1 << m.bit;
    else if (m.kind === 'set') f[at(m.pos)] = m.value;
    else if (m.kind === 'truncate') f = f.slice(0, m.len % (f.length + 1));
    else {
      const g = new Uint8Array(f.length + m.bytes.length);
      g.set(f);
      g.set(m.bytes, f.length);
      f = g;
    }
  }
  // Repairing the IPv4 header checksum lets a mutation reach the later checks.
  if (fixChecksum && f.length >= 34 && f[12] === 0x08 && f[13] === 0x00) fixIpChecksum(f.subarray(14));
  return f;
}

/** Well-formed frames of every kind the host handles (mostly addressed to `link`), a fraction of them mutated. */
export function arbFrame(t: Topology, link: string): fc.Arbitrary<Uint8Array> {
  const base = fc.oneof(
    { weight: 6, arbitrary: arbIpFrame(t, link) },
    { weight: 3, arbitrary: arbArpFrame(t, link) },
    { weight: 1, arbitrary: arbOtherFrame(t, link) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }) },
  );
  const mutated = fc
    .record({ frame: base, ms: fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fix: fc.boolean() })
    .map((m) => mutate(m.frame, m.ms, m.fix));
  return fc.oneof({ weight: 4, arbitrary: base }, { weight: 1, arbitrary: mutated });
}

/** A frame on one of the links frames arrive on. */
export function arbRx(t: Topology): fc.Arbitrary<{ link: string; frame: Uint8Array }> {
  return fc.constantFrom(...t.pool.rxLinks).chain((link) => fc.record({ link: fc.constant(link), frame: arbFrame(t, link) }));
}

/** Packets of the host's own stack: a local source or 0.0.0.0, a destination that is not a martian. */
export function arbOriginated(t: Topology): fc.Arbitrary<Uint8Array> {
  const src = fc.oneof(...[...t.pool.localIps, '0.0.0.0'].map((a) => fc.constant(a)));
  const dsts = [...t.pool.localIps, ...t.pool.remoteIps, ...t.pool.oddIps.filter((a) => !SPECIAL_IPS.includes(a) || a === '255.255.255.255')];
  const good = arbIp(t, src, fc.constantFrom(...dsts), [64]);
  const bad = fc.record({ p: good, ms: fc.array(arbMutation, { minLength: 1, maxLength: 2 }) }).map((m) => mutate(m.p, m.ms, false));
  return fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });
}

// -------------------------------------------------------------------- events

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  master?: string | null;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
}

export type TrafficEvent =
  | { kind: 'receive'; gap: number; frames: { link: string; frame: Uint8Array }[] }
  | { kind: 'send'; gap: number; packets: Uint8Array[] }
  | { kind: 'tick'; gap: number }
  | { kind: 'set'; gap: number; link: string; change: LinkChange };

/** Milliseconds between events: mostly none, sometimes enough for ARP retries, failures and FDB ageing. */
export const arbGap = fc.constantFrom(0, 0, 0, 1, 10, 500, 999, 1000, 1001, 2000, 3000, 3001, 5000, 300_000);

export function arbEvent(t: Topology): fc.Arbitrary<TrafficEvent> {
  const rx = arbRx(t);
  // One frame many times over: ICMP rate limits (burst of 6) and full neighbour queues (101 full-size
  // frames; the small bounds some topologies draw fill sooner).
  const times = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 7, max: 10 }) }, { weight: 1, arbitrary: fc.integer({ min: 102, max: 110 }) });
  const burst = fc.record({ gap: arbGap, one: rx, n: times }).map(
    (b): TrafficEvent => ({ kind: 'receive', gap: b.gap, frames: Array.from({ length: b.n }, () => b.one) }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('receive' as const), gap: arbGap, frames: fc.array(rx, { minLength: 1, maxLength: 8 }) }) },
    { weight: 1, arbitrary: burst },
    { weight: 1, arbitrary: arbLinkSet(t) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('send' as const), gap: arbGap, packets: fc.array(arbOriginated(t), { minLength: 1, maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), gap: arbGap }) },
  );
}

/** ip link set: a link goes down or up, changes MTU, or a bridge port changes its flags or leaves and rejoins. */
function arbLinkSet(t: Topology): fc.Arbitrary<TrafficEvent> {
  const ports = t.links.filter((l) => l.master).map((l) => l.name);
  const change: fc.Arbitrary<LinkChange> = fc.oneof(
    fc.record({ up: fc.boolean() }),
    fc.record({ mtu: fc.constantFrom(68, 576, 1500, 1800) }),
    ...(ports.length
      ? [fc.record({ hairpin: fc.boolean() }), fc.record({ learning: fc.boolean() }), fc.record({ flood: fc.boolean() }), fc.record({ master: fc.constantFrom(null, 'br0') })]
      : []),
  );
  return fc.record({ gap: arbGap, link: fc.constantFrom(...t.links.map((l) => l.name)), change }).map(
    ({ gap, link, change: c }): TrafficEvent => {
      // Port flags and bridge membership only for the links that started as ports.
      const portOnly = 'hairpin' in c || 'learning' in c || 'flood' in c || 'master' in c;
      return portOnly && !ports.includes(link) ? { kind: 'set', gap, link: ports[0], change: c } : { kind: 'set', gap, link, change: c };
    },
  );
}

export interface Scenario {
  topology: Topology;
  events: TrafficEvent[];
}

/** A topology and a run of traffic for it; printed compactly in counterexamples. */
export function arbScenario(maxEvents = 12): fc.Arbitrary<Scenario> {
  return arbTopology.chain((topology) =>
    fc
      .record({ topology: fc.constant(topology), events: fc.array(arbEvent(topology), { minLength: 1, maxLength: maxEvents }) })
      .map((sc) => Object.defineProperty(sc, fc.toStringMethod, { value: () => describeScenario(sc), enumerable: false })),
  );
}

/** The topology as the commands that build it, the events one line per frame (description, then hex). */
export function describeScenario(sc: Scenario): string {
  const t = sc.topology;
  const lines = [`forwarding ${t.forwarding}`];
  if (t.neigh) lines.push(`neigh ${JSON.stringify(t.neigh)}`);
  for (const l of t.links) lines.push(`link.add ${JSON.stringify(l)}`);
  for (const a of t.addrs) lines.push(`addr.add ${a.dev} ${a.cidr}`);
  for (const r of t.routes) lines.push(`route.add ${JSON.stringify(r)}`);
  for (const n of t.neighs) lines.push(`neigh.add ${JSON.stringify(n)}`);
  for (const p of t.listens) lines.push(`listen ${p.proto} ${p.port}`);
  let now = 0;
  for (const e of sc.events) {
    now += e.gap;
    lines.push(`@${now} ${e.kind}`);
    if (e.kind === 'receive') for (const f of e.frames) lines.push(`  ${f.link}: ${showFrame(f.frame)}\n    ${hex(f.frame)}`);
    if (e.kind === 'send') for (const p of e.packets) lines.push(`  ${showIp(p)}\n    ${hex(p)}`);
    if (e.kind === 'set') lines.push(`  link.set ${e.link} ${JSON.stringify(e.change)}`);
  }
  return lines.join('\n');
}
