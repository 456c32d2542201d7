// A barrier in the shared memory for the threads of a network run (a
// generation counter and an arrival count): the last to arrive opens it.
// Waiters spin first: a wave takes about a millisecond and the threads
// arrive a fraction of it apart, while waking a sleeping thread costs tens
// of microseconds on a virtual machine.
import * as L from '../engine/layout.gen.js';

/** How long a waiter spins before it sleeps, ms. */
const SPIN_MS = 2;

/** Spins until words[i] is no longer `value` or `ms` have passed; whether it changed. */
export function spinWhile(words: Int32Array, i: number, value: number, ms: number): boolean {
  const end = performance.now() + ms;
  for (;;) {
    for (let k = 0; k < 256; k++) if (Atomics.load(words, i) !== value) return true;
    if (performance.now() > end) return false;
  }
}

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
    if (spinWhile(w, this.gen, gen, SPIN_MS)) return;
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
