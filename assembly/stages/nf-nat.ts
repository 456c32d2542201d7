// NAT for IPv4 (nf_nat): a new connection's mapping (DNAT, SNAT and
// MASQUERADE, the null binding, get_unique_tuple's port choice) and the
// translation of every packet of a connection, ICMP errors about it
// included, with incremental checksums (RFC 1624).
import {
  H_CT, CN_ORIG, CN_REPLY, CN_PROTO, CN_STATUS, CS_SRC_NAT, CS_DST_NAT,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, STAT_nat_port_taken,
} from '../layout';
import { CTS_RELATED } from '../tables/rules-layout';
import { host, now, stat } from '../context';
import { ld16, ld32, st16, st32 } from '../wire/bytes';
import { checksum, csumReplace16, csumReplace32 } from '../wire/checksum';
import { IP_SRC, IP_DST, IP_CHECK, ipIhlBytes, ipTotLen, ipSrc, ipDst, ipProto, ipIsFragment } from '../wire/ipv4';
import { ICMP_CHECK, ICMP_HLEN, icmpIsError } from '../wire/icmp';
import { UDP_CHECK } from '../wire/udp';
import { TCP_CHECK, TCP_HLEN } from '../wire/tcp';
import { ctFindLive, ctSourceMapping } from '../tables/conntrack';
import { ruleNatAddr, ruleNatPortLo } from '../tables/rules';
import { trace } from '../trace/trace';
import { EV_NAT } from '../trace/events';


/** Rewrites the destination (address, and port or echo id) of the packet at ip. */
function manipDst(ip: usize, n: u32, addr: u32, port: u32): void {
  const old = ipDst(ip);
  rewriteAddr(ip, n, IP_DST, old, addr);
  rewritePort(ip, n, 2, port);
}

function manipSrc(ip: usize, n: u32, addr: u32, port: u32): void {
  const old = ipSrc(ip);
  rewriteAddr(ip, n, IP_SRC, old, addr);
  rewritePort(ip, n, 0, port);
}

/** An address in the IP header, with the IP and the L4 (pseudo-header) checksums (RFC 1624). */
function rewriteAddr(ip: usize, n: u32, at: u32, old: u32, addr: u32): void {
  if (old == addr) return;
  st32(ip + at, addr);
  st16(ip + IP_CHECK, csumReplace32(ld16(ip + IP_CHECK), old, addr));
  if (ipIsFragment(ip) && (ld16(ip + 6) & 0x1fff) != 0) return;
  const l4 = ip + ipIhlBytes(ip);
  const len = n - ipIhlBytes(ip);
  const proto = ipProto(ip);
  if (proto == IPPROTO_TCP && len >= TCP_HLEN) {
    st16(l4 + TCP_CHECK, csumReplace32(ld16(l4 + TCP_CHECK), old, addr));
  } else if (proto == IPPROTO_UDP && len >= 8 && ld16(l4 + UDP_CHECK) != 0) {
    const c = csumReplace32(ld16(l4 + UDP_CHECK), old, addr);
    st16(l4 + UDP_CHECK, c == 0 ? 0xffff : c);
  }
}

/** The port at `which` (0 source, 2 destination), or an echo's id, with checksums. */
function rewritePort(ip: usize, n: u32, which: u32, port: u32): void {
  if ((ld16(ip + 6) & 0x1fff) != 0) return;
  const l4 = ip + ipIhlBytes(ip);
  const len = n - ipIhlBytes(ip);
  const proto = ipProto(ip);
  if (proto == IPPROTO_TCP && len >= TCP_HLEN) {
    const old = ld16(l4 + which);
    if (old == port) return;
    st16(l4 + which, port);
    st16(l4 + TCP_CHECK, csumReplace16(ld16(l4 + TCP_CHECK), old, port));
  } else if (proto == IPPROTO_UDP && len >= 8) {
    const old = ld16(l4 + which);
    if (old == port) return;
    st16(l4 + which, port);
    if (ld16(l4 + UDP_CHECK) != 0) {
      const c = csumReplace16(ld16(l4 + UDP_CHECK), old, port);
      st16(l4 + UDP_CHECK, c == 0 ? 0xffff : c);
    }
  } else if (proto == IPPROTO_ICMP && len >= ICMP_HLEN && !icmpIsError(<u32>load<u8>(l4))) {
    const old = ld16(l4 + 4);
    if (old == port) return;
    st16(l4 + 4, port);
    st16(l4 + ICMP_CHECK, csumReplace16(ld16(l4 + ICMP_CHECK), old, port));
  }
}

