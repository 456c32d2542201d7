// The connection tracking table (nf_conntrack_core): connections in an array
// with a free list, both tuples of each in one open-addressing hash
// (linear probing, backward-shift deletion), expiry on the caller's clock;
// and the source-NATed ones chained by their original source, newest first
// (nf_nat_core's bysource hash).
import {
  CT_TUPLES, CT_MASK, CT_CONNS, CT_CAP, CT_COUNT, CT_FREE, CT_GC, CT_USED, CT_BYSRC,
  TUPLE_SIZE, TP_SRC, TP_DST, TP_PORTS, TP_REF, CONN_SIZE, CN_ORIG, CN_REPLY, CN_PROTO, CN_STATUS,
  CN_TIMEOUT, CN_NEXT, CN_SNEXT, CN_SPREV, CS_LIVE, CS_SRC_NAT,
} from '../layout';
import { copy16, zero16, zero64 } from '../wire/words';

@inline function hashTuple(src: u32, dst: u32, ports: u32, proto: u32): u32 {
  let h = (src * 0x9e3779b1) ^ (dst * 0x85ebca6b) ^ (ports * 0xc2b2ae35) ^ proto;
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  return h ^ (h >>> 12);
}

@inline function slot(ct: usize, i: u32): usize {
  return <usize>load<u32>(ct + CT_TUPLES) + <usize>i * TUPLE_SIZE;
}

@inline export function connAt(ct: usize, idx: u32): usize {
  return <usize>load<u32>(ct + CT_CONNS) + <usize>idx * CONN_SIZE;
}

/** The reference (index + 1) << 9 | dir << 8 | proto of a tuple in the table, or 0. */
export function ctFind(ct: usize, src: u32, dst: u32, ports: u32, proto: u32): u32 {
  const mask = load<u32>(ct + CT_MASK);
  let i = hashTuple(src, dst, ports, proto) & mask;
  while (true) {
    const e = slot(ct, i);
    const ref = load<u32>(e + TP_REF);
    if (ref == 0) return 0;
    if ((ref & 0xff) == proto && load<u32>(e + TP_SRC) == src && load<u32>(e + TP_DST) == dst &&
        load<u32>(e + TP_PORTS) == ports) return ref;
    i = (i + 1) & mask;
  }
}

function insertTuple(ct: usize, t: usize, ref: u32): void {
  const src = load<u32>(t);
  const dst = load<u32>(t, 4);
  const ports = load<u32>(t, 8);
  const mask = load<u32>(ct + CT_MASK);
  let i = hashTuple(src, dst, ports, ref & 0xff) & mask;
  while (load<u32>(slot(ct, i) + TP_REF) != 0) i = (i + 1) & mask;
  const e = slot(ct, i);
  store<u32>(e + TP_SRC, src);
  store<u32>(e + TP_DST, dst);
  store<u32>(e + TP_PORTS, ports);
  store<u32>(e + TP_REF, ref);
}

