// The state of one call into the data plane: which worker context, which
// host, what time. Globals are per wasm instance, so each worker has its own.
import {
  C_POOLS, POOL_SIZE, C_NEXT, ENGINE_CONTEXTS, PL_STACK, PL_FREE, PL_CAP, PL_MAX, PL_LO, PL_HI, PL_BUF, BUF_CLASSES, BUF_SIZE, C_OUT, C_OUT_N, C_OUT_CAP, C_FLAGS, CTX_RECORD_DROPS,
  DESC_SIZE, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_REASON, D_HOST, D_TAG, D_AUX,
  H_COUNTERS, H_LINKS, LINK_SIZE, CNT_DROP_BASE, CNT_STAGE_BASE, CNT_DROPPED, CNT_SENT,
  CNT_GENERATED, CNT_LOCAL, O_TX, O_LOCAL, O_DROP, DROP_FULL_RING, DROP_NOMEM,
  L_TX_PACKETS, L_TX_BYTES, HEADROOM, CTX_NETWORK, CTX_RECORD_LOCAL, L_FLAGS, LF_CAPTURE, L_PEER, L_LATENCY,
  WK_LOCAL, WK_DROPPED, WK_LOST, O_CAPTURE_OUT, C_ID, K_RX, Q_POOL, Q_KIND, H_OWNER, CTX_RECORD_FATES, O_CONSUMED, C_CHECK,
} from './layout';
import { portPush } from './net/port';
import { nfAbort } from './stages/netfilter';
import { copyBytes } from './wire/words';
import { trace } from './trace/trace';
import { EV_DROP, EV_TX, EV_DELIVER, EV_CONSUME } from './trace/events';
import { checkLeaving, checkForget, checkInherit } from './check';

export let ctx: usize = 0;
export let host: usize = 0;
export let now: u32 = 0;
// A network step (assembly/net/wave.ts): its worker record and exact time.
export let wk: usize = 0;
export let netNow: f64 = 0;
let netMode = false;
/** Check mode (check.ts): what leaves a host is verified. */
export let checking = false;
let counters: usize = 0;
let links: usize = 0;

/** Only the context, for calls that touch no host (the buffer pool). */
export function enterContext(c: usize): void {
  ctx = c;
}

/** A network step of worker record w at time t (ms, exact). */
export function enterNetwork(w: usize, t: f64): void {
  wk = w;
  netNow = t;
}

@inline export function wkAdd(field: u32, v: u64): void {
  store<u64>(wk + field, load<u64>(wk + field) + v);
}

export function enter(c: usize, h: usize, t: u32): void {
  // During a network run only the host's own worker may run it (checked by the debug build).
  assert(load<u32>(h + H_OWNER) == 0 || load<u32>(h + H_OWNER) == load<u32>(c + C_ID) + 1);
  ctx = c;
  netMode = (load<u32>(c + C_FLAGS) & CTX_NETWORK) != 0;
  checking = load<u32>(c + C_CHECK) != 0;
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
  let free = load<u32>(p + PL_FREE);
  if (free == 0) {
    free = growPool(p);
    if (free == 0) return 0;
  }
  store<u32>(p + PL_FREE, free - 1);
  return load<u32>(load<u32>(p + PL_STACK) + ((free - 1) << 2));
}

/**
 * An empty pool doubles, up to its maximum: its region was laid out for the
 * maximum, so this only puts more of it on the stack (pages untouched until
 * used cost nothing). Returns the buffers now free.
 */
function growPool(p: usize): u32 {
  const cap = load<u32>(p + PL_CAP);
  const max = load<u32>(p + PL_MAX);
  if (cap >= max) return 0;
  const add = cap < max - cap ? cap : max - cap;
  const stack = <usize>load<u32>(p + PL_STACK);
  const size = <usize>load<u32>(p + PL_BUF);
  const first = <usize>load<u32>(p + PL_LO) + <usize>cap * size;
  for (let i: u32 = 0; i < add; i++) store<u32>(stack + (<usize>i << 2), <u32>(first + <usize>i * size));
  store<u32>(p + PL_CAP, cap + add);
  store<u32>(p + PL_HI, <u32>(first + <usize>add * size));
  store<u32>(p + PL_FREE, add);
  return add;
}

/** A free small buffer (BUF_SIZE: room for any frame of a 1500-byte MTU), or 0 when there is none. */
export function bufAlloc(): usize {
  return bufAllocFor(BUF_SIZE);
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
  return poolIn(ctx, buf);
}

function poolIn(c: usize, buf: usize): usize {
  for (let k: u32 = 0; k < BUF_CLASSES; k++) {
    const p = c + C_POOLS + <usize>k * POOL_SIZE;
    if (buf >= <usize>load<u32>(p + PL_LO) && buf < <usize>load<u32>(p + PL_HI)) return p;
  }
  return 0;
}

/**
 * The pool of the engine's context that owns buf. A host's queue can hold
 * buffers of another context (a network's worker lent them, and the host is
 * run from elsewhere between runs): they go home, never into a wrong pool.
 */
