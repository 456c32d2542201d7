// The wave loop every thread of a network run goes through: the same
// decisions from the same shared reports, so the threads agree on every
// wave's time without talking (src/network.ts starts the run; the data
// plane's net_wave does a worker's share of a wave).
import * as L from '../engine/layout.gen.js';
import type { DataPlane } from '../engine/engine.js';
import { drainOutputs, type Memory } from './records.js';
import { makeRoom, type GrowthEnv } from '../tables/growth.js';
import type { Barrier } from '../parallel/barrier.js';

/** Hosts run their timers (ARP retransmission) every second when a run is given an end. */
export const TICK_MS = 1000;

type Fn = (...args: number[]) => number;

/** What one thread of a run works with. */
export interface WaveThread {
  dp: DataPlane;
  memory: Memory & GrowthEnv;
  net: number;
  /** This thread's worker record and its context. */
  wk: number;
  ctx: number;
  barrier?: Barrier;
}

/**
 * Runs a worker's share of a run: its start (its nodes with frames waiting,
 * reported in its slot of parity first wave - 1), the waves until the run's
 * end, and its end (what is on its way to its nodes put in their pending
 * lists, its buffers home). Every thread calls it with the same run in the
 * network record (NT_RUN_*).
 */
export function runWaves(t: WaveThread): void {
  const dv = () => t.memory.dv;
  const net = t.net;
  const workers = dv().getUint32(net + L.NT_WORKERS, true);
  const wks = dv().getUint32(net + L.NT_WK, true);
  let now = dv().getFloat64(net + L.NT_RUN_NOW, true);
  const until = dv().getFloat64(net + L.NT_RUN_UNTIL, true);
  const max = dv().getFloat64(net + L.NT_RUN_MAX, true);
  let wave = dv().getUint32(net + L.NT_RUN_WAVE, true);
  const netWave = t.dp.net_wave as Fn;
  const free = (buf: number) => (t.dp.pool_free as Fn)(t.ctx, buf);
  (t.dp.net_prepare as Fn)(t.wk, now);
  const first = dv();
  const r0 = t.wk + L.WK_REPORT + ((wave - 1) & 1) * L.REPORT_SIZE;
  first.setUint32(r0 + L.RP_NOW_WORK, first.getUint32(t.wk + L.WK_NOW_WORK, true), true);
  first.setFloat64(r0 + L.RP_NEXT_DUE, first.getFloat64(t.wk + L.WK_NEXT_DUE, true), true);
  first.setFloat64(r0 + L.RP_STEPS, 0, true);
  first.setUint32(r0 + L.RP_LEARN, 0, true);
  t.barrier?.wait();
  for (;;) {
    // The reports of the wave before, the same for everyone.
    const slot = L.WK_REPORT + ((wave - 1) & 1) * L.REPORT_SIZE;
    let nowWork = false;
    let next = Infinity;
    let steps = 0;
    let learnt = false;
    for (let k = 0; k < workers; k++) {
      const r = wks + k * L.WK_SIZE + slot;
      nowWork ||= dv().getUint32(r + L.RP_NOW_WORK, true) !== 0;
      next = Math.min(next, dv().getFloat64(r + L.RP_NEXT_DUE, true));
      steps += dv().getFloat64(r + L.RP_STEPS, true);
      learnt ||= dv().getUint32(r + L.RP_LEARN, true) !== 0;
    }
    if (learnt) {
      // Segments learn what the wave's senders logged, before anyone looks them up again.
      (t.dp.net_learn as Fn)(t.ctx, t.wk);
      t.barrier?.wait();
    }
    if (steps > max) {
      dv().setUint32(net + L.NT_RUN_END, 1, true);
      break;
    }
    let time: number;
    let tick = false;
    if (nowWork) {
      time = now;
    } else {
      // Timers fire before the frames due at the same instant, as a batch runs them first.
      const nextTick = (Math.floor(now / TICK_MS) + 1) * TICK_MS;
      if (!Number.isNaN(until) && nextTick <= until && nextTick <= next) {
        time = nextTick;
        tick = true;
      } else if (next <= until || (Number.isNaN(until) && next < Infinity)) {
        time = next;
      } else {
        break;
      }
    }
    now = time;
    const w = t.wk;
    const d = dv();
    d.setUint32(w + L.WK_WAVE, wave, true);
    d.setFloat64(w + L.WK_NOW, now, true);
    d.setUint32(w + L.WK_TICK, tick ? 1 : 0, true);
    d.setUint32(w + L.WK_CURSOR, 0, true);
    for (let status = netWave(t.ctx, w); status !== L.WAVE_DONE; status = netWave(t.ctx, w)) {
      if (status === L.WAVE_OUTPUTS) {
        drainOutputs(t.memory, t.ctx, w, wave, now, free);
      } else if (status === L.WAVE_GROW) {
        makeRoom(t.memory, dv().getUint32(w + L.WK_GROW, true), dv().getUint32(w + L.WK_ROOM, true));
      } else if (status === L.WAVE_LEARN_ROOM) {
        growLearnLog(t.memory, w, dv().getUint32(w + L.WK_ROOM, true));
      } else {
        throw new Error(`network run: unexpected wave status ${status}`);
      }
    }
    drainOutputs(t.memory, t.ctx, w, wave, now, free);
    const r = w + L.WK_REPORT + (wave & 1) * L.REPORT_SIZE;
    const e = dv();
    e.setUint32(r + L.RP_NOW_WORK, e.getUint32(w + L.WK_NOW_WORK, true), true);
    e.setFloat64(r + L.RP_NEXT_DUE, e.getFloat64(w + L.WK_NEXT_DUE, true), true);
    e.setFloat64(r + L.RP_STEPS, Number(e.getBigUint64(w + L.WK_STEPS, true)), true);
    e.setUint32(r + L.RP_LEARN, e.getUint32(w + L.WK_LEARN_N, true), true);
    t.barrier?.wait();
    wave++;
  }
  // Every wave is over everywhere (the reports just read came after the last barrier).
  (t.dp.net_finish as Fn)(t.ctx, t.wk);
  if (t.wk !== wks) return;
  const e = dv();
  e.setFloat64(net + L.NT_RUN_LAST, now, true);
  e.setUint32(net + L.NT_RUN_WAVE, wave, true);
}

/** Makes room in worker record w's learning log for `room` more entries (from its own thread, between batches). */
function growLearnLog(m: GrowthEnv, w: number, room: number): void {
  const dv = m.dv;
  const old = dv.getUint32(w + L.WK_LEARN, true);
  const cap = dv.getUint32(w + L.WK_LEARN_CAP, true);
  const n = dv.getUint32(w + L.WK_LEARN_N, true);
  const size = Math.max(cap * 2, n + room);
  const log = m.alloc(size * L.LEARN_SIZE);
  const u8 = new Uint8Array(m.dv.buffer);
  u8.copyWithin(log, old, old + n * L.LEARN_SIZE);
  m.release(old, cap * L.LEARN_SIZE);
  const d = m.dv;
  d.setUint32(w + L.WK_LEARN, log, true);
  d.setUint32(w + L.WK_LEARN_CAP, size, true);
}
