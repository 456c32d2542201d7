// IPv4: receive (ip_rcv_core, ip_route_input), forward (ip_forward), local
// delivery (ip_local_deliver and the protocol handlers), output (ip_output)
// and fragmentation (ip_do_fragment).
import type { ModelHost } from './host.js';
import { echoReply, icmpError, routeErrorAllow, tcpReset, type RxCtx } from './icmp.js';
import type { Link } from './links.js';
import { neighOutput } from './neigh.js';
import { compileOptions, forwardOptions } from './options.js';
import { ipDefrag } from './defrag.js';
import type { Resolved } from './route.js';
import {
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, LIMITED_BROADCAST, TCP_RST,
  checksum, get16, get32, isLoopbackIp, isMulticastIp, l4Checksum, put16, put32,
} from './wire.js';

const IP_DF = 0x4000;
const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;

const ihlBytes = (ip: Uint8Array): number => (ip[0] & 0x0f) * 4;
const isFragment = (ip: Uint8Array): boolean => (get16(ip, 6) & (IP_MF | IP_OFFSET)) !== 0;

/** ip_rcv_core + ip_route_input_noref: `pkt` is everything after the Ethernet header. */
export function ipInput(h: ModelHost, pkt: Uint8Array, ctx: RxCtx): void {
  let ip = validate(h, pkt, ctx.tag);
  if (!ip) return;
  // nf_defrag_ipv4 at PREROUTING: with netfilter, datagrams go on, not fragments.
  if (h.netfilter.active && isFragment(ip)) {
    const d = ipDefrag(h, 'conntrack', ip, ctx);
    if (!d) return;
    ip = d.ip;
    ctx = { ...ctx, cast: d.cast, reasm: { sizes: d.sizes, max: d.max } };
  }
  const src = get32(ip, 12);
  const dst = get32(ip, 16);
  // Martians, sources first (docs/semantics.md, "IPv4 input").
  if (invalidSource(h, src, dst)) return h.drop('IP_INVALID_SOURCE', ctx.tag);
  if (dst === 0 || isLoopbackIp(dst)) return h.drop('IP_INVALID_DEST', ctx.tag);
  if (isMulticastIp(dst)) return h.drop('NOT_SPECIFIED', ctx.tag);

  const nf = h.netfilter.active ? h.netfilter : undefined;
  if (nf) {
    // PREROUTING: conntrack, and DNAT before the route is chosen.
    const why = nf.prerouting(ip, ctx.dev);
    if (why) return h.drop(why, ctx.tag);
  }
  const r = h.routes.resolve(get32(ip, 16));
  const toUs = get32(ip, 16) === LIMITED_BROADCAST || (r && (r.type === 'local' || r.type === 'broadcast'));
  // Options, whatever the route says (ip_rcv_finish_core, ip_rcv_options).
  if ((ip[0] & 0x0f) > 5) {
    const local = r?.type === 'local' && get32(ip, 16) !== LIMITED_BROADCAST;
    const { opt, bad } = compileOptions(h, ip, ctx.dev, local);
    ctx = { ...ctx, opts: opt };
    if (bad !== undefined) {
      icmpError(h, ip, ctx, 12, 0, bad * 2 ** 24); // parameter problem, pointing at the bad byte
      return h.drop('IP_INHDR', ctx.tag);
    }
    if (opt.srr !== undefined) return h.drop('IP_SOURCE_ROUTE', ctx.tag); // accept_source_route 0
  }
  if (toUs) {
    if (nf) {
      const why = nf.input(ip, ctx.dev);
      if (why) return h.drop(why, ctx.tag);
    }
    return localDeliver(h, ip, ctx);
  }
  if (!h.forwarding) return h.drop('IP_INADDRERRORS', ctx.tag);
  if (!r) return routeError(h, ip, ctx, 'IP_INNOROUTES', 0);
  switch (r.type) {
    case 'blackhole':
      return h.drop('BLACKHOLE', ctx.tag);
    case 'unreachable':
      return routeError(h, ip, ctx, 'UNREACHABLE', 1);
    case 'prohibit':
      return routeError(h, ip, ctx, 'UNREACHABLE', 13);
    case 'unicast':
      return forward(h, ip, r, ctx);
  }
}

