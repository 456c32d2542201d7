// A barrier in the shared memory for the threads of a network run (a
// generation counter and an arrival count): the last to arrive opens it.
// Waiters spin a little first, since a wave is often shorter than a sleep.
import * as L from '../engine/layout.gen.js';

const SPINS = 4000;

export class Barrier {
  private readonly count: number;
  private readonly gen: number;
  private readonly failed: number;

  constructor(private readonly words: Int32Array, net: number, private readonly parties: number) {
    this.count = (net + L.NT_BAR_COUNT) >> 2;
    this.gen = (net + L.NT_BAR_GEN) >> 2;
    this.failed = (net + L.NT_FAILED) >> 2;
  }

  /** Waits for every party; throws when one of them failed instead of arriving. */
  wait(): void {
    const w = this.words;
    const gen = Atomics.load(w, this.gen);
    if (Atomics.add(w, this.count, 1) === this.parties - 1) {
      Atomics.store(w, this.count, 0);
      Atomics.add(w, this.gen, 1);
      Atomics.notify(w, this.gen);
      return;
    }
    for (let i = 0; i < SPINS; i++) if (Atomics.load(w, this.gen) !== gen) return;
    while (Atomics.load(w, this.gen) === gen) {
      Atomics.wait(w, this.gen, gen, 50);
      if (Atomics.load(w, this.failed) !== 0) throw new Error('network run: a worker failed');
    }
  }

  /** Marks the run failed and wakes everyone waiting. */
  fail(): void {
    Atomics.store(this.words, this.failed, 1);
    Atomics.notify(this.words, this.gen);
  }
}
