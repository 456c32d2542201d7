// Netfilter's hooks for IPv4 (nf_conntrack_in, nf_nat, the filter and nat
// tables): connection tracking at PREROUTING/OUTPUT, NAT on a connection's
// first packet and translation of every packet after, filter chains, and
// confirmation at POSTROUTING/INPUT. Only hosts with rules loaded (H_CT set)
// come here at all.
import {
  H_CT, CT_MAX, CT_COUNT, CT_RULES, CT_PENDING, CT_USED, CONN_SIZE, CN_ORIG, CN_REPLY, CN_PROTO, CN_TCP,
  CN_STATUS, CN_TIMEOUT, CN_START, CN_PACKETS, CS_SEEN_REPLY, CS_ASSURED, CS_SRC_NAT, CS_DST_NAT, CS_LIVE,
  CT_UDP_MS, CT_UDP_STREAM_MS, CT_GC_PER_NEW, CT_ICMP_MS, CT_GENERIC_MS, CT_UDP_STREAM_AFTER_MS,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, STAT_conntrack_new, STAT_conntrack_invalid, STAT_conntrack_evicted,
  STAT_nat_port_taken, STAT_conntrack_related, C_SCRATCH, S_PK,
  DROP_NETFILTER_DROP, DROP_CONNTRACK_FULL, DROP_NAT_NO_PORT,
} from '../layout';
import {
  PK_SRC, PK_DST, PK_SPORT, PK_DPORT, PK_PROTO, PK_CTSTATE, PK_IN, PK_OUT, PK_SRC_LOCAL, PK_DST_LOCAL, PK_FRAG,
  CTS_NEW, CTS_ESTABLISHED, CTS_RELATED, CTS_INVALID,
  CHAIN_FILTER_INPUT, CHAIN_FILTER_FORWARD, CHAIN_FILTER_OUTPUT, CHAIN_NAT_PREROUTING, CHAIN_NAT_INPUT,
  CHAIN_NAT_OUTPUT, CHAIN_NAT_POSTROUTING, TGT_ACCEPT, TGT_DROP, TGT_DNAT, TGT_SNAT, TGT_MASQUERADE,
} from '../tables/rules-layout';
import { ctx, host, now, stat } from '../context';
import { ld16, ld32, st16, st32 } from '../wire/bytes';
import { checksum, csumReplace16, csumReplace32, finish, sumBytes, pseudoSum } from '../wire/checksum';
import {
  IP_SRC, IP_DST, IP_CHECK, IP_HLEN, ipIhlBytes, ipTotLen, ipSrc, ipDst, ipProto, ipIsFragment,
} from '../wire/ipv4';
import { ICMP_ECHO, ICMP_ECHOREPLY, ICMP_CHECK, ICMP_HLEN, icmpIsError } from '../wire/icmp';
import { UDP_CHECK } from '../wire/udp';
import { TCP_FLAGS, TCP_CHECK, TCP_HLEN } from '../wire/tcp';
import { connAt, ctFindLive, ctAlloc, ctLink, ctDelete, ctExpired, ctGc, ctSourceMapping } from '../tables/conntrack';
import { isLocalAddress, selectSource } from '../tables/route';
import {
  TCP_CT_NONE, TCP_CT_SYN_RECV, TCP_CT_ESTABLISHED, TCP_CT_INVALID, TCP_CT_IGNORE,
  tcpNextState, tcpFlagsValid, tcpTimeoutMs,
} from '../tables/conntrack-tcp';
import { rulesRun, ruleNatAddr, ruleNatPortLo, ruleNatPortHi, ruleNatRandom } from '../tables/rules';

// The packet in hand: its connection (index + 1, 0 = none), direction, state.
// Saved and restored around packets the data plane makes while handling it.
let pktConn: u32 = 0;
let pktDir: u32 = 0;
let pktState: u32 = CTS_INVALID;

export function nfSave(): u64 {
  const ct = <usize>load<u32>(host + H_CT);
  const pending = ct == 0 ? 0 : load<u32>(ct + CT_PENDING);
  return <u64>pending | (<u64>pktConn << 32) | (<u64>pktDir << 56) | (<u64>pktState << 57);
}
export function nfRestore(s: u64): void {
  const ct = <usize>load<u32>(host + H_CT);
  if (ct != 0) store<u32>(ct + CT_PENDING, <u32>s);
  pktConn = <u32>(s >> 32) & 0xffffff;
  pktDir = <u32>(s >> 56) & 1;
  pktState = <u32>(s >> 57) & 0x1f;
}

