// ARP (arp_process, arp_solicit): answering for own and proxied addresses,
// learning senders, and asking for unresolved next hops.
import {
  L_MAC, L_FLAGS, LF_PROXY_ARP, H_FLAGS, HF_FORWARDING, N_TYPE, N_DEV, RT_UNICAST,
  NB_MAC, NB_STATE, NB_UPDATED, NB_USED, NUD_PERMANENT, NUD_REACHABLE, NUD_INCOMPLETE, ARP_LOCKTIME_MS, ETH_P_ARP, ETH_P_IP, HEADROOM, TAG_GENERATED,
  CNT_GENERATED, CNT_LOCAL, DROP_ARP_INVALID,
  STAT_arp_reply_sent, STAT_arp_proxy_reply, STAT_arp_request_sent, STAT_arp_ignored, STAT_arp_learned,
} from '../layout';
import { host, now, link, count, stat, drop, consume, consumed, genAllocFor } from '../context';
import { ld16, ld32, st16, st32, ldMac, stMac, MAC_BROADCAST } from '../wire/bytes';
import { ETH_DST, ETH_SRC, ETH_TYPE, ETH_HLEN } from '../wire/ethernet';
import {
  ARP_HTYPE, ARP_PTYPE, ARP_HLEN, ARP_PLEN, ARP_OP, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA, ARP_LEN,
  ARPOP_REQUEST, ARPOP_REPLY,
} from '../wire/arp';
import { isMulticast, isLoopback, INADDR_BROADCAST } from '../wire/ipv4';
import { routeLookup, isLocalAddress, isBroadcastAddress } from '../tables/route';
import { neighFind, neighProbe } from '../tables/neigh';
import { neighCreate } from '../tables/neigh-gc';
import { neighResolved } from './neigh-output';
import { linkOutput } from './link-output';
import { trace } from '../trace/trace';
import { EV_ARP, EV_ARP_REPLY, EV_ARP_SOLICIT, EV_NEIGH_UPDATE } from '../trace/events';

export function arpInput(dev: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const a = buf + off + ETH_HLEN;
  if (len < ETH_HLEN + ARP_LEN || ld16(a + ARP_HTYPE) != 1 || ld16(a + ARP_PTYPE) != ETH_P_IP ||
      load<u8>(a + ARP_HLEN) != 6 || load<u8>(a + ARP_PLEN) != 4) {
    drop(buf, DROP_ARP_INVALID, tag);
    return;
  }
  const op = ld16(a + ARP_OP);
  if (op != ARPOP_REQUEST && op != ARPOP_REPLY) {
    drop(buf, DROP_ARP_INVALID, tag);
    return;
  }
  const sip = ld32(a + ARP_SPA);
  const tip = ld32(a + ARP_TPA);
  const sha = ldMac(a + ARP_SHA);
  trace(EV_ARP, dev, <u32>a);
  if (isMulticast(sip) || isLoopback(sip) || isMulticast(tip) || isLoopback(tip)) {
    stat(STAT_arp_ignored);
    consume(buf, tag);
    return;
  }
  // ip_route_input(tip, sip) must accept the sender: one claiming an address
  // of this host (or the limited broadcast) is a martian, never answered.
  const martian = sip == INADDR_BROADCAST || (sip != 0 && isLocalAddress(host, sip));
  if (op == ARPOP_REQUEST && !martian) {
    if (isLocalAddress(host, tip)) {
      if (sip != 0) eventNs(sip, dev, sha);
      stat(STAT_arp_reply_sent);
      reply(dev, buf, off, a, tip, sip, sha, tag);
      return;
    }
    const lp = link(dev);
    if (sip != 0 && (<u32>load<u8>(lp + L_FLAGS) & LF_PROXY_ARP) != 0 &&
        (load<u32>(host + H_FLAGS) & HF_FORWARDING) != 0) {
      const nh = routeLookup(host, tip);
      if (nh != 0 && <u32>load<u8>(nh + N_TYPE) == RT_UNICAST && <u32>load<u16>(nh + N_DEV) != dev) {
        eventNs(sip, dev, sha);
        stat(STAT_arp_proxy_reply);
        reply(dev, buf, off, a, tip, sip, sha, tag);
        return;
      }
    }
  }
  // Our table: an entry for the sender takes its MAC, unless it changed less
  // than locktime ago (the first of competing answers stands) and this is no
  // gratuitous ARP (arp_is_garp: sender = target, a unicast address).
  if (sip != 0) {
    const e = neighFind(host, sip, dev);
    if (e != 0 && <u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) {
      const garp = sip == tip && !martian && !isBroadcastAddress(host, sip) &&
        (op == ARPOP_REQUEST || ldMac(a + ARP_THA) == sha);
      update(e, dev, sha, garp || now - load<u32>(e + NB_UPDATED) > ARP_LOCKTIME_MS);
    }
  }
  stat(STAT_arp_ignored);
  consume(buf, tag);
}

