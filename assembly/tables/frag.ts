// The host's IPv4 reassembly queues (inet_frags' rhashtable of
// inet_frag_queue, ipq): records keyed by (src, dst, id, proto, user), by
// open addressing in a table that lives in a pool buffer. The data plane
// takes the buffer with the first queue, moves to a bigger one as queues
// come (2, 16, then 64 KiB: 1,023 records, kept under 3/4 full: 767 queues),
// and gives it back with the last queue, so an idle host holds none.
import {
  H_FRAG, H_FRAG_SEQ, FT_CAP, FT_USED, FT_SIZE, FQ_SIZE, FQ_SRC, FQ_DST, FQ_KEY, FQ_SEQ, BUF_SIZE, PL_BUF,
} from '../layout';
import { bufAllocFor, bufFree, homeOfAny } from '../context';
import { zero64 } from '../wire/words';

@inline function recAt(t: usize, i: u32): usize {
  return t + FT_SIZE + <usize>i * FQ_SIZE;
}

@inline function home(src: u32, dst: u32, key: u32, cap: u32): u32 {
  let h = (src * 0x9e3779b1) ^ (dst * 0x85ebca6b) ^ (key * 0xc2b2ae35);
  h ^= h >>> 16;
  return h % cap;
}

/** The queue of (src, dst, key), or 0. */
export function fragFind(host: usize, src: u32, dst: u32, key: u32): usize {
  const t = <usize>load<u32>(host + H_FRAG);
  if (t == 0) return 0;
  const cap = load<u32>(t + FT_CAP);
  let i = home(src, dst, key, cap);
  while (true) {
    const r = recAt(t, i);
    const k = load<u32>(r + FQ_KEY);
    if (k == 0) return 0;
    if (k == key && load<u32>(r + FQ_SRC) == src && load<u32>(r + FQ_DST) == dst) return r;
    i = i + 1 == cap ? 0 : i + 1;
  }
}

/**
 * A new, zeroed queue for (src, dst, key) (not there yet), the table taken
 * or grown as needed; 0 when no buffer can hold the table.
 */
export function fragCreate(host: usize, src: u32, dst: u32, key: u32): usize {
  let t = <usize>load<u32>(host + H_FRAG);
  if (t == 0 || (load<u32>(t + FT_USED) + 1) * 4 > load<u32>(t + FT_CAP) * 3) {
    t = regrow(host, t);
    if (t == 0) return 0;
  }
  const cap = load<u32>(t + FT_CAP);
  let i = home(src, dst, key, cap);
  while (load<u32>(recAt(t, i) + FQ_KEY) != 0) i = i + 1 == cap ? 0 : i + 1;
  const r = recAt(t, i);
  zero64(r);
  store<u32>(r + FQ_SRC, src);
  store<u32>(r + FQ_DST, dst);
  store<u32>(r + FQ_KEY, key);
  const seq = load<u32>(host + H_FRAG_SEQ);
  store<u32>(host + H_FRAG_SEQ, seq + 1);
  store<u32>(r + FQ_SEQ, seq);
  store<u32>(t + FT_USED, load<u32>(t + FT_USED) + 1);
  return r;
}

/** Bytes of a buffer of any pool. */
function sizeOf(buf: usize): u32 {
  const p = homeOfAny(buf);
  return p == 0 ? 0 : load<u32>(p + PL_BUF);
}

/** A table in the next buffer class up (the first: a small buffer), the queues moved over. */
function regrow(host: usize, old: usize): usize {
  const want = old == 0 ? BUF_SIZE : sizeOf(old) + 1;
  const t = bufAllocFor(want);
  if (t == 0) return 0;
  const size = sizeOf(t);
  const cap = (size - FT_SIZE) / FQ_SIZE;
  if (old != 0 && cap <= load<u32>(old + FT_CAP)) {
    bufFree(t); // no bigger class free
    return 0;
  }
  memory.fill(t, 0, <usize>(FT_SIZE + cap * FQ_SIZE));
  store<u32>(t + FT_CAP, cap);
  if (old != 0) {
    const n = load<u32>(old + FT_CAP);
    for (let i: u32 = 0; i < n; i++) {
      const r = recAt(old, i);
      if (load<u32>(r + FQ_KEY) == 0) continue;
      let j = home(load<u32>(r + FQ_SRC), load<u32>(r + FQ_DST), load<u32>(r + FQ_KEY), cap);
      while (load<u32>(recAt(t, j) + FQ_KEY) != 0) j = j + 1 == cap ? 0 : j + 1;
      memory.copy(recAt(t, j), r, FQ_SIZE);
    }
    store<u32>(t + FT_USED, load<u32>(old + FT_USED));
    bufFree(old);
  }
  store<u32>(host + H_FRAG, <u32>t);
  return t;
}

/**
 * Removes queue r from the table (its fragments already gone); later
 * records of its probe run move back so lookups still find them. The last
 * queue gone, the table's buffer goes back to the pool.
 */
export function fragRemove(host: usize, r: usize): void {
  const t = <usize>load<u32>(host + H_FRAG);
  const cap = load<u32>(t + FT_CAP);
  let i = <u32>((r - t - FT_SIZE) / FQ_SIZE);
  let j = i;
  while (true) {
    j = j + 1 == cap ? 0 : j + 1;
    const q = recAt(t, j);
    if (load<u32>(q + FQ_KEY) == 0) break;
    const k = home(load<u32>(q + FQ_SRC), load<u32>(q + FQ_DST), load<u32>(q + FQ_KEY), cap);
    // q stays when its home lies cyclically in (i, j].
    const stays = i <= j ? k > i && k <= j : k > i || k <= j;
    if (stays) continue;
    memory.copy(recAt(t, i), q, FQ_SIZE);
    i = j;
  }
  store<u32>(recAt(t, i) + FQ_KEY, 0);
  const used = load<u32>(t + FT_USED) - 1;
  store<u32>(t + FT_USED, used);
  if (used == 0) {
    bufFree(t);
    store<u32>(host + H_FRAG, 0);
  }
}

/** The record at position i of the table (for scans), or 0 when i is an empty slot. */
export function fragAt(t: usize, i: u32): usize {
  const r = recAt(t, i);
  return load<u32>(r + FQ_KEY) == 0 ? 0 : r;
}
