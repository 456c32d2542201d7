// IPv4 options (net/ipv4/ip_options.c): compiled on receive (Record Route
// and timestamps filled in, malformed ones refused with the bad byte's
// offset), filled in again on forward, echoed in answers. Written as the
// kernel's functions read, one case after another.
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import type { Resolved } from './route.js';
import { LIMITED_BROADCAST, checksum, get32, isMulticastIp, put16, put32 } from './wire.js';

const END = 0;
const NOOP = 1;
const RR = 7;
const TS = 0x44;
const LSRR = 0x83;
const SSRR = 0x89;
const RA = 0x94;
const CIPSO = 0x86;

/** struct ip_options of a received packet: where each option is (offsets from the IP header). */
export interface CompiledOptions {
  rr?: number;
  ts?: number;
  srr?: number;
  cipso?: number;
  rrNeedAddr: boolean;
  tsNeedAddr: boolean;
  tsNeedTime: boolean;
  changed: boolean;
}

/** ms since midnight, on the host's clock (inet_current_timestamp). */
const timestamp = (h: ModelHost): number => h.now % 86_400_000;

/** inet_addr_type(a) === RTN_UNICAST. */
function isUnicastAddr(h: ModelHost, a: number): boolean {
  return a !== 0 && a !== LIMITED_BROADCAST && !isMulticastIp(a) && !h.routes.isLocal(a) && !h.routes.isBroadcast(a);
}

/** fib_result_prefsrc of a route. */
export function routeSource(h: ModelHost, r: Resolved): number {
  return r.src ?? h.routes.selectSource(r.dev, r.via ?? 0);
}

/** fib_compute_spec_dst: our destination, else the source of the route back, else the ingress link's. */
function specDst(h: ModelHost, ip: Uint8Array, dev: Link | undefined, local: boolean): number {
  if (local) return get32(ip, 16);
  const src = get32(ip, 12);
  if (src !== 0) {
    const back = h.routes.resolve(src);
    if (back && ['unicast', 'local', 'broadcast'].includes(back.type)) return routeSource(h, back);
  }
  return h.routes.selectSource(dev, src);
}

/**
 * ip_options_compile on a received packet (its route local or not): the
 * compiled options, and the offset of the bad byte when one is (the options
 * before it stay compiled: an error echoes them). Rewrites the packet as
 * Linux does (RR and timestamp entries, END padding, overflow count).
 */
export function compileOptions(h: ModelHost, ip: Uint8Array, dev: Link | undefined, local: boolean): { opt: CompiledOptions; bad?: number } {
  const opt: CompiledOptions = { rrNeedAddr: false, tsNeedAddr: false, tsNeedTime: false, changed: false };
  const bad = compileInto(h, opt, ip, dev, local);
  return bad === undefined ? { opt } : { opt, bad };
}

function compileInto(h: ModelHost, opt: CompiledOptions, ip: Uint8Array, dev: Link | undefined, local: boolean): number | undefined {
  const hlen = (ip[0] & 0x0f) * 4;
  let spec: number | undefined;
  const mySpec = () => (spec ??= specDst(h, ip, dev, local));
  let p = 20;
  while (p < hlen) {
    const type = ip[p];
    if (type === END) {
      for (let q = p + 1; q < hlen; q++) {
        if (ip[q] !== END) {
          ip[q] = END;
          opt.changed = true;
        }
      }
      break;
    }
    if (type === NOOP) {
      p++;
      continue;
    }
    if (hlen - p < 2) return p;
    const len = ip[p + 1];
    if (len < 2 || len > hlen - p) return p;
    if (type === LSRR || type === SSRR) {
      if (len < 3) return p + 1;
      if (ip[p + 2] < 4) return p + 2;
      if (opt.srr !== undefined) return p;
      opt.srr = p;
    } else if (type === RR) {
      if (opt.rr !== undefined) return p;
      if (len < 3) return p + 1;
      const ptr = ip[p + 2];
      if (ptr < 4) return p + 2;
      if (ptr <= len) {
        if (ptr + 3 > len) return p + 2;
        put32(ip, p + ptr - 1, mySpec());
        ip[p + 2] = ptr + 4;
        opt.rrNeedAddr = true;
        opt.changed = true;
      }
      opt.rr = p;
    } else if (type === TS) {
      if (opt.ts !== undefined) return p;
      if (len < 4) return p + 1;
      const ptr = ip[p + 2];
      if (ptr < 5) return p + 2;
      const how = ip[p + 3] & 0xf;
      if (ptr <= len) {
        if (ptr + 3 > len) return p + 2;
        if (how === 0) {
          put32(ip, p + ptr - 1, timestamp(h));
          ip[p + 2] = ptr + 4;
          opt.tsNeedTime = opt.changed = true;
        } else if (how === 1) {
          if (ptr + 7 > len) return p + 2;
          put32(ip, p + ptr - 1, mySpec());
          put32(ip, p + ptr + 3, timestamp(h));
          ip[p + 2] = ptr + 8;
          opt.tsNeedAddr = opt.tsNeedTime = opt.changed = true;
        } else if (how === 3) {
          if (ptr + 7 > len) return p + 2;
          if (!isUnicastAddr(h, get32(ip, p + ptr - 1))) {
            put32(ip, p + ptr + 3, timestamp(h));
            ip[p + 2] = ptr + 8;
            opt.tsNeedTime = opt.changed = true;
          }
        }
      } else if (how !== 3) {
        const overflow = ip[p + 3] >> 4;
        if (overflow === 15) return p + 3;
        ip[p + 3] = how | ((overflow + 1) << 4);
        opt.changed = true;
      }
      opt.ts = p;
    } else if (type === RA) {
      if (len < 4) return p + 1;
    } else if (type === CIPSO) {
      if (opt.cipso !== undefined) return p;
      opt.cipso = p;
      // No CIPSO domain is defined: a short option, or an unknown DOI.
      return p + (len < 8 ? 1 : 2);
    }
    p += len;
  }
  return undefined;
}

