// IPv4 options (net/ipv4/ip_options.c), for packets whose IHL is over 5
// only: checked and filled in on receive (ip_options_compile, ip_rcv_options),
// filled in again on forward (ip_forward_options), echoed in the replies and
// errors the host sends about them (__ip_options_echo, ip_options_build), and
// thinned out for fragments after the first (ip_options_fragment).
import { N_TYPE, RT_LOCAL, RT_BROADCAST, RT_UNICAST, DROP_IP_INHDR, DROP_IP_SOURCE_ROUTE } from '../layout';
import { host, now } from '../context';
import { ld32, st16, st32 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { IP_CHECK, IP_HLEN, ipSrc, ipDst, isMulticast, INADDR_BROADCAST } from '../wire/ipv4';
import { ICMP_PARAMETERPROB } from '../wire/icmp';
import { routeLookup, routeSource, selectSource, isLocalAddress, isBroadcastAddress } from '../tables/route';
import { icmpSend } from './icmp-error';

const IPOPT_END: u32 = 0;
const IPOPT_NOOP: u32 = 1;
const IPOPT_RR: u32 = 7;
const IPOPT_TIMESTAMP: u32 = 0x44;
const IPOPT_LSRR: u32 = 0x83;
const IPOPT_SSRR: u32 = 0x89;
const IPOPT_RA: u32 = 0x94;
const IPOPT_CIPSO: u32 = 0x86;
const IPOPT_TS_TSONLY: u32 = 0;
const IPOPT_TS_TSANDADDR: u32 = 1;
const IPOPT_TS_PRESPEC: u32 = 3;

// Flags of a compiled option set (struct ip_options).
const RR_NEEDADDR: u32 = 1;
const TS_NEEDADDR: u32 = 2;
const TS_NEEDTIME: u32 = 4;
const STRICT: u32 = 8;
const CHANGED: u32 = 16;

// The compiled options of the packet in hand (IPCB(skb)->opt): offsets from
// its IP header. They belong to the header at optIp only.
let optIp: usize = 0;
let optLen: u32 = 0;
let optRr: u32 = 0;
let optTs: u32 = 0;
let optSrr: u32 = 0;
let optCipso: u32 = 0;
let optFlags: u32 = 0;

/** The compiled options as one word, to be put back on a reassembled datagram. */
export function optSave(ip: usize): u64 {
  if (optIp != ip) return 0;
  return <u64>optLen | (<u64>optRr << 8) | (<u64>optTs << 16) | (<u64>optSrr << 24) | (<u64>optCipso << 32) | (<u64>optFlags << 40) | (<u64>1 << 63);
}

/** Gives the header at ip the compiled options of a saved word (0: none). */
export function optRestore(ip: usize, w: u64): void {
  if (w == 0) {
    if (optIp == ip) optIp = 0;
    return;
  }
  optIp = ip;
  optLen = <u32>w & 0xff;
  optRr = <u32>(w >> 8) & 0xff;
  optTs = <u32>(w >> 16) & 0xff;
  optSrr = <u32>(w >> 24) & 0xff;
  optCipso = <u32>(w >> 32) & 0xff;
  optFlags = <u32>(w >> 40) & 0xff;
}

/** The header at ip was never compiled (a packet of the host's own stack). */
export function optForget(ip: usize): void {
  if (optIp == ip) optIp = 0;
}

/** inet_current_timestamp: ms since midnight UTC, on the host's clock. */
@inline function timestamp(): u32 {
  return now % 86400000;
}

/** inet_addr_type() == RTN_UNICAST: not ours, not a broadcast, not multicast, not 0.0.0.0. */
function addrIsUnicast(a: u32): bool {
  return a != 0 && a != INADDR_BROADCAST && !isMulticast(a) && !isLocalAddress(host, a) && !isBroadcastAddress(host, a);
}

/**
 * fib_compute_spec_dst: the address a received packet is answered from. Its
 * destination when that is ours (not a broadcast); else the preferred source
 * of the route back to its sender; else the ingress link's address.
 */
function specDst(ip: usize, dev: u32, type: u32): u32 {
  if (type == RT_LOCAL) return ipDst(ip);
  const src = ipSrc(ip);
  if (src != 0) {
    const nh = routeLookup(host, src);
    const t = nh == 0 ? 0 : <u32>load<u8>(nh + N_TYPE);
    if (t == RT_UNICAST || t == RT_LOCAL || t == RT_BROADCAST) return routeSource(host, nh);
  }
  return selectSource(host, dev, src);
}

/**
 * ip_rcv_options on a received packet whose route is known (type: RT_*, or 0
 * when there is none): the options are compiled in place (Record Route and
 * timestamps get this host's address and time); malformed ones are answered
 * with a parameter problem pointing at the bad byte, and a source route is
 * refused (accept_source_route 0). Returns 0, or the drop reason.
 */
export function ipOptionsRcv(ip: usize, ihl: u32, dev: u32, type: u32, suppress: bool): u32 {
  const pp = compile(ip, ihl, dev, type);
  if (pp != 0) {
    icmpSend(ip, ICMP_PARAMETERPROB, 0, pp << 24, type == RT_LOCAL ? ipDst(ip) : 0, suppress || type == RT_BROADCAST);
    return DROP_IP_INHDR;
  }
  if (optSrr != 0) return DROP_IP_SOURCE_ROUTE;
  return 0;
}

/** __ip_options_compile for a received packet; 0, or the offset of the bad byte. */
function compile(iph: usize, ihl: u32, dev: u32, type: u32): u32 {
  optIp = iph;
  optLen = ihl - IP_HLEN;
  optRr = 0;
  optTs = 0;
  optSrr = 0;
  optCipso = 0;
  optFlags = 0;
  let spec: u32 = 0;
  let p = iph + IP_HLEN;
  let l = <i32>optLen;
  while (l > 0) {
    const kind = <u32>load<u8>(p);
    if (kind == IPOPT_END) {
      // The rest is padding: made END throughout.
      for (p++, l--; l > 0; p++, l--) {
        if (load<u8>(p) != IPOPT_END) {
          store<u8>(p, <u8>IPOPT_END);
          optFlags |= CHANGED;
        }
      }
      break;
    }
    if (kind == IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    if (l < 2) return <u32>(p - iph);
    const len = <u32>load<u8>(p + 1);
    if (len < 2 || <i32>len > l) return <u32>(p - iph);
    const ptr = len >= 3 ? <u32>load<u8>(p + 2) : 0;
    if (kind == IPOPT_SSRR || kind == IPOPT_LSRR) {
      if (len < 3) return <u32>(p + 1 - iph);
      if (ptr < 4) return <u32>(p + 2 - iph);
      if (optSrr != 0) return <u32>(p - iph); // RFC 1812 5.2.4.1: one source route
      if (kind == IPOPT_SSRR) optFlags |= STRICT;
      optSrr = <u32>(p - iph);
    } else if (kind == IPOPT_RR) {
      if (optRr != 0) return <u32>(p - iph);
      if (len < 3) return <u32>(p + 1 - iph);
      if (ptr < 4) return <u32>(p + 2 - iph);
      if (ptr <= len) {
        if (ptr + 3 > len) return <u32>(p + 2 - iph);
        if (spec == 0) spec = specDst(iph, dev, type);
        st32(p + ptr - 1, spec);
        optFlags |= CHANGED | RR_NEEDADDR;
        store<u8>(p + 2, <u8>(ptr + 4));
      }
      optRr = <u32>(p - iph);
    } else if (kind == IPOPT_TIMESTAMP) {
      if (optTs != 0) return <u32>(p - iph);
      if (len < 4) return <u32>(p + 1 - iph);
      if (ptr < 5) return <u32>(p + 2 - iph);
      const flags = <u32>load<u8>(p + 3);
      if (ptr <= len) {
        if (ptr + 3 > len) return <u32>(p + 2 - iph);
        let timeAt: usize = 0;
        const how = flags & 0xf;
        if (how == IPOPT_TS_TSONLY) {
          timeAt = p + ptr - 1;
          optFlags |= TS_NEEDTIME;
          store<u8>(p + 2, <u8>(ptr + 4));
        } else if (how == IPOPT_TS_TSANDADDR) {
          if (ptr + 7 > len) return <u32>(p + 2 - iph);
          if (spec == 0) spec = specDst(iph, dev, type);
          st32(p + ptr - 1, spec);
          timeAt = p + ptr + 3;
          optFlags |= TS_NEEDADDR | TS_NEEDTIME;
          store<u8>(p + 2, <u8>(ptr + 8));
        } else if (how == IPOPT_TS_PRESPEC) {
          if (ptr + 7 > len) return <u32>(p + 2 - iph);
          // Only the named address stamps it: one of ours, or no unicast address at all.
          if (!addrIsUnicast(ld32(p + ptr - 1))) {
            timeAt = p + ptr + 3;
            optFlags |= TS_NEEDTIME;
            store<u8>(p + 2, <u8>(ptr + 8));
          }
        }
        if (timeAt != 0) {
          st32(timeAt, timestamp());
          optFlags |= CHANGED;
        }
      } else if ((flags & 0xf) != IPOPT_TS_PRESPEC) {
        // Full: the overflow count goes up, and at 15 the option is bad.
        const overflow = flags >> 4;
        if (overflow == 15) return <u32>(p + 3 - iph);
        store<u8>(p + 3, <u8>((flags & 0xf) | ((overflow + 1) << 4)));
        optFlags |= CHANGED;
      }
      optTs = <u32>(p - iph);
    } else if (kind == IPOPT_RA) {
      if (len < 4) return <u32>(p + 1 - iph);
    } else if (kind == IPOPT_CIPSO) {
      if (optCipso != 0) return <u32>(p - iph);
      optCipso = <u32>(p - iph);
      // cipso_v4_validate with no DOI defined: too short, else an unknown DOI.
      return <u32>(p + (len < 8 ? 1 : 2) - iph);
    }
    // Security, stream id and unknown options pass as they are.
    l -= <i32>len;
    p += len;
  }
  return 0;
}

/**
 * ip_forward_options: Record Route gets the address the packet leaves by
 * (the preferred source of its route, nh), and the header checksum is made
 * whole again when compiling changed the header.
 */
export function ipForwardOptions(ip: usize, nh: usize): void {
  if (optIp != ip) return;
  if ((optFlags & RR_NEEDADDR) != 0) {
    const o = ip + optRr;
    st32(o + <u32>load<u8>(o + 2) - 5, routeSource(host, nh));
    optFlags |= CHANGED;
  }
  if ((optFlags & CHANGED) != 0) {
    optFlags &= ~CHANGED;
    st16(ip + IP_CHECK, 0);
    st16(ip + IP_CHECK, checksum(ip, ipIhl(ip)));
  }
}

@inline function ipIhl(ip: usize): u32 {
  return (<u32>load<u8>(ip) & 15) << 2;
}

// The options echoed by the last ipOptionsEcho (offsets from the new header), for ipOptionsBuild.
let echoRr: u32 = 0;
let echoTs: u32 = 0;
let echoSrr: u32 = 0;
let echoFlags: u32 = 0;
/** An echoed source route: the answer is routed to its first hop, echoFirstHop. */
export let echoRouted = false;
export let echoFirstHop: u32 = 0;

/**
 * __ip_options_echo: the options an answer to the packet at ip carries,
 * written at out (up to 40 bytes): Record Route and timestamps with room for
 * this host's entry, a source route reversed; the others are left out.
 * Returns their length (a multiple of 4), or -1 when no answer may be sent.
 */
export function ipOptionsEcho(ip: usize, out: usize): i32 {
  echoRr = 0;
  echoTs = 0;
  echoSrr = 0;
  echoFlags = 0;
  echoRouted = false;
  echoFirstHop = 0;
  if (optIp != ip || optLen == 0) return 0;
  let n: u32 = 0;
  if (optRr != 0) {
    const s = ip + optRr;
    const len = <u32>load<u8>(s + 1);
    const ptr = <u32>load<u8>(s + 2);
    echoRr = n + IP_HLEN;
    memory.copy(out + n, s, len);
    if ((optFlags & RR_NEEDADDR) != 0 && ptr <= len) {
      if (ptr + 3 > len) return -1;
      store<u8>(out + n + 2, <u8>(ptr + 4));
      echoFlags |= RR_NEEDADDR;
    }
    n += len;
  }
  if (optTs != 0) {
    const s = ip + optTs;
    const len = <u32>load<u8>(s + 1);
    let ptr = <u32>load<u8>(s + 2);
    echoTs = n + IP_HLEN;
    memory.copy(out + n, s, len);
    if (ptr <= len) {
      if ((optFlags & TS_NEEDADDR) != 0) {
        if (ptr + 3 > len) return -1;
        echoFlags |= TS_NEEDADDR;
        ptr += 4;
      }
      if ((optFlags & TS_NEEDTIME) != 0) {
        if (ptr + 3 > len) return -1;
        if ((<u32>load<u8>(out + n + 3) & 0xf) != IPOPT_TS_PRESPEC) {
          echoFlags |= TS_NEEDTIME;
          ptr += 4;
        } else if (ptr + 7 <= len && !addrIsUnicast(ld32(out + n + ptr - 1))) {
          echoFlags |= TS_NEEDTIME;
          ptr += 8;
        }
      }
      store<u8>(out + n + 2, <u8>ptr);
    }
    n += len;
  }
  if (optSrr != 0) {
    const s = ip + optSrr;
    const len = <i32>load<u8>(s + 1);
    let so = <i32>load<u8>(s + 2);
    let d: i32 = 0;
    if (so > len) so = len + 1;
    so -= 4;
    let first: u32 = 0;
    if (so > 3) {
      first = ld32(s + so - 1);
      // The hops recorded so far, last first; the slots of the new option start at out + n + 3.
      for (so -= 4, d = 4; so > 3; so -= 4, d += 4) st32(out + n + <u32>d - 1, ld32(s + so - 1));
      // RFC 1812 asks that a route back through the sender itself be mended.
      if (ld32(s + so + 3) == ipSrc(ip)) d -= 4;
    }
    if (d > 3) {
      echoRouted = true;
      echoFirstHop = first;
      store<u8>(out + n, load<u8>(s));
      store<u8>(out + n + 1, <u8>(d + 3));
      store<u8>(out + n + 2, 4);
      echoSrr = n + IP_HLEN;
      n += <u32>d + 3;
    }
  }
  if (optCipso != 0) {
    const s = ip + optCipso;
    const len = <u32>load<u8>(s + 1);
    memory.copy(out + n, s, len);
    n += len;
  }
  while ((n & 3) != 0) store<u8>(out + n++, <u8>IPOPT_END);
  return <i32>n;
}

/**
 * ip_options_build for an answer whose header at iph already holds the
 * echoed options: the final destination at the end of a source route, this
 * host's address (saddr) in Record Route and timestamps, and the time.
 */
export function ipOptionsBuild(iph: usize, daddr: u32, saddr: u32): void {
  if (echoSrr != 0) st32(iph + echoSrr + <u32>load<u8>(iph + echoSrr + 1) - 4, daddr);
  if ((echoFlags & RR_NEEDADDR) != 0) st32(iph + echoRr + <u32>load<u8>(iph + echoRr + 2) - 5, saddr);
  if ((echoFlags & TS_NEEDADDR) != 0) st32(iph + echoTs + <u32>load<u8>(iph + echoTs + 2) - 9, saddr);
  if ((echoFlags & TS_NEEDTIME) != 0) st32(iph + echoTs + <u32>load<u8>(iph + echoTs + 2) - 5, timestamp());
}

/** ip_options_fragment: options without the copied bit become NOPs (fragments after the first). */
export function ipOptionsFragment(ip: usize, ihl: u32): void {
  let p: u32 = IP_HLEN;
  while (p < ihl) {
    const opt = <u32>load<u8>(ip + p);
    if (opt == IPOPT_END) break;
    if (opt == IPOPT_NOOP) {
      p++;
      continue;
    }
    if (p + 1 >= ihl) break;
    const olen = <u32>load<u8>(ip + p + 1);
    if (olen < 2 || p + olen > ihl) break;
    if ((opt & 0x80) == 0) memory.fill(ip + p, <u8>IPOPT_NOOP, olen);
    p += olen;
  }
}
