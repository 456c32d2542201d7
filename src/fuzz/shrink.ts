// Shrinking a violation to the smallest sequence of frames that still shows
// it: the epoch's frames up to the violation are drawn again (they depend on
// the seed alone), cut down to the frame the violating packet came from, or
// its batch, when that alone shows it; then fast-check shrinks the recipes
// (fewer frames, each word towards 0: the first template, each knob's first
// value, no mutation, no pause), every candidate tried on a fresh copy of the
// scenario.
import fc from 'fast-check';
import * as L from '../engine/layout.gen.js';
import type { Scenario } from '../scenarios/spec.js';
import type { Violation } from './checks.js';
import { FuzzLane, type FuzzFrame } from './lane.js';
import { BATCH, pauseOf } from './epoch.js';
import { arbRecipes, epochSeed, fromRecipes, toRecipes, WORDS } from './recipes.js';

export interface ShrinkInput {
  scenario: Scenario;
  module?: WebAssembly.Module;
  seed: number;
  epoch: number;
  violation: Violation;
  /** Frames of the epoch sent when it showed. */
  after: number;
  /** Give up shrinking further after this long (ms). */
  timeLimitMs?: number;
  /** Whether a sequence shows the violation (default: sent into a fresh copy of the scenario, every check on). */
  shows?: (words: Uint32Array) => Violation | undefined;
}

export interface Shrunk {
  /** The recipes of the smallest sequence found. */
  words: Uint32Array;
  /** Its frames: where each goes, when, its bytes. */
  frames: FuzzFrame[];
  /** The violation it shows. */
  violation: Violation;
  /** Frames before shrinking (the epoch's, up to the violation). */
  from: number;
  /** Sequences tried. */
  runs: number;
  elapsedMs: number;
  /** Shrinking stopped at its time limit. */
  interrupted: boolean;
}

/** Sends a sequence into a fresh copy of the scenario; the violation of the same kind it shows, if any. */
export function showsViolation(scenario: Scenario, module: WebAssembly.Module | undefined, words: Uint32Array, kind: Violation['kind']): Violation | undefined {
  const lane = new FuzzLane(scenario, { module });
  try {
    const v = lane.sendWords(words) ?? lane.finish(kind === 'property');
    return v && v.kind === kind ? v : undefined;
  } finally {
    void lane.close();
  }
}

/** A sequence's first frame starts a batch after no pause (a piece cut out of a longer run). */
function startsBatch(words: Uint32Array): Uint32Array {
  const out = words.slice();
  if (out.length) out[L.FW_GAP] = Math.max(1, out[L.FW_GAP]);
  return out;
}

export function shrinkViolation(s: ShrinkInput): Shrunk {
  const t0 = performance.now();
  const kind = s.violation.kind;
  let runs = 0;
  const shows = (words: Uint32Array) => {
    runs++;
    return s.shows ? s.shows(words) : showsViolation(s.scenario, s.module, words, kind);
  };
  const lane = new FuzzLane(s.scenario, { module: s.module });
  const prefix = lane.drawWords(epochSeed(s.seed, s.epoch), s.after, BATCH, (k) => pauseOf(s.seed, s.epoch, k));
  void lane.close();
  const n = s.after;
  // The frame the violating packet came from, alone; its batch; everything before it.
  const candidates: Uint32Array[] = [];
  // A property that fails with no frame at all: the scenario as written.
  if (kind === 'property') candidates.push(new Uint32Array(0));
  const f = s.violation.frame;
  if (f !== undefined && f < n) candidates.push(startsBatch(prefix.subarray(f * WORDS, (f + 1) * WORDS)));
  const batchStart = Math.floor((n - 1) / BATCH) * BATCH;
  if (batchStart > 0) candidates.push(startsBatch(prefix.subarray(batchStart * WORDS, n * WORDS)));
  candidates.push(prefix);
  let start: Uint32Array | undefined;
  for (const c of candidates) {
    if (shows(c)) {
      start = c;
      break;
    }
  }
  if (!start) throw new Error(`fuzz: the ${kind} violation did not show again when its frames were sent into a fresh copy of the scenario`);
  const templates = lane.templates.length;
  const limit = s.timeLimitMs ?? 60_000;
  if (start.length === 0) {
    return { words: start, frames: [], violation: shows(start) ?? s.violation, from: n, runs, elapsedMs: performance.now() - t0, interrupted: false };
  }
  const result = fc.check(
    fc.property(arbRecipes(templates, start.length / WORDS), (rs) => !shows(startsBatch(fromRecipes(rs)))),
    { examples: [[toRecipes(start, 0, start.length / WORDS)]], numRuns: 1, interruptAfterTimeLimit: limit, markInterruptAsFailure: false },
  );
  const best = result.failed && result.counterexample ? startsBatch(fromRecipes(result.counterexample[0])) : start;
  const violation = shows(best) ?? s.violation;
  const render = new FuzzLane(s.scenario, { module: s.module });
  const frames = render.render(best);
  void render.close();
  return { words: best, frames, violation, from: n, runs, elapsedMs: performance.now() - t0, interrupted: result.interrupted };
}