/** The port a tuple's ports field gives for a destination (1) or source (0) manip. */
@inline function portFor(proto: u32, ports: u32, dst: bool): u32 {
  if (proto == IPPROTO_ICMP) return ports >>> 16; // the echo id, both ways
  return dst ? ports >>> 16 : ports & 0xffff;
}

/**
 * Applies connection c's translation of one kind to the packet going in
 * direction dir: dst (at PREROUTING/OUTPUT) or src (at POSTROUTING/INPUT),
 * as nf_nat_packet does; ICMP errors (RELATED) get their quoted header
 * translated back too. Whether there was one to apply.
 */
export function translate(ip: usize, n: u32, dst: bool, c: usize, dir: u32, state: u32): bool {
  const status = <u32>load<u16>(c + CN_STATUS);
  // Which NAT this hook undoes or does for this direction.
  const need = dst ? (dir == 0 ? CS_DST_NAT : CS_SRC_NAT) : (dir == 0 ? CS_SRC_NAT : CS_DST_NAT);
  if ((status & need) == 0) return false;
  const proto = <u32>load<u8>(c + CN_PROTO);
  // The tuple of the other direction says what the fields become.
  const other = c + (dir == 0 ? CN_REPLY : CN_ORIG);
  const otherSrc = load<u32>(other);
  const otherDst = load<u32>(other + 4);
  const otherPorts = load<u32>(other + 8);
  trace(EV_NAT, <u32>dst, <u32>c, dir);
  // nf_nat_inet_fn: a RELATED ICMP error is translated with its quote; a RELATED reset like any reply.
  if (state == CTS_RELATED && ipProto(ip) == IPPROTO_ICMP) {
    translateIcmpError(ip, n, dst, c, proto, dir);
    return true;
  }
  if (dst) manipDst(ip, n, otherSrc, portFor(proto, otherPorts, true));
  else manipSrc(ip, n, otherDst, portFor(proto, otherPorts, false));
  return true;
}

/**
 * nf_nat_icmp_reply_translation: the outer header is translated like any
 * packet of its direction; the quoted packet, which went the other way, gets
 * back the fields it had before translation: those of the other direction's
 * tuple. The ICMP checksum is then computed whole.
 */
function translateIcmpError(ip: usize, n: u32, dst: bool, c: usize, proto: u32, dir: u32): void {
  const ihl = ipIhlBytes(ip);
  const icmp = ip + ihl;
  const inner = icmp + ICMP_HLEN;
  const innerLen = n - ihl - ICMP_HLEN;
  const innerIhl = ipIhlBytes(inner);
  const innerTot = innerLen < ipTotLen(inner) ? innerLen : ipTotLen(inner);
  const other = c + (dir == 0 ? CN_REPLY : CN_ORIG);
  const ports = load<u32>(other + 8);
  const l4 = inner + innerIhl;
  if (dst) {
    rewriteAddr(ip, n, IP_DST, ipDst(ip), load<u32>(other));
    quoteAddr(inner, IP_SRC, load<u32>(other));
    if (proto == IPPROTO_ICMP) {
      if (innerTot >= innerIhl + 8) quotePort(l4, innerTot - innerIhl, proto, 4, ports >>> 16);
    } else if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && innerTot >= innerIhl + 4) {
      quotePort(l4, innerTot - innerIhl, proto, 0, ports >>> 16);
    }
  } else {
    rewriteAddr(ip, n, IP_SRC, ipSrc(ip), load<u32>(other + 4));
    quoteAddr(inner, IP_DST, load<u32>(other + 4));
    if (proto == IPPROTO_ICMP) {
      if (innerTot >= innerIhl + 8) quotePort(l4, innerTot - innerIhl, proto, 4, ports >>> 16);
    } else if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && innerTot >= innerIhl + 4) {
      quotePort(l4, innerTot - innerIhl, proto, 2, ports & 0xffff);
    }
  }
  st16(icmp + ICMP_CHECK, 0);
  st16(icmp + ICMP_CHECK, checksum(icmp, n - ihl));
}

/**
 * An address of the quoted header, with its header checksum and, when the
 * quote holds it, its TCP/UDP checksum (the pseudo-header), as
 * l4proto_manip_pkt does for the quoted packet.
 */