/**
 * neigh_update: an entry not yet valid takes the MAC and its queue leaves; a
 * valid one changes its MAC only when forced (override). The time of the last change
 * moves only when something changes.
 */
function update(e: usize, dev: u32, mac: u64, force: bool): void {
  if (<u32>load<u8>(e + NB_STATE) == NUD_REACHABLE) {
    if (ldMac(e + NB_MAC) == mac) store<u32>(e + NB_USED, now); // confirmed
    if (ldMac(e + NB_MAC) == mac || !force) return;
    stMac(e + NB_MAC, mac);
    store<u32>(e + NB_UPDATED, now);
    store<u32>(e + NB_USED, now);
    stat(STAT_arp_learned);
    return;
  }
  stMac(e + NB_MAC, mac);
  trace(EV_NEIGH_UPDATE, <u32>e);
  stat(STAT_arp_learned);
  neighResolved(e, dev);
}

/** neigh_event_ns: the sender of a request we answer gets an entry, or has its own overridden. */
function eventNs(ip: u32, dev: u32, mac: u64): void {
  let e = neighProbe(host, ip, dev);
  if (load<u32>(e) != 0) {
    if (<u32>load<u8>(e + NB_STATE) != NUD_PERMANENT) update(e, dev, mac, true);
    return;
  }
  e = neighCreate(host, ip, dev, now); // 0: the table is at gc_thresh3, nothing to collect
  if (e == 0) return;
  store<u8>(e + NB_STATE, <u8>NUD_INCOMPLETE); // not valid yet: update() makes it REACHABLE
  update(e, dev, mac, true);
}

/** Turns the request in buf into the reply, in place, and sends it. */
function reply(dev: u32, buf: usize, off: u32, a: usize, tip: u32, sip: u32, sha: u64, tag: u32): void {
  const mac = ldMac(link(dev) + L_MAC);
  trace(EV_ARP_REPLY, dev, tip, sip);
  const eth = buf + off;
  stMac(eth + ETH_DST, sha);
  stMac(eth + ETH_SRC, mac);
  st16(a + ARP_OP, ARPOP_REPLY);
  stMac(a + ARP_THA, sha);
  st32(a + ARP_TPA, sip);
  stMac(a + ARP_SHA, mac);
  st32(a + ARP_SPA, tip);
  // The request is consumed; the reply is a packet of ours.
  consumed(tag);
  count(CNT_GENERATED);
  linkOutput(dev, buf, off, ETH_HLEN + ARP_LEN, TAG_GENERATED);
}

/** Broadcasts a request for target on dev, from address src (arp_solicit). */
export function arpSolicit(dev: u32, target: u32, src: u32): void {
  const buf = genAllocFor(TAG_GENERATED, HEADROOM + ETH_HLEN + ARP_LEN);
  if (buf == 0) return;
  const eth = buf + HEADROOM;
  const mac = ldMac(link(dev) + L_MAC);
  stMac(eth + ETH_DST, MAC_BROADCAST);
  stMac(eth + ETH_SRC, mac);
  st16(eth + ETH_TYPE, ETH_P_ARP);
  const a = eth + ETH_HLEN;
  st16(a + ARP_HTYPE, 1);
  st16(a + ARP_PTYPE, ETH_P_IP);
  store<u8>(a + ARP_HLEN, 6);
  store<u8>(a + ARP_PLEN, 4);
  st16(a + ARP_OP, ARPOP_REQUEST);
  stMac(a + ARP_SHA, mac);
  st32(a + ARP_SPA, src);
  stMac(a + ARP_THA, 0);
  st32(a + ARP_TPA, target);
  stat(STAT_arp_request_sent);
  trace(EV_ARP_SOLICIT, dev, target, src);
  linkOutput(dev, buf, HEADROOM, ETH_HLEN + ARP_LEN, TAG_GENERATED);
}