function invalidSource(h: ModelHost, src: number, dst: number): boolean {
  if (src === 0) return dst !== LIMITED_BROADCAST; // only a DHCP client's 0.0.0.0 -> 255.255.255.255
  return isMulticastIp(src) || src === LIMITED_BROADCAST || isLoopbackIp(src) || h.routes.isLocal(src);
}

/** The header checks of ip_rcv_core, in order; the packet trimmed to its total length. */
function validate(h: ModelHost, pkt: Uint8Array, tag: number): Uint8Array | undefined {
  if (pkt.length < 20 || pkt[0] >> 4 !== 4 || (pkt[0] & 0x0f) < 5 || ihlBytes(pkt) > pkt.length) {
    h.drop('IP_INHDR', tag);
    return undefined;
  }
  if (checksum(pkt, 0, ihlBytes(pkt)) !== 0) {
    h.drop('IP_CSUM', tag);
    return undefined;
  }
  const total = get16(pkt, 2);
  if (pkt.length < total) {
    h.drop('PKT_TOO_SMALL', tag);
    return undefined;
  }
  if (total < ihlBytes(pkt)) {
    h.drop('IP_INHDR', tag);
    return undefined;
  }
  return pkt.slice(0, total);
}

/** ip_error: ICMP destination unreachable with `code` (under its own limit per source), then the drop. */
function routeError(h: ModelHost, ip: Uint8Array, ctx: RxCtx, reason: string, code: number): void {
  if (routeErrorAllow(h, get32(ip, 12))) icmpError(h, ip, ctx, 3, code);
  h.drop(reason, ctx.tag);
}

/** ip_forward: `ip` came in for a unicast route `r`. */
function forward(h: ModelHost, ip: Uint8Array, r: Resolved, ctx: RxCtx): void {
  if (ctx.cast !== 'host') return h.drop('OTHERHOST', ctx.tag);
  if (ip[8] <= 1) {
    h.stage('ip4_ttl_expired');
    icmpError(h, ip, ctx, 11, 0);
    return h.drop('IP_INHDR', ctx.tag);
  }
  const dev = r.dev!;
  // ip_exceeds_mtu: a datagram nf_defrag made whole exceeds only if one of its fragments did.
  if (ip.length > dev.mtu && get16(ip, 6) & IP_DF && (!ctx.reasm || ctx.reasm.max > dev.mtu)) {
    icmpError(h, ip, ctx, 3, 4, dev.mtu);
    return h.drop('PKT_TOO_BIG', ctx.tag);
  }
  decreaseTtl(ip);
  if (h.netfilter.active) {
    // The FORWARD hook sees the packet with its TTL already decremented.
    const why = h.netfilter.forward(ip, ctx.dev, dev);
    if (why) return h.drop(why, ctx.tag);
  }
  if (ctx.opts) forwardOptions(h, ip, ctx.opts, r);
  h.stage('ip4_forwarded');
  finishOutput(h, dev, r.via ?? get32(ip, 16), ip, ctx.tag, ctx.reasm);
}

/** ip_decrease_ttl: TTL - 1 and the checksum updated incrementally (RFC 1624 eqn. 3). */
function decreaseTtl(ip: Uint8Array): void {
  const oldWord = get16(ip, 8);
  ip[8]--;
  const newWord = get16(ip, 8);
  let sum = (~get16(ip, 10) & 0xffff) + (~oldWord & 0xffff) + newWord;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  put16(ip, 10, ~sum & 0xffff);
}

/**
 * POSTROUTING, then ip_finish_output: fragment if longer than the MTU (a
 * datagram nf_defrag made whole, always), then neighbour output.
 */
