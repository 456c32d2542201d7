// ARP input (net/ipv4/arp.c: arp_rcv, arp_process), arp_ignore=0, arp_accept=0.
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import { neighUpdate } from './neigh.js';
import { ARP_LEN, ETH_HLEN, ETH_P_ARP, ETH_P_IP, GEN_TAG, arpPacket, ethernet, get16, get32, isLoopbackIp, isMulticastIp } from './wire.js';

const ARPOP_REQUEST = 1;
const ARPOP_REPLY = 2;

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

  const n = h.arpTbl.get(sip, dev);
  if (n && n.state !== 'PERMANENT') {
    neighUpdate(h, n, sha);
    h.stage('arp_learned');
  }
  if (op === ARPOP_REQUEST && h.routes.isLocal(tip)) {
    learnSender(h, dev, sip, sha);
    return reply(h, dev, tip, sha, sip, 'arp_reply_sent');
  }
  if (op === ARPOP_REQUEST && dev.proxyArp && h.forwarding) {
    // arp_fwd_proxy: a unicast route for the target out of another link.
    const r = h.routes.resolve(tip);
    if (r && r.type === 'unicast' && r.dev !== dev) {
      learnSender(h, dev, sip, sha);
      return reply(h, dev, tip, sha, sip, 'arp_proxy_reply');
    }
  }
  h.stage('arp_ignored'); // consumed without a reply
}

/** neigh_event_ns: the requester's entry, created REACHABLE if there is none. */
function learnSender(h: ModelHost, dev: Link, sip: number, sha: Uint8Array): void {
  if (h.arpTbl.get(sip, dev)) return; // already updated above (or permanent)
  const n = h.arpTbl.getOrCreate(sip, dev, h.now);
  n.state = 'REACHABLE';
  n.mac = sha.slice(0, 6);
  h.stage('arp_learned');
}

/** arp_send_dst(ARPOP_REPLY, ..., dest_ip=sip, dev, src_ip=tip, dest_hw=sha, dev's MAC, target_hw=sha). */
function reply(h: ModelHost, dev: Link, tip: number, sha: Uint8Array, sip: number, stage: string): void {
  h.gen();
  h.stage(stage);
  h.xmit(dev, ethernet(sha, dev.mac, ETH_P_ARP, arpPacket(ARPOP_REPLY, dev.mac, tip, sha, sip)), GEN_TAG);
}
