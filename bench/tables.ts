// Synthetic routing tables for the benchmarks, deterministic from a seed.
import type { PrefixSet } from '../src/tables/lpm.js';

/** mulberry32: a small deterministic PRNG returning uint32s. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// Prefixes per length in a table of a million, roughly the 2024 IPv4 BGP
// table: 59% /24, most of the rest /16../23, a thin spread of /8../15 and
// /25../32.
const LEN_WEIGHTS: [number, number][] = [
  [8, 16], [9, 13], [10, 37], [11, 100], [12, 300], [13, 600], [14, 1100], [15, 1900],
  [16, 13500], [17, 8500], [18, 14500], [19, 26000], [20, 42000], [21, 55000], [22, 120000], [23, 110000],
  [24, 590000], [25, 3000], [26, 3000], [27, 2000], [28, 2000], [29, 2000], [30, 1500], [31, 500], [32, 2000],
];
const LEN_TOTAL = LEN_WEIGHTS.reduce((a, [, w]) => a + w, 0);

function pickLen(r: number): number {
  let x = r % LEN_TOTAL;
  for (const [len, w] of LEN_WEIGHTS) {
    if (x < w) return len;
    x -= w;
  }
  return 24;
}

/**
 * An Internet-shaped table of `count` distinct prefixes with nexthop ids 1..256.
 * Prefixes cluster like allocations do: most are carved out near an earlier
 * one (so more-specifics nest inside covering routes), the rest start anywhere
 * in 1.0.0.0-223.255.255.255 outside 10/8 and 127/8.
 */
export function internetTable(count: number, seed: number): PrefixSet {
  const rnd = prng(seed);
  const t: PrefixSet = { addrs: new Uint32Array(count), lens: new Uint8Array(count), values: new Uint16Array(count), count };
  const seen = new Set<number>();
  let n = 0;
  while (n < count) {
    const len = pickLen(rnd());
    let addr: number;
    if (n > 0 && rnd() % 10 < 7) {
      // Near an earlier prefix: same /12 to /20, another offset below it.
      const near = t.addrs[rnd() % n];
      const keep = 12 + (rnd() % 9);
      addr = ((near & (0xffffffff << (32 - keep))) | (rnd() & (0xffffffff >>> keep))) >>> 0;
    } else {
      addr = rnd();
    }
    const top = addr >>> 24;
    if (top === 0 || top === 10 || top === 127 || top >= 224) continue;
    addr = (addr & (0xffffffff << (32 - len))) >>> 0;
    const key = addr * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    t.addrs[n] = addr;
    t.lens[n] = len;
    t.values[n] = 1 + (rnd() & 255);
    n++;
  }
  return t;
}