function finishOutput(h: ModelHost, dev: Link, nh: number, ip: Uint8Array, tag: number, reasm?: RxCtx['reasm']): void {
  if (h.netfilter.active) {
    const why = h.netfilter.postrouting(ip, dev, nh);
    if (why) return h.drop(why, tag);
  }
  if (!reasm && ip.length <= dev.mtu) return neighOutput(h, dev, nh, ip, tag);
  const frags = reasm ? refragment(ip, dev.mtu, reasm) : fragment(ip, dev.mtu);
  h.gen(frags.length - 1);
  h.stage('ip4_fragmented');
  for (const f of frags) {
    h.stage('ip4_fragments');
    neighOutput(h, dev, nh, f, tag);
  }
}

/**
 * ip_do_fragment of a datagram nf_defrag made whole: pieces no bigger than
 * its largest fragment; the very sizes its fragments had (the frag_list fast
 * path: offsets and MF only) when each fits and all but the last are whole
 * 8-byte blocks.
 */
function refragment(ip: Uint8Array, mtu: number, reasm: NonNullable<RxCtx['reasm']>): Uint8Array[] {
  const m = Math.min(mtu, reasm.max || mtu);
  const hlen = ihlBytes(ip);
  const { sizes } = reasm;
  const fits = sizes.length > 1 && sizes.every((s, k) => s <= m - hlen && (s % 8 === 0 || k === sizes.length - 1));
  if (!fits) return fragment(ip, m);
  const later = ip.slice(0, hlen);
  optionsFragment(later);
  let pos = 0;
  return sizes.map((size, k) => {
    const f = new Uint8Array(hlen + size);
    f.set(k === 0 ? ip.subarray(0, hlen) : later);
    f.set(ip.subarray(hlen + pos, hlen + pos + size), hlen);
    put16(f, 2, hlen + size);
    put16(f, 6, (k + 1 < sizes.length ? IP_MF : 0) | (pos >> 3));
    put16(f, 10, 0);
    put16(f, 10, checksum(f, 0, hlen));
    pos += size;
    return f;
  });
}

/**
 * ip_do_fragment: every fragment but the last carries (MTU - IHL*4) & ~7
 * bytes of payload, the last the rest. Each gets the header (non-copied
 * options NOP'd after the first), its offset, MF on all but the last (and on
 * the last if the original had MF), DF as it was (no other flag bit), and a
 * new checksum.
 */
export function fragment(ip: Uint8Array, mtu: number): Uint8Array[] {
  const hlen = ihlBytes(ip);
  const chunk = (mtu - hlen) & ~7;
  const flags = get16(ip, 6);
  const base = (flags & IP_OFFSET) * 8;
  const later = ip.slice(0, hlen);
  optionsFragment(later);
  const frags: Uint8Array[] = [];
  for (let pos = 0; pos < ip.length - hlen; pos += chunk) {
    const len = Math.min(chunk, ip.length - hlen - pos);
    const last = pos + len === ip.length - hlen;
    const f = new Uint8Array(hlen + len);
    f.set(pos === 0 ? ip.subarray(0, hlen) : later);
    f.set(ip.subarray(hlen + pos, hlen + pos + len), hlen);
    put16(f, 2, hlen + len);
    put16(f, 6, (flags & IP_DF) | (!last || flags & IP_MF ? IP_MF : 0) | ((base + pos) >> 3));
    put16(f, 10, 0);
    put16(f, 10, checksum(f, 0, hlen));
    frags.push(f);
  }
  return frags;
}

/** ip_options_fragment: options without the copied flag become NOPs. */
function optionsFragment(header: Uint8Array): void {
  let p = 20;
  let l = header.length - 20;
  while (l > 0) {
    const type = header[p];
    if (type === 0) return; // IPOPT_END
    if (type === 1) {
      // IPOPT_NOOP
      l--;
      p++;
      continue;
    }
    const optlen = p + 1 < header.length ? header[p + 1] : 0;
    if (optlen < 2 || optlen > l) return;
    if (!(type & 0x80)) header.fill(1, p, p + optlen);
    l -= optlen;
    p += optlen;
  }
}

