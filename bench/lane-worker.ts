// A lane's worker thread (a piscina task for the gang's lifetime): it runs
// its lane's batches whenever the calling thread starts a sample.
import { Engine } from '../src/engine/engine.js';
import { runLane, GANG, type Lane } from './lanes.js';

export default function lane(task: { memory: WebAssembly.Memory; module: WebAssembly.Module; ctl: number; ready: number; lane: Lane }): number {
  const engine = Engine.attach(task.memory, task.module);
  const words = new Int32Array(task.memory.buffer);
  const c = task.ctl >> 2;
  let seen = Atomics.load(words, c + GANG.G_GEN / 4);
  Atomics.add(words, task.ready >> 2, 1);
  let runs = 0;
  for (;;) {
    while (Atomics.load(words, c + GANG.G_GEN / 4) === seen) Atomics.wait(words, c + GANG.G_GEN / 4, seen);
    seen = Atomics.load(words, c + GANG.G_GEN / 4);
    const count = Atomics.load(words, c + GANG.G_COUNT / 4);
    if (count < 0) return runs;
    try {
      runLane(engine.dp, () => engine.dv, task.lane, Atomics.load(words, c + GANG.G_FROM / 4), count);
    } catch (err) {
      Atomics.store(words, c + GANG.G_FAILED / 4, 1);
      throw err;
    }
    runs++;
    Atomics.add(words, c + GANG.G_DONE / 4, 1);
    Atomics.notify(words, c + GANG.G_DONE / 4);
  }
}
