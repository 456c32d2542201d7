// TCP header (RFC 9293 3.1), checksummed over the IPv4 pseudo-header.
import { parseIPv4 } from './addr.js';
import { checkUint, get16, get32, get8, need, put16, put32 } from './bytes.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { IP_PROTO_TCP } from './ipv4.js';

const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ_NUM = 4;
const ACK_NUM = 8;
const DATA_OFF = 12; // high nibble, in 32-bit words
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;
const OPTIONS = 20;
export const TCP_HEADER_LEN = 20; // without options
export const TCP_MAX_OPTIONS_LEN = 40;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;

export interface TcpFlags {
  syn: boolean;
  ack: boolean;
  rst: boolean;
  fin: boolean;
  psh: boolean;
  urg: boolean;
}

export interface TcpRepr {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: TcpFlags;
  window: number;
  payload: Uint8Array;
  /** Raw option bytes, a multiple of 4 long (pad with NOP/EOL yourself). */
  options?: Uint8Array;
  /** Urgent pointer; 0 on emit when absent. */
  urgent?: number;
}

export type TcpParsed = TcpRepr & {
  urgent: number;
  /** Header length in 32-bit words, as in the data offset field. */
  dataOffset: number;
  checksum: number;
  /** Undefined when src/dst were not given. */
  checksumOk: boolean | undefined;
};

/** `bytes` must be exactly the segment (the trimmed IPv4 payload): TCP has no length field. */
export function parseTcp(bytes: Uint8Array, src?: string, dst?: string): TcpParsed {
  need(bytes, TCP_HEADER_LEN, 'TCP header');
  const dataOffset = get8(bytes, DATA_OFF) >> 4;
  const hlen = dataOffset * 4;
  if (hlen < TCP_HEADER_LEN) throw new Error(`TCP: header length ${hlen} < ${TCP_HEADER_LEN}`);
  if (hlen > bytes.length) throw new Error(`TCP: header length ${hlen} exceeds segment (${bytes.length} bytes)`);
  const f = get8(bytes, FLAGS);
  let checksumOk: boolean | undefined;
  if (src !== undefined && dst !== undefined) {
    const pseudo = pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), IP_PROTO_TCP, bytes.length);
    checksumOk = internetChecksum(bytes, 0, bytes.length, pseudo) === 0;
  }
  const parsed: TcpParsed = {
    sport: get16(bytes, SRC_PORT),
    dport: get16(bytes, DST_PORT),
    seq: get32(bytes, SEQ_NUM),
    ack: get32(bytes, ACK_NUM),
    flags: {
      syn: (f & SYN) !== 0,
      ack: (f & ACK) !== 0,
      rst: (f & RST) !== 0,
      fin: (f & FIN) !== 0,
      psh: (f & PSH) !== 0,
      urg: (f & URG) !== 0,
    },
    window: get16(bytes, WINDOW),
    payload: bytes.subarray(hlen),
    urgent: get16(bytes, URGENT),
    dataOffset,
    checksum: get16(bytes, CHECKSUM),
    checksumOk,
  };
  if (hlen > TCP_HEADER_LEN) parsed.options = bytes.slice(OPTIONS, hlen);
  return parsed;
}

/** Header + payload with data offset and checksum; src/dst are the IPv4 addresses of the pseudo-header. */
export function emitTcp(repr: TcpRepr, src: string, dst: string): Uint8Array {
  const options = repr.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > TCP_MAX_OPTIONS_LEN) {
    throw new Error(`TCP: options length ${options.length} must be a multiple of 4, at most ${TCP_MAX_OPTIONS_LEN}`);
  }
  checkUint('TCP sport', repr.sport, 0xffff);
  checkUint('TCP dport', repr.dport, 0xffff);
  checkUint('TCP seq', repr.seq, 0xffff_ffff);
  checkUint('TCP ack', repr.ack, 0xffff_ffff);
  checkUint('TCP window', repr.window, 0xffff);
  checkUint('TCP urgent', repr.urgent ?? 0, 0xffff);
  const hlen = TCP_HEADER_LEN + options.length;
  const length = hlen + repr.payload.length;
  if (length > 0xffff) throw new Error(`TCP: segment length ${length} exceeds 65535`);
  const fl = repr.flags;
  const out = new Uint8Array(length);
  put16(out, SRC_PORT, repr.sport);
  put16(out, DST_PORT, repr.dport);
  put32(out, SEQ_NUM, repr.seq);
  put32(out, ACK_NUM, repr.ack);
  out[DATA_OFF] = (hlen / 4) << 4;
  out[FLAGS] =
    (fl.fin ? FIN : 0) | (fl.syn ? SYN : 0) | (fl.rst ? RST : 0) | (fl.psh ? PSH : 0) | (fl.ack ? ACK : 0) | (fl.urg ? URG : 0);
  put16(out, WINDOW, repr.window);
  put16(out, URGENT, repr.urgent ?? 0);
  out.set(options, OPTIONS);
  out.set(repr.payload, hlen);
  put16(out, CHECKSUM, internetChecksum(out, 0, length, pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), IP_PROTO_TCP, length)));
  return out;
}
