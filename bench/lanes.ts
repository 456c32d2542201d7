// Lanes: independent copies of one measured path, one per worker, run side
// by side over the engine's shared memory (a single-path mode at --workers N
// runs N lanes). A lane is plain numbers, so it crosses to a worker thread;
// the calling thread runs lane 0 and the workers (piscina, one long-lived
// task each) the others, started and joined through words in shared memory.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { packageRoot, type Engine, type DataPlane } from '../src/engine/engine.js';
import * as L from '../src/engine/layout.gen.js';

export const BATCH = 256;

export interface Lane {
  /** The lane's context: its own buffers and vectors. */
  ctx: number;
  /** Host structs a batch goes through, in order. */
  hosts: number[];
  /** For hosts[k]'s outputs: the link index they arrive on at hosts[k+1]. */
  links: number[];
  /** Input vectors (BATCH descriptors each); batch b takes vecs[b % vecs.length]. */
  vecs: number[];
  /** Two output vectors a multi-host path alternates (empty: the context's own). */
  outs: number[];
  outCap: number;
  /** Frames re-armed before each batch from templates, as a NIC's receive DMA would. */
  refill: { tmpl: number; stride: number; batches: number } | null;
  /** The clock the batches run at. */
  now: number;
  /** A ceiling lane: spin() on this scratch instead of packets. */
  spin?: { scratch: number; rounds: number };
}

type Fn = (...args: number[]) => number;

/** Runs batches from..from+count-1 of a lane; returns how many frames left the last host in the last one. */
export function runLane(dp: DataPlane, dv: () => DataView, lane: Lane, from: number, count: number): number {
  if (lane.spin) {
    let h = 0;
    for (let i = 0; i < count; i++) h ^= (dp.spin as Fn)(lane.spin.scratch, lane.spin.rounds);
    return h;
  }
  const process = dp.process as Fn;
  const refill = dp.rx_refill as Fn;
  const toRx = dp.tx_to_rx as Fn;
  let n = 0;
  for (let b = from; b < from + count; b++) {
    const vec = lane.vecs[b % lane.vecs.length];
    const r = lane.refill;
    if (r) refill(vec, BATCH, r.tmpl + (b % r.batches) * BATCH * r.stride, r.stride);
    let input = vec;
    n = BATCH;
    for (let k = 0; k < lane.hosts.length; k++) {
      if (lane.outs.length) {
        const d = dv();
        d.setUint32(lane.ctx + L.C_OUT, lane.outs[k & 1], true);
        d.setUint32(lane.ctx + L.C_OUT_CAP, lane.outCap, true);
      }
      n = process(lane.ctx, lane.hosts[k], input, n, lane.now);
      if (k + 1 < lane.hosts.length) {
        toRx(lane.outs[k & 1], n, lane.links[k]);
        input = lane.outs[k & 1];
      }
    }
  }
  return n;
}

// The gang's control words: generation, first batch, batches, workers done, a failure.
const G_GEN = 0;
const G_FROM = 4;
const G_COUNT = 8;
const G_DONE = 64;
const G_FAILED = 68;
export const GANG_SIZE = 128;

/** Lanes run side by side: lane 0 on the calling thread, the others on workers. */
export class LaneGang {
  private constructor(
    private readonly engine: Engine,
    private readonly lanes: Lane[],
    private readonly ctl: number,
    private readonly pool?: Piscina,
    private readonly tasks: Promise<unknown>[] = [],
  ) {}

  static async start(engine: Engine, lanes: Lane[]): Promise<LaneGang> {
    const ctl = engine.alloc(GANG_SIZE);
    if (lanes.length === 1) return new LaneGang(engine, lanes, ctl);
    const filename = pathToFileURL(join(packageRoot(), 'dist', 'bench', 'lane-worker.js')).href;
    const pool = new Piscina({ filename, minThreads: lanes.length - 1, maxThreads: lanes.length - 1 });
    const words = new Int32Array(engine.memory.buffer);
    const ready = engine.alloc(4);
    const tasks = lanes.slice(1).map((lane) => pool.run({ memory: engine.memory, module: engine.module, ctl, ready, lane }));
    const gang = new LaneGang(engine, lanes, ctl, pool, tasks);
    for (const t of tasks) t.catch(() => Atomics.store(words, (ctl + G_FAILED) >> 2, 1));
    while (Atomics.load(words, ready >> 2) < lanes.length - 1) {
      if (Atomics.load(words, (ctl + G_FAILED) >> 2) !== 0) throw new Error(`bench: a lane worker failed: ${await firstError(tasks)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return gang;
  }

  get size(): number {
    return this.lanes.length;
  }

  /** Batches from..from+count-1 on every lane at once; returns when all are done. */
  run(from: number, count: number): void {
    const words = new Int32Array(this.engine.memory.buffer);
    const c = this.ctl >> 2;
    if (this.pool) {
      Atomics.store(words, c + G_DONE / 4, 0);
      Atomics.store(words, c + G_FROM / 4, from);
      Atomics.store(words, c + G_COUNT / 4, count);
      Atomics.add(words, c + G_GEN / 4, 1);
      Atomics.notify(words, c + G_GEN / 4);
    }
    runLane(this.engine.dp, () => this.engine.dv, this.lanes[0], from, count);
    if (!this.pool) return;
    for (let done = Atomics.load(words, c + G_DONE / 4); done < this.lanes.length - 1; done = Atomics.load(words, c + G_DONE / 4)) {
      if (Atomics.load(words, c + G_FAILED / 4) !== 0) throw new Error('bench: a lane worker failed');
      Atomics.wait(words, c + G_DONE / 4, done, 100);
    }
  }

  async close(): Promise<void> {
    if (!this.pool) return;
    const words = new Int32Array(this.engine.memory.buffer);
    const c = this.ctl >> 2;
    Atomics.store(words, c + G_COUNT / 4, -1);
    Atomics.add(words, c + G_GEN / 4, 1);
    Atomics.notify(words, c + G_GEN / 4);
    await Promise.allSettled(this.tasks);
    await this.pool.destroy();
  }
}

async function firstError(tasks: Promise<unknown>[]): Promise<string> {
  for (const r of await Promise.allSettled(tasks)) if (r.status === 'rejected') return String((r.reason as Error)?.message ?? r.reason);
  return 'unknown';
}

/** Offsets of the control words, for the worker side. */
export const GANG = { G_GEN, G_FROM, G_COUNT, G_DONE, G_FAILED };
