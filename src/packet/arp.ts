// ARP for Ethernet/IPv4 only (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4.
import { formatIPv4, formatMac, parseIPv4, parseMac } from './addr.js';
import { get16, get32, get8, need, put16, put32 } from './bytes.js';

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;
export const ARP_LEN = 28;

const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpRepr {
  op: 1 | 2;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

/** Trailing bytes (Ethernet padding) are ignored. */
export function parseArp(bytes: Uint8Array): ArpRepr {
  need(bytes, ARP_LEN, 'ARP packet');
  const htype = get16(bytes, HTYPE);
  const ptype = get16(bytes, PTYPE);
  if (htype !== HTYPE_ETHERNET || ptype !== PTYPE_IPV4 || get8(bytes, HLEN) !== 6 || get8(bytes, PLEN) !== 4) {
    throw new Error(`ARP: unsupported hardware/protocol type ${htype}/0x${ptype.toString(16)} (only Ethernet/IPv4)`);
  }
  const op = get16(bytes, OPER);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) throw new Error(`ARP: unsupported operation ${op}`);
  return {
    op,
    sha: formatMac(bytes, SHA),
    spa: formatIPv4(get32(bytes, SPA)),
    tha: formatMac(bytes, THA),
    tpa: formatIPv4(get32(bytes, TPA)),
  };
}

export function emitArp(repr: ArpRepr): Uint8Array {
  if (repr.op !== ARP_REQUEST && repr.op !== ARP_REPLY) throw new Error(`ARP: unsupported operation ${repr.op}`);
  const out = new Uint8Array(ARP_LEN);
  put16(out, HTYPE, HTYPE_ETHERNET);
  put16(out, PTYPE, PTYPE_IPV4);
  out[HLEN] = 6;
  out[PLEN] = 4;
  put16(out, OPER, repr.op);
  out.set(parseMac(repr.sha), SHA);
  put32(out, SPA, parseIPv4(repr.spa));
  out.set(parseMac(repr.tha), THA);
  put32(out, TPA, parseIPv4(repr.tpa));
  return out;
}
