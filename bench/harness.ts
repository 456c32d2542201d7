// The timing of `podnet bench`: tinybench runs every task of the run (mode x
// frame size x worker count, and the ceiling at each worker count) in
// rounds, alternating their order round by round, so that drift of this
// machine's cores falls on all of them alike; each round's samples are
// pooled per task, and tinybench's statistics (median, p99, relative margin
// of error) are taken of the pooled samples.
import { Bench } from 'tinybench';
import { Engine } from '../src/engine/engine.js';
import { LaneGang, type Lane } from './lanes.js';
import type { BenchTask } from './task.js';
import type { BenchResult } from './types.js';

export interface Timed {
  key: string;
  task: BenchTask;
  /** Sample durations, ms, all rounds. */
  samples: number[];
  /** Each round's median sample, ms (for ratios of tasks measured side by side). */
  rounds: number[];
}

export interface TimingPlan {
  rounds: number;
  perRound: number;
  warmup: number;
  progress: (fraction: number, label: string) => void;
}

/** Runs every task in alternating rounds; fills samples and rounds. */
export function timeTasks(tasks: Timed[], plan: TimingPlan): void {
  for (const t of tasks) for (let i = 0; i < plan.warmup; i++) t.task.sample();
  for (let r = 0; r < plan.rounds; r++) {
    const order = r % 2 === 0 ? tasks : [...tasks].reverse();
    const bench = new Bench({ iterations: plan.perRound, time: 0, warmup: false, retainSamples: true, throws: true });
    for (const t of order) bench.add(t.key, () => t.task.sample(), { async: false });
    bench.runSync();
    for (const t of tasks) {
      const samples = [...(bench.getTask(t.key)!.result as { latency: { samples?: number[] } }).latency.samples ?? []];
      t.samples.push(...samples);
      t.rounds.push(middle(samples));
    }
    plan.progress((r + 1) / plan.rounds, `round ${r + 1} of ${plan.rounds}`);
  }
}

export interface Stats {
  /** ms per sample */
  median: number;
  p99: number;
  /** relative margin of error, percent */
  rme: number;
}

/** tinybench's statistics of samples already taken (each replayed as an overridden duration). */
export function statsOf(samples: number[]): Stats {
  const bench = new Bench({ iterations: samples.length, time: 0, warmup: false, throws: true });
  let i = 0;
  bench.add('pooled', () => ({ overriddenDuration: samples[i++ % samples.length] }), { async: false });
  bench.runSync();
  const l = (bench.getTask('pooled')!.result as { latency: { p50: number; p99: number; rme: number } }).latency;
  return { median: l.p50, p99: l.p99, rme: l.rme };
}

function middle(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[(s.length >> 1) - 1] + s[s.length >> 1]) / 2;
}

/** Median and spread (half the interquartile range, as a fraction) of per-round ratios a[r] / b[r]. */
export function ratioOf(a: number[], b: number[]): { ratio: number; spread: number } {
  const rs = a.map((x, i) => x / b[i]).sort((x, y) => x - y);
  const q = (f: number) => rs[Math.min(rs.length - 1, Math.max(0, Math.round(f * (rs.length - 1))))];
  const ratio = middle(rs);
  return { ratio, spread: (q(0.75) - q(0.25)) / 2 / ratio };
}

/** The ceiling: a trivially parallel wasm loop on `workers` threads at once. */
export async function ceilingTask(workers: number): Promise<BenchTask> {
  const engine = new Engine();
  const ROUNDS = 1 << 20;
  const lanes: Lane[] = Array.from({ length: workers }, () => ({
    ctx: 0, hosts: [], links: [], vecs: [], outs: [], outCap: 0, refill: null, now: 0,
    spin: { scratch: engine.alloc(4096), rounds: ROUNDS },
  }));
  const gang = await LaneGang.start(engine, lanes);
  return {
    packets: workers * ROUNDS,
    sample: () => gang.run(0, 1),
    digest: () => '',
    extras: () => ({}),
    close: () => gang.close(),
  };
}

export type Row = BenchResult;
