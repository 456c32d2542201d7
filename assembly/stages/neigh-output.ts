// Neighbour output (neigh_resolve_output): the Ethernet header from the ARP
// cache, or a queue and an ARP request while the next hop is unresolved; and
// the neighbour timers (neigh_timer_handler).
import {
  H_PEND_HEAD, H_NEIGH_DUE, H_UNRES_QLEN_BYTES, H_UNRES_HOST_BYTES, H_QUEUED_BYTES,
  L_MAC, ETH_P_IP, N_GW, N_NEIGH, NB_IP, NB_DEV, NB_MAC, NB_STATE, NB_PROBES, NB_QLEN, NB_QBYTES, NB_UPDATED, NB_USED,
  NB_QUEUE, NB_PNEXT, NUD_INCOMPLETE, NUD_REACHABLE, NUD_FAILED, NUD_PERMANENT,
  HEADROOM, BUF_SIZE_TINY, BUF_SIZE, BUF_SIZE_JUMBO, BUF_SIZE_HUGE,
  ARP_RETRANS_MS, ARP_MCAST_SOLICIT, Q_OFF, Q_LEN, Q_TAG, Q_NEXT, NB_QTAIL, CNT_QUEUED, CNT_DEQUEUED,
  DROP_NEIGH_FAILED, DROP_NEIGH_QUEUEFULL, DROP_NEIGH_CREATEFAIL,
  STAT_neigh_queued, STAT_neigh_released, STAT_neigh_failed, O_QUEUED,
} from '../layout';
import { host, now, link, count, stat, drop, fateRecord } from '../context';
import { st16, ldMac, stMac, MAC_BROADCAST } from '../wire/bytes';
import { ETH_HLEN, ETH_SRC, ETH_TYPE } from '../wire/ethernet';
import { ipSrc, INADDR_BROADCAST } from '../wire/ipv4';
import { neighProbe, pendAdd, pendRemove } from '../tables/neigh';
import { neighCreate } from '../tables/neigh-gc';
import { isLocalAddress, selectSource } from '../tables/route';
import { arpSolicit } from './arp';
import { linkOutput } from './link-output';
import { trace } from '../trace/trace';
import { EV_NEIGH_OUTPUT, EV_NEIGH_QUEUE } from '../trace/events';

/**
 * Sends the IP packet at buf+ipOff to next hop nh on link dev. nhp: the
 * routing nexthop, whose gateway's entry is remembered there (0: none).
 */
export function neighOutput(dev: u32, nh: u32, nhp: usize, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  const cacheable = nhp != 0 && load<u32>(nhp + N_GW) == nh;
  let e: usize = cacheable ? <usize>load<u32>(nhp + N_NEIGH) : 0;
  if (e != 0 && load<u32>(e + NB_IP) == nh && <u32>load<u16>(e + NB_DEV) == dev) {
    const s = <u32>load<u8>(e + NB_STATE);
    if (s == NUD_REACHABLE || s == NUD_PERMANENT) {
      send(e, dev, buf, ipOff, ipLen, tag);
      return;
    }
  }
  if (nh == INADDR_BROADCAST) {
    // A broadcast route's neighbour needs no ARP (arp_constructor: NUD_NOARP, the link's broadcast address).
    sendTo(MAC_BROADCAST, dev, buf, ipOff, ipLen, tag);
    return;
  }
  e = neighProbe(host, nh, dev);
  if (load<u32>(e + NB_IP) == 0) {
    e = neighCreate(host, nh, dev, now);
    if (e == 0) {
      drop(buf, DROP_NEIGH_CREATEFAIL, tag); // gc_thresh3 reached and nothing to collect
      return;
    }
    if (cacheable) store<u32>(nhp + N_NEIGH, <u32>e);
    startResolution(e, dev, nh, buf, ipOff, ipLen, tag);
    return;
  }
  if (cacheable) store<u32>(nhp + N_NEIGH, <u32>e);
  const state = <u32>load<u8>(e + NB_STATE);
  if (state == NUD_REACHABLE || state == NUD_PERMANENT) {
    send(e, dev, buf, ipOff, ipLen, tag);
  } else if (state == NUD_INCOMPLETE) {
    enqueue(e, buf, ipOff, ipLen, tag);
  } else {
    startResolution(e, dev, nh, buf, ipOff, ipLen, tag);
  }
}

