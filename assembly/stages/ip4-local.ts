// Local delivery (ip_local_deliver): the host's own ICMP, UDP and TCP.
import {
  H_IPID, IPPROTO_ICMP, IPPROTO_UDP, IPPROTO_TCP, IPPROTO_IPIP, TAG_GENERATED, HEADROOM, CNT_LOCAL, CNT_GENERATED,
  DROP_HDR_TRUNC, DROP_ICMP_CSUM, DROP_UDP_CSUM, DROP_TCP_CSUM, DROP_PKT_TOO_SMALL, DROP_NO_SOCKET,
  DROP_IP_NOPROTO,
  STAT_ip4_local, STAT_icmp_echo_reply, STAT_icmp_delivered, STAT_udp_delivered, STAT_tcp_delivered,
  STAT_tcp_rst_sent, C_SCRATCH, S_OPTS, FRAG_USER_LOCAL,
} from '../layout';
import { ctx, host, count, stat, drop, deliver, consume, consumed, genAlloc } from '../context';
import { ld16, ld32, st16, st32 } from '../wire/bytes';
import { checksum, finish, sumBytes, pseudoSum } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import {
  IP_TOS, IP_TOTLEN, IP_ID, IP_FRAG, IP_TTL, IP_PROTO, IP_CHECK, IP_SRC, IP_DST, IP_HLEN, IP_DF,
  ipIhlBytes, ipSrc, ipDst, ipProto, ipIsFragment, ipTotLen,
} from '../wire/ipv4';
import {
  ICMP_TYPE, ICMP_CHECK, ICMP_HLEN, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
  ICMP_PROT_UNREACH,
} from '../wire/icmp';
import { UDP_DPORT, UDP_LEN, UDP_CHECK, UDP_HLEN } from '../wire/udp';
import {
  TCP_SPORT, TCP_DPORT, TCP_SEQ, TCP_ACK, TCP_DOFF, TCP_FLAGS, TCP_WINDOW, TCP_CHECK, TCP_URG_PTR, TCP_HLEN,
  TH_SYN, TH_FIN, TH_RST, TH_ACK,
} from '../wire/tcp';
import { isOpen } from '../tables/route';
import { icmpSend } from './icmp-error';
import { ip4Output } from './ip4-output';
import { nfSave, nfRestore, nfReset } from './netfilter';
import { ipipDecap } from './ipip';
import { trace } from '../trace/trace';
import { EV_LOCAL, EV_ECHO_REPLY, EV_TCP_RESET } from '../trace/events';
import { ipDefrag, DGRAM_OFF, reasmL2multi } from './defrag';
import { ipOptionsEcho, ipOptionsBuild, optForget, echoFirstHop, echoRouted } from './ip4-options';

/**
 * The IPv4 packet at buf+ipOff (tot bytes) is for this host. bcast: sent to
 * a broadcast address; l2multi: it came to a broadcast/multicast MAC.
 */
