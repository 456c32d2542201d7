// podnet's fuzzer: random and mutated frames shaped by a scenario, sent into
// it epoch by epoch (./epoch.ts), every frame checked in the data plane as it
// leaves each host, every batch checked for conservation and lost buffers,
// the scenario's properties checked before and after; a violation is shrunk
// to the fewest frames that still show it (./shrink.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../engine/engine.js';
import { builtinScenario } from '../scenarios/builtin.js';
import { loadScenario } from '../scenarios/file.js';
import type { Scenario } from '../scenarios/spec.js';
import type { Violation } from './checks.js';
import { EPOCH, runEpoch, type EpochResult, type ScenarioSource } from './epoch.js';
import { shrinkViolation, type Shrunk } from './shrink.js';
import type { FuzzTask } from './worker.js';
import { compareWithModel, modelAgreement, referenceModel, type ModelResult, type ReferenceModel } from './model.js';
import { FuzzLane } from './lane.js';

/** A model violation, for shrinking: the engine and the model disagree on these frames. */
function modelShows(scenario: Scenario, model: ReferenceModel, words: Uint32Array): Violation | undefined {
  const lane = new FuzzLane(scenario);
  const r = compareWithModel(model, lane, lane.render(words));
  return r.status === 'disagreed' ? { kind: 'model', detail: `the engine and the reference model disagree: ${r.detail}`, host: r.host } : undefined;
}

export interface FuzzOptions {
  /** A built-in scenario's name (docker, calico, router), a scenario file, or a scenario (then one worker). */
  scenario: string | Scenario;
  /** Frames to send (default 1,000,000). */
  frames?: number;
  /** The seed: the same seed, the same frames (default 1). */
  seed?: number;
  /** Stop sending after this many seconds (what was sent is checked). */
  timeSeconds?: number;
  /** Worker threads, each fuzzing epochs of its own (default 1: this thread). */
  workers?: number;
  /** Also check that the reference model agrees, host by host (test/model: in the repository only). */
  model?: boolean;
  /** A data plane build of one's own (a variant) instead of the package's. */
  module?: WebAssembly.Module;
  /** Frames of an epoch: each is sent into a fresh copy of the scenario (default 524,288). */
  epochFrames?: number;
  /** Shrink the first violation (default true), for at most this many seconds (default 60). */
  shrink?: boolean;
  shrinkSeconds?: number;
  /** Called a few times a second while frames are sent. */
  onProgress?: (p: FuzzProgress) => void;
}

export interface FuzzProgress {
  frames: number;
  total: number;
  violations: number;
  elapsedMs: number;
}

export interface FuzzViolation extends Violation {
  /** The epoch it showed in, and the frames of the epoch sent by then. */
  epoch: number;
  after: number;
}

export interface FuzzReport {
  scenario: string;
  seed: number;
  /** Frames sent, every one checked. */
  frames: number;
  framesPerSec: number;
  elapsedMs: number;
  workers: number;
  /** Frame hops and deliveries the data plane verified. */
  verified: number;
  /** The scenario's properties, checked after each epoch (a failure with no frame at all shrinks to none). */
  properties: number;
  violations: FuzzViolation[];
  /** The first violation, shrunk. */
  shrunk?: Shrunk;
  /** Agreement with the reference model (--model). */
  model?: ModelResult;
}

const DEFAULT_FRAMES = 1_000_000;

