// Packets the host answers with: ICMP errors (icmp_send), echo replies
// (icmp_echo/icmp_reply) and TCP resets (tcp_v4_send_reset).
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import { answerOptions, echoOptions, routeSource, type CompiledOptions } from './options.js';
import {
  GEN_TAG, IPPROTO_ICMP, LIMITED_BROADCAST, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
  checksum, get16, get32, icmpMessage, ipv4, isMulticastIp, l4Checksum, put16, put32,
} from './wire.js';

export const ICMP_RATELIMIT_MS = 1000;
export const ICMP_BURST = 6;
/** ip_error's own limit: ip_rt_error_cost, ip_rt_error_burst. */
export const RT_ERROR_COST_MS = 1000;
export const RT_ERROR_BURST_MS = 5000;
/** icmp_msgs_per_sec, icmp_msgs_burst. */
export const ICMP_MSGS_PER_SEC = 1000;
export const ICMP_MSGS_BURST = 50;
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
  /** Its options as compiled on receive (none for packets of our own stack). */
  opts?: CompiledOptions;
  /** nf_defrag made it whole: its fragments' sizes and the largest (frag_max_size). */
  reasm?: { sizes: number[]; max: number };
}

/**
 * icmp_send: an ICMP error about `ip` (the offending packet as received,
 * trimmed). from: its source when the caller names one (REJECT does), else
 * the packet's destination if local, else routing's choice.
 */
export function icmpError(h: ModelHost, ip: Uint8Array, ctx: RxCtx, type: number, code: number, info = 0, from?: number): void {
  if (!errorAllowed(h, ip, ctx)) return;
  const src = get32(ip, 12);
  // Frag-needed is never limited (icmpv4_mask_allow).
  const limited = !(type === 3 && code === 4);
  if (limited && !globalAllow(h)) return h.stage('icmp_ratelimited');
  // The error echoes the packet's options, or is not sent (__ip_options_echo).
  const echo = echoOptions(h, ip, ctx.opts);
  if (!echo) return;
  // icmp_route_lookup: no route back, no error, nothing spent.
  const to = echo.firstHop ?? src;
  if (to === 0) return; // Linux sends this one to itself over loopback
  const back = h.routes.resolve(to);
  if (!back || !['unicast', 'local', 'broadcast'].includes(back.type)) return;
  if (limited) {
    if (back.type === 'unicast' && !peerAllow(h, to)) return h.stage('icmp_ratelimited');
    h.icmpCredit.credit -= 1; // icmp_global_consume: Linux takes 0-2 at random, the model their mean
  }
  const dst = get32(ip, 16);
  // icmp_send's room: 576 bytes in all, or the MTU of the way back when less; at least a header to quote.
  const room = Math.min(back.type === 'unicast' && back.dev ? back.dev.mtu : 576, 576) - 28 - echo.bytes.length;
  if (room <= 20) return;
  const quote = ip.subarray(0, Math.min(ip.length, room));
  let source = from ?? (h.routes.isLocal(dst) ? dst : 0);
  let options: Uint8Array | undefined;
  if (echo.bytes.length) {
    source ||= routeSource(h, back);
    options = answerOptions(h, echo, src, source);
  }
  const pkt = ipv4(
    {
      src: source,
      dst: to,
      proto: IPPROTO_ICMP,
      ttl: 64,
      tos: 0xc0 | (ip[1] & 0x1e),
      id: h.nextIpId(),
      options,
    },
    icmpMessage(type, code, info, quote),
  );
  h.gen();
  h.stage('icmp_error_sent');
  outputAside(h, pkt, true); // RELATED to the packet's connection (nf_ct_attach, icmp_glue_bits)
}

