// The LPM table (src/tables/lpm.ts builds, assembly/tables/lpm.ts looks up)
// against a linear scan and the reference model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../src/engine/engine.js';
import { buildLpm, chooseBits, prefixSetFrom, type PrefixSet } from '../src/tables/lpm.js';
import { internetTable, prng } from '../bench/tables.js';
import { ModelLpm } from './model/lpm.js';

type Prefix = { addr: number; len: number; value: number };
type Batch = (root: number, addrs: number, out: number, n: number) => void;

const release = new Engine();
const debug = new Engine({ debug: true });

function mask(addr: number, len: number): number {
  return len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
}

/** Looks the addresses up in the data plane with the table placed at a fresh region. */
function lookupAll(e: Engine, blob: Uint8Array, addrs: ArrayLike<number>): number[] {
  const n = addrs.length;
  const root = e.alloc(blob.length);
  e.u8.set(blob, root);
  const a = e.alloc(n * 4 + 4);
  const out = e.alloc(n * 4 + 4);
  for (let i = 0; i < n; i++) e.dv.setUint32(a + i * 4, addrs[i] >>> 0, true);
  (e.dp.lpm_lookup_batch as Batch)(root, a, out, n);
  const res: number[] = [];
  for (let i = 0; i < n; i++) res.push(e.dv.getUint32(out + i * 4, true));
  e.arena.release(root, blob.length);
  e.arena.release(a, n * 4 + 4);
  e.arena.release(out, n * 4 + 4);
  return res;
}

/** The obvious answer: scan every prefix, keep the longest match, the later of equal ones. */
function linearScan(list: Prefix[], addr: number): number {
  let best = -1;
  let value = 0;
  for (const p of list) {
    if (p.len >= best && mask(addr, p.len) === mask(p.addr, p.len)) {
      best = p.len;
      value = p.value;
    }
  }
  return value;
}

/** Addresses at and around each prefix's edges, plus a few fixed ones. */
function edgeAddrs(list: Prefix[], extra: number[] = []): number[] {
  const out = new Set<number>([0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, ...extra]);
  for (const p of list) {
    const lo = mask(p.addr, p.len);
    const hi = (lo + 2 ** (32 - p.len) - 1) >>> 0;
    for (const a of [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, p.addr]) out.add(a >>> 0);
  }
  return [...out];
}

// Prefixes that nest: addresses drawn from a few bases (or anywhere), lengths
// weighted toward /0, /32 and the usual /8../24.
const base = fc.constantFrom(0x0a000000, 0x0a0a0a00, 0xc0a80100, 0xffffffff, 0x00000000, 0x80000000);
const addr = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(base, fc.integer({ min: 0, max: 0xffff })).map(([b, x]) => (b ^ x) >>> 0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const len = fc.oneof(fc.constantFrom(0, 8, 16, 24, 32), fc.integer({ min: 0, max: 32 }));
const value = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 0xffff }));
const prefix = fc.record({ addr, len, value });
const prefixes = fc.oneof(
  fc.array(prefix, { maxLength: 60 }),
  // Many prefixes of one length.
  fc.tuple(fc.integer({ min: 0, max: 32 }), fc.array(fc.record({ addr, value }), { maxLength: 200 })).map(([l, xs]) =>
    xs.map((x) => ({ ...x, len: l })),
  ),
  // Duplicates of (addr, len) with different values.
  fc.array(prefix, { minLength: 1, maxLength: 20 }).chain((xs) =>
    fc.array(fc.tuple(fc.constantFrom(...xs), value), { maxLength: 20 }).map((dups) => [
      ...xs,
      ...dups.map(([p, v]) => ({ ...p, value: v })),
    ]),
  ),
);
// Direct-pointing bits: the default, and others so every node depth and the
// 2-bit last chunk get exercised.
const bits = fc.constantFrom(undefined, 1, 2, 5, 6, 8, 12, 14, 16, 18);
const queries = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 });

function checkTable(e: Engine, list: Prefix[], s: number | undefined, more: number[]): void {
  const blob = buildLpm(prefixSetFrom(list), { s });
  const qs = edgeAddrs(list, more);
  const got = lookupAll(e, blob, qs);
  const want = qs.map((a) => linearScan(list, a));
  for (let i = 0; i < qs.length; i++) {
    if (got[i] !== want[i]) {
      expect({ addr: qs[i].toString(16), got: got[i] }).toEqual({ addr: qs[i].toString(16), got: want[i] });
    }
  }
}

