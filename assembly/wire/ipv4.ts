// IPv4 header (RFC 791).
import { ld16, ld32 } from './bytes';

export const IP_VIHL: u32 = 0; // u8 version << 4 | IHL
export const IP_TOS: u32 = 1;
export const IP_TOTLEN: u32 = 2; // u16
export const IP_ID: u32 = 4; // u16
export const IP_FRAG: u32 = 6; // u16 flags (DF 0x4000, MF 0x2000) | offset in 8-byte units
export const IP_TTL: u32 = 8;
export const IP_PROTO: u32 = 9;
export const IP_CHECK: u32 = 10; // u16
export const IP_SRC: u32 = 12;
export const IP_DST: u32 = 16;
export const IP_HLEN: u32 = 20;
export const IP_DF: u32 = 0x4000;
export const IP_MF: u32 = 0x2000;
export const IP_OFFMASK: u32 = 0x1fff;

@inline export function ipIhlBytes(ip: usize): u32 {
  return (<u32>load<u8>(ip) & 15) << 2;
}
@inline export function ipTotLen(ip: usize): u32 {
  return ld16(ip + IP_TOTLEN);
}
@inline export function ipSrc(ip: usize): u32 {
  return ld32(ip + IP_SRC);
}
@inline export function ipDst(ip: usize): u32 {
  return ld32(ip + IP_DST);
}
@inline export function ipProto(ip: usize): u32 {
  return load<u8>(ip + IP_PROTO);
}
@inline export function ipFrag(ip: usize): u32 {
  return ld16(ip + IP_FRAG);
}
/** A fragment other than the first (offset != 0). */
@inline export function ipIsLaterFragment(ip: usize): bool {
  return (ipFrag(ip) & IP_OFFMASK) != 0;
}
@inline export function ipIsFragment(ip: usize): bool {
  return (ipFrag(ip) & (IP_OFFMASK | IP_MF)) != 0;
}

@inline export function isMulticast(a: u32): bool {
  return (a >>> 28) == 0xe;
}
@inline export function isLoopback(a: u32): bool {
  return (a >>> 24) == 127;
}
export const INADDR_BROADCAST: u32 = 0xffffffff;
