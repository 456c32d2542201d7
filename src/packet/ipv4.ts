// IPv4 header (RFC 791 3.1).
import { formatIPv4, parseIPv4 } from './addr.js';
import { checkUint, get16, get32, get8, need, put16, put32 } from './bytes.js';
import { internetChecksum } from './checksum.js';

const VER_IHL = 0;
const TOS = 1;
const LENGTH = 2;
const IDENT = 4;
const FLG_OFF = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC_ADDR = 12;
const DST_ADDR = 16;
const OPTIONS = 20;
export const IPV4_HEADER_LEN = 20; // without options
export const IPV4_MAX_OPTIONS_LEN = 40; // IHL is 4 bits: at most 60 bytes of header

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff; // in units of 8 bytes

export const IP_PROTO_ICMP = 1;
export const IP_PROTO_IPIP = 4;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;

export interface Ipv4Repr {
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  id: number;
  /** Defaults to 0 on emit. */
  tos?: number;
  df: boolean;
  mf: boolean;
  /** In bytes; a multiple of 8. */
  fragOffset: number;
  /** Raw option bytes, a multiple of 4 long (pad with EOL/NOP yourself). */
  options?: Uint8Array;
}

export type Ipv4Parsed = Ipv4Repr & {
  tos: number;
  /** Header length in 32-bit words, as in the IHL field. */
  ihl: number;
  totalLength: number;
  checksum: number;
  checksumOk: boolean;
  /** Bytes from the end of the header to totalLength (Ethernet padding trimmed); a view. */
  payload: Uint8Array;
};

const version = (b: Uint8Array): number => get8(b, VER_IHL) >> 4;
const ihlOf = (b: Uint8Array): number => get8(b, VER_IHL) & 0x0f;

/**
 * Parses and validates an IPv4 header. With `partial`, a total length larger
 * than the buffer is accepted and the payload is whatever is present: that is
 * the shape of the header quoted in an ICMP error (RFC 792: header + 8 bytes).
 * A bad header checksum does not throw; it shows as checksumOk: false.
 */
export function parseIpv4(bytes: Uint8Array, opts: { partial?: boolean } = {}): Ipv4Parsed {
  need(bytes, IPV4_HEADER_LEN, 'IPv4 header');
  if (version(bytes) !== 4) throw new Error(`IPv4: version ${version(bytes)}, expected 4`);
  const ihl = ihlOf(bytes);
  const hlen = ihl * 4;
  if (hlen < IPV4_HEADER_LEN) throw new Error(`IPv4: header length ${hlen} < ${IPV4_HEADER_LEN}`);
  if (hlen > bytes.length) throw new Error(`IPv4: header length ${hlen} exceeds packet (${bytes.length} bytes)`);
  const totalLength = get16(bytes, LENGTH);
  if (totalLength < hlen) throw new Error(`IPv4: total length ${totalLength} < header length ${hlen}`);
  if (totalLength > bytes.length && !opts.partial) {
    throw new Error(`IPv4: total length ${totalLength} exceeds packet (${bytes.length} bytes)`);
  }
  const flgOff = get16(bytes, FLG_OFF);
  const parsed: Ipv4Parsed = {
    src: formatIPv4(get32(bytes, SRC_ADDR)),
    dst: formatIPv4(get32(bytes, DST_ADDR)),
    proto: get8(bytes, PROTOCOL),
    ttl: get8(bytes, TTL),
    id: get16(bytes, IDENT),
    tos: get8(bytes, TOS),
    df: (flgOff & FLAG_DF) !== 0,
    mf: (flgOff & FLAG_MF) !== 0,
    fragOffset: (flgOff & OFFSET_MASK) * 8,
    ihl,
    totalLength,
    checksum: get16(bytes, CHECKSUM),
    checksumOk: internetChecksum(bytes, 0, hlen) === 0,
    payload: bytes.subarray(hlen, Math.min(totalLength, bytes.length)),
  };
  if (hlen > IPV4_HEADER_LEN) parsed.options = bytes.slice(OPTIONS, hlen);
  return parsed;
}

/** Header + payload, with total length and header checksum filled in. */
export function emitIpv4(repr: Ipv4Repr, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const options = repr.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > IPV4_MAX_OPTIONS_LEN) {
    throw new Error(`IPv4: options length ${options.length} must be a multiple of 4, at most ${IPV4_MAX_OPTIONS_LEN}`);
  }
  const hlen = IPV4_HEADER_LEN + options.length;
  const totalLength = hlen + payload.length;
  if (totalLength > 0xffff) throw new Error(`IPv4: total length ${totalLength} exceeds 65535`);
  const tos = repr.tos ?? 0;
  checkUint('IPv4 ttl', repr.ttl, 0xff);
  checkUint('IPv4 id', repr.id, 0xffff);
  checkUint('IPv4 proto', repr.proto, 0xff);
  checkUint('IPv4 tos', tos, 0xff);
  checkUint('IPv4 fragOffset', repr.fragOffset, OFFSET_MASK * 8);
  if (repr.fragOffset % 8 !== 0) throw new Error(`IPv4: fragOffset ${repr.fragOffset} is not a multiple of 8`);

  const out = new Uint8Array(totalLength);
  out[VER_IHL] = 0x40 | (hlen / 4);
  out[TOS] = tos;
  put16(out, LENGTH, totalLength);
  put16(out, IDENT, repr.id);
  put16(out, FLG_OFF, (repr.df ? FLAG_DF : 0) | (repr.mf ? FLAG_MF : 0) | (repr.fragOffset / 8));
  out[TTL] = repr.ttl;
  out[PROTOCOL] = repr.proto;
  put32(out, SRC_ADDR, parseIPv4(repr.src));
  put32(out, DST_ADDR, parseIPv4(repr.dst));
  out.set(options, OPTIONS);
  put16(out, CHECKSUM, internetChecksum(out, 0, hlen));
  out.set(payload, hlen);
  return out;
}