function quoteAddr(inner: usize, at: u32, addr: u32): void {
  const old = ld32(inner + at);
  st32(inner + at, addr);
  st16(inner + IP_CHECK, csumReplace32(ld16(inner + IP_CHECK), old, addr));
  const ihl = ipIhlBytes(inner);
  const proto = ipProto(inner);
  const l4 = inner + ihl;
  if (proto == IPPROTO_UDP && ld16(l4 + UDP_CHECK) != 0) {
    const c = csumReplace32(ld16(l4 + UDP_CHECK), old, addr);
    st16(l4 + UDP_CHECK, c == 0 ? 0xffff : c);
  } else if (proto == IPPROTO_TCP) {
    st16(l4 + TCP_CHECK, csumReplace32(ld16(l4 + TCP_CHECK), old, addr));
  }
}

/** A port (or echo id) of the quoted packet, with its checksum when the quote holds it. */
function quotePort(l4: usize, len: u32, proto: u32, at: u32, port: u32): void {
  const old = ld16(l4 + at);
  st16(l4 + at, port);
  if (proto == IPPROTO_UDP && len >= 8 && ld16(l4 + UDP_CHECK) != 0) {
    const c = csumReplace16(ld16(l4 + UDP_CHECK), old, port);
    st16(l4 + UDP_CHECK, c == 0 ? 0xffff : c);
  } else if (proto == IPPROTO_TCP && len >= TCP_CHECK + 2) {
    st16(l4 + TCP_CHECK, csumReplace16(ld16(l4 + TCP_CHECK), old, port));
  } else if (proto == IPPROTO_ICMP && len >= ICMP_HLEN) {
    st16(l4 + ICMP_CHECK, csumReplace16(ld16(l4 + ICMP_CHECK), old, port));
  }
}

/** Sets up DNAT for the new connection in hand from a rule's parameters. */
export function setupDnat(c: usize, verdict: u32, rules: usize): void {
  const addr = ruleNatAddr(rules, verdict);
  const lo = ruleNatPortLo(rules, verdict);
  const proto = <u32>load<u8>(c + CN_PROTO);
  const before = load<u32>(c + CN_REPLY);
  const ports = load<u32>(c + CN_REPLY + 8);
  store<u32>(c + CN_REPLY, addr);
  if (lo != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
    store<u32>(c + CN_REPLY + 8, (lo << 16) | (ports & 0xffff));
  }
  // nf_nat_setup_info: only a mapping that changes the tuple makes it DNAT.
  if (load<u32>(c + CN_REPLY) != before || load<u32>(c + CN_REPLY + 8) != ports) {
    store<u16>(c + CN_STATUS, <u16>(<u32>load<u16>(c + CN_STATUS) | CS_DST_NAT));
  }
}

/**
 * nf_nat_alloc_null_binding for the source of a first packet no rule mapped:
 * it stays, unless another connection holds the reply tuple; then its port
 * moves as a SNAT to its own address would move it.
 */
export function nullBinding(c: usize): bool {
  const ct = <usize>load<u32>(host + H_CT);
  const proto = <u32>load<u8>(c + CN_PROTO);
  if (ctFindLive(ct, load<u32>(c + CN_REPLY), load<u32>(c + CN_REPLY + 4), load<u32>(c + CN_REPLY + 8), proto, now) == 0) return true;
  return setupSnat(c, load<u32>(c + CN_REPLY + 4), 0, 0, false);
}

/**
 * Sets up SNAT/MASQUERADE (get_unique_tuple for the source): the new
 * source, and a port that keeps the reply tuple unique. A source not
 * already in the range first gets the mapping it has in another connection
 * (find_appropriate_src); else the port is kept or searched
 * (nf_nat_l4proto_unique_tuple). False when no port is free.
 */
