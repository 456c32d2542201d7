// Builders for whole packets and frames, and a never-throwing decoder with a
// one-line tcpdump-like summary. Used by tests, the CLI and traffic generators.
import { BROADCAST_MAC } from './addr.js';
import { emitArp, parseArp, ARP_REQUEST, type ArpRepr } from './arp.js';
import { get16, get32, get8 } from './bytes.js';
import { emitEthernet, parseEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, type EthernetParsed } from './ethernet.js';
import {
  emitIcmp,
  hasIdSeq,
  isIcmpError,
  parseIcmp,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  UNREACH_NEED_FRAG,
  type IcmpParsed,
} from './icmp.js';
import { emitIpv4, parseIpv4, IP_PROTO_ICMP, IP_PROTO_IPIP, IP_PROTO_TCP, IP_PROTO_UDP, type Ipv4Parsed, type Ipv4Repr } from './ipv4.js';
import { emitTcp, parseTcp, type TcpFlags, type TcpParsed } from './tcp.js';
import { emitUdp, parseUdp, type UdpParsed } from './udp.js';

const DEFAULT_TTL = 64;
const DEFAULT_PING_SIZE = 56; // ping(8)'s default data length
const DEFAULT_WINDOW = 65535;
const QUOTED_TRANSPORT_LEN = 8; // RFC 792: "internet header + 64 bits of original data"
const MAX_TUNNEL_DEPTH = 4; // IPIP nesting decoded before giving up

// ---------------------------------------------------------------- builders

/** An IPv4 packet; ttl 64, id 0, tos 0, no fragmentation flags unless given. */
export function ipv4Packet(ip: Partial<Ipv4Repr> & { src: string; dst: string; proto: number }, payload: Uint8Array): Uint8Array {
  return emitIpv4(
    {
      src: ip.src,
      dst: ip.dst,
      proto: ip.proto,
      ttl: ip.ttl ?? DEFAULT_TTL,
      id: ip.id ?? 0,
      tos: ip.tos ?? 0,
      df: ip.df ?? false,
      mf: ip.mf ?? false,
      fragOffset: ip.fragOffset ?? 0,
      options: ip.options,
    },
    payload,
  );
}

export interface EchoOptions {
  src: string;
  dst: string;
  id: number;
  seq: number;
  ttl?: number;
  df?: boolean;
  tos?: number;
  /** ICMP data bytes, default 56; ignored when `data` is given. */
  size?: number;
  data?: Uint8Array;
}

/** ICMP echo request in an IPv4 packet (no Ethernet header). */
export function echoRequest(o: EchoOptions): Uint8Array {
  return echo(ICMP_ECHO_REQUEST, o);
}

/** ICMP echo reply in an IPv4 packet (no Ethernet header). */
export function echoReply(o: EchoOptions): Uint8Array {
  return echo(ICMP_ECHO_REPLY, o);
}

function echo(type: number, o: EchoOptions): Uint8Array {
  const data = o.data ?? pattern(o.size ?? DEFAULT_PING_SIZE);
  const icmp = emitIcmp({ type, code: 0, id: o.id, seq: o.seq, data });
  return ipv4Packet({ src: o.src, dst: o.dst, proto: IP_PROTO_ICMP, ttl: o.ttl, df: o.df, tos: o.tos }, icmp);
}

/**
 * An ICMP error (type 3, 4, 5, 11, 12) about `original`, quoting its IP header
 * and first 8 payload bytes. `rest` is the second word (next-hop MTU for 3/4).
 */
export function icmpError(o: { src: string; dst: string; type: number; code: number; rest?: number; original: Uint8Array; ttl?: number }): Uint8Array {
  const ihl = (o.original[0] ?? 0) & 0x0f;
  const data = o.original.slice(0, Math.min(o.original.length, ihl * 4 + QUOTED_TRANSPORT_LEN));
  const icmp = emitIcmp({ type: o.type, code: o.code, rest: o.rest ?? 0, data });
  return ipv4Packet({ src: o.src, dst: o.dst, proto: IP_PROTO_ICMP, ttl: o.ttl }, icmp);
}

/** UDP in an IPv4 packet. Payload defaults to `size` pattern bytes (default 0). */
export function udpPacket(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: Uint8Array;
  size?: number;
  ttl?: number;
  df?: boolean;
  id?: number;
  tos?: number;
}): Uint8Array {
  const udp = emitUdp({ sport: o.sport, dport: o.dport, payload: o.payload ?? pattern(o.size ?? 0) }, o.src, o.dst);
  return ipv4Packet({ src: o.src, dst: o.dst, proto: IP_PROTO_UDP, ttl: o.ttl, df: o.df, id: o.id, tos: o.tos }, udp);
}