function send(e: usize, dev: u32, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  trace(EV_NEIGH_OUTPUT, <u32>e);
  // The entry is in use (neigh->used), written only when it changes.
  if (load<u32>(e + NB_USED) != now) store<u32>(e + NB_USED, now);
  sendTo(ldMac(e + NB_MAC), dev, buf, ipOff, ipLen, tag);
}

function sendTo(mac: u64, dev: u32, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  const eth = buf + ipOff - ETH_HLEN;
  stMac(eth, mac);
  stMac(eth + ETH_SRC, ldMac(link(dev) + L_MAC));
  st16(eth + ETH_TYPE, ETH_P_IP);
  linkOutput(dev, buf, ipOff - ETH_HLEN, ipLen + ETH_HLEN, tag);
}

function startResolution(e: usize, dev: u32, nh: u32, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  store<u8>(e + NB_STATE, <u8>NUD_INCOMPLETE);
  store<u8>(e + NB_PROBES, 1);
  store<u32>(e + NB_UPDATED, now);
  pendAdd(host, e);
  // The first timer of the host's table to fire decides when the timers run next.
  const due = now + ARP_RETRANS_MS;
  if (<usize>load<u32>(host + H_PEND_HEAD) == e || due < load<u32>(host + H_NEIGH_DUE)) store<u32>(host + H_NEIGH_DUE, due);
  enqueue(e, buf, ipOff, ipLen, tag);
  arpSolicit(dev, nh, solicitSource(e, dev, nh));
}

/** The newest waiting packet's source if it is ours, else the link's address (neigh_probe, arp_solicit). */
function solicitSource(e: usize, dev: u32, nh: u32): u32 {
  if (load<u16>(e + NB_QLEN) != 0) {
    const last = <usize>load<u32>(e + NB_QTAIL);
    const src = ipSrc(last + <usize>load<u16>(last + Q_OFF));
    if (isLocalAddress(host, src)) return src;
  }
  return selectSource(host, dev, nh);
}

/**
 * What a waiting packet counts against the bounds: the buffer class its frame
 * needs behind the headroom, as Linux counts an skb's truesize. A function of
 * the packet alone, not of the buffer it happens to be in, so no bound depends
 * on which pools had buffers free.
 */
@inline function queuedSize(ipLen: u32): u32 {
  const need = HEADROOM + ETH_HLEN + ipLen;
  if (need <= BUF_SIZE_TINY) return BUF_SIZE_TINY;
  if (need <= BUF_SIZE) return BUF_SIZE;
  return need <= BUF_SIZE_JUMBO ? BUF_SIZE_JUMBO : BUF_SIZE_HUGE;
}

/**
 * Queues a packet on an INCOMPLETE entry (__neigh_event_send): the entry's
 * oldest packets make room within unres_qlen_bytes; beyond what all of the
 * host's entries may hold together, the packet is dropped.
 */
function enqueue(e: usize, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  const size = queuedSize(ipLen);
  const limit = load<u32>(host + H_UNRES_QLEN_BYTES);
  while (load<u32>(e + NB_QBYTES) + size > limit && load<u16>(e + NB_QLEN) != 0) dropOldest(e);
  const queued = load<u32>(host + H_QUEUED_BYTES);
  if (queued + size > load<u32>(host + H_UNRES_HOST_BYTES)) {
    drop(buf, DROP_NEIGH_QUEUEFULL, tag);
    return;
  }
  store<u16>(buf + Q_OFF, <u16>ipOff);
  store<u16>(buf + Q_LEN, <u16>ipLen);
  store<u32>(buf + Q_TAG, tag);
  store<u32>(buf + Q_NEXT, 0);
  const n = <u32>load<u16>(e + NB_QLEN);
  if (n == 0) store<u32>(e + NB_QUEUE, <u32>buf);
  else store<u32>(<usize>load<u32>(e + NB_QTAIL) + Q_NEXT, <u32>buf);
  store<u32>(e + NB_QTAIL, <u32>buf);
  store<u16>(e + NB_QLEN, <u16>(n + 1));
  store<u32>(e + NB_QBYTES, load<u32>(e + NB_QBYTES) + size);
  store<u32>(host + H_QUEUED_BYTES, queued + size);
  count(CNT_QUEUED);
  stat(STAT_neigh_queued);
  trace(EV_NEIGH_QUEUE, <u32>e);
  fateRecord(O_QUEUED, tag);
}

