// IPv4 longest-prefix match over the Poptrie blob src/tables/lpm.ts builds:
// a 2^s direct-pointing array, then 64-ary nodes (stride 6) whose children
// and leaves are found by counting bits (popcnt). All offsets in the blob are
// relative to `root`, so it can live anywhere.

// Header fields (mirrored in src/tables/lpm.ts).
const T_S: usize = 4; // u32 direct-pointing bits
const T_NODES: usize = 8; // u32 offset of the node area
const T_DIR: usize = 64; // the direct-pointing array follows the header
// Nodes (layout in src/tables/lpm.ts): vector u64, leafvec u64, then in a
// top node its leaves and its children's offset, in a deeper (fixed-size,
// sibling) node the offsets of its leaves and children.
const N_VEC: usize = 0;
const N_LEAFVEC: usize = 8;
const TOP_LEAVES: usize = 16;
const N_LEAF: usize = 16;
const N_CHILD: usize = 20;
const NODE_SIZE: u32 = 24;

// Walks from direct-pointing entry d (DIR_LEAF | value, or a top node's
// offset) with the address bits from off on. Shifting a vector left by
// 63 - chunk keeps the bits up to the chunk's with the chunk's own on top:
// the sign says node or leaf, the popcnt is the rank (so stored offsets are
// biased by one element).
@inline function walk(area: usize, addr: u32, off: u32, d: u32): u32 {
  if (<i32>d < 0) return d & 0xffff;
  let n = area + d;
  let sh = <u64>(~(addr << off) >>> 26); // 63 - chunk
  let t = load<u64>(n, N_VEC) << sh;
  const lv = load<u64>(n, N_LEAFVEC);
  if (<i64>t >= 0) return load<u16>(n + (<u32>popcnt(lv << sh) << 1), TOP_LEAVES - 2);
  // Deeper (rare for random destinations): past the top node's leaves.
  n = area + load<u32>(n + (<u32>popcnt(lv) << 1), TOP_LEAVES) + <u32>popcnt(t) * NODE_SIZE;
  while (true) {
    off += 6;
    sh = <u64>(~(addr << off) >>> 26);
    t = load<u64>(n, N_VEC) << sh;
    if (<i64>t >= 0) return load<u16>(area + load<u32>(n, N_LEAF) + (<u32>popcnt(load<u64>(n, N_LEAFVEC) << sh) << 1));
    n = area + load<u32>(n, N_CHILD) + <u32>popcnt(t) * NODE_SIZE;
  }
}

/** The value of the longest prefix containing addr (host byte order), 0 = no route. */
@inline export function lpmLookup(root: usize, addr: u32): u32 {
  const s = load<u32>(root, T_S);
  const d = load<u32>(root + (<usize>(addr >>> (32 - s)) << 2), T_DIR);
  return walk(root + load<u32>(root, T_NODES), addr, s, d);
}

/**
 * Looks up n u32 addresses at addrs into n u32 results at out. out must not
 * overlap addrs: it holds the direct-pointing entries between the passes.
 */
export function lpm_lookup_batch(root: usize, addrs: usize, out: usize, n: u32): void {
  const s = load<u32>(root, T_S);
  const area = root + load<u32>(root, T_NODES);
  const dir = root + T_DIR;
  const hs = 32 - s;
  // Pass 1: the direct-pointing entries of the whole batch. The loads are
  // independent and branch-free, so their cache misses overlap.
  for (let i: u32 = 0; i < n; i++) {
    const a = load<u32>(addrs + (<usize>i << 2));
    store<u32>(out + (<usize>i << 2), load<u32>(dir + (<usize>(a >>> hs) << 2)));
  }
  // Pass 2: the nodes, four lookups at a time for the same reason.
  let i: u32 = 0;
  for (; i + 4 <= n; i += 4) {
    const p = addrs + (<usize>i << 2);
    const o = out + (<usize>i << 2);
    const d0 = load<u32>(o, 0);
    const d1 = load<u32>(o, 4);
    const d2 = load<u32>(o, 8);
    const d3 = load<u32>(o, 12);
    store<u32>(o, walk(area, load<u32>(p, 0), s, d0), 0);
    store<u32>(o, walk(area, load<u32>(p, 4), s, d1), 4);
    store<u32>(o, walk(area, load<u32>(p, 8), s, d2), 8);
    store<u32>(o, walk(area, load<u32>(p, 12), s, d3), 12);
  }
  for (; i < n; i++) {
    const o = out + (<usize>i << 2);
    store<u32>(o, walk(area, load<u32>(addrs + (<usize>i << 2)), s, load<u32>(o)));
  }
}
