// The worker threads of a network, on piscina: one long-lived task per
// worker (a task per batch would cost more than the batch), meeting the
// calling thread at barriers in the shared memory (src/parallel/barrier.ts).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { packageRoot, type Engine } from '../engine/engine.js';
import * as L from '../engine/layout.gen.js';
import type { WorkerTask } from './worker.js';
import { spinWhile } from './barrier.js';

export class WorkerPool {
  private readonly pool: Piscina;
  private readonly tasks: Promise<number>[];
  private readonly words: Int32Array;

  /** Starts workers 1..count-1 (the calling thread is worker 0). */
  constructor(private readonly engine: Engine, private readonly net: number, readonly count: number) {
    const filename = pathToFileURL(join(packageRoot(), 'dist', 'src', 'parallel', 'worker.js')).href;
    this.pool = new Piscina({ filename, minThreads: count - 1, maxThreads: count - 1, idleTimeout: 1000 });
    this.words = new Int32Array(engine.memory.buffer);
    this.tasks = [];
    for (let i = 1; i < count; i++) {
      const task: WorkerTask = { memory: engine.memory, module: engine.module, net, index: i };
      this.tasks.push(this.pool.run(task));
    }
    // A worker that fails to start must not leave ready() waiting forever.
    for (const t of this.tasks) t.catch(() => Atomics.store(this.words, (net + L.NT_FAILED) >> 2, 1));
  }

  /** Resolves once every worker waits for runs. */
  async ready(): Promise<void> {
    const i = (this.net + L.NT_READY) >> 2;
    while (Atomics.load(this.words, i) < this.count - 1) {
      if (Atomics.load(this.words, (this.net + L.NT_FAILED) >> 2) !== 0) {
        await Promise.allSettled(this.tasks);
        const why = await Promise.race(this.tasks.map((t) => t.then(() => 'stopped', (e: Error) => e.message)));
        throw new Error(`network: a worker failed to start: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  get isReady(): boolean {
    return Atomics.load(this.words, (this.net + L.NT_READY) >> 2) >= this.count - 1;
  }

  /** Starts the run described in the network record on every worker. */
  start(): void {
    Atomics.store(this.words, (this.net + L.NT_DONE) >> 2, 0);
    Atomics.store(this.words, (this.net + L.NT_CMD) >> 2, L.CMD_RUN);
    Atomics.add(this.words, (this.net + L.NT_RUN_GEN) >> 2, 1);
    Atomics.notify(this.words, (this.net + L.NT_RUN_GEN) >> 2);
  }

  /** Waits (blocking) until every worker has finished the run. */
  join(): void {
    const i = (this.net + L.NT_DONE) >> 2;
    for (let done = Atomics.load(this.words, i); done < this.count - 1; done = Atomics.load(this.words, i)) {
      // The workers end a run together with the calling thread: a short spin usually sees them done.
      if (!spinWhile(this.words, i, done, 1)) Atomics.wait(this.words, i, done, 100);
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.words, (this.net + L.NT_CMD) >> 2, L.CMD_STOP);
    Atomics.add(this.words, (this.net + L.NT_RUN_GEN) >> 2, 1);
    Atomics.notify(this.words, (this.net + L.NT_RUN_GEN) >> 2);
    await Promise.allSettled(this.tasks);
    await this.pool.destroy();
  }
}
