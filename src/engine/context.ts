// A worker's context in the data plane: its buffer pool, the batch vectors
// it fills and reads, and scratch space (layout.ts: CTX_*).
import type { Engine, DataPlane } from './engine.js';
import * as L from './layout.gen.js';

export interface ContextOptions {
  /** Tiny packet buffers (BUF_SIZE_TINY each: frames up to 128 bytes). */
  tinyBuffers?: number;
  /** Small packet buffers (BUF_SIZE each: frames up to MAX_FRAME bytes). */
  buffers?: number;
  /** Jumbo buffers (BUF_SIZE_JUMBO each: frames of 9000-byte MTUs). */
  jumboBuffers?: number;
  /** Huge buffers (BUF_SIZE_HUGE each: frames up to MAX_FRAME_HUGE bytes, reassembled datagrams). */
  hugeBuffers?: number;
  /**
   * How many times its first size each pool may grow to when it runs empty
   * (default 1: fixed). The address space is laid out for the maximum; only
   * the buffers used cost memory.
   */
  growth?: number;
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

/** The number of a context that belongs to no network (network workers are 0..63). */
const NO_NETWORK = 255;

export class Context {
  readonly ptr: number;
  readonly input: number;
  readonly batch: number;
  readonly output: number;
  readonly outputs: number;
  /** Small buffers in the pool. */
  readonly buffers: number;
  /** Buffers of each size class, smallest first. */
  readonly classes: { size: number; count: number; max: number }[];
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
    const growth = opts.growth ?? 1;
    if (!Number.isInteger(growth) || growth < 1 || growth > 64) throw new Error(`context: growth must be 1..64, got ${growth}`);
    this.classes = [
      { size: L.BUF_SIZE_TINY, count: opts.tinyBuffers ?? 16384 },
      { size: L.BUF_SIZE, count: this.buffers },
      { size: L.BUF_SIZE_JUMBO, count: opts.jumboBuffers ?? 512 },
      { size: L.BUF_SIZE_HUGE, count: opts.hugeBuffers ?? 64 },
    ].map((c) => ({ ...c, max: c.count * growth }));
    for (const c of this.classes) {
      if (!Number.isInteger(c.count) || c.count < 1) throw new Error(`context: invalid buffer count ${c.count}`);
    }
    const scratch = e.alloc(L.SCRATCH_SIZE);
    const dv = e.dv;
    dv.setUint32(this.ptr + L.C_OUT, this.output, true);
    dv.setUint32(this.ptr + L.C_OUT_CAP, this.outputs, true);
    dv.setUint32(this.ptr + L.C_SCRATCH, scratch, true);
    dv.setUint32(this.ptr + L.C_ID, NO_NETWORK, true);
    dv.setUint32(this.ptr + L.C_IN, this.input, true);
    dv.setUint32(this.ptr + L.C_IN_CAP, this.batch, true);
    // On the engine's list of contexts, which a buffer far from home is returned through.
    dv.setUint32(this.ptr + L.C_NEXT, dv.getUint32(L.ENGINE_CONTEXTS, true), true);
    this.classes.forEach((c, i) => {
      const stack = e.alloc(c.max * 4);
      const pool = e.alloc(c.max * c.size);
      (this.dp.pool_init as Fn)(this.ptr, i, stack, pool, c.count, c.size, c.max);
    });
    this.engine.dv.setUint32(L.ENGINE_CONTEXTS, this.ptr, true);
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

  /** Makes this the context of worker k of a network, with its flags (CTX_NETWORK, CTX_RECORD_*). */
  network(k: number, flags: number): void {
    const dv = this.engine.dv;
    dv.setUint32(this.ptr + L.C_ID, k, true);
    dv.setUint32(this.ptr + L.C_FLAGS, flags, true);
  }

  /** Free buffers left in the pools, all classes. */
  get free(): number {
    let n = 0;
    for (let i = 0; i < this.classes.length; i++) n += this.freeOf(i);
    return n;
  }

  /** Buffers in the pools, all classes (pools that grew count what they grew to). */
  get capacity(): number {
    let n = 0;
    for (let i = 0; i < this.classes.length; i++) n += this.engine.dv.getUint32(this.ptr + L.C_POOLS + i * L.POOL_SIZE + L.PL_CAP, true);
    return n;
  }

  /** Free buffers of size class i. */
  freeOf(i: number): number {
    return this.engine.dv.getUint32(this.ptr + L.C_POOLS + i * L.POOL_SIZE + L.PL_FREE, true);
  }

