// The invariants a fuzz run checks, and what a violation says. The checks
// of every frame run in the data plane (check mode: assembly/check.ts); the
// ones of the whole (conservation, buffers) are read here between batches.
import * as L from '../engine/layout.gen.js';
import type { Host } from '../host.js';
import type { Network } from '../network.js';
import { describe, describeIp } from '../packet/craft.js';

export type ViolationKind =
  | 'ip-checksum'
  | 'inner-checksum'
  | 'l4-checksum'
  | 'ttl'
  | 'trap'
  | 'conservation'
  | 'buffers'
  | 'loop'
  | 'property'
  | 'model';

export interface Violation {
  kind: ViolationKind;
  /** What was wrong, in a sentence. */
  detail: string;
  /** Where it showed. */
  host?: string;
  /** The link the frame left on; absent for a packet delivered to a socket. */
  link?: string;
  /** The frame (or delivered packet) that showed it, in hex. */
  bytes?: string;
  /** The fuzz frame it came from (its number in the epoch), when the packet kept its tag. */
  frame?: number;
}

const KINDS: Record<number, ViolationKind> = {
  [L.V_IP_CSUM]: 'ip-checksum',
  [L.V_INNER_CSUM]: 'inner-checksum',
  [L.V_L4_CSUM]: 'l4-checksum',
  [L.V_TTL]: 'ttl',
};

const WHAT: Record<number, string> = {
  [L.V_IP_CSUM]: 'an IPv4 header checksum is wrong',
  [L.V_INNER_CSUM]: 'the inner IPv4 header of an IPIP packet has a wrong checksum',
  [L.V_L4_CSUM]: 'a TCP, UDP or ICMP checksum is wrong (it was right when the packet came in, or the host made the packet)',
  [L.V_TTL]: 'the TTL grew',
};

/** A check record for each of the network's workers, attached to their contexts. */
export function attachChecks(net: Network): number[] {
  const e = net.engine;
  return net.contextPointers.map((ctx) => {
    const rec = e.alloc(L.CHECK_SIZE);
    e.dv.setUint32(ctx + L.C_CHECK, rec, true);
    return rec;
  });
}

/** Frames and packets the data plane has verified so far. */
export function checkedCount(net: Network, recs: number[]): number {
  return recs.reduce((n, r) => n + Number(net.engine.dv.getBigUint64(r + L.CK_CHECKED, true)), 0);
}

/** The violations the data plane found, the kept ones with their frames. */
export function readChecks(net: Network, recs: number[]): Violation[] {
  const e = net.engine;
  const dv = e.dv;
  const out: Violation[] = [];
  for (const rec of recs) {
    let total = 0;
    for (let v = 1; v < L.V_COUNT; v++) total += dv.getUint32(rec + L.CK_COUNTS + 4 * v, true);
    if (total === 0) continue;
    const hosts = new Map(net.hosts.map((h) => [h.ptr, h]));
    const kept = dv.getUint32(rec + L.CK_KEPT, true);
    for (let i = 0; i < kept; i++) {
      const r = rec + L.CK_RECS + i * L.CKR_SIZE;
      const v = dv.getUint32(r + L.CKR_KIND, true);
      const h = hosts.get(dv.getUint32(r + L.CKR_HOST, true));
      const link = dv.getUint32(r + L.CKR_LINK, true);
      const len = Math.min(dv.getUint32(r + L.CKR_LEN, true), L.CHECK_BYTES);
      const bytes = e.u8.slice(r + L.CKR_BYTES, r + L.CKR_BYTES + len);
      const tag = dv.getUint32(r + L.CKR_TAG, true);
      const delivered = link === 0xffff;
      const where = delivered ? `delivered by ${h?.name}` : `sent by ${h?.name} on ${h?.links[link]?.name}`;
      out.push({
        kind: KINDS[v] ?? 'ip-checksum',
        detail: `${WHAT[v]}: ${where}: ${delivered ? describeIp(bytes) : describe(bytes)}${entryNote(dv.getUint32(r + L.CKR_ENTRY, true))}`,
        host: h?.name,
        ...(delivered ? {} : { link: h?.links[link]?.name }),
        bytes: hex(bytes),
        ...(tag !== L.TAG_GENERATED ? { frame: tag } : {}),
      });
    }
  }
  return out;
}

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function entryNote(m: number): string {
  if ((m & L.M_KNOWN) === 0) return ' (a packet the host made)';
  if ((m & L.M_IPV4) === 0) return '';
  return ` (it came in with ttl ${(m >>> L.M_TTL_SHIFT) & 0xff}${m & L.M_OUTER_OK ? '' : ', a bad header checksum'}${m & L.M_L4_OK ? '' : ', a bad L4 checksum'})`;
}

