// The Internet checksum's sum over long runs of bytes, 16 at a time with
// SIMD: for the checks of every frame a fuzz run makes (check.ts) and for the
// frames it renders (fuzz/render.ts). The sum is order-free (RFC 1071 2.B):
// words are summed as they lie in memory and the result swapped once.

/** The ones' complement sum of len bytes at p, folded to 16 bits, in network order. */
export function sumWide(p: usize, len: u32): u32 {
  let a = i32x4.splat(0);
  let b = i32x4.splat(0);
  let i: u32 = 0;
  // Each lane gains at most 2 x 0xffff a step: no overflow below 512 KiB. Two sums, for two loads in flight.
  for (; i + 32 <= len; i += 32) {
    a = i32x4.add(a, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
    b = i32x4.add(b, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i, 16)));
  }
  if (i + 16 <= len) {
    a = i32x4.add(a, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
    i += 16;
  }
  let s: u64 = <u64><u32>i32x4.extract_lane(a, 0) + <u64><u32>i32x4.extract_lane(a, 1) +
    <u64><u32>i32x4.extract_lane(a, 2) + <u64><u32>i32x4.extract_lane(a, 3) +
    <u64><u32>i32x4.extract_lane(b, 0) + <u64><u32>i32x4.extract_lane(b, 1) +
    <u64><u32>i32x4.extract_lane(b, 2) + <u64><u32>i32x4.extract_lane(b, 3);
  for (; i + 2 <= len; i += 2) s += <u64>load<u16>(p + i);
  if (i < len) s += <u64>load<u8>(p + i);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>bswap<u16>(<u16>s);
}
