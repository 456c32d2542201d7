// A batch through a host's pipeline: every packet of a descriptor vector,
// in order, taken to its fate (VPP's vector of buffers). The lookups of a
// chunk are done first, interleaved, so that their cache misses overlap.
import {
  H_CT, IPPROTO_TCP, IPPROTO_UDP, DESC_SIZE, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_TAG, D_AUX, D_FLAGS, DF_TOO_LONG,
  ETH_P_IP_NET, IPPROTO_IPIP, K_RX, MIN_OFF, C_SCRATCH, S_DSTS, S_ROUTES, S_WHICH, S_SINK, L_MASTER, LOOKUP_BATCH,
  H_LPM, H_NLINKS, PL_LO, PL_BUF, L_RX_DROPPED, CNT_ORIGINATED, CNT_IN, H_NOW,
  DROP_IP_INHDR, DROP_NOT_SPECIFIED, DROP_FRAME_TOO_LONG, DROP_NOMEM,
} from './layout';
import { ctx, host, now, link, count, add64, drop, dropRecord, poolOf } from './context';
import { ld16, ld32, st16, ldMac } from './wire/bytes';
import { IP_CHECK, IP_HLEN, IP_DST, IP_PROTO, IP_SRC } from './wire/ipv4';
import { checksum } from './wire/checksum';
import { ETH_HLEN, ETH_TYPE, ETH_SRC } from './wire/ethernet';
import { fdbTouch } from './tables/fdb';
import { ctTouchSlot, ctTouchConn } from './tables/conntrack';
import { lpm_lookup_batch } from './tables/lpm';
import { routeMemo, routeMemoOff } from './tables/route';
import { ethernetInput } from './stages/ethernet-input';
import { neighTimers } from './stages/neigh-output';
import { neighPeriodicGc } from './tables/neigh-gc';
import { fragTimers } from './stages/defrag';
import { nfReset } from './stages/netfilter';
import { ip4Output } from './stages/ip4-output';
import { trace } from './trace/trace';
import { EV_ORIGINATE } from './trace/events';
import { optForget } from './stages/ip4-options';

/**
 * What runs before a host's batch, whatever its size: timers. (Conntrack's
 * collector moves with new connections, conntrackIn, not with batches.)
 */
export function hostTimers(): void {
  neighHousekeeping();
  fragTimers();
}

/** The host's clock moves on; the neighbour timers, then the periodic gc, catch up with it. */
export function neighHousekeeping(): void {
  store<u32>(host + H_NOW, now);
  neighTimers();
  neighPeriodicGc(host, now);
}

/** Takes the n descriptors at vec through the current host (context.ts: enter). */
export function runBatch(vec: usize, n: u32): void {
  for (let start: u32 = 0; start < n; start += LOOKUP_BATCH) {
    const m = n - start < LOOKUP_BATCH ? n - start : LOOKUP_BATCH;
    processChunk(vec + <usize>start * DESC_SIZE, m);
  }
  routeMemoOff();
}

/**
 * Looks up the destination of every IPv4 frame of the chunk first, with the
 * lookups interleaved so their cache misses overlap (VPP's ip4-lookup), then
 * takes the packets through the stages one by one.
 */
function processChunk(vec: usize, n: u32): void {
  const root = <usize>load<u32>(host + H_LPM);
  const scratch = <usize>load<u32>(ctx + C_SCRATCH);
  const dsts = scratch + S_DSTS;
  const leaves = scratch + S_ROUTES;
  const which = scratch + S_WHICH;
  let m: u32 = 0;
  let touched: u32 = 0;
  const nlinks = load<u32>(host + H_NLINKS);
  for (let i: u32 = 0; i < n; i++) {
    const d = vec + <usize>i * DESC_SIZE;
    const buf = <usize>load<u32>(d + D_BUF);
    const off = <u32>load<u16>(d + D_OFF);
    const len = <u32>load<u16>(d + D_LEN);
    // The verdict is kept in the descriptor's scratch word for the second pass.
    const ok = validBuffer(buf, off, len);
    store<u32>(d + D_AUX, ok ? 1 : 0);
    if (!ok) continue;
    let ip = buf + off;
    if (<u32>load<u8>(d + D_KIND) == K_RX) {
      if (len < ETH_HLEN) continue;
      const l = <u32>load<u16>(d + D_LINK);
      const master = l < nlinks ? <u32>load<u16>(link(l) + L_MASTER) : 0;
      if (master != 0) {
        // A bridged frame: warm the FDB slots its learning and forwarding will read.
        const br = link(master - 1);
        touched ^= fdbTouch(br, ldMac(ip)) ^ fdbTouch(br, ldMac(ip + ETH_SRC));
      }
      if (len < ETH_HLEN + IP_HLEN || load<u16>(ip + ETH_TYPE) != ETH_P_IP_NET) continue;
      ip += ETH_HLEN;
    } else if (len < IP_HLEN) {
      continue;
    }
    store<u32>(dsts + (<usize>m << 2), ld32(ip + IP_DST));
    store<u32>(which + (<usize>m << 2), i);
    m++;
    // IPIP to be decapsulated here: its inner destination is looked up too.
    if (load<u8>(ip + IP_PROTO) == IPPROTO_IPIP && load<u8>(ip) == 0x45 &&
        ip + IP_HLEN + IP_HLEN <= buf + off + len) {
      store<u32>(dsts + (<usize>m << 2), ld32(ip + IP_HLEN + IP_DST));
      store<u32>(which + (<usize>m << 2), i);
      m++;
    }
  }
  const ct = <usize>load<u32>(host + H_CT);
  if (ct != 0 && m != 0) touched ^= warmConntrack(ct, vec, dsts, which, m);
  if (root != 0) lpm_lookup_batch(root, dsts, leaves, m);
  else m = 0;
  store<u32>(scratch + S_SINK, touched); // keeps the touching loads alive
  let next: u32 = 0; // the next looked-up packet
  for (let i: u32 = 0; i < n; i++) {
    routeMemoOff();
    nfReset();
    while (next < m && load<u32>(which + (<usize>next << 2)) == i) {
      routeMemo(load<u32>(dsts + (<usize>next << 2)), load<u32>(leaves + (<usize>next << 2)));
      next++;
    }
    const d = vec + <usize>i * DESC_SIZE;
    const buf = <usize>load<u32>(d + D_BUF);
    const off = <u32>load<u16>(d + D_OFF);
    const len = <u32>load<u16>(d + D_LEN);
    const tag = load<u32>(d + D_TAG);
    const kind = <u32>load<u8>(d + D_KIND);
    if (load<u32>(d + D_AUX) == 0) {
      noBuffer(d, kind, tag);
      continue;
    }
    if (kind == K_RX) {
      const l = <u32>load<u16>(d + D_LINK);
      if (l >= load<u32>(host + H_NLINKS)) {
        count(CNT_IN);
        drop(buf, DROP_NOT_SPECIFIED, tag);
        continue;
      }
      ethernetInput(l, buf, off, len, tag);
    } else {
      originate(buf, off, len, tag);
    }
  }
}