/** A new packet in hand: nothing known of it yet. */
export function nfReset(): void {
  pktConn = 0;
  pktDir = 0;
  pktState = CTS_INVALID;
}

@inline export function nfActive(): bool {
  return load<u32>(host + H_CT) != 0;
}

// ---- tuples

let tSrc: u32 = 0;
let tDst: u32 = 0;
let tPorts: u32 = 0;
let tProto: u32 = 0;

/** The tuple of the IPv4 packet at ip (n bytes); false when it cannot be tracked. */
function tupleOf(ip: usize, n: u32): bool {
  const ihl = ipIhlBytes(ip);
  tSrc = ipSrc(ip);
  tDst = ipDst(ip);
  tProto = ipProto(ip);
  const l4 = ip + ihl;
  if (tProto == IPPROTO_UDP) {
    // udp_error: a datagram cut short or claiming more than it has is INVALID.
    if (n < ihl + 8 || ld16(l4 + 4) < 8 || ld16(l4 + 4) > n - ihl) return false;
    tPorts = ld32(l4);
  } else if (tProto == IPPROTO_TCP) {
    // tcp_error: the header must be there, its data offset sane.
    if (n < ihl + TCP_HLEN) return false;
    const doff = (<u32>load<u8>(l4 + 12) >> 4) << 2;
    if (doff < TCP_HLEN || doff > n - ihl) return false;
    tPorts = ld32(l4);
  } else if (tProto == IPPROTO_ICMP) {
    if (n < ihl + ICMP_HLEN) return false;
    tPorts = (ld16(l4 + 4) << 16) | ld16(l4);
  } else {
    tPorts = 0;
  }
  return true;
}

/** The reply tuple's ports for a tuple's ports (ICMP: the type's counterpart, icmp_invert_tuple's invmap; code kept). */
@inline function invertPorts(proto: u32, ports: u32): u32 {
  if (proto == IPPROTO_ICMP) return (ports & 0xffff00ff) | (icmpInverseType((ports >>> 8) & 0xff) << 8);
  return (ports << 16) | (ports >>> 16);
}

/** invmap: echo, timestamp, info and address-mask requests and replies; 0xff for no counterpart. */
function icmpInverseType(t: u32): u32 {
  switch (t) {
    case 8: return 0;
    case 0: return 8;
    case 13: return 14;
    case 14: return 13;
    case 15: return 16;
    case 16: return 15;
    case 17: return 18;
    case 18: return 17;
    default: return 0xff;
  }
}

// ---- conntrack

/** Whether an L4 checksum is wrong (nf_conntrack_checksum, checked where packets enter). */
function l4Bad(ip: usize, n: u32): bool {
  const ihl = ipIhlBytes(ip);
  const l4 = ip + ihl;
  const len = n - ihl;
  const proto = ipProto(ip);
  if (proto == IPPROTO_ICMP) return checksum(l4, len) != 0;
  if (proto == IPPROTO_UDP) {
    if (len < 8 || ld16(l4 + UDP_CHECK) == 0) return false;
    return finish(sumBytes(l4, len, pseudoSum(ipSrc(ip), ipDst(ip), proto, len))) != 0;
  }
  if (proto == IPPROTO_TCP) {
    if (len < TCP_HLEN) return true;
    return finish(sumBytes(l4, len, pseudoSum(ipSrc(ip), ipDst(ip), proto, len))) != 0;
  }
  return false;
}

/**
 * nf_conntrack_in: finds (or starts) the packet's connection and sets its
 * state. A new connection is not in the table until confirmed. Returns false
 * when the packet must be dropped (table full, nothing to evict).
 */