/** Takes the oldest waiting packet off e's queue and returns it. */
function dequeue(e: usize): usize {
  const buf = <usize>load<u32>(e + NB_QUEUE);
  const size = queuedSize(<u32>load<u16>(buf + Q_LEN));
  store<u32>(e + NB_QUEUE, load<u32>(buf + Q_NEXT));
  store<u16>(e + NB_QLEN, load<u16>(e + NB_QLEN) - 1);
  store<u32>(e + NB_QBYTES, load<u32>(e + NB_QBYTES) - size);
  store<u32>(host + H_QUEUED_BYTES, load<u32>(host + H_QUEUED_BYTES) - size);
  count(CNT_DEQUEUED);
  return buf;
}

function dropOldest(e: usize): void {
  const old = dequeue(e);
  drop(old, DROP_NEIGH_QUEUEFULL, load<u32>(old + Q_TAG));
}

/** The entry e has a MAC now: it is REACHABLE and its queue leaves, oldest first. */
export function neighResolved(e: usize, dev: u32): void {
  if (<u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) store<u8>(e + NB_STATE, <u8>NUD_REACHABLE);
  store<u32>(e + NB_UPDATED, now);
  store<u32>(e + NB_USED, now);
  pendRemove(host, e);
  flushQueue(e, dev, false);
}

/** Every waiting packet leaves: sent, or dropped NEIGH_FAILED. */
export function flushQueue(e: usize, dev: u32, failed: bool): void {
  while (load<u16>(e + NB_QLEN) != 0) {
    const buf = dequeue(e);
    const tag = load<u32>(buf + Q_TAG);
    if (failed) {
      drop(buf, DROP_NEIGH_FAILED, tag);
    } else {
      stat(STAT_neigh_released);
      send(e, dev, buf, <u32>load<u16>(buf + Q_OFF), <u32>load<u16>(buf + Q_LEN), tag);
    }
  }
}

/**
 * The neighbour timers (neigh_timer_handler), run before each batch: each
 * INCOMPLETE entry probes every retrans_time, as if its timer had fired on
 * time, and fails after ARP_MCAST_SOLICIT probes. Entries resolved by the
 * control plane meanwhile send their queues here. Nothing is walked before
 * the first timer is due.
 */
export function neighTimers(): void {
  let e = <usize>load<u32>(host + H_PEND_HEAD);
  if (e == 0 || now < load<u32>(host + H_NEIGH_DUE)) return;
  let due: u32 = 0xffffffff;
  while (e != 0) {
    const next = <usize>load<u32>(e + NB_PNEXT);
    const dev = <u32>load<u16>(e + NB_DEV);
    if (<u32>load<u8>(e + NB_STATE) != NUD_INCOMPLETE) {
      pendRemove(host, e);
      flushQueue(e, dev, false);
    } else if (!fire(e, dev)) {
      const at = load<u32>(e + NB_UPDATED) + ARP_RETRANS_MS;
      if (at < due) due = at;
    }
    e = next;
  }
  store<u32>(host + H_NEIGH_DUE, due);
}

/** Catches entry e's timer up with now; true when it failed (and left the list). */
function fire(e: usize, dev: u32): bool {
  while (now >= load<u32>(e + NB_UPDATED) + ARP_RETRANS_MS) {
    const at = load<u32>(e + NB_UPDATED) + ARP_RETRANS_MS;
    const probes = <u32>load<u8>(e + NB_PROBES);
    if (probes >= ARP_MCAST_SOLICIT) {
      store<u8>(e + NB_STATE, <u8>NUD_FAILED);
      store<u32>(e + NB_UPDATED, at);
      stat(STAT_neigh_failed);
      pendRemove(host, e);
      flushQueue(e, dev, true);
      return true;
    }
    store<u8>(e + NB_PROBES, <u8>(probes + 1));
    store<u32>(e + NB_UPDATED, at);
    arpSolicit(dev, load<u32>(e + NB_IP), solicitSource(e, dev, load<u32>(e + NB_IP)));
  }
  return false;
}
