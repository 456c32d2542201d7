// Timing helpers: medians of repeated rounds, never a single measurement.

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `round` (which processes `units` packets) warm-up times, then `rounds`
 * timed times; returns the median ns per unit.
 */
export function nsPerUnit(round: () => void, units: number, rounds: number, warmup = 2, progress?: (f: number) => void): number {
  for (let i = 0; i < warmup; i++) round();
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    round();
    ns.push(Number(process.hrtime.bigint() - t0) / units);
    progress?.((r + 1) / rounds);
  }
  return median(ns);
}

/** Frame bytes on the wire (with the 4-byte FCS) to Gbit/s at a packet rate. */
export function gbps(mpps: number, size: number): number {
  return (mpps * size * 8) / 1000;
}
