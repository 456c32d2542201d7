// What a fuzz run sends, shaped by the scenario: for every wired link of
// every host, templates of frames that could arrive there from the wire
// (UDP, TCP both ways, ICMP echo and errors, IPIP where the host has a
// tunnel, ARP, other EtherTypes), whose knobs take the scenario's own
// values: its addresses (the peer's, every host's, addresses its rules name,
// some nobody has, broadcasts and martians), its ports (sockets, the ports
// and DNAT targets of its rules), TTLs that expire, fragments, and sizes
// around every MTU it has, so the frames reach NAT, tunnels, fragmentation
// and ICMP errors. The data plane renders them (assembly/fuzz/render.ts).
import * as L from '../engine/layout.gen.js';
import type { Engine } from '../engine/engine.js';
import type { Host, LinkInfo } from '../host.js';
import type { Network } from '../network.js';
import { broadcastOf, formatIPv4, networkOf, parseCidr, parseIPv4, parseMac } from '../packet/addr.js';
import { arpFrame, echoRequest, ethernetFrame, icmpError, ipFrame, ipv4Packet, tcpPacket, udpPacket } from '../packet/craft.js';

export interface Knob {
  /** Offset of the field in the frame. */
  off: number;
  /** 1, 2, 4 bytes (big-endian), 6 (a MAC), or 0: the innermost payload's length. */
  width: 0 | 1 | 2 | 4 | 6;
  /** The values it takes (numbers, or MACs for width 6); absent: any. */
  values?: number[] | string[];
}

export interface Template {
  /** What it is and where it goes: `tcp into docker-host:eth0`. */
  name: string;
  host: Host;
  link: number;
  /** `host:link` */
  at: string;
  /** The frame at its largest (a size knob takes a prefix of it). */
  frame: Uint8Array;
  /** Offsets of the outer IPv4 header, the inner one (IPIP) and the innermost L4 header. */
  ip?: number;
  inner?: number;
  l4?: number;
  /** Bytes of the innermost L4 header. */
  l4hdr: number;
  /** An ARP packet: its sender fields are never mutated. */
  arp?: boolean;
  knobs: Knob[];
}

/** A link with a wire, and who is at the other end of it. */
interface End {
  host: Host;
  link: LinkInfo;
  peers: Peer[];
}

/**
 * A host at the other end of a wire, as it speaks on it: a bridge port's
 * frames come from the bridge (its MAC, its addresses), any other link's
 * from the link itself. Frames the fuzzer sends as that host use this
 * identity only, so no cache of the scenario learns a wrong MAC for an
 * address (that would break its properties as it would on Linux).
 */
interface Peer {
  host: Host;
  mac: string;
  addrs: string[];
}

const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const STRANGER_MAC = '02:00:de:ad:be:ef';
const OUTSIDE = ['8.8.8.8', '198.51.100.200'];
const ODD_SOURCES = ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255'];
const WELL_KNOWN = [22, 53, 80, 443, 8080];
const EPHEMERAL = [1, 1023, 1024, 32768, 40000, 61000, 65535];
const TTLS = [64, 64, 64, 64, 1, 2, 255, 0];
const FRAGS = [0, 0, 0, 0, 0x4000, 0x4000, 0x2000, 0x0001, 0x2001];
const TCP_FLAGS = [0x02, 0x02, 0x12, 0x10, 0x18, 0x01, 0x11, 0x04, 0x14, 0x00, 0x03, 0x06, 0x20, 0xff];
const ICMP_TYPES = [8, 8, 8, 0, 13, 15, 17];
const ICMP_ERRORS = [0x0303, 0x0303, 0x0304, 0x0300, 0x0301, 0x0302, 0x0b00, 0x030d, 0x0c00];
const MTUS = [0, 576, 1280, 1400, 1480, 1500];
const ETHERTYPES = [0x86dd, 0x8100, 0x88cc, 0x0000, 0x0806, 0x0800];
const SMALL_SIZES = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 4, 7, 8, 8, 9, 12, 16, 18, 20, 24, 32, 32, 40, 48, 64, 64, 64, 64, 80, 100, 128, 128, 160, 200, 256, 300, 400, 512, 512];

