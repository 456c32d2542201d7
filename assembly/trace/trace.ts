// Tracing, like VPP's `show trace` or pwru: each stage calls trace() at the
// decision it takes, and the trace build (asc --use PODNET_TRACE=1, see
// asconfig.json) appends a record to the context's trace buffer. In every
// other build TRACING is false and trace() compiles to nothing: its callers
// pass only values already in hand (locals, parameters), so no load is left
// behind either.
import {
  C_TRACE, TB_USED, TB_CAP, TB_LOST, TB_HDR, TR_EV, TR_LEN, TR_HOST, TR_WAVE, TR_A, TR_TIME, TR_HDR, TRACE_BYTES,
  N_TYPE, N_DEV, N_GW, N_SRC, NB_IP, NB_DEV, NB_MAC, NB_STATE, NB_QLEN, H_CT, CONN_SIZE, CN_ORIG, CN_REPLY, CN_PROTO, WK_WAVE,
  C_FLAGS, CTX_NETWORK,
} from '../layout';
import { ctx, host, now, netNow, wk } from '../context';
import { isLocalAddress } from '../tables/route';
import { connAt } from '../tables/conntrack';
import { ld16, ld32 } from '../wire/bytes';
import { copyBytes } from '../wire/words';
import {
  EV_RX, EV_ORIGINATE, EV_TX, EV_DELIVER, EV_FORWARD, EV_ROUTE_INPUT, EV_ROUTE_OUTPUT, EV_LOCAL, EV_ENCAP, EV_DECAP, EV_DECAP_REJECT, EV_ARP,
  EV_ARP_REPLY, EV_NEIGH_UPDATE, EV_NEIGH_OUTPUT, EV_NEIGH_QUEUE, EV_CONNTRACK, EV_NAT,
} from './events';

// @ts-ignore: PODNET_TRACE is defined by the trace build only (--use)
export const TRACING: bool = isDefined(PODNET_TRACE);

/** Records event ev (EV_*) with its words; nothing at all outside the trace build. */
export function trace(ev: u32, a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0, e: u32 = 0): void {
  if (TRACING) traceEvent(ev, a, b, c, d, e);
}

/** A chain's verdict, recorded on its way back to the hook (netfilter.ts: chain). */
@inline export function traceVerdict(ev: u32, chain: u32, verdict: u32): u32 {
  if (TRACING) traceEvent(ev, chain, verdict, 0, 0, 0);
  return verdict;
}

/**
 * The trace build's recorder. Events that point at a packet, a route or a
 * table entry are turned here into the values they stand for, so the stages
 * pass what they hold and nothing is read unless tracing.
 */
function traceEvent(ev: u32, a: u32, b: u32, c: u32, d: u32, e: u32): void {
  const tb = <usize>load<u32>(ctx + C_TRACE);
  if (tb == 0) return;
  let bytes: usize = 0;
  let len: u32 = 0;
  if (ev == EV_RX || ev == EV_TX || ev == EV_ORIGINATE || ev == EV_DELIVER) {
    // b: the buffer, c: the packet's offset in it, d: its length.
    bytes = <usize>b + c;
    len = d;
    b = d;
    c = 0;
    d = 0;
  } else if (ev == EV_FORWARD) {
    a = <u32>load<u8>(<usize>a + 8); // the TTL, decremented
  } else if (ev == EV_ROUTE_INPUT || ev == EV_ROUTE_OUTPUT) {
    // a: the IPv4 header, b: the nexthop (0: no route).
    const ip = <usize>a;
    const nh = <usize>b;
    a = ld32(ip + 16);
    e = ev == EV_ROUTE_OUTPUT ? ld32(ip + 12) : 0;
    if (nh == 0) {
      b = 0;
      c = 0xffff;
      d = 0;
    } else {
      b = <u32>load<u8>(nh + N_TYPE);
      c = <u32>load<u16>(nh + N_DEV);
      d = load<u32>(nh + N_GW);
      if (ev == EV_ROUTE_INPUT) e = load<u32>(nh + N_SRC);
      else if (e == 0) e = load<u32>(nh + N_SRC);
    }
  } else if (ev == EV_LOCAL) {
    const ip = <usize>a;
    a = <u32>load<u8>(ip + 9);
    b = ld32(ip + 16);
  } else if (ev == EV_ENCAP || ev == EV_DECAP || ev == EV_DECAP_REJECT) {
    // b: the outer header.
    const o = <usize>b;
    b = ld32(o + 12);
    c = ld32(o + 16);
    d = <u32>load<u8>(o + 8);
  } else if (ev == EV_ARP) {
    // b: the ARP header.
    const p = <usize>b;
    b = ld16(p + 6);
    c = ld32(p + 14);
    d = ld32(p + 24);
  } else if (ev == EV_ARP_REPLY) {
    d = isLocalAddress(host, b) ? 0 : 1;
  } else if (ev == EV_NEIGH_UPDATE || ev == EV_NEIGH_OUTPUT || ev == EV_NEIGH_QUEUE) {
    // a: the neighbour entry.
    const n = <usize>a;
    a = <u32>load<u16>(n + NB_DEV);
    b = load<u32>(n + NB_IP);
    c = ev == EV_NEIGH_QUEUE ? <u32>load<u16>(n + NB_QLEN) : load<u32>(n + NB_MAC);
    d = ev == EV_NEIGH_QUEUE ? 0 : <u32>load<u16>(n + NB_MAC + 4);
    e = <u32>load<u8>(n + NB_STATE);
  } else if (ev == EV_NAT) {
    // b: the connection, c: the packet's direction; the other direction's tuple says what it becomes.
    const conn = <usize>b;
    const other = conn + (c == 0 ? CN_REPLY : CN_ORIG);
    b = load<u32>(other);
    c = load<u32>(other + 4);
    d = load<u32>(other + 8);
    e = <u32>load<u8>(conn + CN_PROTO);
  } else if (ev == EV_CONNTRACK && b != 0) {
    bytes = connAt(<usize>load<u32>(host + H_CT), b - 1);
    len = CONN_SIZE;
  }
  if (len > TRACE_BYTES) len = TRACE_BYTES;
  const size = (TR_HDR + len + 7) & ~7;
  const used = load<u32>(tb + TB_USED);
  if (used + size > load<u32>(tb + TB_CAP)) {
    store<u32>(tb + TB_LOST, load<u32>(tb + TB_LOST) + 1);
    return;
  }
  const r = tb + TB_HDR + <usize>used;
  const network = (load<u32>(ctx + C_FLAGS) & CTX_NETWORK) != 0;
  store<u16>(r + TR_EV, <u16>ev);
  store<u16>(r + TR_LEN, <u16>len);
  store<u32>(r + TR_HOST, <u32>host);
  store<u32>(r + TR_WAVE, network && wk != 0 ? load<u32>(wk + WK_WAVE) : 0);
  store<u32>(r + TR_A, a);
  store<u32>(r + TR_A + 4, b);
  store<u32>(r + TR_A + 8, c);
  store<u32>(r + TR_A + 12, d);
  store<u32>(r + TR_A + 16, e);
  store<f64>(r + TR_TIME, network ? netNow : <f64>now);
  if (len != 0) copyBytes(r + TR_HDR, bytes, len);
  store<u32>(tb + TB_USED, used + size);
}

/** Whether this module is the trace build. */
export function trace_build(): bool {
  return TRACING;
}
