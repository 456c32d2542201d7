// The host's routing table: a longest-prefix-match table whose leaves are
// nexthop indices (0 = no route). Local and broadcast routes sit in the same
// table, as Linux's local table would answer first.
import { N_SRC, N_DEV, N_GW, H_LOCAL_BLOOM, H_LPM, H_NH, NH_SIZE, H_ADDRS, H_NADDRS, ADDR_SIZE, A_IP, A_PLEN, A_DEV, A_FLAGS, A_BCAST, AF_SECONDARY, H_PORTS, H_NPORTS } from '../layout';
import { lpmLookup } from './lpm';

// A two-entry memo the batch's lookup pass fills for the packet in hand (its
// destination, and an IPIP packet's inner one), so its routes cost no cache
// miss at the point of use (see index.ts: processChunk).
let memoDst0: u32 = 0;
let memoLeaf0: u32 = 0;
let memoDst1: u32 = 0;
let memoLeaf1: u32 = 0;
let memoN: u32 = 0;

export function routeMemo(dst: u32, leaf: u32): void {
  if (memoN == 0) {
    memoDst0 = dst;
    memoLeaf0 = leaf;
  } else {
    memoDst1 = dst;
    memoLeaf1 = leaf;
  }
  memoN++;
}

export function routeMemoOff(): void {
  memoN = 0;
}

@inline function memoLookup(root: usize, dst: u32): u32 {
  if (memoN != 0 && dst == memoDst0) return memoLeaf0;
  if (memoN > 1 && dst == memoDst1) return memoLeaf1;
  return lpmLookup(root, dst);
}

/** The nexthop for dst, or 0 when no route matches. */
@inline export function routeLookup(host: usize, dst: u32): usize {
  const root = <usize>load<u32>(host + H_LPM);
  if (root == 0) return 0;
  const idx = memoLookup(root, dst);
  return idx == 0 ? 0 : <usize>load<u32>(host + H_NH) + <usize>idx * NH_SIZE;
}

/** Whether a is one of the host's own addresses (inet_addr_type == RTN_LOCAL). */
export function isLocalAddress(host: usize, a: u32): bool {
  // Most addresses asked about are not local: a one-word filter says so at once.
  if ((load<u64>(host + H_LOCAL_BLOOM) & (<u64>1 << <u64>((a * 0x9e3779b1) >>> 26))) == 0) return false;
  const n = load<u32>(host + H_NADDRS);
  let p = <usize>load<u32>(host + H_ADDRS);
  for (let i: u32 = 0; i < n; i++, p += ADDR_SIZE) {
    if (load<u32>(p + A_IP) == a) return true;
  }
  return false;
}

/** Whether a is the subnet broadcast of one of the host's addresses (a broadcast local route). */
export function isBroadcastAddress(host: usize, a: u32): bool {
  const n = load<u32>(host + H_NADDRS);
  let p = <usize>load<u32>(host + H_ADDRS);
  for (let i: u32 = 0; i < n; i++, p += ADDR_SIZE) {
    if (load<u32>(p + A_BCAST) == a) return true;
  }
  return false;
}

/**
 * inet_select_addr(dev, dst): of dev's primary addresses, the first whose
 * subnet holds dst (the first of all when dst is 0), else dev's first; when
 * dev has none, the first primary of the first link that has one (the
 * array is ordered by link).
 */
export function selectSource(host: usize, dev: u32, dst: u32): u32 {
  const n = load<u32>(host + H_NADDRS);
  const base = <usize>load<u32>(host + H_ADDRS);
  let first: u32 = 0;
  let any: u32 = 0;
  let p = base;
  for (let i: u32 = 0; i < n; i++, p += ADDR_SIZE) {
    if ((<u32>load<u8>(p + A_FLAGS) & AF_SECONDARY) != 0) continue;
    const a = load<u32>(p + A_IP);
    if (any == 0) any = a;
    if (<u32>load<u16>(p + A_DEV) != dev) continue;
    const plen = <u32>load<u8>(p + A_PLEN);
    if (dst == 0 || ((a ^ dst) >>> (32 - plen)) == 0) return a;
    if (first == 0) first = a;
  }
  return first != 0 ? first : any;
}

/**
 * fib_result_prefsrc: the preferred source of route nh, which the control
 * plane chose once (its `src`, or inet_select_addr towards its gateway).
 */
export function routeSource(host: usize, nh: usize): u32 {
  const pref = load<u32>(nh + N_SRC);
  if (pref != 0) return pref;
  return selectSource(host, <u32>load<u16>(nh + N_DEV), load<u32>(nh + N_GW));
}

/** Whether a socket listens on proto/port. */
export function isOpen(host: usize, proto: u32, port: u32): bool {
  const n = load<u32>(host + H_NPORTS);
  const p = <usize>load<u32>(host + H_PORTS);
  const key = (proto << 16) | port;
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(p + (<usize>i << 2)) == key) return true;
  }
  return false;
}
