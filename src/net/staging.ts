// Frames and packets into a network: written into the engine's memory as
// the data plane's net_inject_many reads them ([u32 length, bytes], 8-byte
// aligned) and queued with one call however many there are; staged traffic
// is written once and queued again and again.
import * as L from '../engine/layout.gen.js';
import type { Engine } from '../engine/engine.js';
import type { Host } from '../host.js';

type Fn = (...args: number[]) => number;

/** Bytes of packets staged for one call into the data plane (more for a bigger packet). */
export const STAGE = 1 << 20;

export function stageSize(b: Uint8Array): number {
  return (4 + b.length + 7) & ~7;
}

export function checkList(host: string, list: Uint8Array[]): void {
  if (!Array.isArray(list)) throw new Error(`network: ${host}: frames and packets come as an array of Uint8Array`);
  for (const b of list) if (!(b instanceof Uint8Array)) throw new Error(`network: ${host}: a frame or packet must be a Uint8Array`);
}

/** Writes list[start..end) at `at` as [u32 length, bytes], each 8-byte aligned (net_inject_many's format). */
export function writeStaged(e: Engine, at: number, list: Uint8Array[], start: number, end: number): void {
  const dv = e.dv;
  const u8 = e.u8;
  let p = at;
  for (let i = start; i < end; i++) {
    const b = list[i];
    dv.setUint32(p, b.length, true);
    u8.set(b, p + 4);
    p += (4 + b.length + 7) & ~7;
  }
}

/** Traffic staged in the engine's memory (Network.stage). */
export interface StagedTraffic {
  readonly count: number;
  /** Queues every packet again, now: one call into the data plane. */
  send(): void;
  /** Gives the memory back; the traffic cannot be sent after. */
  release(): void;
}

/** What a network does with one no buffer holds: counts and drops it at its host. */
export type Refuse = (h: Host, link: number, kind: number, bytes: Uint8Array) => void;

export class Injector {
  private area?: { ptr: number; size: number };

  /**
   * Queues into the pool of the context ctxOf names for a host: its owner's
   * (the workers are parked between runs), so the frames it takes in are its
   * own and need no copy on arrival.
   */
  constructor(private readonly engine: Engine, private readonly ctxOf: (h: Host) => number, private readonly refuse: Refuse) {}

  /** Copies the packets into the staging area and queues them, as many at a time as it holds. */
  queue(h: Host, link: number, kind: number, list: Uint8Array[], off: number, now: number): void {
    checkList(h.name, list);
    for (let start = 0; start < list.length;) {
      // As many as fit; the area grows to hold the largest.
      let bytes = 0;
      let end = start;
      while (end < list.length && (end === start || bytes + stageSize(list[end]) <= STAGE)) bytes += stageSize(list[end++]);
      const at = this.stageArea(bytes);
      writeStaged(this.engine, at, list, start, end);
      this.queueStaged(h, link, kind, at, end - start, off, now);
      start = end;
    }
  }

  /** Queues n staged packets at `at` on host h; one no buffer holds is refused (counted and dropped by the host). */
  queueStaged(h: Host, link: number, kind: number, at: number, n: number, off: number, now: number): void {
    const inject = this.engine.dp.net_inject_many as Fn;
    const ctx = this.ctxOf(h);
    for (let p = at, left = n; left > 0;) {
      const placed = inject(ctx, h.ptr, link, kind, p, left, off, now);
      for (let i = 0; i < placed; i++) p += (4 + this.engine.dv.getUint32(p, true) + 7) & ~7;
      left -= placed;
      if (left === 0) break;
      const len = this.engine.dv.getUint32(p, true);
      this.refuse(h, link, kind, this.engine.u8.slice(p + 4, p + 4 + len));
      p += (4 + len + 7) & ~7;
      left--;
    }
  }

  /** Traffic written once, to be queued by each send() at the network's time then. */
  stage(h: Host, link: number, kind: number, list: Uint8Array[], now: () => number): StagedTraffic {
    checkList(h.name, list);
    const bytes = Math.max(8, list.reduce((n, b) => n + stageSize(b), 0));
    const region = this.engine.alloc(bytes);
    writeStaged(this.engine, region, list, 0, list.length);
    const off = kind === L.K_RX ? L.HEADROOM : L.HEADROOM + 14;
    return {
      count: list.length,
      send: () => this.queueStaged(h, link, kind, region, list.length, off, now()),
      release: () => this.engine.arena.release(region, bytes),
    };
  }

  private stageArea(bytes: number): number {
    const r = this.area;
    if (r && r.size >= bytes) return r.ptr;
    if (r) this.engine.arena.release(r.ptr, r.size);
    const size = Math.max(STAGE, bytes);
    this.area = { ptr: this.engine.alloc(size), size };
    return this.area.ptr;
  }
}
