// A fuzz frame's recipe: FUZZ_WORDS numbers (assembly/fuzz/layout.ts) that
// the data plane renders into a frame. The fast path draws them in bulk in
// the data plane (assembly/fuzz/draw.ts: no object per frame); shrinking
// treats them as fast-check values, each word shrinking towards 0: the first
// template, each knob's first value, no mutation, no pause.
import fc from 'fast-check';
import * as L from '../engine/layout.gen.js';

export const WORDS = L.FUZZ_WORDS;

/** One frame's recipe, as fast-check shrinks it. */
export type Recipe = number[];

/** A small fast generator (mulberry32), for the seeds of epochs and their pauses. */
export function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seed for epoch e of a run seeded `seed`. */
export function epochSeed(seed: number, epoch: number): number {
  return generator((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0)();
}

/** The fast-check arbitrary of recipe sequences over `templates` templates. */
export function arbRecipes(templates: number, maxLength: number): fc.Arbitrary<Recipe[]> {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const recipe = fc.tuple(
    fc.integer({ min: 0, max: templates - 1 }),
    ...Array.from({ length: L.FUZZ_KNOBS }, () => u32),
    fc.integer({ min: 0, max: L.MUT_COUNT - 1 }),
    u32,
    fc.integer({ min: 0, max: 400_000 }),
  );
  return fc.array(recipe as unknown as fc.Arbitrary<Recipe>, { maxLength });
}

/** Recipes [from, to) of a typed array as fast-check values. */
export function toRecipes(words: Uint32Array, from: number, to: number): Recipe[] {
  const out: Recipe[] = [];
  for (let i = from; i < to; i++) out.push(Array.from(words.subarray(i * WORDS, (i + 1) * WORDS)));
  return out;
}

/** fast-check values back into a typed array. */
export function fromRecipes(rs: Recipe[]): Uint32Array {
  const out = new Uint32Array(rs.length * WORDS);
  rs.forEach((r, i) => out.set(r, i * WORDS));
  return out;
}
