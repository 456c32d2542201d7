// The engine against the reference model: same topology, same frames, same
// times; outputs must agree packet for packet, counters number for number.
// And the engine must never trap, whatever the bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { applyTopology, arbFrame, arbScenario, arbTopology, type HostLike, type Scenario } from './arb/topology.js';
import { batches, comparableStats, conservationError, diffOutputs, runBatch, type DataPlaneLike } from './model/drive.js';
import { ModelHost } from './model/host.js';

type EngineHost = HostLike & DataPlaneLike;

async function engineFor(sc: Scenario, name: string): Promise<EngineHost> {
  const host = (await Host.create({ name, forwarding: sc.topology.forwarding, neigh: sc.topology.neigh })) as unknown as EngineHost;
  applyTopology(sc.topology, host);
  return host;
}

/** Frees the engine host if Host offers a way to. */
function dispose(host: unknown): void {
  const h = host as { destroy?: () => void; close?: () => void };
  (h.destroy ?? h.close)?.call(h);
}

/** Runs one scenario on both; throws a readable account of the first disagreement. */
async function compare(sc: Scenario, run: number): Promise<void> {
  const model = ModelHost.create({ name: 'model', forwarding: sc.topology.forwarding, neigh: sc.topology.neigh });
  applyTopology(sc.topology, model);
  const engine = await engineFor(sc, `diff${run}`);
  try {
    for (const [i, b] of batches(sc.events).entries()) {
      const want = await runBatch(model, b);
      const got = await runBatch(engine, b);
      const where = `event #${i} (${b.kind} at ${b.now} ms)`;
      const diff = diffOutputs(want, got);
      if (diff) throw new Error(`${where}: ${diff}`);
      const ms = comparableStats(model.stats());
      const es = comparableStats(await engine.stats());
      expect(es, `${where}: counters`).toEqual(ms);
      const broken = conservationError(await engine.stats());
      if (broken) throw new Error(`${where}: engine ${broken}`);
      expect(conservationError(model.stats()), `${where}: model`).toBeUndefined();
    }
  } finally {
    dispose(engine);
  }
}

describe('engine vs reference model', () => {
  it('agree on random topologies and traffic, output for output', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(arbScenario(), (sc) => compare(sc, run++)),
      { numRuns: 200, seed: 0x0d1ff },
    );
  });
});

/** Stage events are a bonus the model keeps too: compared apart, so they never mask a real disagreement. */
async function compareStages(sc: Scenario, run: number): Promise<void> {
  const model = ModelHost.create({ name: 'model', forwarding: sc.topology.forwarding, neigh: sc.topology.neigh });
  applyTopology(sc.topology, model);
  const engine = await engineFor(sc, `stages${run}`);
  try {
    for (const b of batches(sc.events)) {
      await runBatch(model, b);
      await runBatch(engine, b);
    }
    const nonZero = (x: Record<string, number>) => Object.fromEntries(Object.entries(x).filter(([, v]) => v).sort());
    expect(nonZero((await engine.stats()).stages)).toEqual(nonZero(model.stats().stages));
  } finally {
    dispose(engine);
  }
}

describe('engine vs reference model: stage counters', () => {
  it('count the same stage events', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(arbScenario(), (sc) => compareStages(sc, run++)),
      { numRuns: 100, seed: 0x57a9e },
    );
  });
});

describe('engine robustness', () => {
  it('never traps on 100,000 random and mutated frames, and conservation holds after every batch', async () => {
    const BATCH = 256;
    const TOTAL = 100_000;
    const topologies = fc.sample(arbTopology, { seed: 0xbadf00d, numRuns: 8 });
    const perTopology = Math.ceil(TOTAL / topologies.length / BATCH) * BATCH;
    let sent = 0;
    for (const [i, topology] of topologies.entries()) {
      const host = await engineFor({ topology, events: [] }, `notrap${i}`);
      const frames = fc.sample(
        fc.constantFrom(...topology.pool.rxLinks).chain((link) => fc.record({ link: fc.constant(link), frame: fc.oneof(arbFrame(topology, link), fc.uint8Array({ maxLength: 1600 })) })),
        { seed: i, numRuns: perTopology },
      );
      let now = 0;
      for (let off = 0; off < frames.length; off += BATCH) {
        now += [0, 1, 999, 1000, 3001][(off / BATCH) % 5];
        const batch = frames.slice(off, off + BATCH).map((f, j) => ({ ...f, tag: off + j }));
        await host.receive(batch, now);
        sent += batch.length;
        const broken = conservationError(await host.stats());
        if (broken) throw new Error(`topology ${i}, frames ${off}..${off + BATCH}: ${broken}`);
      }
      await host.tick(now + 10_000);
      expect(conservationError(await host.stats())).toBeUndefined();
      dispose(host);
    }
    expect(sent).toBeGreaterThanOrEqual(TOTAL);
  });
});