export function ip4Local(buf: usize, ipOff: u32, tot: u32, tag: u32, bcast: bool, l2multi: bool): void {
  let ip = buf + ipOff;
  stat(STAT_ip4_local);
  trace(EV_LOCAL, <u32>ip);
  if (ipIsFragment(ip)) {
    // ip_defrag for local delivery: the datagram goes on once whole.
    const d = ipDefrag(FRAG_USER_LOCAL, buf, ipOff, tot, tag, l2multi);
    if (d == 0) return;
    buf = d;
    ipOff = DGRAM_OFF;
    ip = buf + ipOff;
    tot = ipTotLen(ip);
    l2multi = reasmL2multi;
  }
  const proto = ipProto(ip);
  const ihl = ipIhlBytes(ip);
  const l4 = ip + ihl;
  const n = tot - ihl;
  if (proto == IPPROTO_ICMP) {
    if (n < ICMP_HLEN) {
      drop(buf, DROP_HDR_TRUNC, tag);
    } else if (checksum(l4, n) != 0) {
      drop(buf, DROP_ICMP_CSUM, tag);
    } else if (<u32>load<u8>(l4 + ICMP_TYPE) == ICMP_ECHO) {
      if (bcast) consume(buf, tag); // icmp_echo_ignore_broadcasts looks at the address, not the frame
      else echoReply(buf, ipOff, tot, tag);
    } else {
      stat(STAT_icmp_delivered);
      deliver(buf, ipOff, tot, ipOff, tag);
    }
  } else if (proto == IPPROTO_UDP) {
    if (n < UDP_HLEN || ld16(l4 + UDP_LEN) > n || ld16(l4 + UDP_LEN) < UDP_HLEN) {
      drop(buf, DROP_PKT_TOO_SMALL, tag);
      return;
    }
    const ulen = ld16(l4 + UDP_LEN);
    if (ld16(l4 + UDP_CHECK) != 0 &&
        finish(sumBytes(l4, ulen, pseudoSum(ipSrc(ip), ipDst(ip), IPPROTO_UDP, ulen))) != 0) {
      drop(buf, DROP_UDP_CSUM, tag);
    } else if (isOpen(host, IPPROTO_UDP, ld16(l4 + UDP_DPORT))) {
      stat(STAT_udp_delivered);
      deliver(buf, ipOff, tot, ipOff, tag);
    } else {
      icmpSend(ip, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, ipDst(ip), bcast || l2multi);
      drop(buf, DROP_NO_SOCKET, tag);
    }
  } else if (proto == IPPROTO_TCP) {
    if (n < TCP_HLEN || ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2) < TCP_HLEN ||
        ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2) > n) {
      drop(buf, DROP_HDR_TRUNC, tag);
    } else if (finish(sumBytes(l4, n, pseudoSum(ipSrc(ip), ipDst(ip), IPPROTO_TCP, n))) != 0) {
      drop(buf, DROP_TCP_CSUM, tag);
    } else if (isOpen(host, IPPROTO_TCP, ld16(l4 + TCP_DPORT))) {
      stat(STAT_tcp_delivered);
      deliver(buf, ipOff, tot, ipOff, tag);
    } else {
      if (!bcast && !l2multi && (<u32>load<u8>(l4 + TCP_FLAGS) & TH_RST) == 0) sendReset(ip, l4, n, false);
      drop(buf, DROP_NO_SOCKET, tag);
    }
  } else if (proto == IPPROTO_IPIP && !bcast && !l2multi && ipipDecap(buf, ipOff, ihl, tot, tag)) {
    // the inner packet went on from the tunnel
  } else {
    icmpSend(ip, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, ipDst(ip), bcast || l2multi);
    drop(buf, DROP_IP_NOPROTO, tag);
  }
}

/** Answers an echo request in its own buffer (icmp_echo, icmp_reply). */
function echoReply(buf: usize, ipOff: u32, tot: u32, tag: u32): void {
  const ip = buf + ipOff;
  let ihl = ipIhlBytes(ip);
  const src = ipSrc(ip);
  const dst = ipDst(ip);
  let to = src;
  if (ihl > IP_HLEN) {
    // The reply carries the request's options as __ip_options_echo gives them (or is not sent).
    const opts = <usize>load<u32>(ctx + C_SCRATCH) + S_OPTS;
    const elen = ipOptionsEcho(ip, opts);
    if (elen < 0) {
      consume(buf, tag); // icmp_reply gives up; the request was taken
      return;
    }
    if (echoRouted) to = echoFirstHop;
    const hlen = IP_HLEN + <u32>elen;
    memory.copy(ip + hlen, ip + ihl, tot - ihl);
    tot = tot - ihl + hlen;
    ihl = hlen;
    memory.copy(ip + IP_HLEN, opts, <u32>elen);
    store<u8>(ip, <u8>(0x40 | (hlen >> 2)));
    st16(ip + IP_TOTLEN, tot);
    ipOptionsBuild(ip, src, dst);
    optForget(ip);
  }
  consumed(tag);
  const l4 = ip + ihl;
  count(CNT_GENERATED);
  stat(STAT_icmp_echo_reply);
  trace(EV_ECHO_REPLY);
  st32(ip + IP_SRC, dst);
  st32(ip + IP_DST, to);
  store<u8>(ip + IP_TTL, 64);
  const id = load<u32>(host + H_IPID);
  store<u32>(host + H_IPID, id + 1);
  st16(ip + IP_ID, id & 0xffff);
  st16(ip + IP_FRAG, 0);
  st16(ip + IP_CHECK, 0);
  st16(ip + IP_CHECK, checksum(ip, ihl));
  store<u8>(l4 + ICMP_TYPE, <u8>ICMP_ECHOREPLY);
  // Computed whole: an incremental update could leave 0x0000 where only 0xffff is right.
  st16(l4 + ICMP_CHECK, 0);
  st16(l4 + ICMP_CHECK, checksum(l4, tot - ihl));
  nfReset(); // the reply is a packet of its own: tracked anew, mark 0 (icmp_reply)
  ip4Output(buf, ipOff, tot, TAG_GENERATED);
}

