// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
import { ld16 } from './bytes';

/** One's-complement sum of `len` bytes at p, added to `sum`; not folded. */
export function sumBytes(p: usize, len: u32, sum: u32): u32 {
  let s: u64 = sum;
  let i: u32 = 0;
  for (; i + 4 <= len; i += 4) s += <u64>bswap<u32>(load<u32>(p + i));
  for (; i + 2 <= len; i += 2) s += <u64>ld16(p + i);
  if (i < len) s += <u64>load<u8>(p + i) << 8;
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  return <u32>s;
}

/** Folds a sum to 16 bits and complements it: the value to store. */
@inline export function finish(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** Checksum of a byte range (zero the checksum field first). */
@inline export function checksum(p: usize, len: u32): u32 {
  return finish(sumBytes(p, len, 0));
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 16-bit field m -> m'. */
@inline export function csumReplace16(check: u32, old: u32, now: u32): u32 {
  let s: u32 = (~check & 0xffff) + (~old & 0xffff) + (now & 0xffff);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** RFC 1624 for a 32-bit field (an address). */
@inline export function csumReplace32(check: u32, old: u32, now: u32): u32 {
  return csumReplace16(csumReplace16(check, old >>> 16, now >>> 16), old & 0xffff, now & 0xffff);
}

/** Sum of the TCP/UDP pseudo-header (RFC 793, 768). */
@inline export function pseudoSum(src: u32, dst: u32, proto: u32, len: u32): u32 {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** A 20-byte header summed as little-endian words and folded (RFC 1071 2.B: order-free). */
@inline function sum20(ip: usize): u32 {
  let s: u64 = <u64>load<u32>(ip) + <u64>load<u32>(ip, 4) + <u64>load<u32>(ip, 8) +
    <u64>load<u32>(ip, 12) + <u64>load<u32>(ip, 16);
  s = (s & 0xffffffff) + (s >> 32);
  let w = <u32>s;
  w = (w & 0xffff) + (w >>> 16);
  return (w & 0xffff) + (w >>> 16);
}

/** The checksum to store in an IPv4 header of ihl bytes (its checksum field zeroed). */
@inline export function ipHeaderChecksum(ip: usize, ihl: u32): u32 {
  if (ihl != 20) return checksum(ip, ihl);
  // Summed little-endian: swap the complement back to network order.
  return (~bswap<u16>(<u16>sum20(ip))) & 0xffff;
}

/** Whether an IPv4 header of ihl bytes sums to 0xffff; the 20-byte case unrolled. */
@inline export function ipHeaderValid(ip: usize, ihl: u32): bool {
  if (ihl != 20) return checksum(ip, ihl) == 0;
  return sum20(ip) == 0xffff;
}
