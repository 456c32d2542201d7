// A network's worker thread (a piscina task that lives as long as the
// network): it instantiates the data plane over the engine's shared memory
// once, then waits for runs and does its share of every wave.
import { Engine } from '../engine/engine.js';
import * as L from '../engine/layout.gen.js';
import { Barrier, spinWhile } from './barrier.js';

/** How long an idle worker spins for the next run before it sleeps, ms. */
const IDLE_SPIN_MS = 2;
import { runWaves } from '../net/waves.js';
import { threadMemory } from '../net/thread-memory.js';

export interface WorkerTask {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** The network record. */
  net: number;
  /** This worker's number (1.. ; the calling thread is worker 0). */
  index: number;
}

export default function serve(task: WorkerTask): number {
  const engine = Engine.attach(task.memory, task.module);
  const words = new Int32Array(task.memory.buffer);
  const net = task.net;
  const dv = () => engine.dv;
  const workers = dv().getUint32(net + L.NT_WORKERS, true);
  const wk = dv().getUint32(net + L.NT_WK, true) + task.index * L.WK_SIZE;
  const ctx = dv().getUint32(wk + L.WK_CTX, true);
  const barrier = new Barrier(words, net, workers);
  const gen = (net + L.NT_RUN_GEN) >> 2;
  let seen = Atomics.load(words, gen);
  Atomics.add(words, (net + L.NT_READY) >> 2, 1);
  Atomics.notify(words, (net + L.NT_READY) >> 2);
  let runs = 0;
  for (;;) {
    // Runs often follow each other closely (a bench, a simulator's steps): spin a little before sleeping.
    if (!spinWhile(words, gen, seen, IDLE_SPIN_MS)) while (Atomics.load(words, gen) === seen) Atomics.wait(words, gen, seen);
    seen = Atomics.load(words, gen);
    if (Atomics.load(words, (net + L.NT_CMD) >> 2) === L.CMD_STOP) return runs;
    try {
      runWaves({ dp: engine.dp, memory: threadMemory(engine), net, wk, ctx, barrier });
    } catch (err) {
      barrier.fail();
      process.stderr.write(`podnet worker ${task.index}: ${(err as Error).stack ?? err}\n`);
    }
    runs++;
    Atomics.add(words, (net + L.NT_DONE) >> 2, 1);
    Atomics.notify(words, (net + L.NT_DONE) >> 2);
  }
}
