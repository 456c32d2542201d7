// The neighbour (ARP) table of a host: open addressing on (ip, dev). A removed
// entry leaves a tombstone, so no entry moves while a call runs (packets wait
// in an entry's queue, nexthops remember an entry's address); the control
// plane rehashes between calls and the tombstones go then.
//
// Two lists run through the entries (doubly linked by address):
// - pending: the INCOMPLETE entries, in the order they became so, which the
//   neighbour timers walk (neigh_timer_handler);
// - gc: every entry that is not permanent, in the order it was made
//   (tbl->gc_list), which the forced gc walks oldest first.
import {
  H_NEIGH, H_NEIGH_MASK, H_NEIGH_USED, H_NEIGH_LIVE, H_NEIGH_GC, H_PEND_HEAD, H_PEND_TAIL, H_GC_HEAD, H_GC_TAIL,
  NEIGH_SIZE, NB_IP, NB_DEV, NB_MAC, NB_PNEXT, NB_PPREV, NB_GNEXT, NB_GPREV, NB_DELETED, NB_STATE, NUD_PERMANENT,
} from '../layout';
import { copy64, zero64 } from '../wire/words';

@inline function hashKey(ip: u32, dev: u32): u32 {
  let h = (ip ^ (dev << 24)) * 0x9e3779b1;
  return h ^ (h >>> 16);
}

/** The slot holding (ip, dev), or the empty slot that ends its probe (tombstones are passed over). */
export function neighProbe(host: usize, ip: u32, dev: u32): usize {
  const mask = load<u32>(host + H_NEIGH_MASK);
  const base = <usize>load<u32>(host + H_NEIGH);
  let i = hashKey(ip, dev) & mask;
  while (true) {
    const e = base + <usize>i * NEIGH_SIZE;
    const k = load<u32>(e + NB_IP);
    if (k == 0 || (k == ip && <u32>load<u16>(e + NB_DEV) == dev)) return e;
    i = (i + 1) & mask;
  }
}

/** The entry for (ip, dev), or 0. */
@inline export function neighFind(host: usize, ip: u32, dev: u32): usize {
  const e = neighProbe(host, ip, dev);
  return load<u32>(e + NB_IP) == 0 ? 0 : e;
}

/**
 * Takes a slot for (ip, dev), known to be absent: the first tombstone on its
 * probe, else the empty slot ending it. 0 when the table is full (kept under
 * 3/4; the control plane grows it ahead of every call, so this does not happen).
 */
export function neighClaim(host: usize, ip: u32, dev: u32, permanent: bool): usize {
  const mask = load<u32>(host + H_NEIGH_MASK);
  const base = <usize>load<u32>(host + H_NEIGH);
  let i = hashKey(ip, dev) & mask;
  let e: usize = 0;
  while (true) {
    const s = base + <usize>i * NEIGH_SIZE;
    const k = load<u32>(s + NB_IP);
    if (k == NB_DELETED) {
      e = s;
      break;
    }
    if (k == 0) {
      const used = load<u32>(host + H_NEIGH_USED);
      if ((used + 1) * 4 > (mask + 1) * 3) return 0;
      store<u32>(host + H_NEIGH_USED, used + 1);
      e = s;
      break;
    }
    i = (i + 1) & mask;
  }
  zero64(e);
  store<u16>(e + NB_DEV, <u16>dev);
  store<u32>(e + NB_IP, ip);
  store<u32>(host + H_NEIGH_LIVE, load<u32>(host + H_NEIGH_LIVE) + 1);
  if (!permanent) gcAdd(host, e);
  return e;
}

/** Removes entry e (its queue already empty): off both lists, a tombstone in its slot. */
export function neighRemove(host: usize, e: usize): void {
  pendRemove(host, e);
  if (<u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) gcRemove(host, e);
  store<u32>(e + NB_IP, NB_DELETED);
  store<u32>(host + H_NEIGH_LIVE, load<u32>(host + H_NEIGH_LIVE) - 1);
}

// ---- the lists

