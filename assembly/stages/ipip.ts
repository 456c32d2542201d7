// IPIP tunnels (net/ipv4/ipip.c, ip_tunnel.c): encapsulation into an outer
// IPv4 header prepended in the buffer's headroom, and decapsulation of
// protocol 4 from allowed peers.
import {
  H_IPID, H_IPIP, L_FLAGS, LF_UP, L_MTU, L_TYPE, LT_IPIP, L_TUN_LOCAL, L_TUN_TTL, L_TUN_FLAGS,
  L_TUN_PEERS, L_TUN_NPEERS, TF_PMTUDISC, TF_PEERS, L_TX_PACKETS, L_TX_BYTES, L_RX_PACKETS, L_RX_BYTES,
  N_TYPE, N_DEV, N_GW, N_SRC, N_OUTER, NH_SIZE, H_NH, RT_UNICAST, IPPROTO_IPIP, MIN_OFF,
  DROP_IP_OUTNOROUTES, DROP_PKT_TOO_BIG, DROP_NETFILTER_DROP, DROP_NOMEM,
  STAT_ipip_encap, STAT_ipip_decap, STAT_ipip_rejected,
} from '../layout';
import { host, link, stat, add64, drop } from '../context';
import { st16, st32 } from '../wire/bytes';
import { ipHeaderChecksum } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import {
  IP_TOS, IP_TOTLEN, IP_ID, IP_FRAG, IP_TTL, IP_PROTO, IP_CHECK, IP_SRC, IP_DST, IP_HLEN, IP_DF, ipFrag, ipSrc,
} from '../wire/ipv4';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp';
import { routeLookup, selectSource } from '../tables/route';
import { icmpSend } from './icmp-error';
import { ip4Transmit } from './ip4-output';
import { ip4Input } from './ip4-input';
import { nfActive, nfOutput, nfScrub } from './netfilter';
import { trace } from '../trace/trace';
import { EV_ENCAP, EV_DECAP, EV_DECAP_REJECT } from '../trace/events';

/** INET_ECN_encapsulate: the outer header carries the inner ECN field (CE as ECT(0)). */
@inline function ecnEncap(innerTos: u32): u32 {
  const ecn = innerTos & 3;
  return ecn == 3 ? 2 : ecn;
}

/** Sends the inner packet at buf+ipOff through tunnel dev to the remote gw. */
export function ipipEncap(dev: u32, gw: u32, tunNh: usize, buf: usize, ipOff: u32, len: u32, tag: u32): void {
  const lp = link(dev);
  if (ipOff < MIN_OFF + ETH_HLEN + IP_HLEN) {
    drop(buf, DROP_NOMEM, tag); // no headroom left (tunnels nested too deep)
    return;
  }
  // The outer packet is routed like any the host sends (ip_tunnel_xmit); the
  // route to the remote is remembered in the tunnel's nexthop (dst_cache).
  const nh = outerRoute(tunNh, gw);
  if (nh == 0 || <u32>load<u8>(nh + N_TYPE) != RT_UNICAST ||
      <u32>load<u8>(link(<u32>load<u16>(nh + N_DEV)) + L_TYPE) == LT_IPIP) {
    drop(buf, DROP_IP_OUTNOROUTES, tag);
    return;
  }
  const out = <u32>load<u16>(nh + N_DEV);
  const outGw = load<u32>(nh + N_GW);
  const next = outGw != 0 ? outGw : gw;
  const inner = buf + ipOff;
  const innerDf = (ipFrag(inner) & IP_DF) != 0;
  const flags = <u32>load<u8>(lp + L_TUN_FLAGS);
  const df = (flags & TF_PMTUDISC) != 0 || innerDf;
  const total = len + IP_HLEN;
  const mtu = <u32>load<u16>(link(out) + L_MTU);
  if (total > mtu && df) {
    // tnl_update_pmtu: tell the inner sender the tunnel's path MTU.
    if (innerDf) icmpSend(inner, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu - IP_HLEN, 0, false);
    drop(buf, DROP_PKT_TOO_BIG, tag);
    return;
  }
  add64(lp + L_TX_PACKETS, 1);
  add64(lp + L_TX_BYTES, len);
  let src = load<u32>(lp + L_TUN_LOCAL);
  if (src == 0) src = load<u32>(nh + N_SRC);
  if (src == 0) src = selectSource(host, out, next);
  const ttl = <u32>load<u8>(lp + L_TUN_TTL);
  const o = inner - IP_HLEN;
  store<u8>(o, 0x45);
  store<u8>(o + IP_TOS, <u8>ecnEncap(<u32>load<u8>(inner + IP_TOS)));
  st16(o + IP_TOTLEN, total);
  const id = load<u32>(host + H_IPID);
  store<u32>(host + H_IPID, id + 1);
  st16(o + IP_ID, id & 0xffff);
  st16(o + IP_FRAG, df ? IP_DF : 0);
  store<u8>(o + IP_TTL, <u8>(ttl != 0 ? ttl : <u32>load<u8>(inner + IP_TTL)));
  store<u8>(o + IP_PROTO, <u8>IPPROTO_IPIP);
  st32(o + IP_SRC, src);
  st32(o + IP_DST, gw);
  st16(o + IP_CHECK, 0);
  st16(o + IP_CHECK, ipHeaderChecksum(o, IP_HLEN));
  stat(STAT_ipip_encap);
  trace(EV_ENCAP, dev, <u32>o, 0, 0, out);
  if (nfActive()) {
    nfScrub(); // the outer packet is tracked as a packet of its own; its mark stays
    const r = nfOutput(o, total, out);
    if (r != 0) {
      drop(buf, r, tag);
      return;
    }
  }
  // As ip_local_out: POSTROUTING, then fragments when it is too big (DF was dealt with above).
  ip4Transmit(out, next, nh, buf, ipOff - IP_HLEN, total, tag);
}

