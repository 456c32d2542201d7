// IPv4 longest-prefix-match table: builds the Poptrie-style blob that
// assembly/tables/lpm.ts looks up (Asai & Ohara, "Poptrie", SIGCOMM 2015).
//
// Blob (all offsets relative to its start, so it can be copied anywhere):
//   header   64 bytes (T_* below)
//   dir      2^s u32 entries indexed by the top s address bits: a leaf
//            (DIR_LEAF | value) or the offset of a top node in the area
//   area     nodes and leaves. A node splits its range in 64 chunks (stride
//            6): vector u64 (bit c set = chunk c is a node), leafvec u64 (bit
//            c set = a run of equal leaves starts at chunk c); leaves are u16
//            values, one per run. A child or leaf is found by counting set
//            bits up to its chunk (popcnt).
//            Top node: the vectors, its leaves inline, then (when it has
//            children) the u32 offset of its children - NODE_SIZE.
//            Deeper nodes come in groups of siblings, NODE_SIZE bytes each so
//            they can be indexed by rank: the vectors, the u32 offset of the
//            leaves - 2, the u32 offset of the children - NODE_SIZE; the
//            group's leaves follow it.
//
// The structure depends only on the function address -> value, so the builder
// first flattens the prefixes into that function (sorted breakpoints), then
// cuts it into a leaf wherever it is constant over a chunk and into a node
// where it is not. One leaf per run of equal values (leaf compression) keeps
// Internet-sized tables small. Random destinations mostly end in a top node:
// with its leaves inline, that costs one cache line after the dir entry.

export interface PrefixSet {
  addrs: Uint32Array;
  lens: Uint8Array;
  values: Uint16Array;
  count: number;
}

// Header fields (mirrored in assembly/tables/lpm.ts).
export const T_MAGIC = 0;
export const T_S = 4;
export const T_NODES = 8; // offset of the area
export const T_AREA = 12; // bytes of the area
export const T_NNODES = 16;
export const T_NLEAVES = 20;
export const T_PREFIXES = 24;
export const T_SIZE = 28;
export const T_DIR = 64;
export const LPM_MAGIC = 0x344d504c; // 'LPM4'
export const NODE_SIZE = 24;
const N_LEAF = 16;
const N_CHILD = 20;
export const DIR_LEAF = 0x80000000;

export interface LpmOptions {
  /** Direct-pointing bits; the default grows with the table (see chooseBits). */
  s?: number;
}

/**
 * Direct-pointing bits for a table of `count` prefixes. The array costs
 * 4 * 2^s bytes whatever the table holds, so small tables (thousands of
 * hosts each have one) get a small one; big ones get Poptrie's 18, which
 * resolves /19../24 in one node.
 */
export function chooseBits(count: number): number {
  if (count <= 256) return 8;
  if (count <= 4096) return 12;
  if (count <= 16384) return 16;
  return 18;
}

export function prefixSetFrom(list: { addr: number; len: number; value: number }[]): PrefixSet {
  const n = list.length;
  const t: PrefixSet = { addrs: new Uint32Array(n), lens: new Uint8Array(n), values: new Uint16Array(n), count: n };
  for (let i = 0; i < n; i++) {
    const p = list[i];
    checkPrefix(p.len, p.value);
    t.addrs[i] = p.addr >>> 0;
    t.lens[i] = p.len;
    t.values[i] = p.value;
  }
  return t;
}

function checkPrefix(len: number, value: number): void {
  if (!(len >= 0 && len <= 32 && Number.isInteger(len))) throw new RangeError(`lpm: prefix length ${len} is not 0..32`);
  if (!(value >= 1 && value <= 0xffff && Number.isInteger(value))) throw new RangeError(`lpm: value ${value} is not 1..65535`);
}

/** Bytes of a built table. */
export function lpmSize(blob: Uint8Array): number {
  return blob.length;
}

const TWO32 = 2 ** 32;

/** Masks, deduplicates (last wins) and sorts by (address, length): containing prefixes come first. */
/** Below this many prefixes normalize sorts by comparison instead of by radix. */
const SMALL_SET = 4096;