describe('lpm', () => {
  it('equals a linear scan over random tables', () => {
    fc.assert(fc.property(prefixes, bits, queries, (list, s, more) => checkTable(release, list, s, more)), { numRuns: 300 });
  });

  it('equals the model after deletes and a rebuild', () => {
    fc.assert(
      fc.property(prefixes, fc.array(fc.nat()), bits, queries, (list, dels, s, more) => {
        const model = new ModelLpm();
        for (const p of list) model.set(p.addr, p.len, p.value);
        const before = buildLpm(prefixSetFrom(list), { s });
        const q0 = edgeAddrs(list, more);
        expect(lookupAll(release, before, q0)).toEqual(q0.map((a) => model.lookup(a)));
        for (const d of dels) if (list.length > 0) model.delete(list[d % list.length].addr, list[d % list.length].len);
        const kept = model.entries();
        const after = buildLpm(prefixSetFrom(kept), { s });
        const q1 = edgeAddrs(list, more);
        const got = lookupAll(release, after, q1);
        expect(got).toEqual(q1.map((a) => model.lookup(a)));
        expect(got).toEqual(q1.map((a) => linearScan(kept, a)));
      }),
      { numRuns: 200 },
    );
  });

  it('works in the debug build (bounds checks on)', () => {
    fc.assert(fc.property(prefixes, bits, queries, (list, s, more) => checkTable(debug, list, s, more)), { numRuns: 100 });
  });

  it('empty table: no route anywhere', () => {
    const blob = buildLpm(prefixSetFrom([]));
    expect(lookupAll(release, blob, [0, 1, 0x0a000001, 0xffffffff])).toEqual([0, 0, 0, 0]);
    expect(lookupAll(debug, blob, [0, 0xffffffff])).toEqual([0, 0]);
  });

  it('only a default route', () => {
    const blob = buildLpm(prefixSetFrom([{ addr: 0x01020304, len: 0, value: 7 }]));
    expect(lookupAll(release, blob, [0, 0x0a000001, 0xffffffff])).toEqual([7, 7, 7]);
  });

  it('a /32 only', () => {
    const blob = buildLpm(prefixSetFrom([{ addr: 0x0a000001, len: 32, value: 9 }]));
    expect(lookupAll(release, blob, [0x0a000000, 0x0a000001, 0x0a000002, 0, 0xffffffff])).toEqual([0, 9, 0, 0, 0]);
  });

  it('/32s at both ends of the address space, under a default route', () => {
    const blob = buildLpm(
      prefixSetFrom([
        { addr: 0, len: 32, value: 1 },
        { addr: 0xffffffff, len: 32, value: 2 },
        { addr: 0, len: 0, value: 3 },
      ]),
    );
    expect(lookupAll(release, blob, [0, 1, 0xfffffffe, 0xffffffff])).toEqual([1, 3, 3, 2]);
  });

  it('a host table: default, connected /24, a /32 and a more specific /25', () => {
    const list = [
      { addr: 0, len: 0, value: 1 },
      { addr: 0x0a000100, len: 24, value: 2 },
      { addr: 0x0a000180, len: 25, value: 3 },
      { addr: 0x0a000105, len: 32, value: 4 },
      { addr: 0x0a0001ff, len: 24, value: 5 }, // same /24 again, bits beyond /24 set: last wins
    ];
    const blob = buildLpm(prefixSetFrom(list));
    expect(lookupAll(release, blob, [0x08080808, 0x0a000100, 0x0a000105, 0x0a00017f, 0x0a000180, 0x0a0001ff, 0x0a000200]))
      .toEqual([1, 5, 4, 5, 3, 3, 1]);
  });

  it('is position independent', () => {
    const list = internetTable(2000, 5);
    const blob = buildLpm(list);
    const rnd = prng(3);
    const qs = Array.from({ length: 1000 }, () => rnd());
    const a = lookupAll(release, blob, qs);
    release.alloc(64 * 7); // shift the next placement
    expect(lookupAll(release, blob, qs)).toEqual(a);
  });

  it('rejects lengths and values out of range', () => {
    expect(() => prefixSetFrom([{ addr: 0, len: 33, value: 1 }])).toThrow(RangeError);
    expect(() => prefixSetFrom([{ addr: 0, len: 8, value: 0 }])).toThrow(RangeError);
    expect(() => prefixSetFrom([{ addr: 0, len: 8, value: 65536 }])).toThrow(RangeError);
  });

  it('an Internet-shaped table of 200K prefixes equals the model', () => {
    const t: PrefixSet = internetTable(200_000, 11);
    const model = new ModelLpm();
    for (let i = 0; i < t.count; i++) model.set(t.addrs[i], t.lens[i], t.values[i]);
    const blob = buildLpm(t);
    const rnd = prng(9);
    const qs: number[] = [];
    for (let i = 0; i < 100_000; i++) qs.push(rnd());
    // And the edges of a sample of prefixes.
    for (let i = 0; i < t.count; i += 7) {
      const lo = t.addrs[i];
      const hi = (lo + 2 ** (32 - t.lens[i]) - 1) >>> 0;
      qs.push((lo - 1) >>> 0, lo, hi, (hi + 1) >>> 0);
    }
    const got = lookupAll(release, blob, qs);
    let bad = 0;
    for (let i = 0; i < qs.length; i++) if (got[i] !== model.lookup(qs[i])) bad++;
    expect(bad).toBe(0);
  });

  it('stays small: 1,000 routes under 1 MiB, direct-pointing bits grow with the table', () => {
    expect(buildLpm(internetTable(1000, 2)).length).toBeLessThan(1 << 20);
    expect(buildLpm(prefixSetFrom([{ addr: 0, len: 0, value: 1 }])).length).toBeLessThanOrEqual(4096);
    expect(chooseBits(1000)).toBeLessThan(18);
    expect(chooseBits(1_000_000)).toBe(18);
  });

  it('a 1M-prefix Internet-shaped table fits in 16 MiB and equals the model', () => {
    const t = internetTable(1_000_000, 1);
    const blob = buildLpm(t);
    expect(blob.length).toBeLessThanOrEqual(16 << 20);
    const model = new ModelLpm();
    for (let i = 0; i < t.count; i++) model.set(t.addrs[i], t.lens[i], t.values[i]);
    const rnd = prng(4);
    const qs: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const k = rnd() % t.count;
      const lo = t.addrs[k];
      const hi = (lo + 2 ** (32 - t.lens[k]) - 1) >>> 0;
      qs.push(rnd(), lo, hi, (hi + 1) >>> 0);
    }
    const got = lookupAll(release, blob, qs);
    let bad = 0;
    for (let i = 0; i < qs.length; i++) if (got[i] !== model.lookup(qs[i])) bad++;
    expect(bad).toBe(0);
  });
});