/** TCP in an IPv4 packet; `flags` is a string of S A R F P U (e.g. 'SA'), '.' also means ACK. */
export function tcpPacket(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: string;
  seq?: number;
  ack?: number;
  window?: number;
  payload?: Uint8Array;
  options?: Uint8Array;
  ttl?: number;
  df?: boolean;
  id?: number;
}): Uint8Array {
  const tcp = emitTcp(
    {
      sport: o.sport,
      dport: o.dport,
      seq: o.seq ?? 0,
      ack: o.ack ?? 0,
      flags: parseTcpFlags(o.flags),
      window: o.window ?? DEFAULT_WINDOW,
      payload: o.payload ?? new Uint8Array(0),
      options: o.options,
    },
    o.src,
    o.dst,
  );
  return ipv4Packet({ src: o.src, dst: o.dst, proto: IP_PROTO_TCP, ttl: o.ttl, df: o.df, id: o.id }, tcp);
}

const FLAG_LETTERS: Record<string, keyof TcpFlags> = { S: 'syn', A: 'ack', '.': 'ack', R: 'rst', F: 'fin', P: 'psh', U: 'urg' };

/** 'SA' -> { syn: true, ack: true, ... }. Throws on any other letter. */
export function parseTcpFlags(s: string): TcpFlags {
  const flags: TcpFlags = { syn: false, ack: false, rst: false, fin: false, psh: false, urg: false };
  for (const c of s.toUpperCase()) {
    const name = FLAG_LETTERS[c];
    if (name === undefined) throw new Error(`invalid TCP flags "${s}"`);
    flags[name] = true;
  }
  return flags;
}

/** tcpdump's notation: 'S', 'S.', 'P.', 'R.', '.' for a bare ACK, 'none' for no flags. */
export function formatTcpFlags(f: TcpFlags): string {
  const s = (f.syn ? 'S' : '') + (f.fin ? 'F' : '') + (f.rst ? 'R' : '') + (f.psh ? 'P' : '') + (f.urg ? 'U' : '') + (f.ack ? '.' : '');
  return s || 'none';
}

export function ethernetFrame(o: { dst: string; src: string; ethertype: number }, payload: Uint8Array): Uint8Array {
  return emitEthernet(o, payload);
}

export function ipFrame(dstMac: string, srcMac: string, ipPacket: Uint8Array): Uint8Array {
  return emitEthernet({ dst: dstMac, src: srcMac, ethertype: ETHERTYPE_IPV4 }, ipPacket);
}

/**
 * An ARP frame from sha. Ethernet dst defaults to broadcast for requests and
 * to tha for replies; tha defaults to 00:00:00:00:00:00 for requests (RFC 826
 * leaves it unspecified; Linux sends zeros).
 */
export function arpFrame(o: { op: 1 | 2; sha: string; spa: string; tha?: string; tpa: string; dst?: string }): Uint8Array {
  if (o.tha === undefined && o.op !== ARP_REQUEST) throw new Error('arpFrame: a reply needs tha');
  const tha = o.tha ?? '00:00:00:00:00:00';
  const dst = o.dst ?? (o.op === ARP_REQUEST ? BROADCAST_MAC : tha);
  const arp = emitArp({ op: o.op, sha: o.sha, spa: o.spa, tha, tpa: o.tpa });
  return emitEthernet({ dst, src: o.sha, ethertype: ETHERTYPE_ARP }, arp);
}

/** Bytes 0, 1, 2, ... (mod 256): recognisable in a hex dump. */
function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
}

// ---------------------------------------------------------------- decoding

/**
 * The first bytes of the datagram quoted in an ICMP error. Only the fields
 * that fit in the quoted 8 bytes are present (RFC 792).
 */
export interface QuotedDecoded {
  ip: Ipv4Parsed;
  icmp?: { type: number; code: number; checksum: number; id?: number; seq?: number; rest?: number };
  udp?: { sport: number; dport: number; length: number; checksum: number };
  tcp?: { sport: number; dport: number; seq: number };
}

