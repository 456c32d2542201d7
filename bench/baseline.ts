// The reference model (test/model) measured on the same traffic, as the
// baseline each mode reports beside the engine: how much the engine's design
// buys over a plain, obvious implementation of the same semantics.
import { ModelHost } from '../test/model/host.js';
import { median } from './timing.js';

export interface ModelBaseline {
  /** Million packets per second through the model. */
  mpps: number;
}

/** Feeds `frames` to a model host built by `build`, in batches of 256; the median of `rounds`. */
export function modelMpps(build: (m: ModelHost) => void, frames: { link: string; frame: Uint8Array }[], rounds = 5): number {
  const m = ModelHost.create({ name: 'model', forwarding: true });
  build(m);
  const pass = () => {
    for (let i = 0; i < frames.length; i += 256) m.receive(frames.slice(i, i + 256).map((f, j) => ({ ...f, tag: i + j })), 1);
  };
  pass();
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    pass();
    ns.push(Number(process.hrtime.bigint() - t0) / frames.length);
  }
  return 1e3 / median(ns);
}
