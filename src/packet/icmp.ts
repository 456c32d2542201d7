// ICMP for IPv4 (RFC 792). The checksum covers the whole ICMP message.
import { checkUint, get16, get32, get8, need, put16, put32 } from './bytes.js';
import { internetChecksum } from './checksum.js';

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const ID = 4; // second word, echo-like messages
const SEQ = 6;
const REST = 4; // second word, all others (unused, pointer, gateway, next-hop MTU)
export const ICMP_HEADER_LEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;

/** Codes of type 3 used by a router/NAT (RFC 792, RFC 1191 for 4). */
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_NEED_FRAG = 4;

// Messages whose second word is identifier + sequence number: echo (RFC 792),
// timestamp, information (RFC 792) and address mask (RFC 950).
const ID_SEQ_TYPES = new Set([0, 8, 13, 14, 15, 16, 17, 18]);
// Messages that quote the offending IP header + 8 bytes of its payload.
const ERROR_TYPES = new Set([ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED, ICMP_PARAM_PROBLEM]);

export const hasIdSeq = (type: number): boolean => ID_SEQ_TYPES.has(type);
export const isIcmpError = (type: number): boolean => ERROR_TYPES.has(type);

export interface IcmpRepr {
  type: number;
  code: number;
  /** Echo-like types only (see hasIdSeq). */
  id?: number;
  seq?: number;
  /** Other types: the 32-bit second word, e.g. next-hop MTU in the low 16 bits for type 3 code 4. */
  rest?: number;
  /** Echo data, or the quoted IP header + 8 bytes for errors. */
  data: Uint8Array;
}

export type IcmpParsed = IcmpRepr & { checksum: number; checksumOk: boolean };

/** Parses `bytes` as exactly one ICMP message (pass the trimmed IPv4 payload). */
export function parseIcmp(bytes: Uint8Array): IcmpParsed {
  need(bytes, ICMP_HEADER_LEN, 'ICMP header');
  const type = get8(bytes, TYPE);
  const head = { type, code: get8(bytes, CODE) };
  const word = hasIdSeq(type) ? { id: get16(bytes, ID), seq: get16(bytes, SEQ) } : { rest: get32(bytes, REST) };
  return {
    ...head,
    ...word,
    data: bytes.subarray(ICMP_HEADER_LEN),
    checksum: get16(bytes, CHECKSUM),
    checksumOk: internetChecksum(bytes) === 0,
  };
}

export function emitIcmp(repr: IcmpRepr): Uint8Array {
  checkUint('ICMP type', repr.type, 0xff);
  checkUint('ICMP code', repr.code, 0xff);
  const out = new Uint8Array(ICMP_HEADER_LEN + repr.data.length);
  out[TYPE] = repr.type;
  out[CODE] = repr.code;
  if (hasIdSeq(repr.type)) {
    checkUint('ICMP id', repr.id ?? 0, 0xffff);
    checkUint('ICMP seq', repr.seq ?? 0, 0xffff);
    put16(out, ID, repr.id ?? 0);
    put16(out, SEQ, repr.seq ?? 0);
  } else {
    checkUint('ICMP rest', repr.rest ?? 0, 0xffff_ffff);
    put32(out, REST, repr.rest ?? 0);
  }
  out.set(repr.data, ICMP_HEADER_LEN);
  put16(out, CHECKSUM, internetChecksum(out));
  return out;
}