function removeTuple(ct: usize, t: usize, ref: u32): void {
  const mask = load<u32>(ct + CT_MASK);
  const proto = ref & 0xff;
  let i = hashTuple(load<u32>(t), load<u32>(t, 4), load<u32>(t, 8), proto) & mask;
  while (load<u32>(slot(ct, i) + TP_REF) != ref) {
    if (load<u32>(slot(ct, i) + TP_REF) == 0) return;
    i = (i + 1) & mask;
  }
  let hole = i;
  let j = (i + 1) & mask;
  while (true) {
    const s = slot(ct, j);
    const r = load<u32>(s + TP_REF);
    if (r == 0) break;
    const home = hashTuple(load<u32>(s + TP_SRC), load<u32>(s + TP_DST), load<u32>(s + TP_PORTS), r & 0xff) & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      copy16(slot(ct, hole), s);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  zero16(slot(ct, hole));
}

/** A fresh connection's index, or -1 when the array is full. */
export function ctAlloc(ct: usize): i32 {
  const free = load<u32>(ct + CT_FREE);
  let idx: u32;
  if (free != 0) {
    idx = free - 1;
    store<u32>(ct + CT_FREE, load<u32>(connAt(ct, idx) + CN_NEXT));
  } else {
    idx = load<u32>(ct + CT_USED);
    if (idx >= load<u32>(ct + CT_CAP)) return -1;
    store<u32>(ct + CT_USED, idx + 1);
  }
  zero64(connAt(ct, idx));
  return <i32>idx;
}

/** Makes connection idx findable by both tuples (__nf_conntrack_confirm), and by its source when source-NATed. */
export function ctLink(ct: usize, idx: u32): void {
  const c = connAt(ct, idx);
  const proto = <u32>load<u8>(c + CN_PROTO);
  insertTuple(ct, c + CN_ORIG, ((idx + 1) << 9) | proto);
  insertTuple(ct, c + CN_REPLY, ((idx + 1) << 9) | (1 << 8) | proto);
  const status = <u32>load<u16>(c + CN_STATUS);
  if ((status & CS_SRC_NAT) != 0) bysrcPush(ct, <usize>load<u32>(ct + CT_BYSRC), load<u32>(ct + CT_MASK) >>> 2, idx);
  store<u16>(c + CN_STATUS, <u16>(status | CS_LIVE));
  store<u32>(ct + CT_COUNT, load<u32>(ct + CT_COUNT) + 1);
}

/** Forgets connection idx: both tuples out of the hash, the slot back on the free list. */
export function ctDelete(ct: usize, idx: u32): void {
  const c = connAt(ct, idx);
  const status = <u32>load<u16>(c + CN_STATUS);
  if ((status & CS_LIVE) != 0) {
    const proto = <u32>load<u8>(c + CN_PROTO);
    removeTuple(ct, c + CN_ORIG, ((idx + 1) << 9) | proto);
    removeTuple(ct, c + CN_REPLY, ((idx + 1) << 9) | (1 << 8) | proto);
    if ((status & CS_SRC_NAT) != 0) bysrcUnlink(ct, idx);
    store<u32>(ct + CT_COUNT, load<u32>(ct + CT_COUNT) - 1);
  }
  store<u16>(c + CN_STATUS, 0);
  store<u32>(c + CN_NEXT, load<u32>(ct + CT_FREE));
  store<u32>(ct + CT_FREE, idx + 1);
}

// ---- by source (nf_nat_bysource)

/** hash_by_src: the original tuple's source address, port (echo id) and protocol. */
@inline function hashSrc(src: u32, sport: u32, proto: u32): u32 {
  let h = (src * 0x9e3779b1) ^ (sport * 0x85ebca6b) ^ proto;
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  return h ^ (h >>> 12);
}

@inline function bysrcHead(heads: usize, mask: u32, c: usize): usize {
  return heads + (<usize>(hashSrc(load<u32>(c + CN_ORIG), load<u32>(c + CN_ORIG + 8) >>> 16, <u32>load<u8>(c + CN_PROTO)) & mask) << 2);
}

/** Puts connection idx at the head of its source's chain (hlist_add_head_rcu: newest first). */
function bysrcPush(ct: usize, heads: usize, mask: u32, idx: u32): void {
  const c = connAt(ct, idx);
  const head = bysrcHead(heads, mask, c);
  const first = load<u32>(head);
  store<u32>(c + CN_SNEXT, first);
  store<u32>(c + CN_SPREV, 0);
  if (first != 0) store<u32>(connAt(ct, first - 1) + CN_SPREV, idx + 1);
  store<u32>(head, idx + 1);
}

function bysrcUnlink(ct: usize, idx: u32): void {
  const c = connAt(ct, idx);
  const next = load<u32>(c + CN_SNEXT);
  const prev = load<u32>(c + CN_SPREV);
  if (next != 0) store<u32>(connAt(ct, next - 1) + CN_SPREV, prev);
  if (prev != 0) store<u32>(connAt(ct, prev - 1) + CN_SNEXT, next);
  else store<u32>(bysrcHead(<usize>load<u32>(ct + CT_BYSRC), load<u32>(ct + CT_MASK) >>> 2, c), next);
}

/**
 * find_appropriate_src: the newest live source-NATed connection from the
 * same source address and port (echo id) as c whose mapping lies in the
 * range (address addr; port lo..hi, or any when lo is 0). Returns that
 * mapping's port (echo id), or -1.
 */
export function ctSourceMapping(ct: usize, c: usize, addr: u32, lo: u32, hi: u32, now: u32): i32 {
  const proto = <u32>load<u8>(c + CN_PROTO);
  const src = load<u32>(c + CN_ORIG);
  const sport = load<u32>(c + CN_ORIG + 8) >>> 16;
  const heads = <usize>load<u32>(ct + CT_BYSRC);
  let i = load<u32>(heads + (<usize>(hashSrc(src, sport, proto) & (load<u32>(ct + CT_MASK) >>> 2)) << 2));
  while (i != 0) {
    const o = connAt(ct, i - 1);
    i = load<u32>(o + CN_SNEXT);
    if (<u32>load<u8>(o + CN_PROTO) != proto || load<u32>(o + CN_ORIG) != src || (load<u32>(o + CN_ORIG + 8) >>> 16) != sport) continue;
    if (ctExpired(o, now) || load<u32>(o + CN_REPLY + 4) != addr) continue;
    const ports = load<u32>(o + CN_REPLY + 8);
    const port = proto == 1 ? ports >>> 16 : ports & 0xffff; // the reply's destination: the mapped source port (echo id)
    if (lo == 0 || (port >= lo && port <= hi)) return <i32>port;
  }
  return -1;
}

/** Whether connection c has run out of time at now (wrap-safe). */
@inline export function ctExpired(c: usize, now: u32): bool {
  return <i32>(now - load<u32>(c + CN_TIMEOUT)) >= 0;
}

/**
 * The live connection holding a tuple, as ctFind, but an expired one found
 * there is deleted and counts as absent (nf_ct_is_expired, nf_ct_gc_expired:
 * what has run out of time is gone to every lookup, collected or not).
 */
export function ctFindLive(ct: usize, src: u32, dst: u32, ports: u32, proto: u32, now: u32): u32 {
  const ref = ctFind(ct, src, dst, ports, proto);
  if (ref == 0) return 0;
  const idx = (ref >>> 9) - 1;
  if (!ctExpired(connAt(ct, idx), now)) return ref;
  ctDelete(ct, idx);
  return 0;
}

/** Looks at up to budget connections from where it left off, deleting expired ones (gc_worker). */
export function ctGc(ct: usize, now: u32, budget: u32): void {
  const used = load<u32>(ct + CT_USED);
  if (used == 0) return;
  let i = load<u32>(ct + CT_GC);
  for (let k: u32 = 0; k < budget; k++) {
    if (i >= used) i = 0;
    const c = connAt(ct, i);
    if ((<u32>load<u16>(c + CN_STATUS) & CS_LIVE) != 0 && ctExpired(c, now)) ctDelete(ct, i);
    i++;
  }
  store<u32>(ct + CT_GC, i);
}

/**
 * Moves the table into larger arrays (control plane, between batches): the
 * connections keep their indices; the tuple hash is built anew, and the
 * bysource chains (bysrc: (mask + 1) / 4 zeroed heads), each old chain
 * walked from its oldest so the new ones stay newest first.
 */
export function ctGrow(ct: usize, conns: usize, cap: u32, tuples: usize, mask: u32, bysrc: usize): void {
  const used = load<u32>(ct + CT_USED);
  const oldHeads = <usize>load<u32>(ct + CT_BYSRC);
  const oldMask = load<u32>(ct + CT_MASK) >>> 2;
  memory.copy(conns, <usize>load<u32>(ct + CT_CONNS), <usize>used * CONN_SIZE);
  store<u32>(ct + CT_CONNS, <u32>conns);
  store<u32>(ct + CT_CAP, cap);
  store<u32>(ct + CT_TUPLES, <u32>tuples);
  store<u32>(ct + CT_MASK, mask);
  store<u32>(ct + CT_BYSRC, <u32>bysrc);
  for (let i: u32 = 0; i < used; i++) {
    const c = connAt(ct, i);
    if ((<u32>load<u16>(c + CN_STATUS) & CS_LIVE) == 0) continue;
    const proto = <u32>load<u8>(c + CN_PROTO);
    insertTuple(ct, c + CN_ORIG, ((i + 1) << 9) | proto);
    insertTuple(ct, c + CN_REPLY, ((i + 1) << 9) | (1 << 8) | proto);
  }
  for (let b: u32 = 0; b <= oldMask; b++) {
    let i = load<u32>(oldHeads + (<usize>b << 2));
    if (i == 0) continue;
    while (load<u32>(connAt(ct, i - 1) + CN_SNEXT) != 0) i = load<u32>(connAt(ct, i - 1) + CN_SNEXT);
    while (i != 0) {
      const prev = load<u32>(connAt(ct, i - 1) + CN_SPREV);
      bysrcPush(ct, bysrc, mask >>> 2, i - 1);
      i = prev;
    }
  }
}

/** Reads the home slot of a tuple, so its cache miss overlaps the batch's others (a prefetch). */
export function ctTouchSlot(ct: usize, src: u32, dst: u32, ports: u32, proto: u32): u32 {
  return load<u32>(slot(ct, hashTuple(src, dst, ports, proto) & load<u32>(ct + CT_MASK)) + TP_REF);
}

/** Finds the tuple's connection and reads its first word, for the same reason. */
export function ctTouchConn(ct: usize, src: u32, dst: u32, ports: u32, proto: u32): u32 {
  const ref = ctFind(ct, src, dst, ports, proto);
  return ref == 0 ? 0 : load<u32>(connAt(ct, (ref >>> 9) - 1) + CN_STATUS);
}