/** ip_local_deliver and the protocol handlers. */
export function localDeliver(h: ModelHost, ip: Uint8Array, ctx: RxCtx): void {
  h.stage('ip4_local');
  if (isFragment(ip)) {
    // ip_defrag for local delivery: the datagram goes on once whole.
    const d = ipDefrag(h, 'local', ip, ctx);
    if (!d) return;
    ip = d.ip;
    ctx = { ...ctx, cast: d.cast, opts: d.opts };
  }
  switch (ip[9]) {
    case IPPROTO_ICMP:
      return icmpRcv(h, ip, ctx);
    case IPPROTO_UDP:
      return udpRcv(h, ip, ctx);
    case IPPROTO_TCP:
      return tcpRcv(h, ip, ctx);
    default:
      icmpError(h, ip, ctx, 3, 2);
      return h.drop('IP_NOPROTO', ctx.tag);
  }
}

function icmpRcv(h: ModelHost, ip: Uint8Array, ctx: RxCtx): void {
  const msg = ip.subarray(ihlBytes(ip));
  if (msg.length < 8) return h.drop('HDR_TRUNC', ctx.tag);
  if (checksum(msg) !== 0) return h.drop('ICMP_CSUM', ctx.tag);
  if (msg[0] !== 8) {
    h.stage('icmp_delivered');
    return h.deliver(ip, ctx.tag);
  }
  // An echo request is answered (and consumed), unless sent to a broadcast address (icmp_echo_ignore_broadcasts).
  h.consume();
  if (!h.routes.isBroadcast(get32(ip, 16))) echoReply(h, ip, ctx);
}

function udpRcv(h: ModelHost, ip: Uint8Array, ctx: RxCtx): void {
  const seg = ip.subarray(ihlBytes(ip));
  if (seg.length < 8) return h.drop('PKT_TOO_SMALL', ctx.tag);
  const ulen = get16(seg, 4);
  if (ulen < 8 || ulen > seg.length) return h.drop('PKT_TOO_SMALL', ctx.tag);
  if (get16(seg, 6) !== 0 && l4Checksum(get32(ip, 12), get32(ip, 16), IPPROTO_UDP, seg.subarray(0, ulen)) !== 0) {
    return h.drop('UDP_CSUM', ctx.tag);
  }
  if (h.isListening('udp', get16(seg, 2))) {
    h.stage('udp_delivered');
    return h.deliver(ip, ctx.tag);
  }
  icmpError(h, ip, ctx, 3, 3);
  h.drop('NO_SOCKET', ctx.tag);
}

function tcpRcv(h: ModelHost, ip: Uint8Array, ctx: RxCtx): void {
  const seg = ip.subarray(ihlBytes(ip));
  if (seg.length < 20 || seg[12] >> 4 < 5 || (seg[12] >> 4) * 4 > seg.length) return h.drop('HDR_TRUNC', ctx.tag);
  if (l4Checksum(get32(ip, 12), get32(ip, 16), IPPROTO_TCP, seg) !== 0) return h.drop('TCP_CSUM', ctx.tag);
  if (h.isListening('tcp', get16(seg, 2))) {
    h.stage('tcp_delivered');
    return h.deliver(ip, ctx.tag);
  }
  // No reset for a reset, nor for a segment to a broadcast address or MAC.
  if (!(seg[13] & TCP_RST) && ctx.cast === 'host' && !h.routes.isBroadcast(get32(ip, 16))) tcpReset(h, ip, ctx);
  h.drop('NO_SOCKET', ctx.tag);
}

