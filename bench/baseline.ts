// The baselines each mode measures beside the engine. The reference model
// (test/model) shows how much the engine's design buys over a plain, obvious
// implementation of the same semantics; it is part of the repository, not of
// the installed package, so an installed podnet reports it as absent.
import type { ModelHost } from '../test/model/host.js';
import type { ModelLpm } from '../test/model/lpm.js';
import { median } from './timing.js';

/** A baseline that could not run here: shown as absent, never a crash. */
export const ABSENT = null;

type HostModule = { ModelHost: typeof ModelHost };
type LpmModule = { ModelLpm: typeof ModelLpm };

/** Imports a module of the reference model; undefined when this copy of podnet has none. */
async function optional<T>(load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

export function modelHosts(): Promise<HostModule | undefined> {
  return optional(() => import('../test/model/host.js'));
}

export function modelLpm(): Promise<LpmModule | undefined> {
  return optional(() => import('../test/model/lpm.js'));
}

/**
 * Feeds `frames` to a model host built by `build`, in batches of 256; the
 * median of `rounds`. null when the model is absent.
 */
export async function modelMpps(build: (m: ModelHost) => void, frames: { link: string; frame: Uint8Array }[], rounds = 5): Promise<number | null> {
  const model = await modelHosts();
  if (!model) return ABSENT;
  const m = model.ModelHost.create({ name: 'model', forwarding: true });
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
