// Packets the kernel cases need beyond src/packet's builders: IP options put
// into a packet's header, and a packet cut into fragments where a case says.
import { checksum } from '../model/wire.js';

/** The packet with `options` (padded with END to a multiple of 4) after its header; IHL, length and checksum made right. */
export function withOptions(packet: Uint8Array, options: number[] | Uint8Array): Uint8Array {
  const opts = Uint8Array.from(options);
  const pad = (4 - (opts.length % 4)) % 4;
  const ihl = (packet[0] & 15) * 4;
  const hlen = ihl + opts.length + pad;
  if (hlen > 60) throw new Error(`withOptions: ${hlen - 20} bytes of options, at most 40`);
  const out = new Uint8Array(packet.length + opts.length + pad);
  out.set(packet.subarray(0, ihl));
  out.set(opts, ihl);
  out.set(packet.subarray(ihl), hlen);
  out[0] = 0x40 | (hlen / 4);
  setHeader(out, out.length);
  return out;
}

/** Total length and a fresh header checksum. */
function setHeader(ip: Uint8Array, total: number): void {
  ip[2] = total >> 8;
  ip[3] = total & 0xff;
  ip[10] = 0;
  ip[11] = 0;
  const c = checksum(ip, 0, (ip[0] & 15) * 4);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
}

/** A piece of a datagram's payload: [start, end) in bytes, MF as given (default: set unless it ends the datagram). */
export interface Piece {
  start: number;
  end: number;
  mf?: boolean;
  /** A header other than the datagram's own: its TTL, DF, TOS. */
  ttl?: number;
  df?: boolean;
  tos?: number;
}

/**
 * A fragment of `packet` (a whole IPv4 datagram) holding payload bytes
 * [start, end): the datagram's header (options only in the first, the
 * non-copied ones NOP'd after it, as ip_options_fragment does), its offset
 * and MF. Overlaps, duplicates and gaps are the caller's to choose.
 */
export function fragmentOf(packet: Uint8Array, p: Piece): Uint8Array {
  const ihl = (packet[0] & 15) * 4;
  const payload = packet.length - ihl;
  if (p.start % 8 !== 0 || p.start < 0 || p.end > payload || p.end < p.start) throw new Error(`fragmentOf: bad piece ${p.start}..${p.end} of ${payload}`);
  const head = packet.slice(0, ihl);
  if (p.start > 0) nopUncopied(head);
  const f = new Uint8Array(ihl + p.end - p.start);
  f.set(head);
  f.set(packet.subarray(ihl + p.start, ihl + p.end), ihl);
  const mf = p.mf ?? p.end < payload;
  const df = p.df ?? (packet[6] & 0x40) !== 0;
  const frag = (df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | (p.start >> 3);
  f[6] = frag >> 8;
  f[7] = frag & 0xff;
  if (p.ttl !== undefined) f[8] = p.ttl;
  if (p.tos !== undefined) f[1] = p.tos;
  setHeader(f, f.length);
  return f;
}

/** ip_options_fragment: options without the copied bit become NOPs. */
function nopUncopied(h: Uint8Array): void {
  for (let p = 20; p < h.length; ) {
    const t = h[p];
    if (t === 0) break;
    if (t === 1) {
      p++;
      continue;
    }
    const len = h[p + 1] ?? 0;
    if (len < 2 || p + len > h.length) break;
    if (!(t & 0x80)) h.fill(1, p, p + len);
    p += len;
  }
}