/**
 * Warms the conntrack entries the chunk's IPv4 packets will look up: first
 * their tuples' hash slots, then (those now in cache) their connections, so
 * the misses of a big table overlap instead of coming one packet at a time.
 */
function warmConntrack(ct: usize, vec: usize, dsts: usize, which: usize, m: u32): u32 {
  let sink: u32 = 0;
  for (let pass: u32 = 0; pass < 2; pass++) {
    let last: u32 = 0xffffffff;
    for (let k: u32 = 0; k < m; k++) {
      const i = load<u32>(which + (<usize>k << 2));
      if (i == last) continue; // an IPIP packet's inner destination
      last = i;
      const d = vec + <usize>i * DESC_SIZE;
      let ip = <usize>load<u32>(d + D_BUF) + <usize>load<u16>(d + D_OFF);
      if (<u32>load<u8>(d + D_KIND) == K_RX) ip += ETH_HLEN;
      const proto = <u32>load<u8>(ip + IP_PROTO);
      if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || load<u8>(ip) != 0x45) continue;
      const src = ld32(ip + IP_SRC);
      const ports = ld32(ip + IP_HLEN);
      const dst = load<u32>(dsts + (<usize>k << 2));
      sink ^= pass == 0 ? ctTouchSlot(ct, src, dst, ports, proto) : ctTouchConn(ct, src, dst, ports, proto);
    }
  }
  return sink;
}

/** Whether a descriptor's buffer is one of this context's, with the packet inside it. */
function validBuffer(buf: usize, off: u32, len: u32): bool {
  const p = poolOf(buf);
  if (p == 0) return false;
  const size = load<u32>(p + PL_BUF);
  return ((buf - <usize>load<u32>(p + PL_LO)) & (size - 1)) == 0 && off >= MIN_OFF && off + len <= size;
}

/**
 * An input without a usable buffer: one the caller could not place (too long
 * for any buffer, or no free buffer: counted on its link as the device would),
 * or not a buffer of this context at all. Counted, never freed.
 */
export function noBuffer(d: usize, kind: u32, tag: u32): void {
  count(kind == K_RX ? CNT_IN : CNT_ORIGINATED);
  const flags = <u32>load<u8>(d + D_FLAGS);
  const l = <u32>load<u16>(d + D_LINK);
  if (load<u32>(d + D_BUF) == 0 && flags != 0) {
    if (kind == K_RX && l < load<u32>(host + H_NLINKS)) add64(link(l) + L_RX_DROPPED, 1);
    dropRecord((flags & DF_TOO_LONG) != 0 ? DROP_FRAME_TOO_LONG : DROP_NOMEM, tag);
    return;
  }
  dropRecord(DROP_NOT_SPECIFIED, tag);
}

/** A packet from the host's own stack (K_ORIGINATE): an IPv4 packet at off. */
function originate(buf: usize, off: u32, len: u32, tag: u32): void {
  count(CNT_ORIGINATED);
  trace(EV_ORIGINATE, 0, <u32>buf, off, len);
  const ip = buf + off;
  if (len < IP_HLEN) {
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  const vihl = <u32>load<u8>(ip);
  const ihl = (vihl & 15) << 2;
  const tot = ld16(ip + 2);
  if ((vihl >> 4) != 4 || ihl < IP_HLEN || tot < ihl || tot > len) {
    drop(buf, DROP_IP_INHDR, tag);
    return;
  }
  st16(ip + IP_CHECK, 0);
  st16(ip + IP_CHECK, checksum(ip, ihl));
  if (ihl > IP_HLEN) optForget(ip); // a stack's own options are not compiled
  ip4Output(buf, off, tot, tag);
}

