// Neighbour output (neigh_resolve_output): the Ethernet header from the ARP
// cache, or a queue and an ARP request while the next hop is unresolved.
import {
  H_NPEND, H_PEND, L_MAC, ETH_P_IP, N_GW, N_NEIGH, NB_IP, NB_DEV, NB_MAC, NB_STATE, NB_PROBES, NB_QLEN, NB_UPDATED,
  NB_QUEUE, NEIGH_QLEN, NUD_INCOMPLETE, NUD_REACHABLE, NUD_FAILED, NUD_PERMANENT,
  ARP_RETRANS_MS, ARP_MCAST_SOLICIT, Q_OFF, Q_LEN, Q_TAG, Q_NEXT, NB_QTAIL, CNT_QUEUED, CNT_DEQUEUED,
  DROP_NEIGH_FAILED, DROP_NEIGH_QUEUEFULL, DROP_NEIGH_CREATEFAIL,
  STAT_neigh_queued, STAT_neigh_released, STAT_neigh_failed, O_QUEUED,
} from '../layout';
import { host, now, link, count, stat, drop, fateRecord } from '../context';
import { st16, ldMac, stMac } from '../wire/bytes';
import { ETH_HLEN, ETH_SRC, ETH_TYPE } from '../wire/ethernet';
import { ipSrc } from '../wire/ipv4';
import { neighProbe, neighClaim, pendAdd, pendRemoveAt } from '../tables/neigh';
import { isLocalAddress, selectSource } from '../tables/route';
import { arpSolicit } from './arp';
import { linkOutput } from './link-output';

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
  e = neighProbe(host, nh, dev);
  if (cacheable && load<u32>(e + NB_IP) != 0) store<u32>(nhp + N_NEIGH, <u32>e);
  if (load<u32>(e + NB_IP) == 0) {
    e = neighClaim(host, e, nh, dev);
    if (e == 0) {
      drop(buf, DROP_NEIGH_CREATEFAIL, tag); // the table is full until the control plane grows it
      return;
    }
    startResolution(e, dev, nh, buf, ipOff, ipLen, tag);
    return;
  }
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
  const eth = buf + ipOff - ETH_HLEN;
  stMac(eth, ldMac(e + NB_MAC));
  stMac(eth + ETH_SRC, ldMac(link(dev) + L_MAC));
  st16(eth + ETH_TYPE, ETH_P_IP);
  linkOutput(dev, buf, ipOff - ETH_HLEN, ipLen + ETH_HLEN, tag);
}

function startResolution(e: usize, dev: u32, nh: u32, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  store<u8>(e + NB_STATE, <u8>NUD_INCOMPLETE);
  store<u8>(e + NB_PROBES, 1);
  store<u32>(e + NB_UPDATED, now);
  pendAdd(host, e);
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

function enqueue(e: usize, buf: usize, ipOff: u32, ipLen: u32, tag: u32): void {
  let n = <u32>load<u16>(e + NB_QLEN);
  if (n == NEIGH_QLEN) {
    // Full: the oldest packet makes room (__neigh_event_send).
    const old = <usize>load<u32>(e + NB_QUEUE);
    store<u32>(e + NB_QUEUE, load<u32>(old + Q_NEXT));
    n--;
    count(CNT_DEQUEUED);
    drop(old, DROP_NEIGH_QUEUEFULL, load<u32>(old + Q_TAG));
  }
  store<u16>(buf + Q_OFF, <u16>ipOff);
  store<u16>(buf + Q_LEN, <u16>ipLen);
  store<u32>(buf + Q_TAG, tag);
  store<u32>(buf + Q_NEXT, 0);
  if (n == 0) store<u32>(e + NB_QUEUE, <u32>buf);
  else store<u32>(<usize>load<u32>(e + NB_QTAIL) + Q_NEXT, <u32>buf);
  store<u32>(e + NB_QTAIL, <u32>buf);
  store<u16>(e + NB_QLEN, <u16>(n + 1));
  count(CNT_QUEUED);
  stat(STAT_neigh_queued);
  fateRecord(O_QUEUED, tag);
}

/** The entry e has a MAC now: it is REACHABLE and its queue leaves, oldest first. */
export function neighResolved(e: usize, dev: u32): void {
  if (<u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) store<u8>(e + NB_STATE, <u8>NUD_REACHABLE);
  store<u32>(e + NB_UPDATED, now);
  flushQueue(e, dev, false);
}

export function flushQueue(e: usize, dev: u32, failed: bool): void {
  const n = <u32>load<u16>(e + NB_QLEN);
  let buf = <usize>load<u32>(e + NB_QUEUE);
  store<u16>(e + NB_QLEN, 0);
  store<u32>(e + NB_QUEUE, 0);
  for (let i: u32 = 0; i < n; i++) {
    const next = <usize>load<u32>(buf + Q_NEXT);
    const tag = load<u32>(buf + Q_TAG);
    count(CNT_DEQUEUED);
    if (failed) {
      drop(buf, DROP_NEIGH_FAILED, tag);
    } else {
      stat(STAT_neigh_released);
      send(e, dev, buf, <u32>load<u16>(buf + Q_OFF), <u32>load<u16>(buf + Q_LEN), tag);
    }
    buf = next;
  }
}

/**
 * The neighbour timers (neigh_timer_handler), run before each batch: each
 * unresolved entry probes every retrans_time, as if the timer had fired on
 * time, and fails after ARP_MCAST_SOLICIT probes. Entries resolved or deleted
 * by the control plane meanwhile leave the list here.
 */
export function neighTimers(): void {
  let i: u32 = 0;
  while (i < load<u32>(host + H_NPEND)) {
    const e = <usize>load<u32>(load<u32>(host + H_PEND) + (i << 2));
    const dev = <u32>load<u16>(e + NB_DEV);
    const state = <u32>load<u8>(e + NB_STATE);
    if (state != NUD_INCOMPLETE) {
      flushQueue(e, dev, state == NUD_FAILED);
      pendRemoveAt(host, i);
      continue;
    }
    let done = false;
    while (now - load<u32>(e + NB_UPDATED) >= ARP_RETRANS_MS && (now - load<u32>(e + NB_UPDATED)) < 0x80000000) {
      const due = load<u32>(e + NB_UPDATED) + ARP_RETRANS_MS;
      const probes = <u32>load<u8>(e + NB_PROBES);
      if (probes >= ARP_MCAST_SOLICIT) {
        store<u8>(e + NB_STATE, <u8>NUD_FAILED);
        store<u32>(e + NB_UPDATED, due);
        stat(STAT_neigh_failed);
        flushQueue(e, dev, true);
        done = true;
        break;
      }
      store<u8>(e + NB_PROBES, <u8>(probes + 1));
      store<u32>(e + NB_UPDATED, due);
      arpSolicit(dev, load<u32>(e + NB_IP), solicitSource(e, dev, load<u32>(e + NB_IP)));
    }
    if (done) pendRemoveAt(host, i);
    else i++;
  }
}