/** Sends a packet made while another is in hand; the other's netfilter state outlives it (attach: see ModelNetfilter.save). */
function outputAside(h: ModelHost, pkt: Uint8Array, attach = false): void {
  const saved = h.netfilter.save(attach);
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

/** inet_getpeer: a new peer has no tokens and was last seen 60 s ago. */
export function peerOf(h: ModelHost, addr: number): { tokens: number; last: number; rid: number } {
  let p = h.icmpPeers.get(addr);
  if (!p) {
    p = { tokens: 0, last: h.now - 60_000, rid: 0 };
    h.icmpPeers.set(addr, p);
  }
  return p;
}

/** inet_peer_xrlim_allow(peer, icmp_ratelimit): time refills only when some has passed; 6 messages deep. */
function peerAllow(h: ModelHost, addr: number): boolean {
  const p = peerOf(h, addr);
  if (h.now !== p.last) {
    p.tokens = Math.min(ICMP_BURST * ICMP_RATELIMIT_MS, p.tokens + (h.now - p.last));
    p.last = h.now;
  }
  if (p.tokens < ICMP_RATELIMIT_MS) return false;
  p.tokens -= ICMP_RATELIMIT_MS;
  return true;
}

/** ip_error's limit on route errors to `src`, on the same peer's tokens (5 s deep, 1 s a message). */
export function routeErrorAllow(h: ModelHost, src: number): boolean {
  const p = peerOf(h, src);
  p.tokens = Math.min(RT_ERROR_BURST_MS, p.tokens + (h.now - p.last));
  p.last = h.now;
  if (p.tokens < RT_ERROR_COST_MS) return false;
  p.tokens -= RT_ERROR_COST_MS;
  return true;
}

/** icmp_global_allow: credit left, or a refill (1 a ms, 50 deep) at least 20 ms after the last. */
function globalAllow(h: ModelHost): boolean {
  const g = h.icmpCredit;
  if (g.credit > 0) return true;
  const delta = Math.min(h.now - g.stamp, 1000);
  if (delta < 20) return false;
  const incr = Math.floor((ICMP_MSGS_PER_SEC * delta) / 1000);
  if (!incr) return false;
  g.stamp = h.now;
  g.credit = Math.min(g.credit + incr, ICMP_MSGS_BURST);
  return true;
}

/**
 * icmp_echo: the request turned around: addresses swapped, TTL 64, a new ID,
 * flags cleared, TOS kept, the options echoed (__ip_options_echo). Type 0;
 * code, id, seq and data kept; the ICMP checksum computed afresh.
 */
export function echoReply(h: ModelHost, ip: Uint8Array, ctx: RxCtx): void {
  const hlen = (ip[0] & 0x0f) * 4;
  const echo = echoOptions(h, ip, ctx.opts);
  if (!echo) return; // icmp_reply gives up
  const src = get32(ip, 16);
  const dst = get32(ip, 12);
  const msg = ip.slice(hlen);
  msg[0] = 0;
  put16(msg, 2, 0);
  put16(msg, 2, checksum(msg));
  const options = echo.bytes.length ? answerOptions(h, echo, dst, src) : undefined;
  const pkt = ipv4({ src, dst: echo.firstHop ?? dst, proto: ip[9], ttl: 64, tos: ip[1], id: h.nextIpId(), options }, msg);
  h.gen();
  h.stage('icmp_echo_reply');
  h.netfilter.reset(); // a packet of its own: tracked anew, mark 0
  h.output(pkt, GEN_TAG);
}

/**
 * tcp_v4_send_reset for a segment no socket wants, its options echoed; with
 * reject, nf_send_reset's instead (TOS 0, no options, the connection attached).
 */
export function tcpReset(h: ModelHost, ip: Uint8Array, ctx: RxCtx | undefined, reject = false): void {
  const hlen = (ip[0] & 0x0f) * 4;
  const echo = reject ? { bytes: new Uint8Array(0), rrNeedAddr: false, tsNeedAddr: false, tsNeedTime: false } : echoOptions(h, ip, ctx?.opts);
  if (!echo) return; // ip_send_unicast_reply gives up
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
  const options = echo.bytes.length ? answerOptions(h, echo, dst, src) : undefined;
  // DF set (the reply socket does PMTU discovery), hence ID 0 (ip_select_ident).
  const pkt = ipv4({ src, dst: echo.firstHop ?? dst, proto: IPPROTO_TCP, ttl: 64, tos: reject ? 0 : ip[1], df: true, id: 0, options }, rst);
  h.gen();
  h.stage('tcp_rst_sent');
  outputAside(h, pkt, reject);
}