function conntrackIn(ip: usize, n: u32, checkL4: bool): bool {
  const ct = <usize>load<u32>(host + H_CT);
  pktConn = 0;
  pktDir = 0;
  pktState = CTS_INVALID;
  if (ipIsFragment(ip) || !tupleOf(ip, n)) return true; // no reassembly here: untracked, INVALID
  if (checkL4 && l4Bad(ip, n)) {
    stat(STAT_conntrack_invalid);
    return true;
  }
  const l4 = ip + ipIhlBytes(ip);
  if (tProto == IPPROTO_ICMP && icmpIsError(<u32>load<u8>(l4))) return related(ct, ipDst(ip), l4, n - ipIhlBytes(ip));
  const ref = ctFindLive(ct, tSrc, tDst, tPorts, tProto, now);
  if (ref != 0) {
    const idx = (ref >>> 9) - 1;
    const dir = (ref >>> 8) & 1;
    const c = connAt(ct, idx);
    if (!update(c, dir, l4)) {
      stat(STAT_conntrack_invalid);
      return true;
    }
    pktConn = idx + 1;
    pktDir = dir;
    pktState = dir == 1 || (<u32>load<u16>(c + CN_STATUS) & CS_SEEN_REPLY) != 0 ? CTS_ESTABLISHED : CTS_NEW;
    return true;
  }
  // A new connection, if this packet may start one.
  let tcp: u32 = 0;
  if (tProto == IPPROTO_TCP) {
    const flags = <u32>load<u8>(l4 + TCP_FLAGS);
    if (!tcpFlagsValid(flags)) return true;
    tcp = tcpNextState(TCP_CT_NONE, 0, flags);
    if (tcp == TCP_CT_INVALID || tcp == TCP_CT_IGNORE) return true;
  } else if (tProto == IPPROTO_ICMP) {
    // icmp_new: only requests start a connection.
    const type = <u32>load<u8>(l4);
    if (type != ICMP_ECHO && type != 13 && type != 15 && type != 17) return true;
  }
  // The collector moves on with each new connection, not with each call, so
  // what it frees never depends on how the traffic was cut into batches.
  ctGc(ct, now, CT_GC_PER_NEW);
  if (load<u32>(ct + CT_COUNT) >= load<u32>(ct + CT_MAX) && !evict(ct)) return false;
  const idx = ctAlloc(ct);
  if (idx < 0) return false;
  const c = connAt(ct, <u32>idx);
  store<u32>(c + CN_ORIG, tSrc);
  store<u32>(c + CN_ORIG + 4, tDst);
  store<u32>(c + CN_ORIG + 8, tPorts);
  store<u32>(c + CN_REPLY, tDst);
  store<u32>(c + CN_REPLY + 4, tSrc);
  store<u32>(c + CN_REPLY + 8, invertPorts(tProto, tPorts));
  store<u8>(c + CN_PROTO, <u8>tProto);
  store<u8>(c + CN_TCP, <u8>tcp);
  store<u32>(c + CN_START, now);
  store<u32>(c + CN_PACKETS, 1);
  store<u32>(c + CN_TIMEOUT, now + timeoutOf(tProto, tcp, false));
  store<u32>(ct + CT_PENDING, <u32>idx + 1);
  stat(STAT_conntrack_new);
  pktConn = <u32>idx + 1;
  pktState = CTS_NEW;
  return true;
}

function timeoutOf(proto: u32, tcp: u32, stream: bool): u32 {
  if (proto == IPPROTO_TCP) return tcpTimeoutMs(tcp);
  if (proto == IPPROTO_UDP) return stream ? CT_UDP_STREAM_MS : CT_UDP_MS;
  if (proto == IPPROTO_ICMP) return CT_ICMP_MS;
  return CT_GENERIC_MS;
}

