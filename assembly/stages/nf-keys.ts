// The keys the rules read of a packet (the PK_* struct of
// tables/rules-layout.ts), filled once per hook: addresses, ports, protocol,
// interfaces, length, and what the ruleset says it needs besides (RS_NEEDS):
// TCP flags and ICMP type/code; address types (xt_addrtype) and the reverse
// path (xt_rpfilter) are looked up when a rule first asks (pkAddrTypes,
// pkReversePath), at most once per hook.
import {
  H_ADDRS, H_NADDRS, ADDR_SIZE, A_IP, A_DEV, A_BCAST, N_TYPE, N_DEV, RT_UNICAST, RT_LOCAL,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, CT_RSTATE, CT_SETS, CT_RNG,
} from '../layout';
import {
  PK_SRC, PK_DST, PK_SPORT, PK_DPORT, PK_PROTO, PK_FRAG, PK_IN, PK_OUT, PK_LEN, PK_STATE, PK_SETS, PK_RNG, PK_NOW,
  PK_TCPFLAGS, PK_ICMP_TYPE, PK_ICMP_CODE, PK_RPF, PK_SRC_TYPE, PK_SRC_TYPE_IN, PK_SRC_TYPE_OUT, PK_NO_LINK,
  RS_NEEDS, NEED_ADDRTYPE, NEED_RPF, NEED_L4, RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST,
  RPF_ALWAYS, RPF_UNICAST, RPF_LOCAL, RPF_DEV, RPF_KNOWN,
} from '../tables/rules-layout';
import { host, now } from '../context';
import { ld16 } from '../wire/bytes';
import { ipIhlBytes, ipSrc, ipDst, ipProto, ipIsFragment, isMulticast, INADDR_BROADCAST } from '../wire/ipv4';
import { TCP_FLAGS, TCP_HLEN } from '../wire/tcp';
import { routeLookup } from '../tables/route';

/** Fills the keys of the IPv4 packet at ip (n bytes) for the rules at `rules` of the conntrack header ct. */
export function fillKeys(pk: usize, ct: usize, rules: usize, ip: usize, n: u32, inDev: u32, outDev: u32): void {
  const ihl = ipIhlBytes(ip);
  const proto = ipProto(ip);
  const src = ipSrc(ip);
  const dst = ipDst(ip);
  store<u32>(pk, src, PK_SRC);
  store<u32>(pk, dst, PK_DST);
  const later = (ld16(ip + 6) & 0x1fff) != 0;
  let ports: u32 = 0;
  // The engine reads no ports from any fragment, the first included (no reassembly).
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && n >= ihl + 4 && !ipIsFragment(ip)) ports = ld16(ip + ihl) << 16 | ld16(ip + ihl + 2);
  store<u16>(pk, <u16>(ports >>> 16), PK_SPORT);
  store<u16>(pk, <u16>ports, PK_DPORT);
  store<u8>(pk, <u8>proto, PK_PROTO);
  store<u8>(pk, later ? 1 : 0, PK_FRAG); // ports unknown: port matches fail
  store<u16>(pk, <u16>inDev, PK_IN);
  store<u16>(pk, <u16>outDev, PK_OUT);
  store<u32>(pk, n, PK_LEN);
  store<u32>(pk, load<u32>(ct + CT_RSTATE), PK_STATE);
  store<u32>(pk, load<u32>(ct + CT_SETS), PK_SETS);
  store<u32>(pk, <u32>(ct + CT_RNG), PK_RNG);
  store<u32>(pk, now, PK_NOW);
  const needs = load<u32>(rules + RS_NEEDS);
  if (needs == 0) return;
  if ((needs & NEED_L4) != 0) {
    let flags: u32 = 0;
    let type: u32 = 0;
    let code: u32 = 0;
    if (!later) {
      if (proto == IPPROTO_TCP && n >= ihl + TCP_HLEN) flags = <u32>load<u8>(ip + ihl + TCP_FLAGS);
      else if (proto == IPPROTO_ICMP && n >= ihl + 2) {
        type = <u32>load<u8>(ip + ihl);
        code = <u32>load<u8>(ip + ihl + 1);
      }
    }
    store<u8>(pk, <u8>flags, PK_TCPFLAGS);
    store<u8>(pk, <u8>type, PK_ICMP_TYPE);
    store<u8>(pk, <u8>code, PK_ICMP_CODE);
  }
  if ((needs & NEED_ADDRTYPE) != 0) store<u8>(pk, 0, PK_SRC_TYPE);
  if ((needs & NEED_RPF) != 0) store<u8>(pk, 0, PK_RPF);
}

