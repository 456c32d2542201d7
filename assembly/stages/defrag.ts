// IPv4 reassembly (net/ipv4/ip_fragment.c, inet_fragment.c): ip_defrag for
// the local delivery of a host without netfilter (IP_DEFRAG_LOCAL_DELIVER)
// and for nf_defrag_ipv4 at PREROUTING of a host with it
// (IP_DEFRAG_CONNTRACK_IN). A fragment joins its datagram's queue; the one
// that makes it whole carries on as the datagram, in a buffer of the class
// that fits; queues expire ipfrag_time after they were made (ip_expire).
import {
  H_FRAG, H_FRAG_MEM, H_FRAG_NEXT, H_FRAG_TIME, FT_CAP, FT_USED, FQ_SIZE, FQ_SRC, FQ_DST, FQ_KEY, FQ_FLAGS, FQ_ECN,
  FQ_LEN, FQ_MEAT, FQ_MAX, FQ_MAX_DF, FQ_EXPIRES, FQ_RID, FQ_HEAD, FQ_TAIL, FQ_RUN, FQ_MEM, FQ_SEQ, FQ_OPTS,
  FQF_FIRST_IN, FQF_LAST_IN, FRAG_USER_LOCAL, FRAG_HIGH_THRESH, FRAG_MAX_DIST, Q_OFF, Q_LEN, Q_TAG, Q_NEXT,
  QF_FLAGS, QF_START, QF_END, QFF_RUN, QFF_L2MULTI, HEADROOM, N_TYPE, RT_LOCAL, RT_BROADCAST,
  CNT_QUEUED, CNT_DEQUEUED, CNT_REASSEMBLED, STAT_ip4_reassembled, STAT_ip4_reasm_timeout,
  DROP_NOMEM, DROP_DUP_FRAG, DROP_FRAG_REASM_TIMEOUT, DROP_FRAG_TOO_FAR, DROP_FRAG_OVERLAP, DROP_FRAG_INVALID,
  META_REASM, META_FRAGS_SHIFT, PL_BUF, O_QUEUED, O_CONSUMED,
} from '../layout';
import { host, now, count, stat, bufAllocFor, bufFree, dropRecord, fateRecord, homeOfAny, checking } from '../context';
import { checkReassembled } from '../check';
import { trace } from '../trace/trace';
import { EV_FRAG_QUEUE, EV_REASSEMBLED } from '../trace/events';
import { ld16, st16 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import { IP_TOS, IP_TOTLEN, IP_ID, IP_FRAG, IP_CHECK, IP_DF, IP_MF, IP_OFFMASK, ipIhlBytes, ipSrc, ipDst, ipProto } from '../wire/ipv4';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp';
import { fragFind, fragCreate, fragRemove, fragAt } from '../tables/frag';
import { peerFragment } from '../tables/ratelimit';
import { routeLookup } from '../tables/route';
import { icmpSend } from './icmp-error';
import { optSave, optRestore } from './ip4-options';
import { nfSave, nfRestore } from './netfilter';

// Where a reassembled datagram's IP header sits in its buffer.
export const DGRAM_OFF: u32 = HEADROOM + ETH_HLEN;

/** What the datagram ipDefrag returned last carries: META_REASM, fragment count, largest fragment. */
export let reasmMeta: u32 = 0;
/** Whether its first fragment came in a broadcast or multicast frame (its pkt_type). */
export let reasmL2multi = false;

const ICMP_EXC_FRAGTIME: u32 = 1;

/**
 * ip_defrag of the fragment at buf+ipOff (tot bytes, its header checked) for
 * `user` (FRAG_USER_*). Returns the buffer of the datagram it completes (its
 * IP header at DGRAM_OFF, reasmMeta and reasmL2multi set), or 0: the
 * fragment is held, or dropped with its reason.
 */
export function ipDefrag(user: u32, buf: usize, ipOff: u32, tot: u32, tag: u32, l2multi: bool): usize {
  // inet_frag_find: over ipfrag_high_thresh, no queue takes anything.
  if (load<u32>(host + H_FRAG_MEM) > FRAG_HIGH_THRESH) return refuse(buf, DROP_NOMEM, tag);
  const ip = buf + ipOff;
  const src = ipSrc(ip);
  const dst = ipDst(ip);
  const key = ld16(ip + IP_ID) | (ipProto(ip) << 16) | (user << 24);
  let q = fragFind(host, src, dst, key);
  if (q != 0 && expired(q)) {
    expire(q); // an expired queue is gone to every lookup, whenever its timer runs
    q = 0;
  }
  if (q == 0) {
    q = fragCreate(host, src, dst, key);
    if (q == 0) return refuse(buf, DROP_NOMEM, tag);
    const expires = now + load<u32>(host + H_FRAG_TIME);
    store<u32>(q + FQ_EXPIRES, expires);
    store<u32>(q + FQ_MEM, FQ_SIZE);
    addMem(FQ_SIZE);
    noteExpiry(expires);
  }
  return fragQueue(q, user, buf, ipOff, tot, tag, l2multi);
}

/** ip_frag_queue: the fragment goes into its place, or the queue (and the fragment) go. */
function fragQueue(q: usize, user: u32, buf: usize, ipOff: u32, tot: u32, tag: u32, l2multi: bool): usize {
  const ip = buf + ipOff;
  // ip_frag_too_far: more than ipfrag_max_dist fragments of this sender came since the queue's last.
  const rid = peerFragment(host, ipSrc(ip), now);
  if (rid != 0) {
    const start = load<u32>(q + FQ_RID);
    store<u32>(q + FQ_RID, rid);
    if (load<u32>(q + FQ_TAIL) != 0 && rid - start > FRAG_MAX_DIST) reinit(q);
  }
  const frag = ld16(ip + IP_FRAG);
  const offset = (frag & IP_OFFMASK) << 3;
  const ihl = ipIhlBytes(ip);
  let end = offset + tot - ihl;
  let flags = <u32>load<u8>(q + FQ_FLAGS);
  if ((frag & IP_MF) == 0) {
    // The last fragment: nothing may lie beyond it, and a second last must agree.
    if (end < load<u32>(q + FQ_LEN) || ((flags & FQF_LAST_IN) != 0 && end != load<u32>(q + FQ_LEN))) return discard(q, buf, DROP_FRAG_INVALID, tag);
    flags |= FQF_LAST_IN;
    store<u8>(q + FQ_FLAGS, <u8>flags);
    store<u32>(q + FQ_LEN, end);
  } else {
    end &= ~7; // all but the last carry whole 8-byte blocks
    if (end > load<u32>(q + FQ_LEN)) {
      if ((flags & FQF_LAST_IN) != 0) return discard(q, buf, DROP_FRAG_INVALID, tag);
      store<u32>(q + FQ_LEN, end);
    }
  }
  if (end == offset) return discard(q, buf, DROP_FRAG_INVALID, tag);
  const r = insert(q, buf, offset, end);
  if (r == INSERT_DUP) return refuse(buf, DROP_DUP_FRAG, tag);
  if (r == INSERT_OVERLAP) return discard(q, buf, DROP_FRAG_OVERLAP, tag);
  count(CNT_QUEUED);
  store<u16>(buf + Q_OFF, <u16>ipOff);
  store<u16>(buf + Q_LEN, <u16>(ihl + end - offset));
  store<u32>(buf + Q_TAG, tag);
  store<u8>(buf + QF_FLAGS, <u8>((<u32>load<u8>(buf + QF_FLAGS) & QFF_RUN) | (l2multi ? QFF_L2MULTI : 0)));
  store<u32>(q + FQ_MEAT, load<u32>(q + FQ_MEAT) + end - offset);
  store<u8>(q + FQ_ECN, <u8>(<u32>load<u8>(q + FQ_ECN) | (1 << (<u32>load<u8>(ip + IP_TOS) & 3))));
  const mem = heldSize(buf);
  store<u32>(q + FQ_MEM, load<u32>(q + FQ_MEM) + mem);
  addMem(mem);
  if (offset == 0) {
    flags |= FQF_FIRST_IN;
    store<u8>(q + FQ_FLAGS, <u8>flags);
    if (user == FRAG_USER_LOCAL) store<u64>(q + FQ_OPTS, optSave(ip)); // its IPCB goes to the datagram
  }
  const size = end - offset + ihl;
  if (size > <u32>load<u16>(q + FQ_MAX)) store<u16>(q + FQ_MAX, <u16>size);
  if ((frag & IP_DF) != 0 && size > <u32>load<u16>(q + FQ_MAX_DF)) store<u16>(q + FQ_MAX_DF, <u16>size);
  if (flags == (FQF_FIRST_IN | FQF_LAST_IN) && load<u32>(q + FQ_MEAT) == load<u32>(q + FQ_LEN)) return reasm(q, buf, user, tag);
  trace(EV_FRAG_QUEUE, offset, end, load<u32>(q + FQ_MEAT), load<u32>(q + FQ_LEN));
  fateRecord(O_QUEUED, tag);
  return 0;
}

const INSERT_OK: u32 = 0;
const INSERT_DUP: u32 = 1;
const INSERT_OVERLAP: u32 = 2;

/**
 * inet_frag_queue_insert: the fragment [offset, end) after the tail, or in
 * its place before it. A fragment inside one run of adjacent fragments is a
 * duplicate; one overlapping anything otherwise drops the queue (RFC 5722).
 * Runs are as Linux makes them: a fragment that follows the tail without a
 * gap joins the tail's run, any other begins its own.
 */
function insert(q: usize, buf: usize, offset: u32, end: u32): u32 {
  const tail = <usize>load<u32>(q + FQ_TAIL);
  store<u32>(buf + QF_START, offset);
  store<u32>(buf + QF_END, end);
  if (tail == 0) {
    store<u8>(buf + QF_FLAGS, <u8>QFF_RUN);
    store<u32>(buf + Q_NEXT, 0);
    store<u32>(q + FQ_HEAD, <u32>buf);
    store<u32>(q + FQ_TAIL, <u32>buf);
    store<u32>(q + FQ_RUN, <u32>buf);
    return INSERT_OK;
  }
  const tailEnd = load<u32>(tail + QF_END);
  if (tailEnd < end) {
    // The common case: after the tail.
    if (offset < tailEnd) return INSERT_OVERLAP;
    store<u8>(buf + QF_FLAGS, <u8>(offset == tailEnd ? 0 : QFF_RUN));
    store<u32>(buf + Q_NEXT, 0);
    store<u32>(tail + Q_NEXT, <u32>buf);
    store<u32>(q + FQ_TAIL, <u32>buf);
    if (offset != tailEnd) store<u32>(q + FQ_RUN, <u32>buf);
    return INSERT_OK;
  }
  // Before the tail: the runs it meets decide.
  let prev: usize = 0;
  let f = <usize>load<u32>(q + FQ_HEAD);
  while (f != 0) {
    // The run starting at f.
    const runStart = load<u32>(f + QF_START);
    let last = f;
    let n = <usize>load<u32>(f + Q_NEXT);
    while (n != 0 && (<u32>load<u8>(n + QF_FLAGS) & QFF_RUN) == 0) {
      last = n;
      n = <usize>load<u32>(n + Q_NEXT);
    }
    const runEnd = load<u32>(last + QF_END);
    if (end <= runStart) break; // it goes before this run
    if (offset < runEnd) return offset >= runStart && end <= runEnd ? INSERT_DUP : INSERT_OVERLAP;
    prev = last;
    f = n;
  }
  store<u8>(buf + QF_FLAGS, <u8>QFF_RUN);
  store<u32>(buf + Q_NEXT, <u32>f);
  if (prev == 0) store<u32>(q + FQ_HEAD, <u32>buf);
  else store<u32>(prev + Q_NEXT, <u32>buf);
  return INSERT_OK;
}

/**
 * ip_frag_reasm: the datagram, in a buffer of its own, the fragment in hand
 * (buf, held by now) carrying on as it; the others are done. When it cannot
 * be made, the queue goes with every fragment.
 */
function reasm(q: usize, buf: usize, user: u32, tag: u32): usize {
  const e = <u32>load<u8>(q + FQ_ECN);
  // ip_frag_ecn_table: not-ECT mixed with ECT or CE is refused; CE with ECT marks the datagram CE.
  if ((e & 1) != 0 && (e & 0xe) != 0) return discard(q, 0, DROP_FRAG_INVALID, tag);
  const head = <usize>load<u32>(q + FQ_HEAD);
  const hip = head + <usize>load<u16>(head + Q_OFF);
  const ihl = ipIhlBytes(hip);
  const len = ihl + load<u32>(q + FQ_LEN);
  if (len > 65535) return discard(q, 0, DROP_FRAG_INVALID, tag);
  let n: u32 = 0;
  for (let f = head; f != 0; f = <usize>load<u32>(f + Q_NEXT)) n++;
  // The fragments' sizes follow the datagram (ip_do_fragment keeps them when it is forwarded).
  const out = bufAllocFor(DGRAM_OFF + len + (n << 1));
  if (out == 0) return discard(q, 0, DROP_NOMEM, tag);
  const ip = out + DGRAM_OFF;
  memory.copy(ip, hip, ihl);
  let sizes = ip + len;
  let f = head;
  while (f != 0) {
    const next = <usize>load<u32>(f + Q_NEXT);
    const start = load<u32>(f + QF_START);
    const size = load<u32>(f + QF_END) - start;
    const fip = f + <usize>load<u16>(f + Q_OFF);
    memory.copy(ip + ihl + start, fip + ipIhlBytes(fip), size);
    st16(sizes, size);
    sizes += 2;
    count(CNT_DEQUEUED);
    if (f != buf) {
      // Taken into the datagram; the fragment in hand carries on as it.
      count(CNT_REASSEMBLED);
      fateRecord(O_CONSUMED, load<u32>(f + Q_TAG));
    }
    bufFree(f);
    f = next;
  }
  st16(ip + IP_TOTLEN, len);
  if ((e & 8) != 0 && (e & 6) != 0) store<u8>(ip + IP_TOS, load<u8>(ip + IP_TOS) | 3);
  const max = <u32>load<u16>(q + FQ_MAX);
  const maxDf = <u32>load<u16>(q + FQ_MAX_DF);
  // DF only when the largest fragment had it (the datagram must then leave in pieces no bigger).
  st16(ip + IP_FRAG, maxDf == max ? IP_DF : 0);
  st16(ip + IP_CHECK, 0);
  st16(ip + IP_CHECK, checksum(ip, ihl));
  reasmMeta = META_REASM | (n << META_FRAGS_SHIFT) | (maxDf > max ? maxDf : max);
  reasmL2multi = (<u32>load<u8>(head + QF_FLAGS) & QFF_L2MULTI) != 0;
  if (user == FRAG_USER_LOCAL) optRestore(ip, load<u64>(q + FQ_OPTS));
  else optRestore(ip, 0);
  stat(STAT_ip4_reassembled);
  trace(EV_REASSEMBLED, n, len);
  if (checking) checkReassembled(host, out, ip, len);
  forget(q);
  return out;
}

/** Bytes of the buffer a fragment holds (its class's size), whichever pool it is from. */
function heldSize(buf: usize): u32 {
  const p = homeOfAny(buf);
  return p == 0 ? 0 : load<u32>(p + PL_BUF);
}

/** The fragment is dropped; its queue stays. */
function refuse(buf: usize, reason: u32, tag: u32): usize {
  bufFree(buf);
  dropRecord(reason, tag);
  return 0;
}

/** inet_frag_kill: the queue goes with its fragments, and the fragment in hand (buf, when not 0). */
function discard(q: usize, buf: usize, reason: u32, tag: u32): usize {
  flush(q, reason);
  forget(q);
  if (buf != 0) refuse(buf, reason, tag);
  return 0;
}

/** Drops every fragment the queue holds (inet_frag_queue_flush). */
function flush(q: usize, reason: u32): void {
  let f = <usize>load<u32>(q + FQ_HEAD);
  let mem: u32 = 0;
  while (f != 0) {
    const next = <usize>load<u32>(f + Q_NEXT);
    mem += heldSize(f);
    count(CNT_DEQUEUED);
    const tag = load<u32>(f + Q_TAG);
    bufFree(f);
    dropRecord(reason, tag);
    f = next;
  }
  store<u32>(q + FQ_HEAD, 0);
  store<u32>(q + FQ_TAIL, 0);
  store<u32>(q + FQ_RUN, 0);
  store<u32>(q + FQ_MEM, load<u32>(q + FQ_MEM) - mem);
  addMem(0 - mem);
}

/** The queue leaves the table; what it held is no longer counted. */
function forget(q: usize): void {
  addMem(0 - load<u32>(q + FQ_MEM));
  fragRemove(host, q);
}

/** ip_frag_reinit: too far behind, the queue starts again, its timer too. */
function reinit(q: usize): void {
  flush(q, DROP_FRAG_TOO_FAR);
  store<u8>(q + FQ_FLAGS, 0);
  store<u32>(q + FQ_LEN, 0);
  store<u32>(q + FQ_MEAT, 0);
  store<u8>(q + FQ_ECN, 0);
  const expires = now + load<u32>(host + H_FRAG_TIME);
  store<u32>(q + FQ_EXPIRES, expires);
  noteExpiry(expires);
}

@inline function addMem(delta: u32): void {
  store<u32>(host + H_FRAG_MEM, load<u32>(host + H_FRAG_MEM) + delta);
}

@inline function expired(q: usize): bool {
  return <i32>(now - load<u32>(q + FQ_EXPIRES)) >= 0;
}

/** No queue expires before H_FRAG_NEXT: a new time may come first (with no other queue, it does). */
function noteExpiry(t: u32): void {
  const tbl = <usize>load<u32>(host + H_FRAG);
  if (load<u32>(tbl + FT_USED) <= 1 || <i32>(t - load<u32>(host + H_FRAG_NEXT)) < 0) store<u32>(host + H_FRAG_NEXT, t);
}

/**
 * ip_expire: the queue's time is up. When its first fragment came, the
 * sender hears of it (time exceeded, fragment reassembly), as an end host
 * does: nf_defrag's queues only about datagrams for this host. Every
 * fragment is dropped FRAG_REASM_TIMEOUT.
 */
function expire(q: usize): void {
  stat(STAT_ip4_reasm_timeout);
  const head = <usize>load<u32>(q + FQ_HEAD);
  if ((<u32>load<u8>(q + FQ_FLAGS) & FQF_FIRST_IN) != 0 && head != 0) {
    const ip = head + <usize>load<u16>(head + Q_OFF);
    const nh = routeLookup(host, ipDst(ip));
    const type = nh == 0 ? 0 : <u32>load<u8>(nh + N_TYPE);
    const local = (load<u32>(q + FQ_KEY) >>> 24) == FRAG_USER_LOCAL;
    if (local || type == RT_LOCAL) {
      optRestore(ip, local ? load<u64>(q + FQ_OPTS) : 0);
      const l2multi = (<u32>load<u8>(head + QF_FLAGS) & QFF_L2MULTI) != 0;
      // The head has no connection of its own (fragments are gathered before conntrack).
      nfSave(false);
      icmpSend(ip, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0, type == RT_LOCAL ? ipDst(ip) : 0, l2multi || type == RT_BROADCAST, <u32>load<u16>(head + Q_LEN));
      nfRestore();
    }
  }
  flush(q, DROP_FRAG_REASM_TIMEOUT);
  forget(q);
}

/**
 * The queues' timers, before each batch: every queue whose time is up
 * expires, the earliest first (those made first, at one time).
 */
export function fragTimers(): void {
  if (load<u32>(host + H_FRAG) == 0 || <i32>(now - load<u32>(host + H_FRAG_NEXT)) < 0) return;
  while (true) {
    const t = <usize>load<u32>(host + H_FRAG);
    if (t == 0) return;
    const cap = load<u32>(t + FT_CAP);
    let first: usize = 0;
    let next: u32 = now + load<u32>(host + H_FRAG_TIME);
    for (let i: u32 = 0; i < cap; i++) {
      const q = fragAt(t, i);
      if (q == 0) continue;
      if (!expired(q)) {
        if (<i32>(load<u32>(q + FQ_EXPIRES) - next) < 0) next = load<u32>(q + FQ_EXPIRES);
        continue;
      }
      if (first == 0 || <i32>(load<u32>(q + FQ_EXPIRES) - load<u32>(first + FQ_EXPIRES)) < 0 ||
          (load<u32>(q + FQ_EXPIRES) == load<u32>(first + FQ_EXPIRES) && <i32>(load<u32>(q + FQ_SEQ) - load<u32>(first + FQ_SEQ)) < 0)) first = q;
    }
    if (first == 0) {
      store<u32>(host + H_FRAG_NEXT, next);
      return;
    }
    expire(first);
  }
}