/** A packet of a known connection: state and timeout move on; false for INVALID. */
function update(c: usize, dir: u32, l4: usize): bool {
  const proto = <u32>load<u8>(c + CN_PROTO);
  let status = <u32>load<u16>(c + CN_STATUS);
  store<u32>(c + CN_PACKETS, load<u32>(c + CN_PACKETS) + 1);
  if (proto == IPPROTO_TCP) {
    const flags = <u32>load<u8>(l4 + TCP_FLAGS);
    if (!tcpFlagsValid(flags)) return false;
    const old = <u32>load<u8>(c + CN_TCP);
    const next = tcpNextState(old, dir, flags);
    if (next == TCP_CT_INVALID) return false;
    if (next != TCP_CT_IGNORE) {
      store<u8>(c + CN_TCP, <u8>next);
      // tcp_packet: a connection that has seen its handshake through is assured.
      if (old == TCP_CT_SYN_RECV && next == TCP_CT_ESTABLISHED) status |= CS_ASSURED;
      store<u32>(c + CN_TIMEOUT, now + tcpTimeoutMs(next));
    }
  } else if (proto == IPPROTO_UDP) {
    // nf_conntrack_udp_packet: a flow with replies, 2 s old, is a stream.
    const stream = (status & CS_SEEN_REPLY) != 0 && now - load<u32>(c + CN_START) >= CT_UDP_STREAM_AFTER_MS;
    if (stream) status |= CS_ASSURED;
    store<u32>(c + CN_TIMEOUT, now + timeoutOf(proto, 0, stream));
  } else {
    store<u32>(c + CN_TIMEOUT, now + timeoutOf(proto, 0, false));
  }
  if (dir == 1) status |= CS_SEEN_REPLY; // ICMP and other protocols never become ASSURED
  store<u16>(c + CN_STATUS, <u16>status);
  return true;
}

/** ICMP errors belong to the connection of the packet they quote (icmp_error_message). */
function related(ct: usize, outerDst: u32, icmp: usize, len: u32): bool {
  const inner = icmp + ICMP_HLEN;
  if (len < ICMP_HLEN + IP_HLEN + 8 || (<u32>load<u8>(inner) >> 4) != 4) return true;
  const ihl = ipIhlBytes(inner);
  if (len < ICMP_HLEN + ihl + 8) return true;
  // The quoted packet went the other way: look up its tuple inverted.
  const proto = ipProto(inner);
  const src = ipSrc(inner);
  const dst = ipDst(inner);
  let ports: u32 = 0;
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) ports = ld32(inner + ihl);
  else if (proto == IPPROTO_ICMP) ports = (ld16(inner + ihl + 4) << 16) | ld16(inner + ihl);
  // Inverted, the quoted packet's tuple is that of the direction the error travels.
  const ref = ctFindLive(ct, dst, src, invertPorts(proto, ports), proto, now);
  if (ref == 0) return true;
  const idx = (ref >>> 9) - 1;
  // nf_conntrack_inet_error: the error must go where that direction's packets go.
  if (outerDst != load<u32>(connAt(ct, idx) + (((ref >>> 8) & 1) == 0 ? CN_ORIG : CN_REPLY) + 4)) return true;
  pktConn = idx + 1;
  pktDir = (ref >>> 8) & 1;
  pktState = CTS_RELATED;
  stat(STAT_conntrack_related);
  return true;
}

/**
 * early_drop: a full table makes room. Looking from a slot the new tuple
 * picks, the first connection that has expired (it is gone already:
 * early_drop_list collects it) or, failing that, is not yet assured goes.
 */
function evict(ct: usize): bool {
  const used = load<u32>(ct + CT_USED);
  const start = (tSrc ^ tDst ^ tPorts) % (used == 0 ? 1 : used);
  for (let k: u32 = 0; k < 64 && k < used; k++) {
    const i = (start + k) % used;
    const c = connAt(ct, i);
    const s = <u32>load<u16>(c + CN_STATUS);
    if ((s & CS_LIVE) == 0) continue;
    if (ctExpired(c, now)) {
      ctDelete(ct, i);
      return true;
    }
    if ((s & CS_ASSURED) == 0) {
      ctDelete(ct, i);
      stat(STAT_conntrack_evicted);
      return true;
    }
  }
  return false;
}

/** The packet in hand is being dropped: a connection it started never was. */
export function nfAbort(): void {
  if (!nfActive()) return;
  const ct = <usize>load<u32>(host + H_CT);
  const p = load<u32>(ct + CT_PENDING);
  if (p != 0 && p == pktConn) {
    store<u32>(ct + CT_PENDING, 0);
    ctDelete(ct, p - 1);
    pktConn = 0;
  }
}

/** __nf_conntrack_confirm: the new connection goes into the table. */
function confirm(): void {
  const ct = <usize>load<u32>(host + H_CT);
  const p = load<u32>(ct + CT_PENDING);
  if (p != 0 && p == pktConn) {
    store<u32>(ct + CT_PENDING, 0);
    ctLink(ct, p - 1);
  }
}

// ---- rules