function outerRoute(tunNh: usize, gw: u32): usize {
  const base = <usize>load<u32>(host + H_NH);
  if (tunNh != 0 && load<u32>(tunNh + N_GW) == gw) {
    const cached = load<u32>(tunNh + N_OUTER);
    if (cached != 0) return base + <usize>(cached - 1) * NH_SIZE;
    const nh = routeLookup(host, gw);
    if (nh != 0) store<u32>(tunNh + N_OUTER, <u32>((nh - base) / NH_SIZE) + 1);
    return nh;
  }
  return routeLookup(host, gw);
}

/**
 * Protocol 4 for this host: the inner packet continues as if received on the
 * tunnel. Returns false when the host has no tunnel (the caller answers with
 * protocol unreachable, as Linux without the ipip module does).
 */
export function ipipDecap(buf: usize, ipOff: u32, ihl: u32, tot: u32, tag: u32): bool {
  const t = load<u32>(host + H_IPIP);
  if (t == 0) return false;
  const dev = t - 1;
  const lp = link(dev);
  if ((<u32>load<u8>(lp + L_FLAGS) & LF_UP) == 0) return false;
  const outer = buf + ipOff;
  if ((<u32>load<u8>(lp + L_TUN_FLAGS) & TF_PEERS) != 0 && !peerAllowed(lp, ipSrc(outer))) {
    stat(STAT_ipip_rejected);
    trace(EV_DECAP_REJECT, dev, <u32>outer);
    drop(buf, DROP_NETFILTER_DROP, tag); // Felix: IPIP only from cluster nodes
    return true;
  }
  stat(STAT_ipip_decap);
  trace(EV_DECAP, dev, <u32>outer);
  if (nfActive()) nfScrub(); // ip_tunnel_rcv: the inner packet is tracked anew, its mark stays
  const n = tot - ihl;
  add64(lp + L_RX_PACKETS, 1);
  add64(lp + L_RX_BYTES, n);
  ip4Input(dev, buf, ipOff + ihl, n, tag, false);
  return true;
}

/** Binary search of the tunnel's sorted allowlist. */
function peerAllowed(lp: usize, src: u32): bool {
  const base = <usize>load<u32>(lp + L_TUN_PEERS);
  let lo: u32 = 0;
  let hi = load<u32>(lp + L_TUN_NPEERS);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = load<u32>(base + (<usize>mid << 2));
    if (v == src) return true;
    if (v < src) lo = mid + 1;
    else hi = mid;
  }
  return false;
}