export function setupSnat(c: usize, addr: u32, lo: u32, hi: u32, random: bool): bool {
  const ct = <usize>load<u32>(host + H_CT);
  const proto = <u32>load<u8>(c + CN_PROTO);
  const rSrc = load<u32>(c + CN_REPLY);
  const rDst = load<u32>(c + CN_REPLY + 4);
  const rPorts = load<u32>(c + CN_REPLY + 8);
  store<u32>(c + CN_REPLY + 4, addr);
  let ok = true;
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP) {
    ok = ctFindLive(ct, rSrc, addr, rPorts, proto, now) == 0;
  } else if (!random && sourceMapping(ct, c, proto, rSrc, rDst, addr, rPorts, lo, hi)) {
    ok = true;
  } else {
    ok = choosePort(ct, c, proto, rSrc, addr, rPorts, lo, hi, random);
  }
  // nf_nat_setup_info: only a mapping that changes the tuple makes it SNAT.
  if (ok && (addr != rDst || load<u32>(c + CN_REPLY + 8) != rPorts)) {
    store<u16>(c + CN_STATUS, <u16>(<u32>load<u16>(c + CN_STATUS) | CS_SRC_NAT));
  }
  return ok;
}

/**
 * find_appropriate_src, for a source not in the range already: the mapping
 * the same source has in another connection, when the reply tuple it gives
 * is free. Sets the reply's port and says whether it did.
 */
function sourceMapping(ct: usize, c: usize, proto: u32, rSrc: u32, rDst: u32, addr: u32, rPorts: u32, lo: u32, hi: u32): bool {
  const cur = proto == IPPROTO_ICMP ? rPorts >>> 16 : rPorts & 0xffff;
  if (rDst == addr && (lo == 0 || (cur >= lo && cur <= hi))) return false; // in range: kept below when unique
  const port = ctSourceMapping(ct, c, addr, lo, hi, now);
  if (port < 0 || ctFindLive(ct, rSrc, addr, withPort(proto, rPorts, <u32>port), proto, now) != 0) return false;
  store<u32>(c + CN_REPLY + 8, withPort(proto, rPorts, <u32>port));
  return true;
}

/**
 * nf_nat_l4proto_unique_tuple: the port (or echo id) stays when the tuple is
 * unique and, with --to-ports, in that range; else one is searched in the
 * range or the port's class.
 */
function choosePort(ct: usize, c: usize, proto: u32, rSrc: u32, addr: u32, rPorts: u32, lo: u32, hi: u32, random: bool): bool {
  // The port being translated: the reply's destination port, or the echo id.
  const cur = proto == IPPROTO_ICMP ? rPorts >>> 16 : rPorts & 0xffff;
  let min: u32;
  let size: u32;
  if (lo != 0) {
    min = lo;
    size = hi - lo + 1;
  } else if (proto == IPPROTO_ICMP) {
    min = 0;
    size = 65536;
  } else if (cur < 512) {
    min = 1;
    size = 511;
  } else if (cur < 1024) {
    min = 600;
    size = 424;
  } else {
    min = 1024;
    size = 64512;
  }
  const inRange = lo == 0 || (cur >= min && cur - min < size);
  if (inRange && !random && ctFindLive(ct, rSrc, addr, withPort(proto, rPorts, cur), proto, now) == 0) return true;
  // A deterministic pseudo-random start (a keyed hash with --random), then up to 128 tries.
  let h = (load<u32>(c + CN_ORIG) * 0x9e3779b1) ^ (load<u32>(c + CN_ORIG + 4) * 0x85ebca6b) ^ (load<u32>(c + CN_ORIG + 8) * 0xc2b2ae35);
  if (random) h = (h ^ 0x5bd1e995) * 0x27d4eb2f;
  h ^= h >>> 16;
  // 128 tries from the start; then, as Linux does, fresh starts with 64, 32, 16 tries.
  let off = h % size;
  let attempts = size < 128 ? size : 128;
  while (true) {
    for (let k: u32 = 0; k < attempts; k++) {
      const port = min + (off + k) % size;
      if (ctFindLive(ct, rSrc, addr, withPort(proto, rPorts, port), proto, now) == 0) {
        store<u32>(c + CN_REPLY + 8, withPort(proto, rPorts, port));
        if (inRange) stat(STAT_nat_port_taken); // a clash, not a port outside --to-ports
        return true;
      }
    }
    if (attempts >= size || attempts < 16) return false;
    attempts >>= 1;
    h = (h ^ (h >>> 13)) * 0x5bd1e995;
    h ^= h >>> 15;
    off = h % size;
  }
}

@inline function withPort(proto: u32, ports: u32, port: u32): u32 {
  return proto == IPPROTO_ICMP ? (port << 16) | (ports & 0xffff) : (ports & 0xffff0000) | port;
}

// ---- the hooks; each returns 0 to let the packet go on, else its drop reason

