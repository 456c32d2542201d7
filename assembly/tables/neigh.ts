// The neighbour (ARP) table of a host: open addressing on (ip, dev). Entries
// are never removed by the data plane (a failed entry stays FAILED), so slot
// addresses stay valid while packets wait in an entry's queue.
import {
  H_NEIGH, H_NEIGH_MASK, H_NEIGH_USED, NEIGH_SIZE, NB_IP, NB_DEV, NB_STATE, NB_PROBES,
  NB_QLEN, NB_UPDATED, H_PEND, H_NPEND, H_PEND_CAP, NB_DELETED,
} from '../layout';
import { copy32, zero32 } from '../wire/words';

@inline function hashKey(ip: u32, dev: u32): u32 {
  let h = (ip ^ (dev << 24)) * 0x9e3779b1;
  return h ^ (h >>> 16);
}

/** The slot holding (ip, dev), or the empty slot where it would go. */
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

/** Claims the empty slot e for (ip, dev); 0 when the table is full (kept under 3/4). */
export function neighClaim(host: usize, e: usize, ip: u32, dev: u32): usize {
  const used = load<u32>(host + H_NEIGH_USED);
  const slots = load<u32>(host + H_NEIGH_MASK) + 1;
  if ((used + 1) * 4 > slots * 3) return 0;
  store<u32>(host + H_NEIGH_USED, used + 1);
  zero32(e);
  store<u16>(e + NB_DEV, <u16>dev);
  store<u32>(e + NB_IP, ip);
  return e;
}

/** Puts entry e on the list of entries waiting for resolution. */
export function pendAdd(host: usize, e: usize): bool {
  const n = load<u32>(host + H_NPEND);
  if (n >= load<u32>(host + H_PEND_CAP)) return false;
  store<u32>(load<u32>(host + H_PEND) + (n << 2), <u32>e);
  store<u32>(host + H_NPEND, n + 1);
  return true;
}

/** Removes position i of the pending list, keeping the order of the rest. */
export function pendRemoveAt(host: usize, i: u32): void {
  const n = load<u32>(host + H_NPEND);
  const list = <usize>load<u32>(host + H_PEND);
  memory.copy(list + (i << 2), list + ((i + 1) << 2), (n - i - 1) << 2);
  store<u32>(host + H_NPEND, n - 1);
}

export { NB_STATE, NB_PROBES, NB_QLEN, NB_UPDATED };

/**
 * Moves every entry into a larger table (control plane, between batches):
 * entries change address, so the pending list is rewritten to follow them.
 */
export function neighGrow(host: usize, table: usize, mask: u32): void {
  const oldBase = <usize>load<u32>(host + H_NEIGH);
  const oldSlots = load<u32>(host + H_NEIGH_MASK) + 1;
  const pend = <usize>load<u32>(host + H_PEND);
  const npend = load<u32>(host + H_NPEND);
  store<u32>(host + H_NEIGH, <u32>table);
  store<u32>(host + H_NEIGH_MASK, mask);
  let used: u32 = 0;
  for (let i: u32 = 0; i < oldSlots; i++) {
    const e = oldBase + <usize>i * NEIGH_SIZE;
    const ip = load<u32>(e + NB_IP);
    if (ip == 0 || ip == NB_DELETED) continue;
    const to = neighProbe(host, ip, <u32>load<u16>(e + NB_DEV));
    copy32(to, e);
    used++;
    for (let k: u32 = 0; k < npend; k++) {
      if (<usize>load<u32>(pend + (k << 2)) == e) store<u32>(pend + (k << 2), <u32>to);
    }
  }
  // Pending entries that were deleted have no new home: their queues were dropped.
  let k: u32 = 0;
  while (k < load<u32>(host + H_NPEND)) {
    const e = <usize>load<u32>(pend + (k << 2));
    if (e >= oldBase && e < oldBase + <usize>oldSlots * NEIGH_SIZE) pendRemoveAt(host, k);
    else k++;
  }
  store<u32>(host + H_NEIGH_USED, used);
}
