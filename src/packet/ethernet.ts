// Ethernet II header (IEEE 802.3 clause 3.1.1, without preamble and FCS).
import { formatMac, parseMac } from './addr.js';
import { checkUint, get16, need, put16 } from './bytes.js';

const DST = 0;
const SRC = 6;
const ETHERTYPE = 12;
export const ETHERNET_HEADER_LEN = 14;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export interface EthernetRepr {
  dst: string;
  src: string;
  ethertype: number;
}

export type EthernetParsed = EthernetRepr & { payload: Uint8Array };

/** The payload is a view into `bytes`, not a copy. */
export function parseEthernet(bytes: Uint8Array): EthernetParsed {
  need(bytes, ETHERNET_HEADER_LEN, 'Ethernet header');
  return {
    dst: formatMac(bytes, DST),
    src: formatMac(bytes, SRC),
    ethertype: get16(bytes, ETHERTYPE),
    payload: bytes.subarray(ETHERNET_HEADER_LEN),
  };
}

/** No padding to the 60-byte minimum: the engine sees frames as a host's tap would. */
export function emitEthernet(repr: EthernetRepr, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkUint('Ethernet ethertype', repr.ethertype, 0xffff);
  const out = new Uint8Array(ETHERNET_HEADER_LEN + payload.length);
  out.set(parseMac(repr.dst), DST);
  out.set(parseMac(repr.src), SRC);
  put16(out, ETHERTYPE, repr.ethertype);
  out.set(payload, ETHERNET_HEADER_LEN);
  return out;
}
