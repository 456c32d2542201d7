// A fuzz run's worker thread (a piscina task per epoch): it loads the
// scenario and sends the epoch's frames into a fresh copy of it, on an engine
// of its own, reporting its progress in shared memory.
import { loadSource, runEpoch, type EpochResult, type ScenarioSource } from './epoch.js';

export interface FuzzTask {
  source: ScenarioSource;
  module?: WebAssembly.Module;
  seed: number;
  epoch: number;
  frames: number;
  deadline?: number;
  properties: boolean;
  /** Frames sent so far, by epoch. */
  sent: Int32Array;
  /** Set when an epoch found a violation: the others stop. */
  stop: Int32Array;
}

export default function fuzzEpoch(t: FuzzTask): EpochResult | null {
  if (Atomics.load(t.stop, 0) !== 0 || (t.deadline !== undefined && Date.now() >= t.deadline)) return null;
  return runEpoch({
    scenario: loadSource(t.source),
    module: t.module,
    seed: t.seed,
    epoch: t.epoch,
    frames: t.frames,
    deadline: t.deadline,
    properties: t.properties,
    progress: (sent) => Atomics.store(t.sent, t.epoch, sent),
    stop: () => Atomics.load(t.stop, 0) !== 0,
  });
}
