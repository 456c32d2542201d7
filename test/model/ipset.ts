// ip_set_test as ipset defines it, over the sets as src/netfilter/ipset.ts
// parses them (the engine's parser; membership here is the model's own,
// written from ipset's rules, not from the engine's lookup tables).
import type { Ipsets } from '../../src/netfilter/ipset.js';
import type { ModelPacket } from './iptables.js';
import { IPPROTO_TCP, IPPROTO_UDP, formatIPv4 } from './wire.js';

/** Whether the packet is in set `name`, its dimensions taken from the packet as dirs says (src,dst...). */
export function modelInSet(sets: Ipsets, name: string, dirs: ('src' | 'dst')[], p: ModelPacket): boolean {
  const s = sets.get(name);
  if (!s) return false;
  if (s.type === 'list:set') return [...s.members.keys()].some((m) => modelInSet(sets, m, dirs, p));
  // A match giving fewer dimensions than the set has never matches (ip_set_test).
  if (dirs.length < (s.type === 'hash:ip,port' ? 2 : 1)) return false;
  const ip = dirs[0] === 'dst' ? p.dst : p.src;
  if (s.type === 'hash:ip') return s.members.has(formatIPv4(ip));
  if (s.type === 'hash:net') {
    // The most specific network holding the address decides; a nomatch one says no.
    let best: { plen: number; nomatch: boolean } | undefined;
    for (const v of s.members.values()) {
      const e = v as { addr: number; plen: number; nomatch: boolean };
      const inNet = e.plen === 0 || ip >>> (32 - e.plen) === e.addr >>> (32 - e.plen);
      if (inNet && (!best || e.plen > best.plen)) best = e;
    }
    return !!best && !best.nomatch;
  }
  if ((p.proto !== IPPROTO_TCP && p.proto !== IPPROTO_UDP) || p.frag) return false;
  const port = dirs[1] === 'dst' ? p.dport : p.sport;
  return s.members.has(`${formatIPv4(ip)},${p.proto === IPPROTO_TCP ? 'tcp' : 'udp'}:${port}`);
}