export interface Decoded {
  /** Absent only when the frame is shorter than an Ethernet header. */
  eth?: EthernetParsed;
  arp?: ArpRepr;
  ip?: Ipv4Parsed;
  icmp?: IcmpParsed;
  udp?: UdpParsed;
  tcp?: TcpParsed;
  /** For ICMP errors (types 3, 4, 5, 11, 12). */
  quoted?: QuotedDecoded;
  /** For IPIP (protocol 4): the encapsulated packet. */
  inner?: Decoded;
  /** The first thing found malformed; the layers before it are filled in. */
  error?: string;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Decodes an Ethernet frame as far as it is well-formed. Never throws. */
export function decode(frame: Uint8Array): Decoded {
  const d: Decoded = {};
  try {
    const eth = (d.eth = parseEthernet(frame));
    if (eth.ethertype === ETHERTYPE_ARP) d.arp = parseArp(eth.payload);
    else if (eth.ethertype === ETHERTYPE_IPV4) decodeIpInto(d, eth.payload, 0);
  } catch (e) {
    d.error = message(e);
  }
  return d;
}

/** Like decode, for a bare IPv4 packet (no Ethernet header). Never throws. */
export function decodeIp(packet: Uint8Array): Decoded {
  const d: Decoded = {};
  try {
    decodeIpInto(d, packet, 0);
  } catch (e) {
    d.error = message(e);
  }
  return d;
}

function decodeIpInto(d: Decoded, packet: Uint8Array, depth: number): void {
  const ip = (d.ip = parseIpv4(packet));
  // Only a whole datagram has a parseable transport header with a valid length.
  if (ip.mf || ip.fragOffset > 0) return;
  switch (ip.proto) {
    case IP_PROTO_ICMP: {
      const icmp = (d.icmp = parseIcmp(ip.payload));
      if (isIcmpError(icmp.type)) d.quoted = decodeQuoted(icmp.data);
      break;
    }
    case IP_PROTO_UDP:
      d.udp = parseUdp(ip.payload, ip.src, ip.dst);
      break;
    case IP_PROTO_TCP:
      d.tcp = parseTcp(ip.payload, ip.src, ip.dst);
      break;
    case IP_PROTO_IPIP:
      if (depth < MAX_TUNNEL_DEPTH) {
        const inner: Decoded = (d.inner = {});
        try {
          decodeIpInto(inner, ip.payload, depth + 1);
        } catch (e) {
          inner.error = message(e);
        }
      }
      break;
  }
}

function decodeQuoted(data: Uint8Array): QuotedDecoded {
  const ip = parseIpv4(data, { partial: true });
  const q: QuotedDecoded = { ip };
  const t = ip.payload;
  if (ip.fragOffset > 0) return q; // a later fragment quotes no transport header
  if (ip.proto === IP_PROTO_UDP && t.length >= 8) {
    q.udp = { sport: get16(t, 0), dport: get16(t, 2), length: get16(t, 4), checksum: get16(t, 6) };
  } else if (ip.proto === IP_PROTO_TCP && t.length >= 8) {
    q.tcp = { sport: get16(t, 0), dport: get16(t, 2), seq: get32(t, 4) };
  } else if (ip.proto === IP_PROTO_ICMP && t.length >= 8) {
    const type = get8(t, 0);
    const word = hasIdSeq(type) ? { id: get16(t, 4), seq: get16(t, 6) } : { rest: get32(t, 4) };
    q.icmp = { type, code: get8(t, 1), checksum: get16(t, 2), ...word };
  }
  return q;
}

// ---------------------------------------------------------------- describe

/**
 * One line per frame, tcpdump-like:
 *   02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.1 tell 10.0.0.2
 *   10.0.0.1 > 10.0.0.2 ICMP echo request id 1 seq 1 ttl 64
 *   10.0.0.1.40000 > 10.0.0.2.80 TCP [S] seq 0 win 65535 len 0 ttl 64
 */
export function describe(frame: Uint8Array): string {
  const d = decode(frame);
  if (!d.eth) return `malformed frame: ${d.error}`;
  const macs = `${d.eth.src} > ${d.eth.dst}`;
  if (d.eth.ethertype === ETHERTYPE_ARP) {
    if (!d.arp) return `${macs} ARP malformed: ${d.error}`;
    const a = d.arp;
    return a.op === ARP_REQUEST ? `${macs} ARP who-has ${a.tpa} tell ${a.spa}` : `${macs} ARP reply ${a.spa} is-at ${a.sha}`;
  }
  if (d.eth.ethertype === ETHERTYPE_IPV4) return d.ip ? describeDecoded(d) : `${macs} IPv4 malformed: ${d.error}`;
  const type = d.eth.ethertype.toString(16).padStart(4, '0');
  return `${macs} ethertype 0x${type} len ${d.eth.payload.length}`;
}

/** describe() for a bare IPv4 packet. */
export function describeIp(packet: Uint8Array): string {
  const d = decodeIp(packet);
  return d.ip ? describeDecoded(d) : `IPv4 malformed: ${d.error}`;
}

const PROTO_NAMES: Record<number, string> = { 1: 'ICMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP' };
const UNREACH_CODES: Record<number, string> = { 0: 'net', 1: 'host', 2: 'protocol', 3: 'port', 4: 'need-frag', 9: 'net-prohibited', 10: 'host-prohibited', 13: 'admin-prohibited' };

function describeDecoded(d: Decoded): string {
  const ip = d.ip!;
  const tail = ` ttl ${ip.ttl}${ip.df ? ' DF' : ''}${ip.checksumOk ? '' : ' bad-ip-cksum'}${d.error ? ` malformed: ${d.error}` : ''}`;
  const proto = PROTO_NAMES[ip.proto] ?? `proto ${ip.proto}`;
  if (ip.mf || ip.fragOffset > 0) {
    return `${ip.src} > ${ip.dst} ${proto} frag id ${ip.id} off ${ip.fragOffset} len ${ip.payload.length}${ip.mf ? ' MF' : ''}${tail}`;
  }
  if (d.udp) {
    const u = d.udp;
    return `${ip.src}.${u.sport} > ${ip.dst}.${u.dport} UDP len ${u.payload.length}${cksum(u.checksumOk)}${tail}`;
  }
  if (d.tcp) {
    const t = d.tcp;
    const ack = t.flags.ack ? ` ack ${t.ack}` : '';
    return `${ip.src}.${t.sport} > ${ip.dst}.${t.dport} TCP [${formatTcpFlags(t.flags)}] seq ${t.seq}${ack} win ${t.window} len ${t.payload.length}${cksum(t.checksumOk)}${tail}`;
  }
  if (d.icmp) return `${ip.src} > ${ip.dst} ICMP ${describeIcmp(d.icmp, d.quoted)}${cksum(d.icmp.checksumOk)}${tail}`;
  if (d.inner) {
    const inner = d.inner.ip ? describeDecoded(d.inner) : `malformed: ${d.inner.error}`;
    return `${ip.src} > ${ip.dst} IPIP${tail}: ${inner}`;
  }
  return `${ip.src} > ${ip.dst} ${proto} len ${ip.payload.length}${tail}`;
}

const cksum = (ok: boolean | undefined): string => (ok === false ? ' bad-cksum' : '');

function describeIcmp(m: IcmpParsed, q: QuotedDecoded | undefined): string {
  if (m.type === ICMP_ECHO_REQUEST || m.type === ICMP_ECHO_REPLY) {
    return `echo ${m.type === ICMP_ECHO_REQUEST ? 'request' : 'reply'} id ${m.id} seq ${m.seq}`;
  }
  let what: string;
  if (m.type === ICMP_DEST_UNREACH) {
    what = `unreachable ${UNREACH_CODES[m.code] ?? `code ${m.code}`}`;
    // RFC 1191: the next-hop MTU is the low 16 bits of the second word.
    if (m.code === UNREACH_NEED_FRAG) what += ` mtu ${(m.rest ?? 0) & 0xffff}`;
  } else if (m.type === ICMP_TIME_EXCEEDED) {
    what = `time exceeded ${m.code === 0 ? 'in-transit' : m.code === 1 ? 'reassembly' : `code ${m.code}`}`;
  } else {
    what = `type ${m.type} code ${m.code}`;
  }
  if (isIcmpError(m.type)) what += q ? ` [${describeQuoted(q)}]` : ' [quoted packet malformed]';
  return what;
}

function describeQuoted(q: QuotedDecoded): string {
  const ip = q.ip;
  if (q.udp) return `${ip.src}.${q.udp.sport} > ${ip.dst}.${q.udp.dport} UDP`;
  if (q.tcp) return `${ip.src}.${q.tcp.sport} > ${ip.dst}.${q.tcp.dport} TCP seq ${q.tcp.seq}`;
  if (q.icmp) {
    const idseq = q.icmp.id !== undefined ? ` id ${q.icmp.id} seq ${q.icmp.seq}` : '';
    return `${ip.src} > ${ip.dst} ICMP type ${q.icmp.type}${idseq}`;
  }
  return `${ip.src} > ${ip.dst} ${PROTO_NAMES[ip.proto] ?? `proto ${ip.proto}`}`;
}
