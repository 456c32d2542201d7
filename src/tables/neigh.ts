// The neighbour table's memory and bounds, placed with the host; it grows
// ahead of each batch (src/tables/growth.ts: growNeighbours).
import * as L from '../engine/layout.gen.js';
import type { Engine } from '../engine/engine.js';

/** Slots of a new host's table: room for 6 entries, what most pods ever need. */
export const INITIAL_SLOTS = 8;

/** Lays out an empty table of `slots` slots and Linux's default bounds in host block `h`. */
export function initNeighbours(engine: Engine, h: number, slots: number): void {
  const dv = engine.dv;
  dv.setUint32(h + L.H_NEIGH, engine.alloc(slots * L.NEIGH_SIZE), true);
  dv.setUint32(h + L.H_NEIGH_MASK, slots - 1, true);
  dv.setUint32(h + L.H_GC_THRESH1, L.GC_THRESH1, true);
  dv.setUint32(h + L.H_GC_THRESH2, L.GC_THRESH2, true);
  dv.setUint32(h + L.H_GC_THRESH3, L.GC_THRESH3, true);
  dv.setUint32(h + L.H_GC_NEXT, L.GC_INTERVAL_MS, true);
  dv.setUint32(h + L.H_UNRES_QLEN_BYTES, L.UNRES_QLEN_BYTES, true);
  dv.setUint32(h + L.H_UNRES_HOST_BYTES, L.UNRES_HOST_BYTES, true);
}

/** Bytes the table takes now. */
export function neighbourBytes(engine: Engine, h: number): number {
  return (engine.dv.getUint32(h + L.H_NEIGH_MASK, true) + 1) * L.NEIGH_SIZE;
}
