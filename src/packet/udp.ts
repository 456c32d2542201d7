// UDP header (RFC 768), checksummed over the IPv4 pseudo-header.
import { parseIPv4 } from './addr.js';
import { checkUint, get16, need, put16 } from './bytes.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { IP_PROTO_UDP } from './ipv4.js';

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;
export const UDP_HEADER_LEN = 8;

export interface UdpRepr {
  sport: number;
  dport: number;
  payload: Uint8Array;
}

export type UdpParsed = UdpRepr & {
  length: number;
  checksum: number;
  /** True for a zero ("none") checksum; undefined when src/dst were not given. */
  checksumOk: boolean | undefined;
};

/** The payload is trimmed to the length field and is a view into `bytes`. */
export function parseUdp(bytes: Uint8Array, src?: string, dst?: string): UdpParsed {
  need(bytes, UDP_HEADER_LEN, 'UDP header');
  const length = get16(bytes, LENGTH);
  if (length < UDP_HEADER_LEN) throw new Error(`UDP: length field ${length} < ${UDP_HEADER_LEN}`);
  if (length > bytes.length) throw new Error(`UDP: length field ${length} exceeds datagram (${bytes.length} bytes)`);
  const checksum = get16(bytes, CHECKSUM);
  let checksumOk: boolean | undefined;
  if (checksum === 0) checksumOk = true; // sender computed no checksum (RFC 768)
  else if (src !== undefined && dst !== undefined) {
    const pseudo = pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), IP_PROTO_UDP, length);
    checksumOk = internetChecksum(bytes, 0, length, pseudo) === 0;
  }
  return {
    sport: get16(bytes, SRC_PORT),
    dport: get16(bytes, DST_PORT),
    payload: bytes.subarray(UDP_HEADER_LEN, length),
    length,
    checksum,
    checksumOk,
  };
}

/** Header + payload with length and checksum; src/dst are the IPv4 addresses of the pseudo-header. */
export function emitUdp(repr: UdpRepr, src: string, dst: string): Uint8Array {
  checkUint('UDP sport', repr.sport, 0xffff);
  checkUint('UDP dport', repr.dport, 0xffff);
  const length = UDP_HEADER_LEN + repr.payload.length;
  if (length > 0xffff) throw new Error(`UDP: length ${length} exceeds 65535`);
  const out = new Uint8Array(length);
  put16(out, SRC_PORT, repr.sport);
  put16(out, DST_PORT, repr.dport);
  put16(out, LENGTH, length);
  out.set(repr.payload, UDP_HEADER_LEN);
  const check = internetChecksum(out, 0, length, pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), IP_PROTO_UDP, length));
  // A computed 0 is sent as all ones: 0 on the wire means "no checksum" (RFC 768).
  put16(out, CHECKSUM, check === 0 ? 0xffff : check);
  return out;
}
