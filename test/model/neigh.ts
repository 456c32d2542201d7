// The neighbour table and its output path (net/core/neighbour.c, net/ipv4/arp.c:
// neigh_resolve_output, __neigh_event_send, neigh_timer_handler, arp_solicit).
import type { ModelHost } from './host.js';
import type { Link } from './links.js';
import { BROADCAST, ETH_P_ARP, ETH_P_IP, GEN_TAG, LIMITED_BROADCAST, ZERO_MAC, arpPacket, ethernet, get32 } from './wire.js';

export type NudState = 'INCOMPLETE' | 'REACHABLE' | 'FAILED' | 'PERMANENT';

export const RETRANS_MS = 1000;
export const MCAST_SOLICIT = 3;
/**
 * Queues count whole packet buffers, as Linux counts an skb's truesize: the
 * engine's smallest buffer class (256 bytes, 2, 16 or 64 KiB) that holds the
 * packet's frame behind its headroom.
 */
export function truesize(ip: Uint8Array): number {
  const need = 128 + 14 + ip.length;
  return [256, 2048, 16384, 65536].find((size) => need <= size) ?? 65536;
}
/** net.ipv4.neigh.default.*: Linux's defaults; unres_qlen_bytes as 101 small buffers (unres_qlen 101). */
export const DEFAULT_PARAMS: NeighParams = { gcThresh1: 128, gcThresh2: 512, gcThresh3: 1024, unresQlenBytes: 101 * 2048, unresHostBytes: 1 << 20 };
const GC_INTERVAL_MS = 15_000; // base_reachable_time / 2
const GC_STALE_MS = 60_000; // gc_staletime
const GC_FORCED_MS = 5_000;

export interface NeighParams {
  gcThresh1: number;
  gcThresh2: number;
  gcThresh3: number;
  unresQlenBytes: number;
  /** podnet's own: what all entries of a host may queue together. */
  unresHostBytes: number;
}

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
  /** Time of the last change of state or MAC, or probe (neigh->updated). */
  updated: number;
  /** Time it was last used or confirmed (neigh->used, confirmed). */
  used: number;
  queue: Queued[];
}

/**
 * Linux's arp_tbl: the entries (a Map keeps them in the order they were
 * made, which is tbl->gc_list's order), and the bounds of
 * net/core/neighbour.c (neigh_alloc, neigh_forced_gc, neigh_periodic_work).
 */
export class NeighTable {
  private readonly entries = new Map<string, Neigh>();
  /** INCOMPLETE entries, in the order they became INCOMPLETE: the timer walks this list. */
  pending: Neigh[] = [];
  params: NeighParams = { ...DEFAULT_PARAMS };
  /** Buffer bytes queued on all entries. */
  queuedBytes = 0;
  private lastFlush = 0;
  private gcNext = GC_INTERVAL_MS;

  get(ip: number, dev: Link): Neigh | undefined {
    return this.entries.get(`${ip}@${dev.index}`);
  }

  /** A permanent entry from the control plane: exempt from the bounds. */
  getOrCreate(ip: number, dev: Link, now: number): Neigh {
    return this.get(ip, dev) ?? this.make(ip, dev, now);
  }

  /** neigh_alloc for the data plane: undefined when gc_thresh3 is reached and a forced gc freed nothing. */
  create(ip: number, dev: Link, now: number): Neigh | undefined {
    const entries = this.gcEntries().length;
    const { gcThresh2, gcThresh3 } = this.params;
    if (entries >= gcThresh3 || (entries >= gcThresh2 && now > this.lastFlush + GC_FORCED_MS)) {
      if (this.forcedGc(now) === 0 && entries >= gcThresh3) return undefined;
    }
    return this.make(ip, dev, now);
  }

  private make(ip: number, dev: Link, now: number): Neigh {
    const n: Neigh = { ip, dev, state: 'FAILED', mac: new Uint8Array(6), probes: 0, updated: now, used: 0, queue: [] };
    this.entries.set(`${ip}@${dev.index}`, n);
    return n;
  }

  all(): Neigh[] {
    return [...this.entries.values()];
  }

  /** Entries that count against the thresholds, oldest first: all but permanent ones. */
  private gcEntries(): Neigh[] {
    return this.all().filter((n) => n.state !== 'PERMANENT');
  }

  /** An INCOMPLETE entry is held by its timer and never collected. */
  private held(n: Neigh): boolean {
    return n.state === 'INCOMPLETE' || n.queue.length > 0;
  }

