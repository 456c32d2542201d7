// Looking a packet up in an ipset (ip_set_test): the blob of
// ./ipset-layout.ts, built by src/netfilter/ipset.ts. hash:ip and hash:net
// are longest-prefix-match tables (./lpm.ts), hash:ip,port an open-addressing
// hash, list:set the sets it lists, tried in order.
import {
  SB_HDR_SIZE, SE_SIZE, SE_TYPE, SE_OFF, SE_N, SE_DIMS, ST_NET, ST_IPPORT, ST_LIST, IPP_SIZE, IPP_IP, IPP_PORT,
} from './ipset-layout';
import { lpmLookup } from './lpm';

@inline function hashIpPort(ip: u32, pp: u32): u32 {
  let h = (ip * 0x9e3779b1) ^ (pp * 0x85ebca6b);
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  return h ^ (h >>> 12);
}

/**
 * Whether the packet is in set `idx`. dims: the dimensions the match gives
 * (fewer than the set has never match); dirs: bit i set = dimension i is the
 * destination. ports: sport << 16 | dport; l4: whether the packet has ports
 * (TCP or UDP, not a later fragment).
 */
export function ipsetTest(sets: usize, idx: u32, dims: u32, dirs: u32, src: u32, dst: u32, ports: u32, proto: u32, l4: bool): bool {
  const e = sets + SB_HDR_SIZE + <usize>idx * SE_SIZE;
  const type = load<u32>(e, SE_TYPE);
  if (type == ST_LIST) {
    const list = sets + <usize>load<u32>(e, SE_OFF);
    const n = load<u32>(e, SE_N);
    for (let i: u32 = 0; i < n; i++) {
      if (ipsetTest(sets, load<u32>(list + (<usize>i << 2)), dims, dirs, src, dst, ports, proto, l4)) return true;
    }
    return false;
  }
  if (dims < load<u32>(e, SE_DIMS)) return false;
  const ip = (dirs & 1) != 0 ? dst : src;
  if (type == ST_NET) return lpmLookup(sets + <usize>load<u32>(e, SE_OFF), ip) == 1;
  if (type == ST_IPPORT) {
    if (!l4) return false;
    const port = (dirs & 2) != 0 ? ports & 0xffff : ports >>> 16;
    const pp = (proto << 16) | port;
    const mask = load<u32>(e, SE_N);
    const table = sets + <usize>load<u32>(e, SE_OFF);
    let i = hashIpPort(ip, pp) & mask;
    while (true) {
      const s = table + <usize>i * IPP_SIZE;
      const sip = load<u32>(s, IPP_IP);
      if (sip == ip && load<u32>(s, IPP_PORT) == pp) return true;
      if (sip == 0) return false;
      i = (i + 1) & mask;
    }
  }
  return false;
}
