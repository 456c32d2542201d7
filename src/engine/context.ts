// A worker's context in the data plane: its buffer pool, the batch vectors
// it fills and reads, and scratch space (layout.ts: CTX_*).
import type { Engine, DataPlane } from './engine.js';
import * as L from './layout.gen.js';

export interface ContextOptions {
  /** Packet buffers in the pool (BUF_SIZE each). */
  buffers?: number;
  /** Descriptors in the input vector (a batch). */
  batch?: number;
  /** Descriptors in the output vector. */
  outputs?: number;
}

export interface RawOutput {
  kind: number;
  buf: number;
  off: number;
  len: number;
  link: number;
  reason: number;
  host: number;
  tag: number;
  aux: number;
}

type Fn = (...args: number[]) => number;

export class Context {
  readonly ptr: number;
  readonly input: number;
  readonly batch: number;
  readonly output: number;
  readonly outputs: number;
  readonly buffers: number;
  private readonly dp: DataPlane;

  constructor(readonly engine: Engine, opts: ContextOptions = {}, dp?: DataPlane) {
    this.dp = dp ?? engine.dp;
    this.buffers = opts.buffers ?? 16384;
    this.batch = opts.batch ?? 256;
    this.outputs = opts.outputs ?? 8192;
    const e = engine;
    this.ptr = e.alloc(L.CTX_SIZE);
    this.input = e.alloc(this.batch * L.DESC_SIZE);
    this.output = e.alloc(this.outputs * L.DESC_SIZE);
    const stack = e.alloc(this.buffers * 4);
    const pool = e.alloc(this.buffers * L.BUF_SIZE);
    const scratch = e.alloc(L.SCRATCH_SIZE);
    const dv = e.dv;
    dv.setUint32(this.ptr + L.C_OUT, this.output, true);
    dv.setUint32(this.ptr + L.C_OUT_CAP, this.outputs, true);
    dv.setUint32(this.ptr + L.C_SCRATCH, scratch, true);
    (this.dp.pool_init as Fn)(this.ptr, stack, pool, this.buffers);
  }

  /**
   * Where the data plane writes outputs (default: this context's own output
   * vector). Alternating two vectors lets one host's output be the next
   * host's input without a copy.
   */
  outputTo(vec: number, capacity: number): void {
    const dv = this.engine.dv;
    dv.setUint32(this.ptr + L.C_OUT, vec, true);
    dv.setUint32(this.ptr + L.C_OUT_CAP, capacity, true);
  }

  /** Free buffers left in the pool. */
  get free(): number {
    return this.engine.dv.getUint32(this.ptr + L.C_POOL_FREE, true);
  }

  set recordDrops(on: boolean) {
    const dv = this.engine.dv;
    const f = dv.getUint32(this.ptr + L.C_FLAGS, true);
    dv.setUint32(this.ptr + L.C_FLAGS, on ? f | L.CTX_RECORD_DROPS : f & ~L.CTX_RECORD_DROPS, true);
  }

  /** A buffer from the pool; throws when the pool is empty. */
  allocBuffer(): number {
    const buf = (this.dp.pool_alloc as Fn)(this.ptr);
    if (buf === 0) throw new Error('podnet: packet buffer pool exhausted');
    return buf;
  }

  freeBuffer(buf: number): void {
    (this.dp.pool_free as Fn)(this.ptr, buf);
  }

  /** Writes descriptor i of the input vector with bytes copied into a fresh buffer. */
  setInput(i: number, kind: number, link: number, bytes: Uint8Array, tag: number, off = L.HEADROOM): void {
    if (bytes.length + off > L.BUF_SIZE) throw new Error(`podnet: packet of ${bytes.length} bytes exceeds the ${L.MAX_FRAME}-byte buffer`);
    const buf = this.allocBuffer();
    this.engine.u8.set(bytes, buf + off);
    const d = this.input + i * L.DESC_SIZE;
    const dv = this.engine.dv;
    dv.setUint32(d + L.D_BUF, buf, true);
    dv.setUint16(d + L.D_OFF, off, true);
    dv.setUint16(d + L.D_LEN, bytes.length, true);
    dv.setUint16(d + L.D_LINK, link, true);
    dv.setUint8(d + L.D_KIND, kind);
    dv.setUint32(d + L.D_TAG, tag >>> 0, true);
  }

  /** Runs the input vector's first n descriptors through host h. */
  process(host: number, n: number, now: number): number {
    return (this.dp.process as Fn)(this.ptr, host, this.input, n, now >>> 0);
  }

  tick(host: number, now: number): number {
    return (this.dp.tick as Fn)(this.ptr, host, now >>> 0);
  }

  readOutput(i: number): RawOutput {
    const d = this.output + i * L.DESC_SIZE;
    const dv = this.engine.dv;
    return {
      buf: dv.getUint32(d + L.D_BUF, true),
      off: dv.getUint16(d + L.D_OFF, true),
      len: dv.getUint16(d + L.D_LEN, true),
      link: dv.getUint16(d + L.D_LINK, true),
      kind: dv.getUint8(d + L.D_KIND),
      reason: dv.getUint16(d + L.D_REASON, true),
      host: dv.getUint32(d + L.D_HOST, true),
      tag: dv.getUint32(d + L.D_TAG, true),
      aux: dv.getUint32(d + L.D_AUX, true),
    };
  }
}

const contexts = new WeakMap<Engine, Context>();
/** The engine's context for control-plane calls and convenience I/O on this thread. */
export function mainContext(engine: Engine): Context {
  let c = contexts.get(engine);
  if (!c) contexts.set(engine, (c = new Context(engine)));
  return c;
}
