// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
// The only checksum code in the TypeScript side: IPv4, ICMP, UDP and TCP all use it.

/**
 * Unfolded sum of big-endian 16-bit words in b[start, end), plus `initial`.
 * An odd trailing byte is padded with a zero byte (RFC 1071 4.1). Partial sums
 * can be chained with `initial` only when every earlier range had even length.
 */
export function sum16(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return sum;
}

/** Folds carries back in (end-around carry) until the sum fits in 16 bits. */
export function foldSum(sum: number): number {
  // Division, not >>>: a long buffer's sum can exceed 2^32.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The 16-bit value to store in a checksum field (zero while summing). Over a
 * range that already contains a correct checksum, the result is 0.
 */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  return ~foldSum(sum16(b, start, end, initial)) & 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 793 3.1). */
export function pseudoHeaderSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

/**
 * New checksum after one 16-bit word of the covered data changes from oldWord
 * to newWord: HC' = ~(~HC + ~m + m') (RFC 1624 eqn. 3; unlike RFC 1141's
 * form it matches a full recomputation, never producing 0xffff for non-zero
 * data). UDP callers still map a result of 0 to 0xffff (RFC 768).
 */
export function incrementalUpdate16(check: number, oldWord: number, newWord: number): number {
  return ~foldSum((~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}
