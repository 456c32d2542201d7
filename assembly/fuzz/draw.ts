// Drawing the fuzzer's recipes in bulk, from a seeded generator kept in
// memory (mulberry32): the same seed, the same frames, on any machine.
import { FUZZ_WORDS, FW_TEMPLATE, FW_KNOBS, FW_MUTATION, FW_MUT_ARG, FW_GAP, FUZZ_KNOBS, MUT_COUNT } from './layout';

@inline function next(state: usize): u32 {
  const s = load<u32>(state) + 0x6d2b79f5;
  store<u32>(state, s);
  let t = (s ^ (s >>> 15)) * (s | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return t ^ (t >>> 14);
}

/**
 * Fills recipes [from, to) at `out` from the generator at `state`: a
 * template of `templates`, a word for each knob, and for one frame in four a
 * mutation. FW_GAP is left 0: the caller marks where batches start.
 */
export function fuzz_draw(state: usize, out: usize, from: u32, to: u32, templates: u32): void {
  for (let i = from; i < to; i++) {
    const w = out + <usize>i * FUZZ_WORDS * 4;
    store<u32>(w + FW_TEMPLATE * 4, next(state) % templates);
    for (let k: u32 = 0; k < FUZZ_KNOBS; k++) store<u32>(w + (FW_KNOBS + k) * 4, next(state));
    const r = next(state);
    const mutated = (r & 3) == 0;
    store<u32>(w + FW_MUTATION * 4, mutated ? 1 + (r >>> 2) % (MUT_COUNT - 1) : 0);
    store<u32>(w + FW_MUT_ARG * 4, mutated ? next(state) : 0);
    store<u32>(w + FW_GAP * 4, 0);
  }
}
