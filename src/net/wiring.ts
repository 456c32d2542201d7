// A network's wires and segments as the data plane sees them: each wired
// link has a receive port (layout.ts: PORT_*) and sends into its peer's; a
// segment is a struct with a port per member and its own FDB.
import * as L from '../engine/layout.gen.js';
import type { Engine } from '../engine/engine.js';

/**
 * The port frames for link lp (of the host of that rank, link index) arrive
 * at; made on first use. A segment member's link gets `sides` more, one for
 * each other worker that may send to it (a port has one producer), each on a
 * cache line of its own.
 */
export function rxPort(e: Engine, lp: number, rank: number, index: number, sides = 0): number {
  const port = e.dv.getUint32(lp + L.L_RXPORT, true);
  if (port !== 0) return port;
  const line = 64;
  const region = e.alloc((sides + 1) * L.PORT_SIZE + (sides ? line : 0));
  const made = sides ? Math.ceil(region / line) * line : region;
  const dv = e.dv;
  for (let p = 0; p <= sides; p++) {
    dv.setUint32(made + p * L.PORT_SIZE + L.PT_NODE, rank, true);
    dv.setUint32(made + p * L.PORT_SIZE + L.PT_LINK, index, true);
    dv.setUint8(made + p * L.PORT_SIZE + L.PT_SIDE, p);
  }
  dv.setUint8(made + L.PT_SIDES, sides);
  dv.setUint32(lp + L.L_RXPORT, made, true);
  return made;
}

/** Link lp's frames go to `port`, `latency` ms later. */
export function wireTo(e: Engine, lp: number, port: number, latency: number): void {
  const dv = e.dv;
  dv.setUint32(lp + L.L_PEER, port, true);
  dv.setFloat64(lp + L.L_LATENCY, latency, true);
}

/** A segment of n members at node rank `rank`: its ports, its member targets, its FDB (MACs that do not age). */
export function makeSegment(e: Engine, rank: number, n: number, learning: boolean, latency: number): number {
  const seg = e.alloc(L.SEG_SIZE);
  const fdbMax = Math.max(1024, 4 * n);
  const slots = 1 << Math.ceil(Math.log2(fdbMax * 2));
  const ports = e.alloc(n * L.PORT_SIZE);
  const targets = e.alloc(n * 4);
  const fdb = e.alloc(slots * L.FDB_SIZE);
  const last = e.alloc(n * L.LAST_SIZE);
  const dv = e.dv;
  dv.setUint32(seg + L.L_FDB, fdb, true);
  dv.setUint32(seg + L.L_FDB_MASK, slots - 1, true);
  dv.setUint32(seg + L.L_FDB_MAX, fdbMax, true);
  dv.setUint32(seg + L.L_AGEING, 0xffffffff, true);
  dv.setUint32(seg + L.SG_N, n, true);
  dv.setUint32(seg + L.SG_FLAGS, learning ? L.SGF_LEARNING : 0, true);
  dv.setUint32(seg + L.SG_PORTS, ports, true);
  dv.setUint32(seg + L.SG_TARGETS, targets, true);
  dv.setFloat64(seg + L.SG_LATENCY, latency, true);
  dv.setUint32(seg + L.SG_LAST, last, true);
  dv.setUint32(seg + L.SG_RANK, rank, true);
  for (let i = 0; i < n; i++) {
    dv.setUint32(ports + i * L.PORT_SIZE + L.PT_NODE, rank, true);
    dv.setUint32(ports + i * L.PORT_SIZE + L.PT_LINK, i, true);
    dv.setUint32(ports + i * L.PORT_SIZE + L.PT_SEGMENT, seg, true);
  }
  return seg;
}

/** Member i of segment seg receives at `target` (its link's receive port). */
export function segmentMember(e: Engine, seg: number, i: number, target: number): void {
  e.dv.setUint32(e.dv.getUint32(seg + L.SG_TARGETS, true) + i * 4, target, true);
}

/** The port member i's frames enter segment seg by. */
export function segmentPort(e: Engine, seg: number, i: number): number {
  return e.dv.getUint32(seg + L.SG_PORTS, true) + i * L.PORT_SIZE;
}