export function homeOfAny(buf: usize): usize {
  return homeOf(buf);
}

function homeOf(buf: usize): usize {
  const own = poolIn(ctx, buf);
  if (own != 0) return own;
  for (let c = <usize>load<u32>(ENGINE_CONTEXTS); c != 0; c = <usize>load<u32>(c + C_NEXT)) {
    const p = poolIn(c, buf);
    if (p != 0) return p;
  }
  return 0;
}

/** Bytes of the buffer at buf (its class's size). */
export function bufSize(buf: usize): u32 {
  const p = poolOf(buf);
  return p == 0 ? 0 : load<u32>(p + PL_BUF);
}

export function bufFree(buf: usize): void {
  const p = homeOf(buf);
  if (p == 0) return; // not a buffer of this engine: never ours to free
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
  else if (checking) checkForget(buf);
  return buf;
}

/** genAlloc for a packet needing `bytes` of buffer (from its start). */
export function genAllocFor(tag: u32, bytes: u32): usize {
  count(CNT_GENERATED);
  const buf = bufAllocFor(bytes);
  if (buf == 0) dropRecord(DROP_NOMEM, tag);
  else if (checking) checkForget(buf);
  return buf;
}

/** A copy of a packet into a fresh generated buffer, at the same offset. */
export function clonePacket(buf: usize, off: u32, len: u32, tag: u32): usize {
  const copy = genAllocFor(tag, off + len);
  if (copy != 0) copyBytes(copy + off, buf + off, len);
  if (checking && copy != 0) checkInherit(copy, buf);
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
  trace(EV_DROP, reason);
  count(CNT_DROPPED);
  count(CNT_DROP_BASE + reason);
  if (netMode) wkAdd(WK_DROPPED, 1);
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
  trace(EV_TX, l, <u32>buf, off, len);
  if (netMode) {
    wireOut(l, buf, off, len, tag);
    return;
  }
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
  trace(EV_DELIVER, 0, <u32>buf, off, len);
  if (checking) checkLeaving(ctx, host, 0xffff, netNow, buf, buf + off, len, false, tag);
  if (netMode) {
    wkAdd(WK_LOCAL, 1);
    if ((load<u32>(ctx + C_FLAGS) & CTX_RECORD_LOCAL) == 0) {
      bufFree(buf);
      count(CNT_LOCAL);
      return;
    }
  }
  const o = outSlot();
  if (o == 0) {
    drop(buf, DROP_FULL_RING, tag);
    return;
  }
  writeOut(o, O_LOCAL, buf, off, len, 0, tag);
  store<u32>(o + D_AUX, ipOff);
  count(CNT_LOCAL);
}

/** The packet was consumed by the host itself (ARP, an echo not answered). */
export function consume(buf: usize, tag: u32): void {
  trace(EV_CONSUME);
  bufFree(buf);
  consumed(tag);
}

/** An input the host took itself (its buffer freed or reused for an answer): counted, and recorded when asked. */
export function consumed(tag: u32): void {
  count(CNT_LOCAL);
  fateRecord(O_CONSUMED, tag);
}

/** A record of an input's fate that has no frame (O_QUEUED, O_CONSUMED), when the caller asked for fates. */
export function fateRecord(kind: u32, tag: u32): void {
  if ((load<u32>(ctx + C_FLAGS) & CTX_RECORD_FATES) == 0) return;
  const o = outSlot();
  if (o != 0) writeOut(o, kind, 0, 0, 0, 0, tag);
}

/**
 * In a network step, a frame sent on link l goes to the port its wire ends
 * at, to arrive after the wire's delay; with no wire it is lost. A captured
 * link hands the caller a copy.
 */
function wireOut(l: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  count(CNT_SENT);
  const lp = link(l);
  add64(lp + L_TX_PACKETS, 1);
  add64(lp + L_TX_BYTES, len);
  if (checking) checkLeaving(ctx, host, l, netNow, buf, buf + off, len, true, tag);
  if ((<u32>load<u8>(lp + L_FLAGS) & LF_CAPTURE) != 0) capture(O_CAPTURE_OUT, l, buf, off, len, tag);
  const port = <usize>load<u32>(lp + L_PEER);
  if (port == 0) {
    wkAdd(WK_LOST, 1);
    bufFree(buf);
    return;
  }
  store<u8>(buf + Q_POOL, <u8>load<u32>(ctx + C_ID));
  store<u8>(buf + Q_KIND, <u8>K_RX);
  portPush(port, buf, off, len, tag, netNow + load<f64>(lp + L_LATENCY));
}

/** Hands the caller a copy of a frame seen on captured link l (kind O_CAPTURE_IN or _OUT). */
export function capture(kind: u32, l: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const copy = bufAllocFor(off + len);
  if (copy == 0) return;
  const o = outSlot();
  if (o == 0) {
    bufFree(copy);
    return;
  }
  copyBytes(copy + off, buf + off, len);
  writeOut(o, kind, copy, off, len, l, tag);
}

export { HEADROOM, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_TAG };
