// Byte-level helpers shared by the reference model and the traffic generators.
// Written independently of src/packet (except the address parsers) so that the
// model does not inherit a bug from the code it checks.
import { formatIPv4, formatMac, parseIPv4, parseMac } from '../../src/packet/addr.js';

export { formatIPv4, formatMac, parseIPv4, parseMac };

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const ARP_LEN = 28;
/** Tag of every packet the data plane creates itself. */
export const GEN_TAG = 0xffffffff;

export const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC = new Uint8Array(6);

export const get16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const get32 = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, (v >>> 16) & 0xffff);
  put16(b, o + 2, v & 0xffff);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

// --- Internet checksum (RFC 1071) ---

/** Ones'-complement sum of 16-bit big-endian words, folded to 16 bits. */
function onesSum(b: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for b[start, end); 0 over a range that holds a correct checksum. */
export function checksum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  return ~onesSum(b, start, end, initial) & 0xffff;
}

/** Checksum of a UDP/TCP segment with the IPv4 pseudo-header. */
export function l4Checksum(src: number, dst: number, proto: number, seg: Uint8Array): number {
  const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + seg.length;
  return checksum(seg, 0, seg.length, pseudo);
}

// --- MAC addresses ---

export function macEq(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

/** I/G bit: multicast, broadcast included. */
export const isMulticastMac = (b: Uint8Array, off = 0): boolean => (b[off] & 1) === 1;
export const isZeroMac = (b: Uint8Array, off = 0): boolean => macEq(b, off, ZERO_MAC);
export const macKey = (b: Uint8Array, off = 0): string => formatMac(b, off);

// --- IPv4 address classes ---

export const isMulticastIp = (a: number): boolean => a >>> 28 === 0xe; // 224/4
export const isLoopbackIp = (a: number): boolean => a >>> 24 === 127; // 127/8
export const LIMITED_BROADCAST = 0xffffffff;

export function maskOf(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}
export const networkOf = (a: number, plen: number): number => (a & maskOf(plen)) >>> 0;
export const broadcastOf = (a: number, plen: number): number => (a | ~maskOf(plen)) >>> 0;
export const inPrefix = (a: number, net: number, plen: number): boolean => ((a ^ net) & maskOf(plen)) === 0;

// --- Builders ---

export function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + payload.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  put16(f, 12, type);
  f.set(payload, ETH_HLEN);
  return f;
}

/** An Ethernet/IPv4 ARP packet (RFC 826), 28 bytes. */
export function arpPacket(op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): Uint8Array {
  const a = new Uint8Array(ARP_LEN);
  put16(a, 0, 1);
  put16(a, 2, ETH_P_IP);
  a[4] = 6;
  a[5] = 4;
  put16(a, 6, op);
  a.set(sha.subarray(0, 6), 8);
  put32(a, 14, spa);
  a.set(tha.subarray(0, 6), 18);
  put32(a, 24, tpa);
  return a;
}

export interface Ipv4Fields {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** Bytes, a multiple of 8. */
  fragOffset?: number;
  /** Raw option bytes, a multiple of 4. */
  options?: Uint8Array;
}

/** An IPv4 packet with total length and header checksum filled in. */
export function ipv4(f: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const opts = f.options ?? new Uint8Array(0);
  const hlen = 20 + opts.length;
  const p = new Uint8Array(hlen + payload.length);
  p[0] = 0x40 | (hlen >> 2);
  p[1] = f.tos ?? 0;
  put16(p, 2, p.length);
  put16(p, 4, f.id ?? 0);
  put16(p, 6, (f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | ((f.fragOffset ?? 0) >> 3));
  p[8] = f.ttl;
  p[9] = f.proto;
  put32(p, 12, f.src);
  put32(p, 16, f.dst);
  p.set(opts, 20);
  put16(p, 10, checksum(p, 0, hlen));
  p.set(payload, hlen);
  return p;
}

/** Recomputes the IPv4 header checksum in place. */
export function fixIpChecksum(ip: Uint8Array): void {
  const hlen = (ip[0] & 0x0f) * 4;
  if (hlen < 20 || hlen > ip.length) return;
  put16(ip, 10, 0);
  put16(ip, 10, checksum(ip, 0, hlen));
}

/** An ICMP message: type, code, 4 bytes of "rest of header", data; checksummed. */
export function icmpMessage(type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[1] = code;
  put32(m, 4, rest);
  m.set(data, 8);
  put16(m, 2, checksum(m));
  return m;
}

export function udpSegment(src: number, dst: number, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const s = new Uint8Array(8 + data.length);
  put16(s, 0, sport);
  put16(s, 2, dport);
  put16(s, 4, s.length);
  s.set(data, 8);
  const c = l4Checksum(src, dst, IPPROTO_UDP, s);
  put16(s, 6, c === 0 ? 0xffff : c);
  return s;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpFields {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
}

export function tcpSegment(src: number, dst: number, t: TcpFields, data: Uint8Array): Uint8Array {
  const s = new Uint8Array(20 + data.length);
  put16(s, 0, t.sport);
  put16(s, 2, t.dport);
  put32(s, 4, t.seq);
  put32(s, 8, t.ack);
  s[12] = 5 << 4;
  s[13] = t.flags;
  put16(s, 14, t.window ?? 0);
  s.set(data, 20);
  put16(s, 16, l4Checksum(src, dst, IPPROTO_TCP, s));
  return s;
}
