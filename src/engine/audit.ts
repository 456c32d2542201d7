// The buffer-accounting invariant: for every pool of the contexts a call
// used, free + held in queues == capacity, once the call's outputs are
// given back. The debug build checks it after every batch (Host.receive,
// send, tick; Network.run), as does any engine when PODNET_AUDIT=1 (the
// test suite sets it): no call may leave a buffer behind.
import * as L from './layout.gen.js';
import type { Engine } from './engine.js';
import type { Context } from './context.js';

type Fn = (...args: number[]) => number;

/** Throws when a pool of `contexts` has lent out a buffer no queue of the engine holds. */
export function auditBuffers(engine: Engine, contexts: Context[]): void {
  const dp = engine.dp;
  (dp.audit_begin as Fn)();
  for (const h of engine.registry.hosts) (dp.audit_host as Fn)(h);
  for (const s of engine.registry.segments) (dp.audit_segment as Fn)(s);
  for (const n of engine.registry.networks) (dp.audit_network as Fn)(n);
  const dv = engine.dv;
  for (const c of contexts) {
    for (let k = 0; k < L.BUF_CLASSES; k++) {
      const p = c.ptr + L.C_POOLS + k * L.POOL_SIZE;
      const free = dv.getUint32(p + L.PL_FREE, true);
      const held = dv.getUint32(p + L.PL_HELD, true);
      const cap = dv.getUint32(p + L.PL_CAP, true);
      if (free + held !== cap) {
        throw new Error(`podnet: buffer audit: a pool of ${dv.getUint32(p + L.PL_BUF, true)}-byte buffers has ${free} free and ${held} queued of ${cap}: ${cap - free - held} unaccounted for`);
      }
    }
  }
}

/** Whether calls on this engine audit their buffers: the debug build, or PODNET_AUDIT=1. */
export function auditing(debug: boolean): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return debug || env?.PODNET_AUDIT === '1';
}