/** The templates of every wired link of the network. */
export function scenarioTemplates(net: Network): Template[] {
  const all = net.hosts.flatMap((h) => addresses(h).map((a) => a));
  const ports = scenarioPorts(net);
  const ruleAddrs = net.hosts.flatMap((h) => [...h.rules.save().matchAll(/(?:-d |--to-destination )(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]));
  const mtus = [...new Set(net.hosts.flatMap((h) => h.link.list().map((l) => l.mtu)))];
  return wiredEnds(net).flatMap((end) => templatesFor(net, end, { all, ports, ruleAddrs, mtus }));
}

interface Pools {
  all: string[];
  ports: number[];
  ruleAddrs: string[];
  mtus: number[];
}

function addresses(h: Host): string[] {
  return h.addr.list().map((a) => a.cidr.split('/')[0]).filter((a) => !a.startsWith('127.'));
}

/** Ports of sockets and of rules (--dport, --sport, DNAT targets, --to-ports), and a few others. */
function scenarioPorts(net: Network): number[] {
  const ports = new Set<number>();
  for (const h of net.hosts) {
    for (const key of h.ports) ports.add(key & 0xffff);
    for (const m of h.rules.save().matchAll(/--(?:dport|sport|to-ports) (\d+)|--to-destination [\d.]+:(\d+)/g)) ports.add(Number(m[1] ?? m[2]));
  }
  return [...ports, ...ports, ...WELL_KNOWN, ...EPHEMERAL];
}

/** Every host link with a wire, with the links at its other end (its veth peer, or the segment's other members). */
function wiredEnds(net: Network): End[] {
  const dv = net.engine.dv;
  const byRank = new Map(net.hosts.map((h) => [dv.getUint32(h.ptr + L.H_RANK, true), h]));
  const wired: { host: Host; link: LinkInfo; node: number; member: number }[] = [];
  for (const h of net.hosts) {
    for (const l of h.link.list()) {
      const port = dv.getUint32(h.linkPtr(l.index) + L.L_PEER, true);
      if (port === 0) continue;
      wired.push({ host: h, link: l, node: dv.getUint32(port + L.PT_NODE, true), member: dv.getUint32(port + L.PT_LINK, true) });
    }
  }
  return wired.map((w) => {
    const peer = byRank.get(w.node);
    const ends = peer
      ? [{ host: peer, link: peer.link.list()[w.member] }]
      : wired.filter((o) => o.node === w.node && o !== w).map((o) => ({ host: o.host, link: o.link }));
    return { host: w.host, link: w.link, peers: ends.filter((e) => e.link !== undefined).map((e) => speaker(e.host, e.link)) };
  });
}

function speaker(host: Host, link: LinkInfo): Peer {
  const dev = link.master ? host.link.list().find((l) => l.name === link.master) ?? link : link;
  return { host, mac: dev.mac, addrs: host.addr.list(dev.name).map((a) => a.cidr.split('/')[0]) };
}

function templatesFor(net: Network, end: End, pools: Pools): Template[] {
  const h = end.host;
  const at = `${h.name}:${end.link.name}`;
  const own = addresses(h);
  if (end.peers.length === 0) return [];
  const peerAddrs = end.peers.flatMap((p) => (p.addrs.length ? p.addrs : addresses(p.host)));
  const others = pools.all.filter((a) => !own.includes(a));
  // Addresses of the host's subnets that nobody has: ARP for them fails.
  const nobody = h.addr.list().flatMap((a) => {
    const { addr, plen } = parseCidr(a.cidr);
    if (plen >= 31) return [];
    const last = broadcastOf(addr, plen) - 1;
    return pools.all.includes(formatIPv4(last)) ? [] : [formatIPv4(last)];
  });
  const broadcasts = h.addr.list().flatMap((a) => {
    const { addr, plen } = parseCidr(a.cidr);
    return plen < 31 ? [formatIPv4(broadcastOf(addr, plen)), formatIPv4(networkOf(addr, plen))] : [];
  });
  const sources = ips([...rep(peerAddrs, 4), ...others, ...rep(OUTSIDE, 2), ...own, ...ODD_SOURCES]);
  const dests = ips([...rep(own, 4), ...others, ...pools.ruleAddrs, ...nobody, ...rep(OUTSIDE, 2), ...broadcasts, '255.255.255.255', '224.0.0.1', '127.0.0.1', '0.0.0.0']);
  const bridge = end.link.master ? h.link.list().find((l) => l.name === end.link.master) : undefined;
  // Frames for the host itself, for the hosts behind the bridge's other ports, broadcast and the odd ones.
  const behind = bridge ? h.link.list().filter((l) => l.master === bridge.name && l.name !== end.link.name).map((l) => peerOf(net, h, l)).filter((m): m is string => !!m) : [];
  const dstMacs = [...rep([bridge?.mac ?? end.link.mac], 4), ...behind, BROADCAST, BROADCAST, '01:00:5e:00:00:01', STRANGER_MAC, '01:80:c2:00:00:00', '01:80:c2:00:00:0e'];
  const srcMac = end.peers[0].mac;
  const ports = pools.ports;
  const mtu = end.link.mtu;
  const sizes = (overhead: number) => {
    const around = pools.mtus.filter((m) => m <= mtu).flatMap((m) => [m - overhead, m - overhead + 1]);
    return [...SMALL_SIZES, ...around, mtu - overhead + 20].filter((s) => s >= 0);
  };
  const base = { host: h, link: end.link.index, at };
  const knob = (off: number, width: Knob['width'], values?: number[] | string[]): Knob => ({ off, width, values });
  const ipKnobs = [knob(0, 6, dstMacs), knob(26, 4, sources), knob(30, 4, dests)];
  const out: Template[] = [];
  const src0 = formatIPv4(sources[0]);
  const dst0 = formatIPv4(dests[0]);

  const udpSizes = sizes(28);
  out.push({
    ...base, name: `udp into ${at}`, ip: 14, l4: 34, l4hdr: 8,
    frame: ipFrame(BROADCAST, srcMac, udpPacket({ src: src0, dst: dst0, sport: 40000, dport: 53, size: Math.max(...udpSizes) })),
    knobs: [...ipKnobs, knob(34, 2), knob(36, 2, ports), knob(22, 1, TTLS), knob(20, 2, FRAGS), knob(0, 0, udpSizes)],
  });
  // Answers from a server port to any port: the reply direction of connections (MASQUERADE, DNAT).
  out.push({
    ...base, name: `udp reply into ${at}`, ip: 14, l4: 34, l4hdr: 8,
    frame: ipFrame(BROADCAST, srcMac, udpPacket({ src: src0, dst: dst0, sport: 53, dport: 40000, size: Math.max(...udpSizes) })),
    knobs: [...ipKnobs, knob(34, 2, ports), knob(36, 2), knob(22, 1, TTLS), knob(20, 2, FRAGS), knob(0, 0, udpSizes)],
  });
  const tcpSizes = sizes(40);
  const tcp = (sport: number, dport: number) => ipFrame(BROADCAST, srcMac, tcpPacket({ src: src0, dst: dst0, sport, dport, flags: 'S', seq: 1, payload: new Uint8Array(Math.max(...tcpSizes)) }));
  out.push({
    ...base, name: `tcp into ${at}`, ip: 14, l4: 34, l4hdr: 20, frame: tcp(40000, 80),
    knobs: [...ipKnobs, knob(34, 2), knob(36, 2, ports), knob(47, 1, TCP_FLAGS), knob(22, 1, TTLS), knob(0, 0, tcpSizes)],
  });
  out.push({
    ...base, name: `tcp reply into ${at}`, ip: 14, l4: 34, l4hdr: 20, frame: tcp(80, 40000),
    knobs: [...ipKnobs, knob(34, 2, ports), knob(36, 2), knob(47, 1, TCP_FLAGS), knob(22, 1, TTLS), knob(0, 0, tcpSizes)],
  });
  const pingSizes = sizes(28);
  out.push({
    ...base, name: `icmp into ${at}`, ip: 14, l4: 34, l4hdr: 8,
    frame: ipFrame(BROADCAST, srcMac, echoRequest({ src: src0, dst: dst0, id: 1, seq: 1, size: Math.max(...pingSizes) })),
    knobs: [...ipKnobs, knob(34, 1, ICMP_TYPES), knob(38, 2), knob(22, 1, TTLS), knob(20, 2, FRAGS), knob(0, 0, pingSizes)],
  });
  // An error about a packet that went the other way: RELATED to its connection, translated back by NAT.
  const quoted = udpPacket({ src: dst0, dst: src0, sport: 40000, dport: 53, size: 8 });
  out.push({
    ...base, name: `icmp error into ${at}`, ip: 14, l4: 34, l4hdr: 8,
    frame: ipFrame(BROADCAST, srcMac, icmpError({ src: src0, dst: dst0, type: 3, code: 3, original: quoted })),
    knobs: [...ipKnobs, knob(34, 2, ICMP_ERRORS), knob(38, 4, MTUS), knob(42 + 12, 4, dests), knob(42 + 16, 4, sources), knob(62, 2, ports)],
  });
  if (h.link.list().some((l) => l.type === 'ipip')) {
    const innerSizes = sizes(48);
    const inner = udpPacket({ src: formatIPv4(sources[0]), dst: formatIPv4(dests[0]), sport: 40000, dport: 53, size: Math.max(...innerSizes) });
    out.push({
      ...base, name: `ipip into ${at}`, ip: 14, inner: 34, l4: 54, l4hdr: 8,
      frame: ipFrame(BROADCAST, srcMac, ipv4Packet({ src: peerAddrs[0] ?? src0, dst: own[0] ?? dst0, proto: 4 }, inner)),
      knobs: [knob(0, 6, dstMacs), knob(26, 4, ips([...rep(peerAddrs, 4), ...others, ...OUTSIDE])), knob(30, 4, ips([...rep(own, 4), ...others])),
        knob(46, 4, ips(pools.all)), knob(50, 4, ips([...pools.all, ...OUTSIDE])), knob(56, 2, ports), knob(42, 1, TTLS), knob(0, 0, innerSizes)],
    });
  }
  // ARP from the real neighbours (their own address and MAC: no cache is poisoned).
  for (const p of end.peers.slice(0, 3)) {
    const spa = p.addrs.find((a) => own.some((o) => sameSubnet(h, o, a))) ?? p.addrs[0];
    if (!spa) continue;
    out.push({
      ...base, name: `arp from ${p.host.name} into ${at}`, arp: true, l4hdr: 0,
      frame: arpFrame({ op: 1, sha: p.mac, spa, tpa: own[0] ?? dst0 }),
      knobs: [knob(0, 6, [BROADCAST, BROADCAST, end.link.mac]), knob(20, 2, [1, 1, 2, 3]), knob(38, 4, ips([...rep(own, 4), ...others, ...pools.all])), knob(32, 6, ['00:00:00:00:00:00', end.link.mac])],
    });
  }
  out.push({
    ...base, name: `other ethertypes into ${at}`, l4hdr: 0,
    frame: ethernetFrame({ dst: end.link.mac, src: srcMac, ethertype: 0x86dd }, new Uint8Array(64).map((_, i) => i)),
    knobs: [knob(0, 6, dstMacs), knob(12, 2, ETHERTYPES)],
  });
  return out;
}

function sameSubnet(h: Host, own: string, other: string): boolean {
  const a = h.addr.list().find((x) => x.cidr.startsWith(`${own}/`));
  if (!a) return false;
  const { plen } = parseCidr(a.cidr);
  return networkOf(parseIPv4(own), plen) === networkOf(parseIPv4(other), plen);
}

/** The MAC the host at the other end of a host's link speaks with, if it is wired to a host. */
function peerOf(net: Network, h: Host, l: LinkInfo): string | undefined {
  const dv = net.engine.dv;
  const port = dv.getUint32(h.linkPtr(l.index) + L.L_PEER, true);
  if (port === 0) return undefined;
  const rank = dv.getUint32(port + L.PT_NODE, true);
  const peer = net.hosts.find((x) => dv.getUint32(x.ptr + L.H_RANK, true) === rank);
  const link = peer?.link.list()[dv.getUint32(port + L.PT_LINK, true)];
  return peer && link ? speaker(peer, link).mac : undefined;
}

const ips = (list: string[]): number[] => list.map(parseIPv4);
const rep = <T>(list: T[], n: number): T[] => Array.from({ length: n }, () => list).flat();

/** Where templates were laid out in the engine's memory. */
export interface LaidTemplates {
  /** u32 addresses of the templates, in order. */
  table: number;
  count: number;
  /** The largest frame a template makes, mutations included. */
  maxFrame: number;
}

/** Lays the templates out for the data plane's renderer (assembly/fuzz/layout.ts). */
export function layTemplates(engine: Engine, templates: Template[]): LaidTemplates {
  if (templates.length === 0) throw new Error('fuzz: the scenario has no wired link to send frames into');
  const align = (n: number) => (n + 7) & ~7;
  let size = align(templates.length * 4);
  for (const t of templates) {
    size += align(L.TP_BYTES + t.frame.length);
    for (const k of t.knobs) size += align((k.values?.length ?? 0) * (k.width === 6 ? 8 : 4));
  }
  const base = engine.alloc(size);
  const dv = engine.dv;
  const u8 = engine.u8;
  let at = base + align(templates.length * 4);
  let maxFrame = 0;
  templates.forEach((t, i) => {
    const p = at;
    at += align(L.TP_BYTES + t.frame.length);
    dv.setUint32(base + 4 * i, p, true);
    dv.setUint32(p + L.TP_HOST, t.host.ptr, true);
    dv.setUint16(p + L.TP_LINK, t.link, true);
    dv.setUint8(p + L.TP_KIND, L.K_RX);
    dv.setUint8(p + L.TP_FLAGS, (t.ip !== undefined ? L.TPF_IP : 0) | (t.inner !== undefined ? L.TPF_INNER : 0) | (t.l4 !== undefined ? L.TPF_L4 : 0) | (t.arp ? L.TPF_ARP : 0));
    dv.setUint16(p + L.TP_LEN, t.frame.length, true);
    dv.setUint16(p + L.TP_IP, t.ip ?? 0, true);
    dv.setUint16(p + L.TP_INNER, t.inner ?? 0, true);
    dv.setUint16(p + L.TP_L4, t.l4 ?? 0, true);
    dv.setUint16(p + L.TP_L4HDR, t.l4hdr, true);
    dv.setUint8(p + L.TP_NKNOBS, t.knobs.length);
    dv.setUint16(p + L.TP_MAX, t.frame.length, true);
    u8.set(t.frame, p + L.TP_BYTES);
    maxFrame = Math.max(maxFrame, t.frame.length + 64);
    if (t.knobs.length > L.FUZZ_KNOBS) throw new Error(`fuzz: template ${t.name} has more than ${L.FUZZ_KNOBS} knobs`);
    t.knobs.forEach((k, j) => {
      const kn = p + L.TP_KNOBS + j * L.KN_SIZE;
      dv.setUint16(kn + L.KN_OFF, k.off, true);
      dv.setUint8(kn + L.KN_WIDTH, k.width);
      const values = k.values ?? [];
      dv.setUint32(kn + L.KN_COUNT, values.length, true);
      dv.setUint32(kn + L.KN_LIST, values.length ? at : 0, true);
      values.forEach((v, m) => {
        if (k.width === 6) u8.set(parseMac(v as string), at + 8 * m);
        else dv.setUint32(at + 4 * m, v as number, true);
      });
      at += align(values.length * (k.width === 6 ? 8 : 4));
    });
  });
  return { table: base, count: templates.length, maxFrame };
}
