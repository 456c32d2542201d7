// Growing a host's tables between two of its batches, from what its host
// struct says alone: the thread that runs the host (the main thread, or a
// network's worker) calls these, with the engine's shared arena.
import * as L from '../engine/layout.gen.js';

/** What growing needs: the memory, the arena, and this thread's data plane. */
export interface GrowthEnv {
  readonly dv: DataView;
  alloc(size: number): number;
  release(ptr: number, size: number): void;
  call(name: string, ...args: number[]): number;
}

type Fn = (...args: number[]) => number;

/** The growth environment of an engine on the thread that owns it. */
export function engineGrowth(e: { readonly dv: DataView; alloc(size: number): number; arena: { release(ptr: number, size: number): void }; dp: Record<string, unknown> }): GrowthEnv {
  return {
    get dv() {
      return e.dv;
    },
    alloc: (size) => e.alloc(size),
    release: (ptr, size) => e.arena.release(ptr, size),
    call: (name, ...args) => (e.dp[name] as Fn)(...args),
  };
}

/** Two tuples a connection, kept under half full. */
export function tupleSlots(conns: number): number {
  return 1 << Math.ceil(Math.log2(conns * 4));
}

/** The heads of the by-source chains (nf_nat_bysource): a u32 for every 4 tuple slots. */
export function bysrcBytes(slots: number): number {
  return (slots / 4) * 4;
}

/**
 * The conntrack arrays double once half full, and grow further until `room`
 * more connections fit, up to nf_conntrack_max: a batch of n packets starts
 * at most 2n + 2 connections.
 */
export function growConntrack(env: GrowthEnv, host: number, room: number): void {
  const dv = env.dv;
  const ct = dv.getUint32(host + L.H_CT, true);
  if (ct === 0) return;
  const cap = dv.getUint32(ct + L.CT_CAP, true);
  const count = dv.getUint32(ct + L.CT_COUNT, true);
  const max = dv.getUint32(ct + L.CT_MAX, true);
  const want = count + room + 1; // + 1: the connection of a packet in hand, not yet confirmed
  let next = cap;
  while (next < max && (next < want || count * 2 >= next)) next = Math.min(next * 2, max);
  if (next === cap) return;
  const slots = tupleSlots(next);
  const oldConns = dv.getUint32(ct + L.CT_CONNS, true);
  const oldTuples = dv.getUint32(ct + L.CT_TUPLES, true);
  const oldSlots = dv.getUint32(ct + L.CT_MASK, true) + 1;
  const oldBysrc = dv.getUint32(ct + L.CT_BYSRC, true);
  const conns = env.alloc(next * L.CONN_SIZE);
  const tuples = env.alloc(slots * L.TUPLE_SIZE);
  const bysrc = env.alloc(bysrcBytes(slots));
  env.call('ct_grow', host, conns, next, tuples, slots - 1, bysrc);
  env.release(oldConns, cap * L.CONN_SIZE);
  env.release(oldTuples, oldSlots * L.TUPLE_SIZE);
  env.release(oldBysrc, bysrcBytes(oldSlots));
}

/**
 * Makes room in the neighbour table for `room` more entries, before a batch
 * that could make them (a packet makes at most one: its next hop, or the
 * sender of an ARP request it answers), so no batch refuses an entry below
 * gc_thresh3 for want of room. The table stays under 3/4 full counting
 * tombstones; when it would not, it is rehashed, at least as large, to hold
 * the live entries plus room. A host with one or two neighbours keeps its 8
 * slots.
 */
export function growNeighbours(env: GrowthEnv, host: number, room: number): void {
  const dv = env.dv;
  const slots = dv.getUint32(host + L.H_NEIGH_MASK, true) + 1;
  const used = dv.getUint32(host + L.H_NEIGH_USED, true);
  if ((used + room) * 4 <= slots * 3) return;
  const want = dv.getUint32(host + L.H_NEIGH_LIVE, true) + room;
  let next = slots;
  while (want * 4 > next * 3) next *= 2;
  const old = dv.getUint32(host + L.H_NEIGH, true);
  const table = env.alloc(next * L.NEIGH_SIZE);
  env.call('neigh_grow', host, table, next - 1);
  env.release(old, slots * L.NEIGH_SIZE);
}

/** Room in every table for a batch of n packets. */
export function makeRoom(env: GrowthEnv, host: number, n: number): void {
  growNeighbours(env, host, n);
  growConntrack(env, host, 2 * n + 2);
}
