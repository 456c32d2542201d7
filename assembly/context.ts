// The state of one call into the data plane: which worker context, which
// host, what time. Globals are per wasm instance, so each worker has its own.
import {
  C_POOLS, POOL_SIZE, PL_STACK, PL_FREE, PL_LO, PL_HI, PL_BUF, BUF_CLASSES, C_OUT, C_OUT_N, C_OUT_CAP, C_FLAGS, CTX_RECORD_DROPS,
  DESC_SIZE, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_REASON, D_HOST, D_TAG, D_AUX,
  H_COUNTERS, H_LINKS, LINK_SIZE, CNT_DROP_BASE, CNT_STAGE_BASE, CNT_DROPPED, CNT_SENT,
  CNT_GENERATED, CNT_LOCAL, O_TX, O_LOCAL, O_DROP, DROP_FULL_RING, DROP_NOMEM,
  L_TX_PACKETS, L_TX_BYTES, HEADROOM,
} from './layout';
import { nfAbort } from './stages/netfilter';
import { copyBytes } from './wire/words';

export let ctx: usize = 0;
export let host: usize = 0;
export let now: u32 = 0;
let counters: usize = 0;
let links: usize = 0;

/** Only the context, for calls that touch no host (the buffer pool). */
export function enterContext(c: usize): void {
  ctx = c;
}

export function enter(c: usize, h: usize, t: u32): void {
  ctx = c;
  host = h;
  now = t;
  counters = load<u32>(h + H_COUNTERS);
  links = load<u32>(h + H_LINKS);
}

/** The link struct of link index i of the current host. */
@inline export function link(i: u32): usize {
  return links + <usize>i * LINK_SIZE;
}

// ---- counters

@inline export function count(i: u32): void {
  const p = counters + (<usize>i << 3);
  store<u64>(p, load<u64>(p) + 1);
}
@inline export function stat(event: u32): void {
  count(CNT_STAGE_BASE + event);
}
@inline export function add64(p: usize, v: u64): void {
  store<u64>(p, load<u64>(p) + v);
}

// ---- buffers

@inline function pool(c: u32): usize {
  return ctx + C_POOLS + <usize>c * POOL_SIZE;
}

@inline function popFrom(p: usize): usize {
  const free = load<u32>(p + PL_FREE);
  if (free == 0) return 0;
  store<u32>(p + PL_FREE, free - 1);
  return load<u32>(load<u32>(p + PL_STACK) + ((free - 1) << 2));
}

/** A free small buffer, or 0 when the pool is empty. */
export function bufAlloc(): usize {
  return popFrom(pool(0));
}

/**
 * A free buffer of the smallest class holding `bytes` from its start (a
 * larger class when that one is empty), or 0.
 */
export function bufAllocFor(bytes: u32): usize {
  for (let c: u32 = 0; c < BUF_CLASSES; c++) {
    const p = pool(c);
    if (bytes > load<u32>(p + PL_BUF)) continue;
    const buf = popFrom(p);
    if (buf != 0) return buf;
  }
  return 0;
}

/** The pool record of the class buf belongs to, or 0 when it is no buffer of this context. */
export function poolOf(buf: usize): usize {
  for (let c: u32 = 0; c < BUF_CLASSES; c++) {
    const p = pool(c);
    if (buf >= <usize>load<u32>(p + PL_LO) && buf < <usize>load<u32>(p + PL_HI)) return p;
  }
  return 0;
}

/** Bytes of the buffer at buf (its class's size). */
export function bufSize(buf: usize): u32 {
  const p = poolOf(buf);
  return p == 0 ? 0 : load<u32>(p + PL_BUF);
}

export function bufFree(buf: usize): void {
  const p = poolOf(buf);
  const free = load<u32>(p + PL_FREE);
  store<u32>(load<u32>(p + PL_STACK) + (free << 2), <u32>buf);
  store<u32>(p + PL_FREE, free + 1);
}

/**
 * A buffer for a packet the data plane creates, counted as generated. When
 * the pool is empty the packet is born dropped (NOMEM) and 0 is returned.
 */
export function genAlloc(tag: u32): usize {
  count(CNT_GENERATED);
  const buf = bufAlloc();
  if (buf == 0) dropRecord(DROP_NOMEM, tag);
  return buf;
}

/** genAlloc for a packet needing `bytes` of buffer (from its start). */
export function genAllocFor(tag: u32, bytes: u32): usize {
  count(CNT_GENERATED);
  const buf = bufAllocFor(bytes);
  if (buf == 0) dropRecord(DROP_NOMEM, tag);
  return buf;
}

/** A copy of a packet into a fresh generated buffer, at the same offset. */
export function clonePacket(buf: usize, off: u32, len: u32, tag: u32): usize {
  const copy = genAllocFor(tag, off + len);
  if (copy != 0) copyBytes(copy + off, buf + off, len);
  return copy;
}

// ---- fates

function outSlot(): usize {
  const n = load<u32>(ctx + C_OUT_N);
  if (n >= load<u32>(ctx + C_OUT_CAP)) return 0;
  store<u32>(ctx + C_OUT_N, n + 1);
  return <usize>load<u32>(ctx + C_OUT) + <usize>n * DESC_SIZE;
}

function writeOut(o: usize, kind: u32, buf: usize, off: u32, len: u32, linkIdx: u32, tag: u32): void {
  // Whole words: buf|off|len, link|kind|flags|reason, host|tag, aux.
  store<u64>(o + D_BUF, <u64>(<u32>buf) | (<u64>off << 32) | (<u64>len << 48));
  store<u64>(o + D_LINK, <u64>linkIdx | (<u64>kind << 16));
  store<u64>(o + D_HOST, <u64>(<u32>host) | (<u64>tag << 32));
  store<u32>(o + D_AUX, 0);
}

/** Counts a drop and records it when the caller asked for drop records. */
export function dropRecord(reason: u32, tag: u32): void {
  count(CNT_DROPPED);
  count(CNT_DROP_BASE + reason);
  if ((load<u32>(ctx + C_FLAGS) & CTX_RECORD_DROPS) != 0) {
    const o = outSlot();
    if (o != 0) {
      writeOut(o, O_DROP, 0, 0, 0, 0, tag);
      store<u16>(o + D_REASON, <u16>reason);
    }
  }
}

/** The packet's fate: dropped, with a reason. Frees its buffer. */
export function drop(buf: usize, reason: u32, tag: u32): void {
  nfAbort(); // a connection it started was never confirmed
  bufFree(buf);
  dropRecord(reason, tag);
}

/** The frame leaves the host on link `l` (a device that is not a bridge). */
export function transmit(l: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const o = outSlot();
  if (o == 0) {
    drop(buf, DROP_FULL_RING, tag);
    return;
  }
  writeOut(o, O_TX, buf, off, len, l, tag);
  count(CNT_SENT);
  const lp = link(l);
  add64(lp + L_TX_PACKETS, 1);
  add64(lp + L_TX_BYTES, len);
}

/** The packet is delivered to a local socket: handed to the caller. */
export function deliver(buf: usize, off: u32, len: u32, ipOff: u32, tag: u32): void {
  const o = outSlot();
  if (o == 0) {
    drop(buf, DROP_FULL_RING, tag);
    return;
  }
  writeOut(o, O_LOCAL, buf, off, len, 0, tag);
  store<u32>(o + D_AUX, ipOff);
  count(CNT_LOCAL);
}

/** The packet was consumed by the host itself (ARP, answered echo). */
export function consume(buf: usize): void {
  bufFree(buf);
  count(CNT_LOCAL);
}

export { HEADROOM, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_TAG };
