// IPv4 forwarding (ip_forward): TTL, MTU, then out towards the next hop.
import { META_REASM, N_DEV, N_GW, L_MTU, DROP_OTHERHOST, DROP_IP_INHDR, DROP_PKT_TOO_BIG, STAT_ip4_ttl_expired, STAT_ip4_forwarded } from '../layout';
import { link, stat, drop } from '../context';
import { ld16, st16 } from '../wire/bytes';
import { csumReplace16 } from '../wire/checksum';
import { IP_TTL, IP_CHECK, IP_DF, ipFrag, ipDst } from '../wire/ipv4';
import { ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp';
import { icmpSend } from './icmp-error';
import { ip4Transmit } from './ip4-output';
import { nfActive, nfForward } from './netfilter';
import { trace } from '../trace/trace';
import { plantStaleChecksum } from '../plant';
import { EV_FORWARD } from '../trace/events';
import { ipForwardOptions } from './ip4-options';

/**
 * ip_forward of the packet at buf+ipOff (tot bytes) that came in on inDev
 * for unicast route nh. meta: META_* of what it carries (0 for most).
 */
export function ip4Forward(nh: usize, inDev: u32, buf: usize, ipOff: u32, tot: u32, tag: u32, l2multi: bool, meta: u32): void {
  const ip = buf + ipOff;
  if (l2multi) {
    drop(buf, DROP_OTHERHOST, tag);
    return;
  }
  const ttl = <u32>load<u8>(ip + IP_TTL);
  if (ttl <= 1) {
    stat(STAT_ip4_ttl_expired);
    icmpSend(ip, ICMP_TIME_EXCEEDED, 0, 0, 0, false);
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  const dev = <u32>load<u16>(nh + N_DEV);
  const mtu = <u32>load<u16>(link(dev) + L_MTU);
  // ip_exceeds_mtu: a datagram nf_defrag made whole exceeds only if one of its fragments did.
  if (tot > mtu && (ipFrag(ip) & IP_DF) != 0 && ((meta & META_REASM) == 0 || (meta & 0xffff) > mtu)) {
    icmpSend(ip, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, 0, false);
    drop(buf, DROP_PKT_TOO_BIG, tag);
    return;
  }
  // ip_decrease_ttl: TTL shares a 16-bit word with the protocol (RFC 1624).
  const word = ld16(ip + IP_TTL);
  st16(ip + IP_TTL, word - 0x100);
  st16(ip + IP_CHECK, csumReplace16(ld16(ip + IP_CHECK), word, word - 0x100));
  plantStaleChecksum(ip, word);
  trace(EV_FORWARD, <u32>ip, dev, mtu);
  if (nfActive()) {
    // The FORWARD hook sees the packet with its TTL already decremented.
    const r = nfForward(ip, tot, inDev, dev);
    if (r != 0) {
      drop(buf, r, tag);
      return;
    }
  }
  if (meta != 0) ipForwardOptions(ip, nh); // ip_forward_finish
  stat(STAT_ip4_forwarded);
  const gw = load<u32>(nh + N_GW);
  ip4Transmit(dev, gw != 0 ? gw : ipDst(ip), nh, buf, ipOff, tot, tag, meta);
}
