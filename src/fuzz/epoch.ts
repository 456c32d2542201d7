// A fuzz run is cut into epochs of EPOCH frames, each sent into a fresh copy
// of the scenario from a seed of its own: an epoch's frames and what they do
// depend on (seed, epoch) alone, so a run finds the same things with one
// worker or many (workers take epochs in turn), and a violation is replayed
// from its epoch's start.
import { builtinScenario } from '../scenarios/builtin.js';
import { loadScenario } from '../scenarios/file.js';
import type { Scenario } from '../scenarios/spec.js';
import type { Violation } from './checks.js';
import { FuzzLane, MAX_BATCH } from './lane.js';
import { epochSeed, generator } from './recipes.js';

export const EPOCH = 1 << 19;
/** Frames of a batch: queued together, then the network runs. */
export const BATCH = MAX_BATCH;

/** Where a scenario comes from, so that a worker thread can load it again. */
export type ScenarioSource = { builtin: string } | { file: string };

export function loadSource(source: ScenarioSource): Scenario {
  if ('file' in source) return loadScenario(source.file);
  const s = builtinScenario(source.builtin);
  if (!s) throw new Error(`fuzz: no built-in scenario "${source.builtin}"`);
  return s;
}

/**
 * Milliseconds that pass before batch k of an epoch: mostly none, sometimes
 * the times that matter (ARP retries and failure, conntrack timeouts).
 */
export function pauseOf(seed: number, epoch: number, k: number): number {
  if (k === 0) return 0;
  const r = generator((epochSeed(seed, epoch) ^ Math.imul(k, 0x85ebca6b)) >>> 0)();
  const PAUSES = [1, 999, 1000, 1001, 3001, 31_000, 121_000, 300_000];
  return (r & 15) < 10 ? 0 : PAUSES[(r >>> 4) % PAUSES.length];
}

export interface EpochResult {
  epoch: number;
  /** Frames sent. */
  sent: number;
  /** Frame hops and deliveries the data plane verified. */
  verified: number;
  violation?: Violation;
  /** Frames sent when the violation showed (it is among them). */
  after?: number;
  elapsedMs: number;
}

export interface EpochTask {
  scenario: Scenario;
  module?: WebAssembly.Module;
  seed: number;
  epoch: number;
  frames: number;
  /** Wall-clock time (Date.now()) after which no new batch starts. */
  deadline?: number;
  /** Check the scenario's properties once the frames are sent. */
  properties: boolean;
  /** After each batch: frames sent so far. */
  progress?: (sent: number) => void;
  /** Asked after each batch: another epoch found a violation, stop. */
  stop?: () => boolean;
}

/** Sends an epoch's frames into a fresh copy of the scenario, checking everything; stops at the first violation. */
export function runEpoch(t: EpochTask): EpochResult {
  const t0 = performance.now();
  const lane = new FuzzLane(t.scenario, { module: t.module });
  let stopped = false;
  const more = (sent: number) => {
    t.progress?.(sent);
    stopped = (t.deadline !== undefined && Date.now() >= t.deadline) || (t.stop?.() ?? false);
    return !stopped;
  };
  let violation = lane.sendDrawn(epochSeed(t.seed, t.epoch), t.frames, BATCH, (k) => pauseOf(t.seed, t.epoch, k), more);
  const after = lane.sent;
  violation ??= lane.finish(t.properties);
  void lane.close();
  return { epoch: t.epoch, sent: lane.sent, verified: lane.verified, violation, ...(violation ? { after } : {}), elapsedMs: performance.now() - t0 };
}
