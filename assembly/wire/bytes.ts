// Network byte order over raw pointers. Packets are big-endian; wasm is little.

@inline export function ld16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}
@inline export function ld32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}
@inline export function st16(p: usize, v: u32): void {
  store<u16>(p, bswap<u16>(<u16>v));
}
@inline export function st32(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}

/** The 6 bytes of a MAC address as the low 48 bits of a u64 (memory order). */
@inline export function ldMac(p: usize): u64 {
  return <u64>load<u32>(p) | (<u64>load<u16>(p, 4) << 32);
}
@inline export function stMac(p: usize, mac: u64): void {
  store<u32>(p, <u32>mac);
  store<u16>(p, <u16>(mac >> 32), 4);
}
@inline export function macIsMulticast(mac: u64): bool {
  return (mac & 1) != 0; // I/G bit of the first byte
}
export const MAC_BROADCAST: u64 = 0xffffffffffff;
