// IPv4 receive (ip_rcv_core) and the input route decision (ip_route_input).
import {
  H_FLAGS, HF_FORWARDING, N_TYPE, RT_LOCAL, RT_BROADCAST, RT_UNICAST, RT_BLACKHOLE, RT_UNREACHABLE,
  DROP_IP_INHDR, DROP_IP_CSUM, DROP_PKT_TOO_SMALL, DROP_IP_INVALID_SOURCE, DROP_IP_INVALID_DEST,
  DROP_NOT_SPECIFIED, DROP_IP_INADDRERRORS, DROP_IP_INNOROUTES, DROP_BLACKHOLE, DROP_UNREACHABLE, META_OPTIONS, FRAG_USER_CONNTRACK_IN,
} from '../layout';
import { host, now, drop } from '../context';
import { routeErrorAllow } from '../tables/ratelimit';
import { ipHeaderValid } from '../wire/checksum';
import { IP_HLEN, ipTotLen, ipSrc, ipDst, ipIhlBytes, ipIsFragment, isMulticast, isLoopback, INADDR_BROADCAST } from '../wire/ipv4';
import {
  ICMP_DEST_UNREACH, ICMP_NET_UNREACH, ICMP_HOST_UNREACH, ICMP_PKT_FILTERED,
} from '../wire/icmp';
import { routeLookup, isLocalAddress } from '../tables/route';
import { ip4Forward } from './ip4-forward';
import { nfActive, nfPrerouting, nfInput } from './netfilter';
import { ip4Local } from './ip4-local';
import { icmpSend } from './icmp-error';
import { trace } from '../trace/trace';
import { EV_ROUTE_INPUT } from '../trace/events';
import { ipOptionsRcv } from './ip4-options';
import { ipDefrag, DGRAM_OFF, reasmL2multi, reasmMeta } from './defrag';

/**
 * An IPv4 packet of n bytes at buf+ipOff received on device dev; l2multi: it
 * came to a broadcast/multicast MAC.
 */
export function ip4Input(dev: u32, buf: usize, ipOff: u32, n: u32, tag: u32, l2multi: bool): void {
  const ip = buf + ipOff;
  if (n < 20) {
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  const vihl = <u32>load<u8>(ip);
  const ihl = (vihl & 15) << 2;
  if ((vihl >> 4) != 4 || ihl < 20 || ihl > n) {
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  if (!ipHeaderValid(ip, ihl)) {
    drop(buf, DROP_IP_CSUM, tag);
    return;
  }
  const tot = ipTotLen(ip);
  if (n < tot) {
    drop(buf, DROP_PKT_TOO_SMALL, tag);
    return;
  }
  if (tot < ihl) {
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  // nf_defrag_ipv4 at PREROUTING: a host with netfilter sees datagrams, not
  // fragments; the one that completes a datagram goes on as the datagram.
  if (nfActive() && ipIsFragment(ip)) {
    const d = ipDefrag(FRAG_USER_CONNTRACK_IN, buf, ipOff, tot, tag, l2multi);
    if (d == 0) return;
    ip4Receive(dev, d, DGRAM_OFF, ipTotLen(d + DGRAM_OFF), ipIhlBytes(d + DGRAM_OFF), tag, reasmL2multi, reasmMeta);
    return;
  }
  ip4Receive(dev, buf, ipOff, tot, ihl, tag, l2multi, 0);
}

/**
 * The packet at buf+ipOff (tot bytes, its header of ihl checked) from
 * martians to its route, its options, and where the route takes it. meta:
 * META_* of a datagram nf_defrag made whole (0 for the others). Inlined into
 * both callers: every packet passes here, and a call of eight arguments
 * costs it more than the copy costs the module.
 */
@inline function ip4Receive(dev: u32, buf: usize, ipOff: u32, tot: u32, ihl: u32, tag: u32, l2multi: bool, meta: u32): void {
  const ip = buf + ipOff;
  // Martians (ip_route_input_slow, fib_validate_source): the source first.
  const src = ipSrc(ip);
  const dst = ipDst(ip);
  if (isMulticast(src) || src == INADDR_BROADCAST || isLoopback(src) ||
      (src == 0 ? dst != INADDR_BROADCAST : isLocalAddress(host, src))) {
    drop(buf, DROP_IP_INVALID_SOURCE, tag);
    return;
  }
  if (isMulticast(dst)) {
    drop(buf, DROP_NOT_SPECIFIED, tag);
    return;
  }
  if (dst != INADDR_BROADCAST && (dst == 0 || isLoopback(dst))) {
    drop(buf, DROP_IP_INVALID_DEST, tag);
    return;
  }
  if (nfActive()) {
    // PREROUTING: conntrack, and DNAT before the route is chosen.
    const r = nfPrerouting(ip, tot, dev);
    if (r != 0) {
      drop(buf, r, tag);
      return;
    }
  }
  // The route (ip_route_input), then the options, which any route lets through (ip_rcv_finish_core).
  let nh: usize = 0;
  let type = RT_BROADCAST;
  if (ipDst(ip) != INADDR_BROADCAST) {
    nh = routeLookup(host, ipDst(ip));
    trace(EV_ROUTE_INPUT, <u32>ip, <u32>nh);
    type = nh == 0 ? 0 : <u32>load<u8>(nh + N_TYPE);
  }
  if (ihl > IP_HLEN) {
    const r = ipOptionsRcv(ip, ihl, dev, type, l2multi);
    if (r != 0) {
      drop(buf, r, tag);
      return;
    }
    meta |= META_OPTIONS;
  }
  if (type == RT_LOCAL || type == RT_BROADCAST) {
    if (nfActive() && !nfLocalIn(buf, ip, tot, dev, tag)) return;
    ip4Local(buf, ipOff, tot, tag, type == RT_BROADCAST, l2multi);
    return;
  }
  if ((load<u32>(host + H_FLAGS) & HF_FORWARDING) == 0) {
    drop(buf, DROP_IP_INADDRERRORS, tag);
    return;
  }
  if (type == RT_UNICAST) {
    ip4Forward(nh, dev, buf, ipOff, tot, tag, l2multi, meta);
  } else if (type == RT_BLACKHOLE) {
    drop(buf, DROP_BLACKHOLE, tag);
  } else {
    // ip_error: no route, unreachable, prohibit; its own limit per source, whatever the frame.
    if (routeErrorAllow(host, src, now)) {
      const code = type == 0 ? ICMP_NET_UNREACH : type == RT_UNREACHABLE ? ICMP_HOST_UNREACH : ICMP_PKT_FILTERED;
      icmpSend(ip, ICMP_DEST_UNREACH, code, 0, 0, l2multi);
    }
    drop(buf, type == 0 ? DROP_IP_INNOROUTES : DROP_UNREACHABLE, tag);
  }
}

/** The INPUT hook before local delivery; false when it dropped the packet. */
function nfLocalIn(buf: usize, ip: usize, tot: u32, dev: u32, tag: u32): bool {
  const r = nfInput(ip, tot, dev);
  if (r == 0) return true;
  drop(buf, r, tag);
  return false;
}
