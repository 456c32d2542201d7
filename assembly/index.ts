// The data plane's entry points. One call processes a batch: a vector of
// packet descriptors in linear memory (DESIGN.md), for one host, at one time.
import {
  C_OUT_N, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_TAG, DESC_SIZE, K_RX, C_POOLS, POOL_SIZE, PL_STACK, PL_FREE, PL_CAP, PL_MAX, PL_LO, PL_HI,
  PL_BUF, NB_IP, NB_STATE, NB_MAC, NUD_PERMANENT, H_CT, H_LINKS, LINK_SIZE, H_NH, H_NNH, NH_SIZE, N_NEIGH, H_NOW, H_NEIGH_DUE,
} from './layout';
import { ctx, enter, enterContext, bufAllocFor, bufFree } from './context';
import { stMac } from './wire/bytes';
import { copyBytes } from './wire/words';
import { fdbSet, fdbDelete, fdbFlushPort } from './tables/fdb';
import { neighProbe, neighClaim, neighFind, neighGrow, neighRemove, gcRemove } from './tables/neigh';
import { flushQueue } from './stages/neigh-output';
import { ctDelete, ctGrow } from './tables/conntrack';
import { lpm_lookup_batch } from './tables/lpm';
import { hostTimers, neighHousekeeping, runBatch, noBuffer } from './batch';

export { lpm_lookup_batch };
export { net_wave } from './net/wave';
export { net_prepare, net_finish, net_inject, net_in_flight } from './net/run';
export { net_defer } from './net/inject';
export { net_learn } from './net/segment';

/**
 * Processes n descriptors at vec for host h at time now (ms). Outputs go to
 * the context's output vector; returns how many.
 */
export function process(c: usize, hostPtr: usize, vec: usize, n: u32, now: u32): u32 {
  enter(c, hostPtr, now);
  store<u32>(ctx + C_OUT_N, 0);
  hostTimers();
  runBatch(vec, n);
  return load<u32>(ctx + C_OUT_N);
}

/** Runs the host's timers alone (time passing with no traffic). */
export function tick(c: usize, h: usize, now: u32): u32 {
  enter(c, h, now);
  store<u32>(ctx + C_OUT_N, 0);
  hostTimers();
  return load<u32>(ctx + C_OUT_N);
}

// ---- buffer pool

/**
 * Lays out pool class cls of context c: n buffers of size bytes from base,
 * all free; the region and the stack hold max, to which the pool may grow.
 */
export function pool_init(c: usize, cls: u32, stack: usize, base: usize, n: u32, size: u32, max: u32): void {
  for (let i: u32 = 0; i < n; i++) store<u32>(stack + (<usize>i << 2), <u32>(base + <usize>i * size));
  const p = c + C_POOLS + <usize>cls * POOL_SIZE;
  store<u32>(p + PL_STACK, <u32>stack);
  store<u32>(p + PL_FREE, n);
  store<u32>(p + PL_CAP, n);
  store<u32>(p + PL_LO, <u32>base);
  store<u32>(p + PL_HI, <u32>(base + <usize>n * size));
  store<u32>(p + PL_BUF, size);
  store<u32>(p + PL_MAX, max);
}

/** A free buffer of context c holding bytes from its start, or 0. */
export function pool_alloc(c: usize, bytes: u32): usize {
  enterContext(c);
  return bufAllocFor(bytes);
}

export function pool_free(c: usize, buf: usize): void {
  enterContext(c);
  bufFree(buf);
}

// ---- control entry points: tables the data plane also writes

@inline function linkPtr(h: usize, l: u32): usize {
  return <usize>load<u32>(h + H_LINKS) + <usize>l * LINK_SIZE;
}

@inline function mac(lo: u32, hi: u32): u64 {
  return <u64>lo | (<u64>(hi & 0xffff) << 32);
}

export function fdb_set(h: usize, br: u32, lo: u32, hi: u32, port: u32, flags: u32, now: u32): bool {
  return fdbSet(linkPtr(h, br), mac(lo, hi), port, flags, now);
}

export function fdb_del(h: usize, br: u32, lo: u32, hi: u32): bool {
  return fdbDelete(linkPtr(h, br), mac(lo, hi));
}

export function fdb_flush_port(h: usize, br: u32, port: u32): void {
  fdbFlushPort(linkPtr(h, br), port);
}

/**
 * Sets (ip, dev) to mac, permanent (ip neigh add ... nud permanent); packets
 * waiting on it leave at the next batch. The control plane made room first.
 */