function normalize(t: PrefixSet): { start: Uint32Array; len: Uint8Array; val: Uint16Array; n: number } {
  const n = t.count;
  const addr = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const len = t.lens[i];
    if (len > 32) throw new RangeError(`lpm: prefix length ${len} is not 0..32`);
    if (t.values[i] === 0) throw new RangeError('lpm: value 0 is not 1..65535');
    addr[i] = len === 0 ? 0 : (t.addrs[i] & (0xffffffff << (32 - len))) >>> 0;
  }
  // Stable LSD radix sort of indices by length, then low and high address
  // halves: equal prefixes stay in input order, so the last of a run wins.
  let idx = new Uint32Array(n);
  let tmp = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const pass = (keyOf: (i: number) => number, buckets: number) => {
    const count = new Uint32Array(buckets + 1);
    for (let k = 0; k < n; k++) count[keyOf(idx[k]) + 1]++;
    for (let b = 0; b < buckets; b++) count[b + 1] += count[b];
    for (let k = 0; k < n; k++) tmp[count[keyOf(idx[k])]++] = idx[k];
    const x = idx;
    idx = tmp;
    tmp = x;
  };
  if (n < SMALL_SET) {
    // A host's own table is small: a comparison sort by the same keys beats
    // two passes over 65,536 buckets (a cluster builds thousands of tables).
    idx.sort((a, b) => addr[a] - addr[b] || t.lens[a] - t.lens[b] || a - b);
  } else {
    pass((i) => t.lens[i], 33);
    pass((i) => addr[i] & 0xffff, 65536);
    pass((i) => addr[i] >>> 16, 65536);
  }
  const start = new Uint32Array(n);
  const len = new Uint8Array(n);
  const val = new Uint16Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    if (m > 0 && start[m - 1] === addr[i] && len[m - 1] === t.lens[i]) m--; // duplicate: last wins
    start[m] = addr[i];
    len[m] = t.lens[i];
    val[m] = t.values[i];
    m++;
  }
  return { start, len, val, n: m };
}

/**
 * The table as a step function: value bpVal[j] from bpStart[j] up to
 * bpStart[j + 1] (the last followed by 2^32). Consecutive steps differ.
 */
function flatten(p: { start: Uint32Array; len: Uint8Array; val: Uint16Array; n: number }) {
  const cap = 2 * p.n + 2;
  const bpStart = new Float64Array(cap + 1);
  const bpVal = new Uint16Array(cap + 1);
  let nb = 1; // bpStart[0] = 0, bpVal[0] = 0: no route
  const emit = (pos: number, v: number) => {
    if (bpStart[nb - 1] === pos) {
      bpVal[nb - 1] = v;
      if (nb > 1 && bpVal[nb - 2] === v) nb--;
    } else if (bpVal[nb - 1] !== v) {
      bpStart[nb] = pos;
      bpVal[nb] = v;
      nb++;
    }
  };
  // Prefixes are nested or disjoint; the stack holds the ones containing the sweep position.
  const stEnd = new Float64Array(34);
  const stVal = new Uint16Array(34);
  let sp = 0;
  for (let k = 0; k < p.n; k++) {
    const s = p.start[k];
    while (sp > 0 && stEnd[sp - 1] <= s) {
      sp--;
      emit(stEnd[sp], sp > 0 ? stVal[sp - 1] : 0);
    }
    stEnd[sp] = s + 2 ** (32 - p.len[k]);
    stVal[sp] = p.val[k];
    sp++;
    emit(s, p.val[k]);
  }
  while (sp > 0) {
    sp--;
    if (stEnd[sp] < TWO32) emit(stEnd[sp], sp > 0 ? stVal[sp - 1] : 0);
  }
  bpStart[nb] = TWO32; // sentinel
  return { bpStart, bpVal, nb };
}

/**
 * Per depth, scratch for a group of up to 64 siblings with 64 children
 * each: the children's start address, breakpoint index and count; and a
 * node's leaves. Every slot is written before it is read, so one set serves
 * every build (a cluster builds thousands of tables: 384 KiB each to zero).
 */
let scratchSet: { kidLo: Float64Array[]; kidJ: Int32Array[]; kids: Int32Array[]; leafTmp: Uint16Array } | undefined;

function scratch(): NonNullable<typeof scratchSet> {
  if (!scratchSet) {
    scratchSet = { kidLo: [], kidJ: [], kids: [], leafTmp: new Uint16Array(64) };
    for (let d = 0; d < 8; d++) {
      scratchSet.kidLo.push(new Float64Array(64 * 64));
      scratchSet.kidJ.push(new Int32Array(64 * 64));
      scratchSet.kids.push(new Int32Array(64));
    }
  }
  return scratchSet;
}