  private remove(n: Neigh): void {
    this.entries.delete(`${n.ip}@${n.dev.index}`);
  }

  /** neigh_forced_gc: oldest first, FAILED or neither changed nor used for 5 s, until back at gc_thresh2. */
  private forcedGc(now: number): number {
    const maxClean = this.gcEntries().length + 1 - this.params.gcThresh2;
    let shrunk = 0;
    for (const n of this.gcEntries()) {
      if (this.held(n)) continue;
      if (n.state === 'FAILED' || (now - n.updated > GC_FORCED_MS && now - n.used > GC_FORCED_MS)) {
        this.remove(n);
        shrunk++;
      }
      if (shrunk >= maxClean) break;
    }
    this.lastFlush = now;
    return shrunk;
  }

  /**
   * neigh_periodic_work every 15 s of the clock, caught up after the timers:
   * each run as of its own time, with at least gc_thresh1 entries, removes
   * FAILED entries and entries unused for gc_staletime.
   */
  periodicGc(now: number): void {
    for (; this.gcNext <= now; this.gcNext += GC_INTERVAL_MS) {
      const t = this.gcNext;
      if (this.entries.size < this.params.gcThresh1) continue;
      for (const n of this.gcEntries()) {
        if (this.held(n)) continue;
        if (n.state === 'FAILED' ? n.updated <= t : n.used + GC_STALE_MS <= t) this.remove(n);
      }
    }
  }
}

/** neigh_resolve_output: an IPv4 packet to next hop `nh` on `dev`. */
export function neighOutput(h: ModelHost, dev: Link, nh: number, ip: Uint8Array, tag: number): void {
  // A broadcast route's neighbour needs no ARP: the link's broadcast address.
  if (nh === LIMITED_BROADCAST) return h.xmit(dev, ethernet(BROADCAST, dev.mac, ETH_P_IP, ip), tag);
  const n = h.arpTbl.get(nh, dev);
  if (n && (n.state === 'REACHABLE' || n.state === 'PERMANENT')) {
    n.used = h.now; // in use
    return h.xmit(dev, ethernet(n.mac, dev.mac, ETH_P_IP, ip), tag);
  }
  if (n && n.state === 'INCOMPLETE') return enqueue(h, n, ip, tag);
  // No entry, or FAILED: start resolving.
  const e = n ?? h.arpTbl.create(nh, dev, h.now);
  if (!e) return h.drop('NEIGH_CREATEFAIL', tag);
  e.state = 'INCOMPLETE';
  e.probes = 0;
  e.updated = h.now;
  e.queue = [];
  h.arpTbl.pending.push(e);
  enqueue(h, e, ip, tag);
  solicit(h, e);
}

/**
 * __neigh_event_send: the entry's oldest packets make room within
 * unres_qlen_bytes; beyond what the host's entries may hold together, the
 * packet is dropped.
 */
function enqueue(h: ModelHost, n: Neigh, ip: Uint8Array, tag: number): void {
  const t = h.arpTbl;
  const size = truesize(ip);
  const queued = () => n.queue.reduce((sum, p) => sum + truesize(p.ip), 0);
  while (queued() + size > t.params.unresQlenBytes && n.queue.length > 0) {
    const old = n.queue.shift()!;
    t.queuedBytes -= truesize(old.ip);
    h.fates.dequeued++;
    h.drop('NEIGH_QUEUEFULL', old.tag);
  }
  if (t.queuedBytes + size > t.params.unresHostBytes) return h.drop('NEIGH_QUEUEFULL', tag);
  n.queue.push({ ip, tag });
  t.queuedBytes += size;
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
  n.used = h.now;
  if (wasIncomplete) release(h, n);
}

/** Sends the queued packets, oldest first, and forgets the entry's pending timer. */
function release(h: ModelHost, n: Neigh): void {
  h.arpTbl.pending = h.arpTbl.pending.filter((x) => x !== n);
  const q = n.queue;
  n.queue = [];
  for (const p of q) h.arpTbl.queuedBytes -= truesize(p.ip);
  if (q.length) n.used = h.now; // in use
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
  for (const p of q) h.arpTbl.queuedBytes -= truesize(p.ip);
  for (const p of q) {
    h.fates.dequeued++;
    h.drop('NEIGH_FAILED', p.tag);
  }
}