  /**
   * Also record the fates of inputs that leave no frame: O_CONSUMED (the
   * host took it: ARP, an echo it answered, a fragment that went into its
   * datagram) and O_QUEUED (waiting for ARP: it leaves later, in another
   * call, with its tag; or a fragment waiting for its datagram's other
   * fragments: later consumed or dropped). With recordDrops, every input
   * then has a record in the outputs.
   */
  set recordFates(on: boolean) {
    const dv = this.engine.dv;
    const f = dv.getUint32(this.ptr + L.C_FLAGS, true);
    dv.setUint32(this.ptr + L.C_FLAGS, on ? f | L.CTX_RECORD_FATES : f & ~L.CTX_RECORD_FATES, true);
  }

  /**
   * Writes descriptor i for an input that has no buffer (too long for any, or
   * none free in the pool its caller draws from): the host counts it and
   * drops it, FRAME_TOO_LONG or NOMEM.
   */
  setUnplaced(i: number, kind: number, link: number, len: number, tag: number, why: 'too-long' | 'nomem'): void {
    const p = this.input + i * L.DESC_SIZE;
    const dv = this.engine.dv;
    dv.setUint32(p + L.D_BUF, 0, true);
    dv.setUint16(p + L.D_OFF, 0, true);
    dv.setUint16(p + L.D_LEN, Math.min(len, 0xffff), true);
    dv.setUint16(p + L.D_LINK, link, true);
    dv.setUint8(p + L.D_KIND, kind);
    dv.setUint8(p + L.D_FLAGS, why === 'too-long' ? L.DF_TOO_LONG : L.DF_NOMEM);
    dv.setUint32(p + L.D_TAG, tag >>> 0, true);
  }

  /**
   * Writes descriptor i of the input vector for a frame already in one of
   * this context's buffers (an output of an earlier call, say): no copy.
   */
  setDescriptor(i: number, d: { buf: number; off: number; len: number; link: number; kind: number; tag: number }): void {
    const p = this.input + i * L.DESC_SIZE;
    const dv = this.engine.dv;
    dv.setUint32(p + L.D_BUF, d.buf, true);
    dv.setUint16(p + L.D_OFF, d.off, true);
    dv.setUint16(p + L.D_LEN, d.len, true);
    dv.setUint16(p + L.D_LINK, d.link, true);
    dv.setUint8(p + L.D_KIND, d.kind);
    dv.setUint8(p + L.D_FLAGS, 0);
    dv.setUint32(p + L.D_TAG, d.tag >>> 0, true);
  }

  set recordDrops(on: boolean) {
    const dv = this.engine.dv;
    const f = dv.getUint32(this.ptr + L.C_FLAGS, true);
    dv.setUint32(this.ptr + L.C_FLAGS, on ? f | L.CTX_RECORD_DROPS : f & ~L.CTX_RECORD_DROPS, true);
  }

  /** A small buffer from the pool; throws when the pool is empty. */
  allocBuffer(): number {
    const buf = this.allocBufferFor(L.BUF_SIZE);
    if (buf === 0) throw new Error('podnet: packet buffer pool exhausted');
    return buf;
  }

  /** A buffer holding at least `bytes` from its start (the smallest class that has one), or 0. */
  allocBufferFor(bytes: number): number {
    return (this.dp.pool_alloc as Fn)(this.ptr, bytes) >>> 0;
  }

  freeBuffer(buf: number): void {
    (this.dp.pool_free as Fn)(this.ptr, buf);
  }

  /**
   * Writes descriptor i of the input vector with bytes copied into a fresh
   * buffer. A frame no buffer holds, or one that finds its class empty, gets
   * no buffer: the data plane counts it and drops it (FRAME_TOO_LONG, NOMEM).
   */
  setInput(i: number, kind: number, link: number, bytes: Uint8Array, tag: number, off = L.HEADROOM): void {
    const d = this.input + i * L.DESC_SIZE;
    const fits = bytes.length + off <= L.BUF_SIZE_HUGE;
    const buf = fits ? this.allocBufferFor(bytes.length + off) : 0;
    const dv = this.engine.dv;
    if (buf !== 0) this.engine.u8.set(bytes, buf + off);
    dv.setUint32(d + L.D_BUF, buf, true);
    dv.setUint16(d + L.D_OFF, off, true);
    dv.setUint16(d + L.D_LEN, Math.min(bytes.length, 0xffff), true);
    dv.setUint16(d + L.D_LINK, link, true);
    dv.setUint8(d + L.D_KIND, kind);
    dv.setUint8(d + L.D_FLAGS, buf !== 0 ? 0 : fits ? L.DF_NOMEM : L.DF_TOO_LONG);
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
