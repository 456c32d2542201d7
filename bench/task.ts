// What the harness times: a task per mode, frame size and worker count, whose
// sample is a whole round of batches (never one packet). A single-path mode
// makes its task from lanes: one independent copy of its path per worker.
import { createHash } from 'node:crypto';
import { Engine } from '../src/engine/engine.js';
import type { Host } from '../src/host.js';
import { LaneGang, BATCH, type Lane } from './lanes.js';
import type { BenchOptions, BenchResult } from './types.js';

export interface BenchTask {
  /** Packets one sample moves, all workers together. */
  packets: number;
  /** One sample. */
  sample(): void;
  /** What the run left: outputs, counters and conntrack state, as one hash (the same at every worker count). */
  digest(): string;
  /** Fields of the result row beside the rate measured (label, table sizes, baselines, rates derived from it). */
  extras(mpps: number): Partial<BenchResult>;
  close(): Promise<void>;
}

/** One lane of a path: its numbers for the threads, its hosts for the checks. */
export interface PathLane {
  lane: Lane;
  hosts: Host[];
  extras?: (mpps: number) => Partial<BenchResult>;
}

/** Batches in one sample of a path. */
export const PER_SAMPLE = 200;

/**
 * A task of opts.workers lanes of the path `build` makes, all in one engine;
 * every lane runs the same batches, so every lane must end the same.
 */
export async function pathTask(opts: BenchOptions, build: (e: Engine, lane: number) => PathLane | Promise<PathLane>): Promise<BenchTask> {
  const engine = new Engine({ initialMiB: 64 });
  const lanes: PathLane[] = [];
  for (let i = 0; i < opts.workers; i++) lanes.push(await build(engine, i));
  for (const l of lanes) for (const h of l.hosts) h.commit();
  const gang = await LaneGang.start(engine, lanes.map((l) => l.lane));
  const dropped = () => lanes.reduce((n, l) => n + l.hosts.reduce((m, h) => m + h.stats().fates.dropped, 0), 0);
  const before = dropped();
  let from = 0;
  return {
    packets: opts.workers * PER_SAMPLE * BATCH,
    sample() {
      gang.run(from, PER_SAMPLE);
      from += PER_SAMPLE;
    },
    digest() {
      if (dropped() !== before) throw new Error('bench: packets were dropped on the measured path');
      const each = lanes.map((l) => laneDigest(l.hosts));
      return each.every((d) => d === each[0]) ? each[0] : `lanes differ: ${each.join(' ')}`;
    },
    extras: (mpps) => lanes[0].extras?.(mpps) ?? {},
    close: () => gang.close(),
  };
}

/** Counters and connections of a lane's hosts (their names aside: lanes are copies). */
export function laneDigest(hosts: Host[]): string {
  const h = createHash('sha256');
  for (const host of hosts) {
    h.update(JSON.stringify(host.stats()));
    h.update(JSON.stringify(host.conntrack.list(1)));
  }
  return h.digest('hex').slice(0, 16);
}
