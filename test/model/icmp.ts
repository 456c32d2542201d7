// Packets the host answers with: ICMP errors (icmp_send), echo replies
// (icmp_echo/icmp_reply) and TCP resets (tcp_v4_send_reset).
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import {
  GEN_TAG, IPPROTO_ICMP, LIMITED_BROADCAST, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
  checksum, get16, get32, icmpMessage, ipv4, isMulticastIp, l4Checksum, put16, put32,
} from './wire.js';

export const ICMP_RATELIMIT_MS = 1000;
export const ICMP_BURST = 6;
/** RFC 792: header + data of the offending packet, 576 bytes in all. */
export const ICMP_QUOTE_MAX = 576 - 20 - 8;

const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

/** How the offending packet arrived: whether its frame was addressed to our MAC. */
export interface RxCtx {
  tag: number;
  /** 'host' for frames to our MAC and for packets of our own stack. */
  cast: 'host' | 'broadcast' | 'multicast';
  /** The device it came in on (a bridge port's bridge); the netfilter hooks' -i. */
  dev?: Link;
}

/** icmp_send: an ICMP error about `ip` (the offending packet as received, trimmed). */
export function icmpError(h: ModelHost, ip: Uint8Array, ctx: RxCtx, type: number, code: number, info = 0): void {
  if (!errorAllowed(h, ip, ctx)) return;
  const src = get32(ip, 12);
  const fragNeeded = type === 3 && code === 4;
  if (!fragNeeded && !rateAllow(h, src)) return h.stage('icmp_ratelimited');
  const dst = get32(ip, 16);
  const quote = ip.subarray(0, Math.min(ip.length, ICMP_QUOTE_MAX));
  const pkt = ipv4(
    {
      src: h.routes.isLocal(dst) ? dst : 0,
      dst: src,
      proto: IPPROTO_ICMP,
      ttl: 64,
      tos: 0xc0 | (ip[1] & 0x1e),
      id: h.nextIpId(),
    },
    icmpMessage(type, code, info, quote),
  );
  h.gen();
  h.stage('icmp_error_sent');
  outputAside(h, pkt);
}

/** Sends a packet made while another is in hand; the other's conntrack state outlives it. */
function outputAside(h: ModelHost, pkt: Uint8Array): void {
  const saved = h.netfilter.save();
  h.output(pkt, GEN_TAG);
  h.netfilter.restore(saved);
}

/** The cases where icmp_send stays silent (RFC 1122 3.2.2, RFC 1812 4.3.2.7). */
function errorAllowed(h: ModelHost, ip: Uint8Array, ctx: RxCtx): boolean {
  const src = get32(ip, 12);
  const dst = get32(ip, 16);
  if (ctx.cast !== 'host') return false;
  if (h.routes.isBroadcast(dst) || isMulticastIp(dst)) return false;
  if (src === 0 || src === LIMITED_BROADCAST || isMulticastIp(src)) return false;
  if ((get16(ip, 6) & 0x1fff) !== 0) return false; // only about the first fragment
  if (ip[9] === IPPROTO_ICMP) {
    const hlen = (ip[0] & 0x0f) * 4;
    if (ip.length <= hlen) return false; // no ICMP type to look at
    if (ICMP_ERROR_TYPES.has(ip[hlen])) return false;
  }
  return true;
}

/** inet_peer_xrlim_allow: per-destination token bucket in ms; a new peer starts full. */
function rateAllow(h: ModelHost, dst: number): boolean {
  const cap = ICMP_BURST * ICMP_RATELIMIT_MS;
  const peer = h.icmpPeers.get(dst);
  let tokens = peer ? Math.min(cap, peer.tokens + (h.now - peer.last)) : cap;
  let ok = false;
  if (tokens >= ICMP_RATELIMIT_MS) {
    tokens -= ICMP_RATELIMIT_MS;
    ok = true;
  }
  h.icmpPeers.set(dst, { tokens, last: h.now });
  return ok;
}

/**
 * icmp_echo: the request turned around: addresses swapped, TTL 64, a new ID,
 * flags cleared; TOS and IP options kept as they were. Type 0; code, id, seq
 * and data kept; the ICMP checksum computed afresh.
 */
export function echoReply(h: ModelHost, ip: Uint8Array): void {
  const hlen = (ip[0] & 0x0f) * 4;
  const pkt = ip.slice();
  put32(pkt, 12, get32(ip, 16));
  put32(pkt, 16, get32(ip, 12));
  pkt[8] = 64;
  put16(pkt, 4, h.nextIpId());
  put16(pkt, 6, 0);
  put16(pkt, 10, 0);
  put16(pkt, 10, checksum(pkt, 0, hlen));
  const msg = pkt.subarray(hlen);
  msg[0] = 0;
  put16(msg, 2, 0);
  put16(msg, 2, checksum(msg));
  h.gen();
  h.stage('icmp_echo_reply');
  h.output(pkt, GEN_TAG);
}

/** tcp_v4_send_reset for a segment no socket wants. */
export function tcpReset(h: ModelHost, ip: Uint8Array): void {
  const hlen = (ip[0] & 0x0f) * 4;
  const th = ip.subarray(hlen);
  const flags = th[13];
  const doff = (th[12] >> 4) * 4;
  const src = get32(ip, 16);
  const dst = get32(ip, 12);
  const rst = new Uint8Array(20);
  put16(rst, 0, get16(th, 2));
  put16(rst, 2, get16(th, 0));
  rst[12] = 5 << 4;
  if (flags & TCP_ACK) {
    put32(rst, 4, get32(th, 8));
    rst[13] = TCP_RST;
  } else {
    const len = th.length - doff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    put32(rst, 8, (get32(th, 4) + len) >>> 0);
    rst[13] = TCP_RST | TCP_ACK;
  }
  put16(rst, 16, l4Checksum(src, dst, IPPROTO_TCP, rst));
  // DF set (the reply socket does PMTU discovery), hence ID 0 (ip_select_ident).
  const pkt = ipv4({ src, dst, proto: IPPROTO_TCP, ttl: 64, tos: ip[1], df: true, id: 0 }, rst);
  h.gen();
  h.stage('tcp_rst_sent');
  outputAside(h, pkt);
}
