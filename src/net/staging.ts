// Frames and packets into a network: written into the engine's memory as
// [u32 length, bytes], 8-byte aligned, and left on the host as a record
// (assembly/net/inject.ts) with one call however many there are; the host's
// worker copies them into its own buffers as the host takes them in. Staged
// traffic is written once and left again and again.
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
  /** Gives the memory back; the traffic cannot be sent after (what was sent still arrives). */
  release(): void;
}

/** Records a chunk holds (INJ_SIZE bytes each). */
const RECORDS = 1024;

interface Chunk {
  ptr: number;
  size: number;
  used: number;
}

export class Injector {
  /** Bytes given by queue() since the last run that took everything in. */
  private readonly bytes: Chunk[] = [];
  private readonly records: Chunk[] = [];
  /** Staged regions released while a record may still read them. */
  private readonly releases: [number, number][] = [];
  private busy = false;

  constructor(private readonly engine: Engine) {}

  /** Copies the packets into the engine's memory and leaves them on the host, as few records as their bytes take. */
  queue(h: Host, link: number, kind: number, list: Uint8Array[], off: number, now: number): void {
    checkList(h.name, list);
    for (let start = 0; start < list.length;) {
      const chunk = this.room(this.bytes, stageSize(list[start]), STAGE);
      let end = start;
      let bytes = 0;
      while (end < list.length && chunk.used + bytes + stageSize(list[end]) <= chunk.size) bytes += stageSize(list[end++]);
      const at = chunk.ptr + chunk.used;
      writeStaged(this.engine, at, list, start, end);
      chunk.used += bytes;
      this.defer(h, link, kind, at, end - start, off, now);
      start = end;
    }
  }

  /** Traffic written once, to be left on the host by each send() at the network's time then. */
  stage(h: Host, link: number, kind: number, list: Uint8Array[], now: () => number): StagedTraffic {
    checkList(h.name, list);
    const bytes = Math.max(8, list.reduce((n, b) => n + stageSize(b), 0));
    const region = this.engine.alloc(bytes);
    writeStaged(this.engine, region, list, 0, list.length);
    const off = kind === L.K_RX ? L.HEADROOM : L.HEADROOM + 14;
    let released = false;
    return {
      count: list.length,
      send: () => {
        if (released) throw new Error(`network: ${h.name}: staged traffic sent after its release`);
        if (list.length > 0) this.defer(h, link, kind, region, list.length, off, now());
      },
      release: () => {
        if (released) return;
        released = true;
        if (this.busy) this.releases.push([region, bytes]);
        else this.engine.arena.release(region, bytes);
      },
    };
  }

  /**
   * After a run: left is what the hosts' records still hold. Once it is 0 no
   * record is read any more, and their memory is used again from the start.
   */
  settle(left: number): void {
    if (left !== 0) return;
    for (const c of this.bytes) c.used = 0;
    for (const c of this.records) c.used = 0;
    for (const [ptr, size] of this.releases.splice(0)) this.engine.arena.release(ptr, size);
    this.busy = false;
  }

  private defer(h: Host, link: number, kind: number, at: number, n: number, off: number, now: number): void {
    const rec = this.room(this.records, L.INJ_SIZE, RECORDS * L.INJ_SIZE);
    (this.engine.dp.net_defer as Fn)(h.ptr, rec.ptr + rec.used, link, kind, at, n, off, now);
    rec.used += L.INJ_SIZE;
    this.busy = true;
  }

  /** A chunk with `need` bytes free: the first that has them, or a new one of at least `size`. */
  private room(list: Chunk[], need: number, size: number): Chunk {
    for (const c of list) if (c.size - c.used >= need) return c;
    const bytes = Math.max(size, need);
    const c = { ptr: this.engine.alloc(bytes), size: bytes, used: 0 };
    list.push(c);
    return c;
  }
}
