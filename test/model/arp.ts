// ARP input (net/ipv4/arp.c: arp_rcv, arp_process), arp_ignore=0, arp_accept=0.
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import { neighUpdate, type Neigh } from './neigh.js';
import { ARP_LEN, ETH_HLEN, ETH_P_ARP, ETH_P_IP, GEN_TAG, LIMITED_BROADCAST, arpPacket, ethernet, get16, get32, isLoopbackIp, isMulticastIp, macEq } from './wire.js';

const ARPOP_REQUEST = 1;
const ARPOP_REPLY = 2;
/** locktime: a valid entry's MAC holds this long against other answers (arp_process). */
const LOCKTIME_MS = 1000;

/** An ARP frame that reached device `dev` (its destination MAC is ours, broadcast or multicast). */
export function arpInput(h: ModelHost, dev: Link, frame: Uint8Array, tag: number): void {
  const a = frame.subarray(ETH_HLEN);
  const op = a.length >= 8 ? get16(a, 6) : 0;
  if (a.length < ARP_LEN || get16(a, 0) !== 1 || get16(a, 2) !== ETH_P_IP || a[4] !== 6 || a[5] !== 4 || (op !== ARPOP_REQUEST && op !== ARPOP_REPLY)) {
    return h.drop('ARP_INVALID', tag);
  }
  h.consume(); // whatever happens next, the ARP packet itself is consumed
  const sha = a.slice(8, 14);
  const sip = get32(a, 14);
  const tip = get32(a, 24);
  if (isMulticastIp(sip) || isLoopbackIp(sip) || isMulticastIp(tip) || isLoopbackIp(tip)) return h.stage('arp_ignored');
  if (sip === 0) {
    // Duplicate address detection probe (RFC 2131): answered, nothing learned.
    if (op === ARPOP_REQUEST && h.routes.isLocal(tip)) return reply(h, dev, tip, sha, sip, 'arp_reply_sent');
    return h.stage('arp_ignored');
  }

  // ip_route_input(tip, sip): a sender claiming one of our addresses (or the limited broadcast) is a martian.
  const martian = sip === LIMITED_BROADCAST || h.routes.isLocal(sip);
  if (!martian && op === ARPOP_REQUEST && h.routes.isLocal(tip)) {
    eventNs(h, dev, sip, sha);
    return reply(h, dev, tip, sha, sip, 'arp_reply_sent');
  }
  if (!martian && op === ARPOP_REQUEST && dev.proxyArp && h.forwarding) {
    // arp_fwd_proxy: a unicast route for the target out of another link.
    const r = h.routes.resolve(tip);
    if (r && r.type === 'unicast' && r.dev !== dev) {
      eventNs(h, dev, sip, sha);
      return reply(h, dev, tip, sha, sip, 'arp_proxy_reply');
    }
  }
  // Our table: the sender's entry takes the MAC unless it changed within locktime and this is no gratuitous ARP.
  const n = h.arpTbl.get(sip, dev);
  if (n && n.state !== 'PERMANENT') {
    const garp = sip === tip && !martian && !h.routes.isBroadcast(sip) && (op === ARPOP_REQUEST || macEq(a, 18, sha));
    update(h, n, sha, garp || h.now - n.updated > LOCKTIME_MS);
  }
  h.stage('arp_ignored'); // consumed without a reply
}

/** neigh_update: a valid entry changes its MAC only with override; its time moves only when something changes. */
function update(h: ModelHost, n: Neigh, mac: Uint8Array, override: boolean): void {
  if (n.state === 'REACHABLE') {
    if (macEq(mac, 0, n.mac)) n.used = h.now; // confirmed
    if (macEq(mac, 0, n.mac) || !override) return;
    n.mac = mac.slice(0, 6);
    n.updated = h.now;
    n.used = h.now;
    return h.stage('arp_learned');
  }
  neighUpdate(h, n, mac);
  h.stage('arp_learned');
}

/**
 * neigh_event_ns: the requester's entry, created if there is none (within the
 * table's bounds: at gc_thresh3 none, the request still answered), its MAC
 * taken whatever locktime says.
 */
function eventNs(h: ModelHost, dev: Link, sip: number, sha: Uint8Array): void {
  const n = h.arpTbl.get(sip, dev) ?? h.arpTbl.create(sip, dev, h.now);
  if (n && n.state !== 'PERMANENT') update(h, n, sha, true);
}

/** arp_send_dst(ARPOP_REPLY, ..., dest_ip=sip, dev, src_ip=tip, dest_hw=sha, dev's MAC, target_hw=sha). */
function reply(h: ModelHost, dev: Link, tip: number, sha: Uint8Array, sip: number, stage: string): void {
  h.gen();
  h.stage(stage);
  h.xmit(dev, ethernet(sha, dev.mac, ETH_P_ARP, arpPacket(ARPOP_REPLY, dev.mac, tip, sha, sip)), GEN_TAG);
}