/** The scenario a name or a path stands for, and where a worker thread finds it again. */
export function resolveScenario(s: string | Scenario): { scenario: Scenario; source?: ScenarioSource } {
  if (typeof s !== 'string') return { scenario: s };
  if (existsSync(s)) return { scenario: loadScenario(s), source: { file: s } };
  const builtin = builtinScenario(s);
  if (!builtin) throw new Error(`fuzz: no scenario file "${s}" and no built-in scenario of that name`);
  return { scenario: builtin, source: { builtin: s } };
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const { scenario, source } = resolveScenario(opts.scenario);
  const frames = opts.frames ?? DEFAULT_FRAMES;
  const seed = (opts.seed ?? 1) >>> 0;
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(frames) || frames < 1) throw new Error(`fuzz: frames must be a positive integer, got ${frames}`);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`fuzz: workers must be 1..64, got ${workers}`);
  if (workers > 1 && !source) throw new Error('fuzz: with several workers, name the scenario (a built-in name or a file)');
  const properties = scenario.properties.length;
  const report: FuzzReport = { scenario: scenario.name, seed, frames: 0, framesPerSec: 0, elapsedMs: 0, workers, verified: 0, properties, violations: [] };

  const t0 = performance.now();
  const deadline = opts.timeSeconds !== undefined ? Date.now() + opts.timeSeconds * 1000 : undefined;
  const size = opts.epochFrames ?? EPOCH;
  if (!Number.isInteger(size) || size < 1) throw new Error(`fuzz: epochFrames must be a positive integer, got ${size}`);
  const epochs = Array.from({ length: Math.ceil(frames / size) }, (_, e) => ({ epoch: e, frames: Math.min(size, frames - e * size) }));
  const progress = (done: number) => opts.onProgress?.({ frames: done, total: frames, violations: report.violations.length, elapsedMs: performance.now() - t0 });
  const results = workers === 1
    ? inProcess(scenario, epochs, seed, opts.module, deadline, properties > 0, progress)
    : await inWorkers(source!, epochs, seed, workers, opts.module, deadline, properties > 0, progress);
  report.elapsedMs = performance.now() - t0;
  for (const r of results) {
    report.frames += r.sent;
    report.verified += r.verified;
    if (r.violation) report.violations.push({ ...r.violation, epoch: r.epoch, after: r.after ?? r.sent });
  }
  report.framesPerSec = report.frames / (report.elapsedMs / 1000);
  progress(report.frames);

  const first = report.violations[0];
  if (first && (opts.shrink ?? true)) {
    report.shrunk = shrinkViolation({ scenario, module: opts.module, seed, epoch: first.epoch, violation: first, after: first.after, timeLimitMs: (opts.shrinkSeconds ?? 60) * 1000 });
  }
  if (opts.model) {
    const m = await modelAgreement(scenario, seed, epochs[0].frames);
    report.model = m;
    if (m.status === 'disagreed') {
      const v: FuzzViolation = { kind: 'model', detail: `the engine and the reference model disagree: ${m.detail}`, host: m.host, epoch: 0, after: m.after ?? 0 };
      report.violations.push(v);
      if (!report.shrunk && (opts.shrink ?? true)) {
        const model = (await referenceModel())!;
        report.shrunk = shrinkViolation({
          scenario, seed, epoch: 0, violation: v, after: v.after, timeLimitMs: (opts.shrinkSeconds ?? 60) * 1000,
          shows: (words) => modelShows(scenario, model, words),
        });
      }
    }
  }
  return report;
}

function inProcess(
  scenario: Scenario, epochs: { epoch: number; frames: number }[], seed: number, module: WebAssembly.Module | undefined,
  deadline: number | undefined, properties: boolean, progress: (done: number) => void,
): EpochResult[] {
  const out: EpochResult[] = [];
  let done = 0;
  let shown = 0;
  for (const e of epochs) {
    if (deadline !== undefined && Date.now() >= deadline) break;
    const r = runEpoch({
      scenario, module, seed, epoch: e.epoch, frames: e.frames, deadline, properties,
      progress: (sent) => {
        const now = performance.now();
        if (now - shown > 100) {
          shown = now;
          progress(done + sent);
        }
      },
    });
    out.push(r);
    done += r.sent;
    if (r.violation) break;
  }
  return out;
}

async function inWorkers(
  source: ScenarioSource, epochs: { epoch: number; frames: number }[], seed: number, workers: number, module: WebAssembly.Module | undefined,
  deadline: number | undefined, properties: boolean, progress: (done: number) => void,
): Promise<EpochResult[]> {
  const { Piscina } = await import('piscina');
  const filename = pathToFileURL(join(packageRoot(), 'dist', 'src', 'fuzz', 'worker.js')).href;
  const pool = new Piscina({ filename, minThreads: workers, maxThreads: workers, idleTimeout: 1000 });
  // Each epoch's frames sent so far, and a flag that stops everyone at the first violation.
  const sent = new Int32Array(new SharedArrayBuffer(4 * epochs.length));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const timer = setInterval(() => progress(sent.reduce((a, b) => a + b, 0)), 100);
  try {
    const results = await Promise.all(epochs.map(async (e) => {
      const task: FuzzTask = { source, module, seed, epoch: e.epoch, frames: e.frames, deadline, properties, sent, stop };
      const r = (await pool.run(task)) as EpochResult | null;
      if (r?.violation) Atomics.store(stop, 0, 1);
      return r;
    }));
    return results.filter((r): r is EpochResult => r !== null);
  } finally {
    clearInterval(timer);
    await pool.destroy();
  }
}