/** Builds the lookup blob of a prefix set (see the layout at the top of this file). */
export function buildLpm(t: PrefixSet, opts: LpmOptions = {}): Uint8Array {
  const p = normalize(t);
  const { bpStart, bpVal } = flatten(p);
  const s = opts.s ?? chooseBits(p.n);
  if (!(s >= 1 && s <= 24)) throw new RangeError(`lpm: direct-pointing bits ${s} is not 1..24`);

  const dir = new Uint32Array(1 << s);
  // The node area: groups of sibling nodes, each followed by their leaves.
  let area = new Uint8Array(1 << 12);
  let dv = new DataView(area.buffer);
  let top = 0;
  let nNodes = 0;
  let nLeaves = 0;
  const reserve = (bytes: number): number => {
    const at = top;
    top += bytes;
    if (top > area.length) {
      const grown = new Uint8Array(Math.max(area.length * 2, top));
      grown.set(area);
      area = grown;
      dv = new DataView(area.buffer);
    }
    return at;
  };
  const { kidLo, kidJ, kids, leafTmp } = scratch();

  // Scans the node covering [base, base + 2^(32 - off)), j the last
  // breakpoint at or before base: its vectors go to vlo..lhi, its leaves to
  // leafTmp (nl of them), its internal children to slot `slot` of the
  // depth's scratch (ki of them).
  let vlo = 0, vhi = 0, llo = 0, lhi = 0, nl = 0, ki = 0;
  const scan = (base: number, j: number, off: number, depth: number, slot: number) => {
    const r = 32 - off;
    const size = r >= 6 ? 2 ** (r - 6) : 1;
    const cLo = kidLo[depth];
    const cJ = kidJ[depth];
    vlo = vhi = llo = lhi = nl = ki = 0;
    for (let c = 0; c < 64; c++) {
      const lo = base + (r >= 6 ? c * size : c >>> (6 - r));
      while (bpStart[j + 1] <= lo) j++;
      if (size > 1 && bpStart[j + 1] < lo + size) {
        if (c < 32) vlo |= 1 << c;
        else vhi |= 1 << (c - 32);
        cLo[slot * 64 + ki] = lo;
        cJ[slot * 64 + ki] = j;
        ki++;
      } else if (nl === 0 || bpVal[j] !== leafTmp[nl - 1]) {
        leafTmp[nl++] = bpVal[j];
        if (c < 32) llo |= 1 << c;
        else lhi |= 1 << (c - 32);
      }
    }
    nNodes++;
    nLeaves += nl;
  };
  const putLeaves = (at: number) => {
    for (let l = 0; l < nl; l++) dv.setUint16(at + l * 2, leafTmp[l], true);
  };
  const putVectors = (at: number) => {
    dv.setUint32(at, vlo, true);
    dv.setUint32(at + 4, vhi, true);
    dv.setUint32(at + 8, llo, true);
    dv.setUint32(at + 12, lhi, true);
  };
  // A group of k sibling nodes at `at` (fixed size, so a child is found by
  // rank), sibling i starting at los[first + i] with breakpoint js[first + i].
  // The siblings' leaves follow the group; then each sibling's children
  // become a group of their own.
  const fillGroup = (at: number, k: number, los: Float64Array, js: Int32Array, first: number, off: number, depth: number) => {
    const nk = kids[depth];
    for (let i = 0; i < k; i++) {
      scan(los[first + i], js[first + i], off, depth, i);
      nk[i] = ki;
      const leafAt = reserve(nl * 2);
      putLeaves(leafAt);
      putVectors(at + i * NODE_SIZE);
      dv.setUint32(at + i * NODE_SIZE + N_LEAF, (leafAt - 2) >>> 0, true); // the lookup adds popcnt * 2 >= 2
    }
    for (let i = 0; i < k; i++) {
      if (nk[i] === 0) continue;
      top = (top + 7) & ~7;
      const group = reserve(nk[i] * NODE_SIZE);
      dv.setUint32(at + i * NODE_SIZE + N_CHILD, (group - NODE_SIZE) >>> 0, true); // popcnt * NODE_SIZE >= NODE_SIZE
      fillGroup(group, nk[i], kidLo[depth], kidJ[depth], i * 64, off + 6, depth + 1);
    }
  };

  // The nodes the direct-pointing array points at stand alone, so they hold
  // their leaves inline (and the children's offset after them).
  const dsize = 2 ** (32 - s);
  let j = 0;
  for (let i = 0; i < 1 << s; i++) {
    const lo = i * dsize;
    while (bpStart[j + 1] <= lo) j++;
    if (bpStart[j + 1] < lo + dsize) {
      scan(lo, j, s, 0, 0);
      const at = reserve(16 + nl * 2 + (ki > 0 ? 4 : 0));
      dir[i] = at;
      putVectors(at);
      putLeaves(at + 16);
      if (ki > 0) {
        const k = ki;
        top = (top + 7) & ~7;
        const group = reserve(k * NODE_SIZE);
        dv.setUint32(at + 16 + nl * 2, (group - NODE_SIZE) >>> 0, true);
        fillGroup(group, k, kidLo[0], kidJ[0], 0, s + 6, 1);
      }
    } else {
      dir[i] = (DIR_LEAF | bpVal[j]) >>> 0;
    }
  }
  if (top >= DIR_LEAF) throw new RangeError('lpm: table too large');

  const nodesOff = align64(T_DIR + dir.byteLength);
  const size = align64(nodesOff + top);
  const blob = new Uint8Array(size);
  const h = new DataView(blob.buffer);
  h.setUint32(T_MAGIC, LPM_MAGIC, true);
  h.setUint32(T_S, s, true);
  h.setUint32(T_NODES, nodesOff, true);
  h.setUint32(T_AREA, top, true);
  h.setUint32(T_NNODES, nNodes, true);
  h.setUint32(T_NLEAVES, nLeaves, true);
  h.setUint32(T_PREFIXES, p.n, true);
  h.setUint32(T_SIZE, size, true);
  const d8 = new Uint8Array(dir.buffer);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) blob.set(d8, T_DIR);
  else for (let i = 0; i < dir.length; i++) h.setUint32(T_DIR + i * 4, dir[i], true);
  blob.set(area.subarray(0, top), nodesOff);
  return blob;
}

function align64(x: number): number {
  return Math.ceil(x / 64) * 64;
}