export function neigh_set(h: usize, ip: u32, dev: u32, lo: u32, hi: u32): bool {
  let e = neighProbe(h, ip, dev);
  if (load<u32>(e + NB_IP) == 0) {
    e = neighClaim(h, ip, dev, true);
    if (e == 0) return false;
  } else if (<u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) {
    gcRemove(h, e); // permanent entries are exempt from gc (neigh_update_gc_list)
  }
  stMac(e + NB_MAC, mac(lo, hi));
  store<u8>(e + NB_STATE, <u8>NUD_PERMANENT);
  store<u32>(h + H_NEIGH_DUE, 0); // the timers send what waits on it
  return true;
}

/** Deletes (ip, dev); packets still waiting on it are dropped (NEIGH_FAILED). */
export function neigh_del(c: usize, h: usize, ip: u32, dev: u32): bool {
  const e = neighFind(h, ip, dev);
  if (e == 0) return false;
  enter(c, h, load<u32>(h + H_NOW));
  store<u32>(ctx + C_OUT_N, 0);
  flushQueue(e, dev, true);
  neighRemove(h, e);
  return true;
}

/**
 * Re-arms n descriptors with frames from a template area (tmpl + i * stride),
 * as a NIC's receive DMA would: replaying traffic without JS per packet.
 */
export function rx_refill(vec: usize, n: u32, tmpl: usize, stride: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = vec + <usize>i * DESC_SIZE;
    copyBytes(<usize>load<u32>(d + D_BUF) + <usize>load<u16>(d + D_OFF), tmpl + <usize>i * stride, <u32>load<u16>(d + D_LEN));
  }
}

/**
 * Turns the transmitted frames of an output vector into frames received on
 * `link` of the next host (a wire between two hosts), in place.
 */
export function tx_to_rx(vec: usize, n: u32, link: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = vec + <usize>i * DESC_SIZE;
    store<u8>(d + D_KIND, <u8>K_RX);
    store<u16>(d + D_LINK, <u16>link);
  }
}

/**
 * Rehashes the host's neighbour table into `table` of mask + 1 slots; the
 * nexthops forget the entries they remembered, which have moved.
 */
export function neigh_grow(h: usize, table: usize, mask: u32): void {
  neighGrow(h, table, mask);
  const nh = <usize>load<u32>(h + H_NH);
  const n = load<u32>(h + H_NNH);
  for (let i: u32 = 0; i < n; i++) store<u32>(nh + <usize>i * NH_SIZE + N_NEIGH, 0);
}

export { rules_eval } from './tables/rules';

/** Forgets connection idx of host h (conntrack -D). */
export function ct_delete(h: usize, idx: u32): void {
  const ct = <usize>load<u32>(h + H_CT);
  if (ct != 0) ctDelete(ct, idx);
}

/** Grows host h's conntrack table into new arrays (see ctGrow). */
export function ct_grow(h: usize, conns: usize, cap: u32, tuples: usize, mask: u32, bysrc: usize): void {
  ctGrow(<usize>load<u32>(h + H_CT), conns, cap, tuples, mask, bysrc);
}

/**
 * A trivially parallel loop for the benchmarks' ceiling: n rounds of hashing
 * over 4 KiB of scratch that only its caller touches; no packet, no table.
 */
export function spin(scratch: usize, n: u32): u32 {
  let h: u32 = 0x9e3779b1;
  for (let i: u32 = 0; i < n; i++) {
    const p = scratch + (<usize>(h & 1023) << 2);
    h = (h ^ load<u32>(p)) * 0x85ebca6b + i;
    store<u32>(p, h);
  }
  return h;
}

/**
 * Counts and drops, for host h at time now, the input described at d that
 * has no buffer (D_FLAGS says why): what a Network does with a frame it
 * cannot place. Nothing else runs (no timers): only this input's fate.
 */
export function drop_unplaced(c: usize, h: usize, d: usize, now: u32): u32 {
  enter(c, h, now);
  store<u32>(ctx + C_OUT_N, 0);
  noBuffer(d, <u32>load<u8>(d + D_KIND), load<u32>(d + D_TAG));
  return load<u32>(ctx + C_OUT_N);
}

export { audit_begin, audit_host, audit_segment, audit_network } from './audit';
export { fuzz_render, fuzz_send } from './fuzz/render';
export { trace_build } from './trace/trace';
export { fuzz_draw } from './fuzz/draw';
