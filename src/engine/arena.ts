// Regions of the shared linear memory, laid out by the control plane.
// The data plane never allocates: every table, counter block and buffer pool
// lives in a region handed out here, so many wasm instances (one per worker)
// can share one memory without sharing a heap pointer.
//
// The arena's own state (the top, the free lists) lives in the shared memory
// too, behind a lock, so that any thread of the engine can grow a table of a
// host it owns between two batches.

const PAGE = 65536;
const MIN_CLASS = 6; // 64 bytes
const MAX_CLASS = 16; // 64 KiB; larger regions are whole 64 KiB multiples
// The header, at the arena's base: lock, top, then the list heads.
const A_LOCK = 0;
const A_TOP = 4;
const A_BIG = 8; // free regions above 64 KiB: a list of [next, size]
const A_SMALL = 12; // one head per power-of-two class
const HEADER = 64;

export class Arena {
  private readonly base: number;

  /** Lays out a new arena at base, or attaches to the one already there (another thread). */
  constructor(private readonly memory: WebAssembly.Memory, base: number, attach = false) {
    this.base = base;
    if (attach) return;
    if (base + HEADER > memory.buffer.byteLength) memory.grow(Math.ceil((base + HEADER - memory.buffer.byteLength) / PAGE));
    const w = this.words();
    Atomics.store(w, (base + A_TOP) >> 2, base + HEADER);
  }

  /** A zeroed region of `size` bytes, 64-byte aligned (a cache line). */
  alloc(size: number): number {
    if (!(size >= 0) || !Number.isFinite(size)) throw new Error(`arena: invalid region size ${size}`);
    const rounded = roundSize(size);
    return this.locked((w) => {
      const reused = rounded <= 1 << MAX_CLASS ? this.popSmall(w, rounded) : this.popBig(w, rounded);
      if (reused !== 0) {
        new Uint8Array(this.memory.buffer, reused, rounded).fill(0);
        return reused;
      }
      const ptr = w[(this.base + A_TOP) >> 2] >>> 0;
      const end = ptr + rounded;
      if (end > 0xffff_0000) throw new Error(`out of memory: cannot place ${size} bytes in a 4 GiB memory`);
      const have = this.memory.buffer.byteLength;
      if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
      w[(this.base + A_TOP) >> 2] = end;
      return ptr;
    });
  }

  /** Returns a region for reuse. The caller guarantees no reader still holds it. */
  release(ptr: number, size: number): void {
    const rounded = roundSize(size);
    this.locked((w) => {
      if (rounded <= 1 << MAX_CLASS) {
        const head = this.base + A_SMALL + (classOf(rounded) - MIN_CLASS) * 4;
        w[ptr >> 2] = w[head >> 2];
        w[head >> 2] = ptr;
      } else {
        w[ptr >> 2] = w[(this.base + A_BIG) >> 2];
        w[(ptr >> 2) + 1] = rounded;
        w[(this.base + A_BIG) >> 2] = ptr;
      }
      return 0;
    });
  }

  /** The index, in a Uint32Array of the memory, of the word holding the top. */
  get topWord(): number {
    return (this.base + A_TOP) >> 2;
  }

  /** Bytes handed out so far (the high-water mark of the memory in use). */
  get used(): number {
    return Atomics.load(this.words(), (this.base + A_TOP) >> 2) >>> 0;
  }

  private popSmall(w: Int32Array, rounded: number): number {
    const head = this.base + A_SMALL + (classOf(rounded) - MIN_CLASS) * 4;
    const ptr = w[head >> 2] >>> 0;
    if (ptr !== 0) w[head >> 2] = w[ptr >> 2];
    return ptr;
  }

  /** The first free region of exactly this size (sizes of big tables recur: they double). */
  private popBig(w: Int32Array, rounded: number): number {
    let prev = this.base + A_BIG;
    for (let p = w[prev >> 2] >>> 0; p !== 0; prev = p, p = w[p >> 2] >>> 0) {
      if (w[(p >> 2) + 1] >>> 0 === rounded) {
        w[prev >> 2] = w[p >> 2];
        return p;
      }
    }
    return 0;
  }

  private locked<T>(f: (w: Int32Array) => T): T {
    let w = this.words();
    const lock = (this.base + A_LOCK) >> 2;
    while (Atomics.compareExchange(w, lock, 0, 1) !== 0) Atomics.wait(w, lock, 1, 1);
    try {
      return f(w);
    } finally {
      w = this.words(); // f may have grown the memory
      Atomics.store(w, lock, 0);
      Atomics.notify(w, lock, 1);
    }
  }

  private words(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function classOf(rounded: number): number {
  return 31 - Math.clz32(rounded);
}

// Rounded to a power of two up to 64 KiB and to whole 64 KiB beyond, so
// released regions are found again by size.
function roundSize(size: number): number {
  if (size <= 1 << MIN_CLASS) return 1 << MIN_CLASS;
  if (size <= 1 << MAX_CLASS) return 2 ** Math.ceil(Math.log2(size));
  return align(size, 1 << MAX_CLASS);
}
