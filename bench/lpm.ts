// Bench mode 'lpm': IPv4 longest-prefix-match lookups per second on an
// Internet-shaped table (1M prefixes; 100K with --quick) and on a host-sized
// one (1,000 routes), random destinations, batches of 256, one core.
import { createRequire } from 'node:module';
import { Engine } from '../src/engine/engine.js';
import { buildLpm } from '../src/tables/lpm.js';
import { ABSENT, modelLpm } from './baseline.js';
import { internetTable, prng } from './tables.js';
import type { BenchMode, BenchOptions, BenchResult } from './types.js';
import { median } from './timing.js';
import { formatIPv4 } from '../src/packet/addr.js';

const BATCH = 256;
const SMALL = 1000;

type Batch = (root: number, addrs: number, out: number, n: number) => void;


/** Median ns per lookup of `rounds` passes of lpm_lookup_batch over all destinations. */
function timeTable(e: Engine, blob: Uint8Array, dst: number, nDst: number, out: number, rounds: number): number {
  const lookup = e.dp.lpm_lookup_batch as Batch;
  const root = e.alloc(blob.length);
  e.u8.set(blob, root);
  const pass = () => {
    for (let i = 0; i < nDst; i += BATCH) lookup(root, dst + i * 4, out, Math.min(BATCH, nDst - i));
  };
  pass(); // warm up: JIT tier-up, caches, page faults
  pass();
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    pass();
    ns.push(Number(process.hrtime.bigint() - t0) / nDst);
  }
  e.arena.release(root, blob.length);
  return median(ns);
}

/** Lookups per second of a JS lookup function over the first n destinations. */
function timeJs(lookup: (a: number) => unknown, dsts: Uint32Array, n: number, rounds: number): number {
  const ns: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (lookup(dsts[i])) sink++;
    if (r > 0) ns.push(Number(process.hrtime.bigint() - t0) / n);
  }
  if (sink < 0) console.log(sink);
  return 1e3 / median(ns);
}

function row(flows: number, nsPer: number, extra: Record<string, unknown>): BenchResult {
  const mpps = 1e3 / nsPer;
  return { mode: 'lpm', size: 64, flows, workers: 1, mpps, gbps: (mpps * 64 * 8) / 1000, nsPerPacket: nsPer, ...extra };
}

export const lpmMode: BenchMode = {
  name: 'lpm',
  description: 'IPv4 longest-prefix match (Poptrie): lookups/s on an Internet-shaped table and a 1,000-route table, random destinations',
  defaultSizes: [64],
  flows: { what: 'prefixes in the large table', min: 1, max: 2_000_000 },
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const count = opts.flows > 0 ? opts.flows : opts.quick ? 100_000 : 1_000_000;
    const nDst = opts.quick ? 1 << 18 : 1 << 20;
    const rounds = opts.quick ? 5 : 15;
    opts.progress(0, 'generating tables');

    const table = internetTable(count, 1);
    const small = internetTable(SMALL, 2);
    const t0 = performance.now();
    const blob = buildLpm(table);
    const buildMs = performance.now() - t0;
    const smallBlob = buildLpm(small);
    opts.progress(0.2, 'lookups');

    const e = new Engine({ initialMiB: Math.ceil((blob.length + nDst * 8) / (1 << 20)) + 40 });
    const rnd = prng(7);
    const dsts = new Uint32Array(nDst);
    for (let i = 0; i < nDst; i++) dsts[i] = rnd();
    const dst = e.alloc(nDst * 4);
    new Uint32Array(e.memory.buffer, dst, nDst).set(dsts);
    const out = e.alloc(BATCH * 4);

    const nsBig = timeTable(e, blob, dst, nDst, out, rounds);
    opts.progress(0.45, 'lookups, 1,000 routes');
    const nsSmall = timeTable(e, smallBlob, dst, nDst, out, rounds);
    opts.progress(0.55, 'baselines');

    // Baselines on the same destinations, fewer of them: they are much slower.
    const model = await modelLpm();
    let modelRate: number | null = ABSENT;
    if (model) {
      const m = new model.ModelLpm();
      for (let i = 0; i < table.count; i++) m.set(table.addrs[i], table.lens[i], table.values[i]);
      modelRate = timeJs((a) => m.lookup(a), dsts, opts.quick ? 20_000 : 100_000, 3);
    }

    // The npm package: a bit-per-level trie of objects keyed by strings. It
    // takes the same table (about 5 s to build a million prefixes). It is a
    // development dependency: an installed podnet reports it absent.
    let npmRate: number | null = ABSENT;
    let LongestPrefixMatch: (new () => { addPrefix(p: string, v: unknown): void; getMatch(a: string): unknown[] }) | undefined;
    try {
      LongestPrefixMatch = createRequire(import.meta.url)('longest-prefix-match');
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
    if (LongestPrefixMatch) {
      const npm = new LongestPrefixMatch();
      for (let i = 0; i < table.count; i++) {
        npm.addPrefix(`${formatIPv4(table.addrs[i])}/${table.lens[i]}`, table.values[i]);
        if (i % 65536 === 0) opts.progress(0.7 + (0.25 * i) / table.count, 'baseline: longest-prefix-match (npm)');
      }
      opts.progress(0.95, 'baseline: longest-prefix-match (npm)');
      const nNpm = opts.quick ? 5_000 : 20_000;
      const strs = Array.from(dsts.subarray(0, nNpm), (a) => `${formatIPv4(a)}/32`);
      npmRate = timeJs((i) => npm.getMatch(strs[i as number]).length, Uint32Array.from(strs.keys()), nNpm, 3);
    }
    opts.progress(1);

    const baselines = { 'longest-prefix-match (npm)': npmRate, model: modelRate };
    return [
      row(table.count, nsBig, {
        label: `${table.count.toLocaleString('en-US')}-prefix table, random destinations`,
        tableBytes: blob.length,
        smallTableBytes: smallBlob.length,
        buildMs,
        baselines,
        baselineTableSize: table.count,
      }),
      row(SMALL, nsSmall, {
        label: '1,000-route table, random destinations',
        tableBytes: smallBlob.length,
      }),
    ];
  },
};