/** The address types of the packet's source and destination (PK_SRC_TYPE..PK_DST_TYPE_OUT), once per hook. */
export function pkAddrTypes(pk: usize): void {
  if (load<u8>(pk, PK_SRC_TYPE) != 0) return;
  const inDev = <u32>load<u16>(pk, PK_IN);
  const outDev = <u32>load<u16>(pk, PK_OUT);
  addrTypes(pk + PK_SRC_TYPE, load<u32>(pk, PK_SRC), inDev, outDev);
  addrTypes(pk + PK_SRC_TYPE + 1, load<u32>(pk, PK_DST), inDev, outDev);
}

/** The reverse path facts (RPF_*, with RPF_KNOWN), once per hook. */
export function pkReversePath(pk: usize): u32 {
  let r = <u32>load<u8>(pk, PK_RPF);
  if (r != 0) return r;
  const inDev = <u32>load<u16>(pk, PK_IN);
  r = RPF_KNOWN | (inDev == PK_NO_LINK ? 0 : reversePath(load<u32>(pk, PK_SRC), load<u32>(pk, PK_DST), inDev));
  store<u8>(pk, <u8>r, PK_RPF);
  return r;
}

/**
 * inet_dev_addr_type for address a, three ways, at at, at + 2 and at + 4:
 * the host's answer, the ingress link's and the egress link's (an address
 * of another link is UNICAST to a link, as __inet_dev_addr_type says).
 */
function addrTypes(at: usize, a: u32, inDev: u32, outDev: u32): void {
  let type = RTN_UNICAST;
  let dev: u32 = PK_NO_LINK;
  if (a == 0 || a == INADDR_BROADCAST) {
    type = RTN_BROADCAST;
  } else if (isMulticast(a)) {
    type = RTN_MULTICAST;
  } else {
    const n = load<u32>(host + H_NADDRS);
    let p = <usize>load<u32>(host + H_ADDRS);
    for (let i: u32 = 0; i < n; i++, p += ADDR_SIZE) {
      if (load<u32>(p + A_IP) == a) {
        type = RTN_LOCAL;
        dev = <u32>load<u16>(p + A_DEV);
        break;
      }
      if (type == RTN_UNICAST && load<u32>(p + A_BCAST) == a) {
        type = RTN_BROADCAST;
        dev = <u32>load<u16>(p + A_DEV);
      }
    }
  }
  const anyDev = dev == PK_NO_LINK && type != RTN_UNICAST;
  store<u8>(at, <u8>type, PK_SRC_TYPE - PK_SRC_TYPE);
  store<u8>(at, <u8>(anyDev || dev == inDev ? type : RTN_UNICAST), PK_SRC_TYPE_IN - PK_SRC_TYPE);
  store<u8>(at, <u8>(anyDev || dev == outDev ? type : RTN_UNICAST), PK_SRC_TYPE_OUT - PK_SRC_TYPE);
}

/** rpfilter_mt's facts about the route back to src from link inDev (RPF_*). */
function reversePath(src: u32, dst: u32, inDev: u32): u32 {
  // 0.0.0.0 to the limited broadcast or a local multicast group (DHCP, IGMP) always passes.
  if (src == 0 && (dst == INADDR_BROADCAST || (dst & 0xffffff00) == 0xe0000000)) return RPF_ALWAYS;
  const nh = routeLookup(host, src);
  if (nh == 0) return 0;
  const type = <u32>load<u8>(nh + N_TYPE);
  let r: u32 = type == RT_UNICAST ? RPF_UNICAST : type == RT_LOCAL ? RPF_LOCAL : 0;
  if (<u32>load<u16>(nh + N_DEV) == inDev) r |= RPF_DEV;
  return r;
}

export { RTN_LOCAL };