/** Runs a builtin chain over the packet; the verdict word of rules.ts. */
function chain(id: u32, ip: usize, n: u32, inDev: u32, outDev: u32): u32 {
  const ct = <usize>load<u32>(host + H_CT);
  const rules = <usize>load<u32>(ct + CT_RULES);
  if (rules == 0) return TGT_ACCEPT;
  const pk = <usize>load<u32>(ctx + C_SCRATCH) + S_PK;
  const ihl = ipIhlBytes(ip);
  const proto = ipProto(ip);
  const src = ipSrc(ip);
  const dst = ipDst(ip);
  store<u32>(pk + PK_SRC, src);
  store<u32>(pk + PK_DST, dst);
  let sport: u32 = 0;
  let dport: u32 = 0;
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && n >= ihl + 4 && !ipIsFragment(ip)) {
    sport = ld16(ip + ihl);
    dport = ld16(ip + ihl + 2);
  }
  store<u16>(pk + PK_SPORT, <u16>sport);
  store<u16>(pk + PK_DPORT, <u16>dport);
  store<u8>(pk + PK_PROTO, <u8>proto);
  store<u8>(pk + PK_CTSTATE, <u8>pktState);
  store<u8>(pk + PK_FRAG, (ld16(ip + 6) & 0x1fff) != 0 ? 1 : 0); // ports unknown: port matches fail
  store<u16>(pk + PK_IN, <u16>inDev);
  store<u16>(pk + PK_OUT, <u16>outDev);
  store<u8>(pk + PK_SRC_LOCAL, isLocalAddress(host, src) ? 1 : 0);
  store<u8>(pk + PK_DST_LOCAL, isLocalAddress(host, dst) ? 1 : 0);
  return rulesRun(rules, id, pk);
}

// ---- NAT

/** The connection in hand, or 0. */
@inline function current(): usize {
  return pktConn == 0 ? 0 : connAt(<usize>load<u32>(host + H_CT), pktConn - 1);
}

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
 * Applies the connection's translation of one kind to the packet: dst (at
 * PREROUTING/OUTPUT) or src (at POSTROUTING/INPUT), as nf_nat_packet does;
 * ICMP errors get their quoted header translated back too.
 */
function translate(ip: usize, n: u32, dst: bool): void {
  const c = current();
  if (c == 0) return;
  const status = <u32>load<u16>(c + CN_STATUS);
  // Which NAT this hook undoes or does for this direction.
  const need = dst ? (pktDir == 0 ? CS_DST_NAT : CS_SRC_NAT) : (pktDir == 0 ? CS_SRC_NAT : CS_DST_NAT);
  if ((status & need) == 0) return;
  const proto = <u32>load<u8>(c + CN_PROTO);
  // The tuple of the other direction says what the fields become.
  const other = c + (pktDir == 0 ? CN_REPLY : CN_ORIG);
  const otherSrc = load<u32>(other);
  const otherDst = load<u32>(other + 4);
  const otherPorts = load<u32>(other + 8);
  if (pktState == CTS_RELATED) {
    translateIcmpError(ip, n, dst, c, proto);
    return;
  }
  if (dst) manipDst(ip, n, otherSrc, portFor(proto, otherPorts, true));
  else manipSrc(ip, n, otherDst, portFor(proto, otherPorts, false));
}

/**
 * nf_nat_icmp_reply_translation: the outer header is translated like any
 * packet of its direction; the quoted packet, which went the other way, gets
 * back the fields it had before translation: those of the other direction's
 * tuple. The ICMP checksum is then computed whole.
 */
