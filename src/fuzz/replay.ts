// A counterexample run again: its frames into a fresh copy of its scenario,
// with every check on, and a trace of its last batch on the trace build.
import { Engine, loadModule } from '../engine/engine.js';
import type { Scenario } from '../scenarios/spec.js';
import { traceSteps, type TraceStep } from '../trace/trace.js';
import type { Violation } from './checks.js';
import { FuzzLane, type FuzzFrame } from './lane.js';

/** Sends the frames, batch by batch, then lets the network settle; the first violation they show. */
export function replayFrames(scenario: Scenario, frames: FuzzFrame[], module?: WebAssembly.Module): Violation | undefined {
  const lane = new FuzzLane(scenario, { module });
  try {
    return lane.sendFrames(frames) ?? lane.finish(true);
  } finally {
    void lane.close();
  }
}

export interface CounterexampleTrace {
  steps: TraceStep[];
  /** Why there is no trace, when there is none. */
  absent?: string;
}

/**
 * What the last batch of frames did, stage by stage (the batches before it
 * run untraced first). With a variant of the data plane, it must be a trace
 * build itself: the package's would not show the variant's behaviour.
 */
export function traceFrames(scenario: Scenario, frames: FuzzFrame[], module?: WebAssembly.Module): CounterexampleTrace {
  let traced: WebAssembly.Module;
  if (module) {
    if (!new Engine({ module }).traces) return { steps: [], absent: 'the data plane given is not a trace build (asc --use PODNET_TRACE=1)' };
    traced = module;
  } else {
    traced = loadModule('trace');
  }
  const lane = new FuzzLane(scenario, { module: traced });
  try {
    let last = frames.length - 1;
    while (last > 0 && !frames[last].batch) last--;
    lane.sendFrames(frames.slice(0, last));
    const { steps } = traceSteps(lane.net, () => {
      lane.sendFrames(frames.slice(last));
    });
    return { steps };
  } finally {
    void lane.close();
  }
}