/**
 * tcp_v4_send_reset: a RST for a segment no socket wanted, with the
 * segment's options echoed; with `reject`, nf_send_reset's for a REJECT: TOS
 * 0, no options, and it carries the rejected packet's connection
 * (nf_ct_attach).
 */
export function sendReset(ip: usize, th: usize, n: u32, reject: bool): void {
  let elen: i32 = 0;
  const opts = <usize>load<u32>(ctx + C_SCRATCH) + S_OPTS;
  if (!reject && ipIhlBytes(ip) > IP_HLEN) {
    elen = ipOptionsEcho(ip, opts);
    if (elen < 0) return; // ip_send_unicast_reply gives up
  }
  const buf = genAlloc(TAG_GENERATED);
  if (buf == 0) return;
  const ipOff = HEADROOM + ETH_HLEN;
  const out = buf + ipOff;
  const hlen = IP_HLEN + <u32>elen;
  const len = hlen + TCP_HLEN;
  const flags = <u32>load<u8>(th + TCP_FLAGS);
  store<u8>(out, <u8>(0x40 | (hlen >> 2)));
  store<u8>(out + IP_TOS, reject ? 0 : load<u8>(ip + IP_TOS));
  st16(out + IP_TOTLEN, len);
  st16(out + IP_ID, 0); // DF set, so the ID is 0 (ip_select_ident)
  st16(out + IP_FRAG, IP_DF);
  store<u8>(out + IP_TTL, 64);
  store<u8>(out + IP_PROTO, <u8>IPPROTO_TCP);
  st32(out + IP_SRC, ipDst(ip));
  st32(out + IP_DST, echoRouted && elen > 0 ? echoFirstHop : ipSrc(ip));
  if (elen > 0) {
    memory.copy(out + IP_HLEN, opts, <u32>elen);
    ipOptionsBuild(out, ipSrc(ip), ipDst(ip));
  }
  st16(out + IP_CHECK, 0);
  st16(out + IP_CHECK, checksum(out, hlen));
  const t = out + hlen;
  st16(t + TCP_SPORT, ld16(th + TCP_DPORT));
  st16(t + TCP_DPORT, ld16(th + TCP_SPORT));
  if ((flags & TH_ACK) != 0) {
    st32(t + TCP_SEQ, ld32(th + TCP_ACK));
    st32(t + TCP_ACK, 0);
    store<u8>(t + TCP_FLAGS, <u8>TH_RST);
  } else {
    const doff = (<u32>load<u8>(th + TCP_DOFF) >> 4) << 2;
    let ack = ld32(th + TCP_SEQ) + (n - doff);
    if ((flags & TH_SYN) != 0) ack++;
    if ((flags & TH_FIN) != 0) ack++;
    st32(t + TCP_SEQ, 0);
    st32(t + TCP_ACK, ack);
    store<u8>(t + TCP_FLAGS, <u8>(TH_RST | TH_ACK));
  }
  store<u8>(t + TCP_DOFF, 5 << 4);
  st16(t + TCP_WINDOW, 0);
  st16(t + TCP_URG_PTR, 0);
  st16(t + TCP_CHECK, 0);
  st16(t + TCP_CHECK, finish(sumBytes(t, TCP_HLEN, pseudoSum(ipDst(ip), ipSrc(ip), IPPROTO_TCP, TCP_HLEN))));
  stat(STAT_tcp_rst_sent);
  trace(EV_TCP_RESET);
  nfSave(reject); // the offending packet's netfilter state outlives its reset
  ip4Output(buf, ipOff, len, TAG_GENERATED);
  nfRestore();
}