@inline function linked(host: usize, e: usize, head: u32, prev: u32): bool {
  return load<u32>(e + prev) != 0 || <usize>load<u32>(host + head) == e;
}

function push(host: usize, e: usize, head: u32, tail: u32, next: u32, prev: u32): void {
  const last = <usize>load<u32>(host + tail);
  store<u32>(e + next, 0);
  store<u32>(e + prev, <u32>last);
  if (last != 0) store<u32>(last + next, <u32>e);
  else store<u32>(host + head, <u32>e);
  store<u32>(host + tail, <u32>e);
}

function unlink(host: usize, e: usize, head: u32, tail: u32, next: u32, prev: u32): void {
  const n = <usize>load<u32>(e + next);
  const p = <usize>load<u32>(e + prev);
  if (p != 0) store<u32>(p + next, <u32>n);
  else store<u32>(host + head, <u32>n);
  if (n != 0) store<u32>(n + prev, <u32>p);
  else store<u32>(host + tail, <u32>p);
  store<u32>(e + next, 0);
  store<u32>(e + prev, 0);
}

/** e became INCOMPLETE: to the end of the pending list. */
export function pendAdd(host: usize, e: usize): void {
  if (!linked(host, e, H_PEND_HEAD, NB_PPREV)) push(host, e, H_PEND_HEAD, H_PEND_TAIL, NB_PNEXT, NB_PPREV);
}

export function pendRemove(host: usize, e: usize): void {
  if (linked(host, e, H_PEND_HEAD, NB_PPREV)) unlink(host, e, H_PEND_HEAD, H_PEND_TAIL, NB_PNEXT, NB_PPREV);
}

function gcAdd(host: usize, e: usize): void {
  push(host, e, H_GC_HEAD, H_GC_TAIL, NB_GNEXT, NB_GPREV);
  store<u32>(host + H_NEIGH_GC, load<u32>(host + H_NEIGH_GC) + 1);
}

/** Takes e off the gc list (it was removed, or became permanent: neigh_update_gc_list). */
export function gcRemove(host: usize, e: usize): void {
  unlink(host, e, H_GC_HEAD, H_GC_TAIL, NB_GNEXT, NB_GPREV);
  store<u32>(host + H_NEIGH_GC, load<u32>(host + H_NEIGH_GC) - 1);
}

// ---- growth

/**
 * Moves every entry into `table` of mask + 1 slots (control plane, between
 * calls), dropping the tombstones, and relinks both lists in their order.
 * Each old slot keeps its entry's new address where its MAC was, to follow.
 */
export function neighGrow(host: usize, table: usize, mask: u32): void {
  const oldBase = <usize>load<u32>(host + H_NEIGH);
  const oldSlots = load<u32>(host + H_NEIGH_MASK) + 1;
  store<u32>(host + H_NEIGH, <u32>table);
  store<u32>(host + H_NEIGH_MASK, mask);
  let used: u32 = 0;
  for (let i: u32 = 0; i < oldSlots; i++) {
    const e = oldBase + <usize>i * NEIGH_SIZE;
    const ip = load<u32>(e + NB_IP);
    if (ip == 0 || ip == NB_DELETED) continue;
    const to = neighProbe(host, ip, <u32>load<u16>(e + NB_DEV));
    copy64(to, e);
    store<u32>(e + NB_MAC, <u32>to);
    used++;
  }
  store<u32>(host + H_NEIGH_USED, used);
  relink(host, H_PEND_HEAD, H_PEND_TAIL, NB_PNEXT, NB_PPREV);
  relink(host, H_GC_HEAD, H_GC_TAIL, NB_GNEXT, NB_GPREV);
}

/** Rebuilds a list over the new slots, walking the old one (its links still in the old slots). */
function relink(host: usize, head: u32, tail: u32, next: u32, prev: u32): void {
  let old = <usize>load<u32>(host + head);
  store<u32>(host + head, 0);
  store<u32>(host + tail, 0);
  while (old != 0) {
    const after = <usize>load<u32>(old + next);
    push(host, <usize>load<u32>(old + NB_MAC), head, tail, next, prev);
    old = after;
  }
}
