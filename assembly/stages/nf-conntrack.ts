// Connection tracking for IPv4 (nf_conntrack_in): a packet's tuple, its
// connection found from either direction (or started, unconfirmed), its
// state for the rules, TCP's state machine and the timeouts, ICMP errors
// related to the connection they quote, and early drop when the table is
// full. The result is packed in one word (ctResult*) for the hooks in
// ./netfilter.ts, which keep the packet's state.
import {
  H_CT, CT_MAX, CT_COUNT, CT_PENDING, CT_USED, CN_ORIG, CN_REPLY, CN_PROTO, CN_TCP,
  CN_STATUS, CN_TIMEOUT, CN_START, CN_PACKETS, CS_SEEN_REPLY, CS_ASSURED, CS_LIVE,
  CT_UDP_MS, CT_UDP_STREAM_MS, CT_GC_PER_NEW, CT_ICMP_MS, CT_GENERIC_MS, CT_UDP_STREAM_AFTER_MS,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, STAT_conntrack_new, STAT_conntrack_invalid, STAT_conntrack_evicted,
  STAT_conntrack_related,
} from '../layout';
import { CTS_NEW, CTS_ESTABLISHED, CTS_RELATED, CTS_INVALID } from '../tables/rules-layout';
import { host, now, stat } from '../context';
import { ld16, ld32 } from '../wire/bytes';
import { checksum, finish, sumBytes, pseudoSum } from '../wire/checksum';
import { IP_HLEN, ipIhlBytes, ipSrc, ipDst, ipProto, ipIsFragment } from '../wire/ipv4';
import { ICMP_ECHO, ICMP_HLEN, icmpIsError } from '../wire/icmp';
import { UDP_CHECK } from '../wire/udp';
import { TCP_FLAGS, TCP_HLEN, TH_RST } from '../wire/tcp';
import { connAt, ctFindLive, ctAlloc, ctDelete, ctExpired, ctGc } from '../tables/conntrack';
import {
  TCP_CT_NONE, TCP_CT_SYN_RECV, TCP_CT_ESTABLISHED, TCP_CT_INVALID, TCP_CT_IGNORE,
  tcpNextState, tcpFlagsValid, tcpTimeoutMs,
} from '../tables/conntrack-tcp';

// conntrackIn's answer: the connection (index + 1, 0 = none), the direction
// and the state, in one word; CT_IN_DROP when the packet must be dropped.
export const CT_IN_DROP: u32 = 0xffffffff;
@inline function result(conn: u32, dir: u32, state: u32): u32 {
  return conn | (dir << 23) | (state << 24);
}
@inline export function ctResultConn(r: u32): u32 {
  return r & 0x7fffff;
}
@inline export function ctResultDir(r: u32): u32 {
  return (r >>> 23) & 1;
}
@inline export function ctResultState(r: u32): u32 {
  return r >>> 24;
}
const NO_CONN: u32 = CTS_INVALID << 24;

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
@inline export function invertPorts(proto: u32, ports: u32): u32 {
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

/** Whether an L4 checksum is wrong (nf_conntrack_checksum, checked where packets enter). */
export function l4Bad(ip: usize, n: u32): bool {
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
 * nf_conntrack_in: finds (or starts) the packet's connection and gives its
 * state (see result). A new connection is not in the table until
 * confirmed; CT_PENDING names it. CT_IN_DROP when the packet must be
 * dropped (table full, nothing to evict).
 */
export function conntrackIn(ip: usize, n: u32, checkL4: bool): u32 {
  const ct = <usize>load<u32>(host + H_CT);
  if (ipIsFragment(ip) || !tupleOf(ip, n)) return NO_CONN; // no reassembly here: untracked, INVALID
  if (checkL4 && l4Bad(ip, n)) {
    stat(STAT_conntrack_invalid);
    return NO_CONN;
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
      return NO_CONN;
    }
    return result(idx + 1, dir, dir == 1 || (<u32>load<u16>(c + CN_STATUS) & CS_SEEN_REPLY) != 0 ? CTS_ESTABLISHED : CTS_NEW);
  }
  // A new connection, if this packet may start one.
  let tcp: u32 = 0;
  if (tProto == IPPROTO_TCP) {
    const flags = <u32>load<u8>(l4 + TCP_FLAGS);
    if (!tcpFlagsValid(flags)) return NO_CONN;
    tcp = tcpNextState(TCP_CT_NONE, 0, flags);
    if (tcp == TCP_CT_INVALID || tcp == TCP_CT_IGNORE) return NO_CONN;
  } else if (tProto == IPPROTO_ICMP) {
    // icmp_new: only requests start a connection.
    const type = <u32>load<u8>(l4);
    if (type != ICMP_ECHO && type != 13 && type != 15 && type != 17) return NO_CONN;
  }
  // The collector moves on with each new connection, not with each call, so
  // what it frees never depends on how the traffic was cut into batches.
  ctGc(ct, now, CT_GC_PER_NEW);
  if (load<u32>(ct + CT_COUNT) >= load<u32>(ct + CT_MAX) && !evict(ct)) return CT_IN_DROP;
  const idx = ctAlloc(ct);
  if (idx < 0) return CT_IN_DROP;
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
  return result(<u32>idx + 1, 0, CTS_NEW);
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
      // nf_conntrack_tcp_packet: a RST before any reply was seen ends the
      // connection at once (nf_ct_kill); this packet still passes, translated.
      if ((flags & TH_RST) != 0 && (status & CS_SEEN_REPLY) == 0) store<u32>(c + CN_TIMEOUT, now);
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
function related(ct: usize, outerDst: u32, icmp: usize, len: u32): u32 {
  const inner = icmp + ICMP_HLEN;
  if (len < ICMP_HLEN + IP_HLEN + 8 || (<u32>load<u8>(inner) >> 4) != 4) return NO_CONN;
  const ihl = ipIhlBytes(inner);
  if (len < ICMP_HLEN + ihl + 8) return NO_CONN;
  // The quoted packet went the other way: look up its tuple inverted.
  const proto = ipProto(inner);
  const src = ipSrc(inner);
  const dst = ipDst(inner);
  let ports: u32 = 0;
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) ports = ld32(inner + ihl);
  else if (proto == IPPROTO_ICMP) ports = (ld16(inner + ihl + 4) << 16) | ld16(inner + ihl);
  // Inverted, the quoted packet's tuple is that of the direction the error travels.
  const ref = ctFindLive(ct, dst, src, invertPorts(proto, ports), proto, now);
  if (ref == 0) return NO_CONN;
  const idx = (ref >>> 9) - 1;
  // nf_conntrack_inet_error: the error must go where that direction's packets go.
  if (outerDst != load<u32>(connAt(ct, idx) + (((ref >>> 8) & 1) == 0 ? CN_ORIG : CN_REPLY) + 4)) return NO_CONN;
  stat(STAT_conntrack_related);
  return result(idx + 1, (ref >>> 8) & 1, CTS_RELATED);
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

