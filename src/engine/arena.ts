// Regions of the shared linear memory, laid out by the control plane.
// The data plane never allocates: every table, counter block and buffer pool
// lives in a region handed out here, so many wasm instances (one per worker)
// can share one memory without sharing a heap pointer.

const PAGE = 65536;

export class Arena {
  private top: number;
  // Freed regions, by exact rounded size, for the next region of that size.
  private readonly free = new Map<number, number[]>();

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = align(base, 64);
  }

  /** A zeroed region of `size` bytes, 64-byte aligned (a cache line). */
  alloc(size: number): number {
    const rounded = roundSize(size);
    const reuse = this.free.get(rounded);
    if (reuse && reuse.length > 0) {
      const ptr = reuse.pop()!;
      new Uint8Array(this.memory.buffer, ptr, rounded).fill(0);
      return ptr;
    }
    const ptr = this.top;
    const end = ptr + rounded;
    if (end > 0xffff_0000) throw new Error(`out of memory: cannot place ${size} bytes in a 4 GiB memory`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return ptr;
  }

  /** Returns a region for reuse. The caller guarantees no reader still holds it. */
  release(ptr: number, size: number): void {
    const rounded = roundSize(size);
    let list = this.free.get(rounded);
    if (!list) this.free.set(rounded, (list = []));
    list.push(ptr);
  }

  /** Bytes handed out so far (the high-water mark of the memory in use). */
  get used(): number {
    return this.top;
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

// Rounded to a power of two up to 64 KiB and to whole 64 KiB beyond, so
// released regions are found again by size.
function roundSize(size: number): number {
  if (size <= 64) return 64;
  if (size <= 65536) return 2 ** Math.ceil(Math.log2(size));
  return align(size, 65536);
}
