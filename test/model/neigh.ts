// The neighbour table and its output path (net/core/neighbour.c, net/ipv4/arp.c:
// neigh_resolve_output, __neigh_event_send, neigh_timer_handler, arp_solicit).
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import { BROADCAST, ETH_P_ARP, ETH_P_IP, GEN_TAG, ZERO_MAC, arpPacket, ethernet, get32 } from './wire.js';

export type NudState = 'INCOMPLETE' | 'REACHABLE' | 'FAILED' | 'PERMANENT';

/** unres_qlen: Linux's default (unres_qlen_bytes / the truesize of a full frame). */
export const UNRES_QLEN = 101;
export const RETRANS_MS = 1000;
export const MCAST_SOLICIT = 3;

export interface Queued {
  ip: Uint8Array;
  tag: number;
}

export interface Neigh {
  ip: number;
  dev: Link;
  state: NudState;
  mac: Uint8Array;
  /** ARP requests sent while INCOMPLETE. */
  probes: number;
  /** Time of the last state change or probe. */
  updated: number;
  queue: Queued[];
}

export class NeighTable {
  private readonly entries = new Map<string, Neigh>();
  /** INCOMPLETE entries, in the order they became INCOMPLETE: the timer walks this list. */
  pending: Neigh[] = [];

  get(ip: number, dev: Link): Neigh | undefined {
    return this.entries.get(`${ip}@${dev.index}`);
  }

  getOrCreate(ip: number, dev: Link, now: number): Neigh {
    let n = this.get(ip, dev);
    if (!n) {
      n = { ip, dev, state: 'FAILED', mac: new Uint8Array(6), probes: 0, updated: now, queue: [] };
      this.entries.set(`${ip}@${dev.index}`, n);
    }
    return n;
  }

  all(): Neigh[] {
    return [...this.entries.values()];
  }
}

/** neigh_resolve_output: an IPv4 packet to next hop `nh` on `dev`. */
export function neighOutput(h: ModelHost, dev: Link, nh: number, ip: Uint8Array, tag: number): void {
  const n = h.arpTbl.get(nh, dev);
  if (n && (n.state === 'REACHABLE' || n.state === 'PERMANENT')) {
    return h.xmit(dev, ethernet(n.mac, dev.mac, ETH_P_IP, ip), tag);
  }
  if (n && n.state === 'INCOMPLETE') return enqueue(h, n, ip, tag);
  // No entry, or FAILED: start resolving.
  const e = h.arpTbl.getOrCreate(nh, dev, h.now);
  e.state = 'INCOMPLETE';
  e.probes = 0;
  e.updated = h.now;
  e.queue = [];
  h.arpTbl.pending.push(e);
  enqueue(h, e, ip, tag);
  solicit(h, e);
}

/** Queues a packet; a full queue drops its oldest packet first. */
function enqueue(h: ModelHost, n: Neigh, ip: Uint8Array, tag: number): void {
  if (n.queue.length >= UNRES_QLEN) {
    const old = n.queue.shift()!;
    h.fates.dequeued++;
    h.drop('NEIGH_QUEUEFULL', old.tag);
  }
  n.queue.push({ ip, tag });
  h.fates.queued++;
  h.stage('neigh_queued');
}

/**
 * arp_solicit: broadcast a request for n.ip. The sender address is the source
 * of the newest queued packet if it is local, else the link's address.
 */
function solicit(h: ModelHost, n: Neigh): void {
  const newest = n.queue[n.queue.length - 1];
  const src = newest ? get32(newest.ip, 12) : 0;
  const spa = h.routes.isLocal(src) ? src : h.routes.selectSource(n.dev, n.ip);
  n.probes++;
  h.gen();
  h.stage('arp_request_sent');
  h.xmit(n.dev, ethernet(BROADCAST, n.dev.mac, ETH_P_ARP, arpPacket(1, n.dev.mac, spa, ZERO_MAC, n.ip)), GEN_TAG);
}

/** neigh_update from ARP: the entry takes `mac`; an INCOMPLETE entry releases its queue. */
export function neighUpdate(h: ModelHost, n: Neigh, mac: Uint8Array): void {
  const wasIncomplete = n.state === 'INCOMPLETE';
  n.mac = mac.slice(0, 6);
  n.state = 'REACHABLE';
  n.updated = h.now;
  if (wasIncomplete) release(h, n);
}

/** Sends the queued packets, oldest first, and forgets the entry's pending timer. */
function release(h: ModelHost, n: Neigh): void {
  h.arpTbl.pending = h.arpTbl.pending.filter((x) => x !== n);
  const q = n.queue;
  n.queue = [];
  for (const p of q) {
    h.stage('neigh_released');
    h.fates.dequeued++;
    h.xmit(n.dev, ethernet(n.mac, n.dev.mac, ETH_P_IP, p.ip), p.tag);
  }
}

/**
 * neigh_timer_handler for every INCOMPLETE entry, in the order they became
 * INCOMPLETE. A run catches up on every firing since the last one, as if the
 * timer had fired on time: a probe each 1000 ms, FAILED 1000 ms after the third.
 */
export function neighTimers(h: ModelHost): void {
  for (const n of [...h.arpTbl.pending]) {
    if (n.state !== 'INCOMPLETE') {
      // Resolved by the control plane (neigh.add) since the last run.
      release(h, n);
      continue;
    }
    while (n.state === 'INCOMPLETE' && h.now - n.updated >= RETRANS_MS) {
      n.updated += RETRANS_MS;
      if (n.probes < MCAST_SOLICIT) solicit(h, n);
      else fail(h, n);
    }
  }
}

function fail(h: ModelHost, n: Neigh): void {
  n.state = 'FAILED';
  h.arpTbl.pending = h.arpTbl.pending.filter((x) => x !== n);
  h.stage('neigh_failed');
  const q = n.queue;
  n.queue = [];
  for (const p of q) {
    h.fates.dequeued++;
    h.drop('NEIGH_FAILED', p.tag);
  }
}