function translateIcmpError(ip: usize, n: u32, dst: bool, c: usize, proto: u32): void {
  const ihl = ipIhlBytes(ip);
  const icmp = ip + ihl;
  const inner = icmp + ICMP_HLEN;
  const innerLen = n - ihl - ICMP_HLEN;
  const innerIhl = ipIhlBytes(inner);
  const innerTot = innerLen < ipTotLen(inner) ? innerLen : ipTotLen(inner);
  const other = c + (pktDir == 0 ? CN_REPLY : CN_ORIG);
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
function setupDnat(c: usize, verdict: u32, rules: usize): void {
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
function nullBinding(c: usize): bool {
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
function setupSnat(c: usize, addr: u32, lo: u32, hi: u32, random: bool): bool {
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

/** PREROUTING: conntrack, nat PREROUTING for a new connection, destination translation. */
export function nfPrerouting(ip: usize, n: u32, inDev: u32): u32 {
  if (!conntrackIn(ip, n, true)) return DROP_CONNTRACK_FULL;
  const c = current();
  if (c != 0 && pktState == CTS_NEW && load<u32>(<usize>load<u32>(host + H_CT) + CT_PENDING) == pktConn) {
    const v = chain(CHAIN_NAT_PREROUTING, ip, n, inDev, 0xffff);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    if (kind == TGT_DNAT) setupDnat(c, v, <usize>load<u32>(<usize>load<u32>(host + H_CT) + CT_RULES));
  }
  translate(ip, n, true);
  return 0;
}

/** OUTPUT, for packets the host sends: conntrack, nat OUTPUT, translation, filter OUTPUT. */
export function nfOutput(ip: usize, n: u32, outDev: u32): u32 {
  if (!conntrackIn(ip, n, false)) return DROP_CONNTRACK_FULL;
  const c = current();
  if (c != 0 && pktState == CTS_NEW && load<u32>(<usize>load<u32>(host + H_CT) + CT_PENDING) == pktConn) {
    const v = chain(CHAIN_NAT_OUTPUT, ip, n, 0xffff, outDev);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    if (kind == TGT_DNAT) setupDnat(c, v, <usize>load<u32>(<usize>load<u32>(host + H_CT) + CT_RULES));
  }
  translate(ip, n, true);
  return (chain(CHAIN_FILTER_OUTPUT, ip, n, 0xffff, outDev) & 0xff) == TGT_DROP ? DROP_NETFILTER_DROP : 0;
}

/** FORWARD: the filter table. */
export function nfForward(ip: usize, n: u32, inDev: u32, outDev: u32): u32 {
  return (chain(CHAIN_FILTER_FORWARD, ip, n, inDev, outDev) & 0xff) == TGT_DROP ? DROP_NETFILTER_DROP : 0;
}

/**
 * POSTROUTING: nat POSTROUTING for a new connection (SNAT, MASQUERADE to the
 * egress link's address towards nexthop), source translation, confirmation.
 */
export function nfPostrouting(ip: usize, n: u32, outDev: u32, nexthop: u32, inDev: u32): u32 {
  const c = current();
  if (c != 0 && pktState == CTS_NEW && load<u32>(<usize>load<u32>(host + H_CT) + CT_PENDING) == pktConn) {
    const ct = <usize>load<u32>(host + H_CT);
    const v = chain(CHAIN_NAT_POSTROUTING, ip, n, inDev, outDev);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    const rules = <usize>load<u32>(ct + CT_RULES);
    if (kind == TGT_SNAT || kind == TGT_MASQUERADE) {
      const addr = kind == TGT_SNAT ? ruleNatAddr(rules, v) : selectSource(host, outDev, nexthop);
      if (!setupSnat(c, addr, ruleNatPortLo(rules, v), ruleNatPortHi(rules, v), ruleNatRandom(rules, v))) return DROP_NAT_NO_PORT;
    } else if (!nullBinding(c)) {
      return DROP_NAT_NO_PORT;
    }
  }
  translate(ip, n, false);
  if (c != 0) confirm();
  return 0;
}

/** INPUT: filter INPUT, nat INPUT (source translation), confirmation. */
export function nfInput(ip: usize, n: u32, inDev: u32): u32 {
  if ((chain(CHAIN_FILTER_INPUT, ip, n, inDev, 0xffff) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  const c = current();
  if (c != 0 && pktState == CTS_NEW && load<u32>(<usize>load<u32>(host + H_CT) + CT_PENDING) == pktConn) {
    const ct = <usize>load<u32>(host + H_CT);
    const v = chain(CHAIN_NAT_INPUT, ip, n, inDev, 0xffff);
    const kind = v & 0xff;
    const rules = <usize>load<u32>(ct + CT_RULES);
    const ok = kind == TGT_SNAT
      ? setupSnat(c, ruleNatAddr(rules, v), ruleNatPortLo(rules, v), ruleNatPortHi(rules, v), ruleNatRandom(rules, v))
      : nullBinding(c);
    if (!ok) return DROP_NAT_NO_PORT;
  }
  translate(ip, n, false);
  if (c != 0) confirm();
  return 0;
}