/** ip_output for a packet of the host's own stack (originated) or of the data plane (generated). */
export function output(h: ModelHost, ip: Uint8Array, tag: number): void {
  let dst = get32(ip, 16);
  let r = h.routes.resolveOutput(dst);
  // The source is chosen with the route, before the OUTPUT hook sees the packet.
  if (r && get32(ip, 12) === 0) fillSource(h, ip, r);
  if (h.netfilter.active) {
    // OUTPUT: conntrack, nat OUTPUT, filter OUTPUT; a new destination is routed again.
    const why = h.netfilter.output(ip, r ? deviceOf(h, r) : undefined);
    if (why) return h.drop(why, tag);
    if (get32(ip, 16) !== dst) {
      dst = get32(ip, 16);
      r = h.routes.resolveOutput(dst);
    }
  }
  if (!r) return h.drop('IP_OUTNOROUTES', tag);
  if (r.type === 'broadcast' || (r.type === 'unicast' && dst === LIMITED_BROADCAST)) return broadcast(h, r.dev!, ip, tag);
  switch (r.type) {
    case 'local':
      if (h.netfilter.active) {
        const why = h.netfilter.input(ip, deviceOf(h, r));
        if (why) return h.drop(why, tag);
      }
      return localDeliver(h, ip, { tag, cast: 'host', dev: deviceOf(h, r) });
    case 'blackhole':
      return h.drop('BLACKHOLE', tag);
    case 'unreachable':
    case 'prohibit':
      return h.drop('UNREACHABLE', tag);
    case 'unicast': {
      const dev = r.dev!;
      if (ip.length > dev.mtu && get16(ip, 6) & IP_DF) return h.drop('PKT_TOO_BIG', tag);
      return finishOutput(h, dev, r.via ?? dst, ip, tag);
    }
  }
}

/**
 * ip_mc_output for a broadcast the host sends: out of the route's link to
 * the Ethernet broadcast address, and a copy up the host's own stack.
 */
function broadcast(h: ModelHost, dev: Link, ip: Uint8Array, tag: number): void {
  if (ip.length > dev.mtu && get16(ip, 6) & IP_DF) return h.drop('PKT_TOO_BIG', tag);
  const copy = ip.slice();
  h.gen();
  finishOutput(h, dev, LIMITED_BROADCAST, ip, tag);
  if (h.netfilter.active) {
    const why = h.netfilter.input(copy, dev);
    if (why) return h.drop(why, tag);
  }
  localDeliver(h, copy, { tag, cast: 'host', dev });
}

/** The device a route entry names. */
function deviceOf(h: ModelHost, r: Resolved): Link | undefined {
  if (r.dev) return r.dev;
  return r.type === 'broadcast' ? h.routes.addrs[0]?.dev : undefined;
}

/**
 * Source 0.0.0.0: the route's preferred source, else inet_select_addr towards
 * the next hop. The header checksum is recomputed, and a UDP/TCP checksum
 * (whose pseudo-header holds the source) is updated as if the sending stack
 * had known the source all along.
 */
function fillSource(h: ModelHost, ip: Uint8Array, r: Resolved): void {
  const src = r.src ?? h.routes.selectSource(r.dev, r.via ?? 0);
  put32(ip, 12, src);
  put16(ip, 10, 0);
  put16(ip, 10, checksum(ip, 0, ihlBytes(ip)));
  if ((get16(ip, 6) & IP_OFFSET) !== 0) return; // no L4 header in a later fragment
  const l4 = ip.subarray(ihlBytes(ip));
  if (ip[9] === IPPROTO_UDP && l4.length >= 8 && get16(l4, 6) !== 0) {
    const c = addToChecksum(get16(l4, 6), src);
    put16(l4, 6, c === 0 ? 0xffff : c);
  } else if (ip[9] === IPPROTO_TCP && l4.length >= 18) {
    put16(l4, 16, addToChecksum(get16(l4, 16), src));
  }
}

/** RFC 1624 eqn. 3 for the pseudo-header words of `src` replacing zeros. */
function addToChecksum(check: number, src: number): number {
  let sum = (~check & 0xffff) + (src >>> 16) + (src & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
