// Sending ICMP errors (icmp_send): when not to, how often, and what they carry.
import {
  HEADROOM, TAG_GENERATED, H_IPID, IPPROTO_ICMP, STAT_icmp_error_sent, STAT_icmp_ratelimited, C_SCRATCH, S_OPTS,
  N_TYPE, N_DEV, L_MTU, RT_UNICAST, RT_LOCAL, RT_BROADCAST,
} from '../layout';
import { ctx, host, now, link, stat, genAlloc } from '../context';
import { st16, st32 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import {
  IP_TOS, IP_TOTLEN, IP_ID, IP_FRAG, IP_TTL, IP_PROTO, IP_CHECK, IP_SRC, IP_DST, IP_HLEN,
  ipIhlBytes, ipTotLen, ipSrc, ipProto, ipIsLaterFragment, isMulticast, INADDR_BROADCAST,
} from '../wire/ipv4';
import {
  ICMP_TYPE, ICMP_CODE, ICMP_CHECK, ICMP_HLEN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, icmpIsError,
} from '../wire/icmp';
import { icmpGlobalAllow, icmpGlobalConsume, icmpPeerAllow } from '../tables/ratelimit';
import { routeLookup } from '../tables/route';
import { ip4Output, outputSource } from './ip4-output';
import { ipOptionsEcho, ipOptionsBuild, echoFirstHop, echoRouted } from './ip4-options';
import { nfSave, nfRestore } from './netfilter';
import { trace } from '../trace/trace';
import { EV_ICMP_ERROR, EV_ICMP_RATELIMIT } from '../trace/events';

// RFC 1812 4.3.2.3: quote as much as fits in 576 bytes, or in the MTU of the way back when less (icmp_send's room).
const ICMP_ROOM: u32 = 576;

/**
 * Sends an ICMP error about the IPv4 packet at ip (its header as received).
 * info: the second word of the ICMP header. src: the error's source
 * address, 0 to let routing choose. suppress: the packet came to a
 * broadcast/multicast MAC or address. len: its bytes, when fewer than its
 * header's total length says (a fragment cut to whole 8-byte blocks).
 */
export function icmpSend(ip: usize, type: u32, code: u32, info: u32, src: u32, suppress: bool, len: u32 = 0): void {
  if (suppress || ipIsLaterFragment(ip)) return;
  const ihl = ipIhlBytes(ip);
  const tot = len != 0 ? len : ipTotLen(ip);
  if (ipProto(ip) == IPPROTO_ICMP && (tot <= ihl || icmpIsError(<u32>load<u8>(ip + ihl)))) return;
  const dst = ipSrc(ip);
  if (dst == 0 || dst == INADDR_BROADCAST || isMulticast(dst)) return;
  // Frag-needed is never limited: path MTU discovery depends on it (icmpv4_mask_allow).
  const limited = !(type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED);
  if (limited && !icmpGlobalAllow(host, now)) {
    stat(STAT_icmp_ratelimited);
    trace(EV_ICMP_RATELIMIT, type, code, dst);
    return;
  }
  // __ip_options_echo: the error carries the packet's options (or is not sent).
  let elen: i32 = 0;
  let to = dst;
  const opts = <usize>load<u32>(ctx + C_SCRATCH) + S_OPTS;
  if (ihl > IP_HLEN) {
    elen = ipOptionsEcho(ip, opts);
    if (elen < 0) return;
    // icmp_route_lookup: towards the sender, or the first hop of its source route reversed
    // (0.0.0.0 there sends Linux's error to itself over loopback: none is sent here).
    if (echoRouted) to = echoFirstHop;
    if (to == 0) return;
  }
  const nh = routeLookup(host, to);
  const rt = nh == 0 ? 0 : <u32>load<u8>(nh + N_TYPE);
  if (rt != RT_UNICAST && rt != RT_LOCAL && rt != RT_BROADCAST) return; // no error, and no token spent
  if (limited) {
    // icmpv4_xrlim_allow: the peer's bucket (not for errors to ourselves), then the host's credit.
    if (rt == RT_UNICAST && !icmpPeerAllow(host, to, now)) {
      stat(STAT_icmp_ratelimited);
      return;
    }
    icmpGlobalConsume(host);
  }
  const backMtu = rt == RT_UNICAST ? <u32>load<u16>(link(<u32>load<u16>(nh + N_DEV)) + L_MTU) : ICMP_ROOM;
  const hlen = IP_HLEN + <u32>elen;
  const room = <i32>(backMtu < ICMP_ROOM ? backMtu : ICMP_ROOM) - <i32>hlen - <i32>ICMP_HLEN;
  if (room <= <i32>IP_HLEN) return; // at least the quoted header, or nothing
  const buf = genAlloc(TAG_GENERATED);
  if (buf == 0) return;
  const quote = tot < <u32>room ? tot : <u32>room;
  const ipOff = HEADROOM + ETH_HLEN;
  const out = buf + ipOff;
  const total = hlen + ICMP_HLEN + quote;
  store<u8>(out, <u8>(0x40 | (hlen >> 2)));
  store<u8>(out + IP_TOS, 0xc0 | (load<u8>(ip + IP_TOS) & 0x1e));
  st16(out + IP_TOTLEN, total);
  const id = load<u32>(host + H_IPID);
  store<u32>(host + H_IPID, id + 1);
  st16(out + IP_ID, id & 0xffff);
  st16(out + IP_FRAG, 0);
  store<u8>(out + IP_TTL, 64);
  store<u8>(out + IP_PROTO, <u8>IPPROTO_ICMP);
  st32(out + IP_DST, to);
  if (elen > 0) {
    // The source is the one ip_output would choose, so Record Route can hold it.
    if (src == 0) src = outputSource(nh, to);
    memory.copy(out + IP_HLEN, opts, <u32>elen);
    ipOptionsBuild(out, dst, src);
  }
  st32(out + IP_SRC, src);
  st16(out + IP_CHECK, 0);
  st16(out + IP_CHECK, checksum(out, hlen));
  const icmp = out + hlen;
  store<u8>(icmp + ICMP_TYPE, <u8>type);
  store<u8>(icmp + ICMP_CODE, <u8>code);
  st32(icmp + 4, info); // the rest of the header: a frag-needed's MTU, a parameter problem's pointer
  memory.copy(icmp + ICMP_HLEN, ip, quote);
  st16(icmp + ICMP_CHECK, 0);
  st16(icmp + ICMP_CHECK, checksum(icmp, ICMP_HLEN + quote));
  stat(STAT_icmp_error_sent);
  trace(EV_ICMP_ERROR, type, code, to, info);
  nfSave(true); // the offending packet's netfilter state outlives its error, which is RELATED to it (nf_ct_attach, icmp_glue_bits)
  ip4Output(buf, ipOff, total, TAG_GENERATED);
  nfRestore();
}