/** Zeroes the records, for a run that goes on after reading them. */
export function clearChecks(net: Network, recs: number[]): void {
  for (const r of recs) net.engine.u8.fill(0, r, r + L.CHECK_SIZE);
}

interface Fates {
  in: number;
  originated: number;
  generated: number;
  sent: number;
  local: number;
  dropped: number;
  queued: number;
  dequeued: number;
  reassembled: number;
  dropSum: number;
}

function fates(h: Host, dv: DataView): Fates {
  const base = dv.getUint32(h.ptr + L.H_COUNTERS, true);
  // Two words, not a BigInt: read after every batch, for every host.
  const c = (i: number) => dv.getUint32(base + i * 8, true) + dv.getUint32(base + i * 8 + 4, true) * 0x100000000;
  let dropSum = 0;
  for (let r = 1; r < L.DROP_COUNT; r++) dropSum += c(L.CNT_DROP_BASE + r);
  return {
    in: c(L.CNT_IN), originated: c(L.CNT_ORIGINATED), generated: c(L.CNT_GENERATED), sent: c(L.CNT_SENT), local: c(L.CNT_LOCAL),
    dropped: c(L.CNT_DROPPED), queued: c(L.CNT_QUEUED), dequeued: c(L.CNT_DEQUEUED), reassembled: c(L.CNT_REASSEMBLED), dropSum,
  };
}

/** Every packet accounted for, on every host: in + originated + generated = sent + local + dropped + waiting. */
export function conservation(net: Network): Violation | undefined {
  const dv = net.engine.dv;
  for (const h of net.hosts) {
    const f = fates(h, dv);
    const lhs = f.in + f.originated + f.generated;
    const rhs = f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued);
    if (lhs === rhs && f.dropSum === f.dropped) continue;
    return {
      kind: 'conservation',
      host: h.name,
      detail: `${h.name}: in ${f.in} + originated ${f.originated} + generated ${f.generated} = ${lhs}, but sent ${f.sent} + local ${f.local} + dropped ${f.dropped} + reassembled ${f.reassembled} + waiting ${f.queued - f.dequeued} = ${rhs}; drop reasons sum to ${f.dropSum}`,
    };
  }
  return undefined;
}

/**
 * Buffers the hosts hold between batches: each packet waiting for a
 * neighbour or in a reassembly queue holds one, and so does a host's table
 * of reassembly queues while it has any.
 */
function waiting(net: Network): number {
  const dv = net.engine.dv;
  return net.hosts.reduce((n, h) => {
    const f = fates(h, dv);
    return n + f.queued - f.dequeued + (dv.getUint32(h.ptr + L.H_FRAG, true) !== 0 ? 1 : 0);
  }, 0);
}

/**
 * Every buffer is free, waiting for a neighbour, or on its way: the pools
 * lose none. With `whole`, nothing may be waiting or on its way either.
 */
export function buffers(net: Network, whole = false): Violation | undefined {
  const pools = net.bufferPools();
  const used = pools.reduce((n, p) => n + p.capacity - p.free, 0);
  const held = waiting(net) + net.inFlight;
  if (used === held && (!whole || used === 0)) return undefined;
  const state = pools.map((p) => `worker ${p.worker}: ${p.free} of ${p.capacity} free`).join(', ');
  return {
    kind: 'buffers',
    detail: whole
      ? `after the run settled, buffers are missing from the pools (${state}; ${held} packets still waiting or on their way)`
      : `${used} buffers are out of the pools but ${held} packets hold one (${state})`,
  };
}