/** ip_forward_options: Record Route gets the address the packet leaves by; the checksum made whole. */
export function forwardOptions(h: ModelHost, ip: Uint8Array, opt: CompiledOptions, r: Resolved): void {
  if (opt.rrNeedAddr && opt.rr !== undefined) {
    put32(ip, opt.rr + ip[opt.rr + 2] - 5, routeSource(h, r));
    opt.changed = true;
  }
  if (opt.changed) {
    opt.changed = false;
    put16(ip, 10, 0);
    put16(ip, 10, checksum(ip, 0, (ip[0] & 0x0f) * 4));
  }
}

/** What an answer echoes (__ip_options_echo), for buildEcho. */
export interface Echo {
  bytes: Uint8Array;
  rr?: number;
  ts?: number;
  srr?: number;
  rrNeedAddr: boolean;
  tsNeedAddr: boolean;
  tsNeedTime: boolean;
  /** Where the answer goes first when it carries a reversed source route. */
  firstHop?: number;
}

/** __ip_options_echo: the options an answer to `ip` carries; undefined when no answer may go. */
export function echoOptions(h: ModelHost, ip: Uint8Array, opt: CompiledOptions | undefined): Echo | undefined {
  const e: Echo = { bytes: new Uint8Array(0), rrNeedAddr: false, tsNeedAddr: false, tsNeedTime: false };
  if (!opt || (ip[0] & 0x0f) === 5) return e;
  const out: number[] = [];
  if (opt.rr !== undefined) {
    const len = ip[opt.rr + 1];
    const ptr = ip[opt.rr + 2];
    e.rr = out.length + 20;
    const copy = [...ip.subarray(opt.rr, opt.rr + len)];
    if (opt.rrNeedAddr && ptr <= len) {
      if (ptr + 3 > len) return undefined;
      copy[2] = ptr + 4;
      e.rrNeedAddr = true;
    }
    out.push(...copy);
  }
  if (opt.ts !== undefined) {
    const len = ip[opt.ts + 1];
    let ptr = ip[opt.ts + 2];
    e.ts = out.length + 20;
    const copy = [...ip.subarray(opt.ts, opt.ts + len)];
    if (ptr <= len) {
      if (opt.tsNeedAddr) {
        if (ptr + 3 > len) return undefined;
        e.tsNeedAddr = true;
        ptr += 4;
      }
      if (opt.tsNeedTime) {
        if (ptr + 3 > len) return undefined;
        if ((copy[3] & 0xf) !== 3) {
          e.tsNeedTime = true;
          ptr += 4;
        } else if (ptr + 7 <= len) {
          const named = ((copy[ptr - 1] << 24) | (copy[ptr] << 16) | (copy[ptr + 1] << 8) | copy[ptr + 2]) >>> 0;
          if (!isUnicastAddr(h, named)) {
            e.tsNeedTime = true;
            ptr += 8;
          }
        }
      }
      copy[2] = ptr;
    }
    out.push(...copy);
  }
  if (opt.srr !== undefined) {
    // The route so far, reversed: the last hop recorded becomes the first
    // hop of the answer, the others follow, the final destination last.
    const s = opt.srr;
    const len = ip[s + 1];
    let so = Math.min(ip[s + 2], len + 1) - 4;
    let d = 0;
    let first = 0;
    const back: number[] = [];
    if (so > 3) {
      first = get32(ip, s + so - 1);
      for (so -= 4, d = 4; so > 3; so -= 4, d += 4) back.push(get32(ip, s + so - 1));
      // RFC 1812: a route back through the sender itself is mended.
      if (get32(ip, s + so + 3) === get32(ip, 12)) d -= 4;
    }
    if (d > 3) {
      e.firstHop = first;
      e.srr = out.length + 20;
      const o = new Uint8Array(d + 3);
      o.set([ip[s], d + 3, 4]);
      back.forEach((a, k) => {
        if (3 + 4 * k + 4 <= d + 3) put32(o, 3 + 4 * k, a);
      });
      out.push(...o);
    }
  }
  if (opt.cipso !== undefined) out.push(...ip.subarray(opt.cipso, opt.cipso + ip[opt.cipso + 1]));
  while (out.length % 4) out.push(END);
  e.bytes = Uint8Array.from(out);
  return e;
}

/** ip_options_build: the echoed options in a new header `hdr` (at 20), with this host's entries. */
export function buildEcho(h: ModelHost, hdr: Uint8Array, e: Echo, daddr: number, saddr: number): void {
  hdr.set(e.bytes, 20);
  if (e.srr !== undefined) put32(hdr, e.srr + hdr[e.srr + 1] - 4, daddr);
  if (e.rrNeedAddr && e.rr !== undefined) put32(hdr, e.rr + hdr[e.rr + 2] - 5, saddr);
  if (e.tsNeedAddr && e.ts !== undefined) put32(hdr, e.ts + hdr[e.ts + 2] - 9, saddr);
  if (e.tsNeedTime && e.ts !== undefined) put32(hdr, e.ts + hdr[e.ts + 2] - 5, timestamp(h));
}

/** The option bytes of an answer from saddr to daddr: echoed, then filled in (ip_options_build). */
export function answerOptions(h: ModelHost, e: Echo, daddr: number, saddr: number): Uint8Array {
  const hdr = new Uint8Array(20 + e.bytes.length);
  buildEcho(h, hdr, e, daddr, saddr);
  return hdr.subarray(20);
}
