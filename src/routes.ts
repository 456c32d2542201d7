// The routing table as the control plane keeps it (ip route), and its
// compilation into what the data plane reads: a prefix set whose values are
// nexthop indices, and the nexthop array.
import { formatCidr, formatIPv4, inPrefix } from './packet/addr.js';
import type { PrefixSet } from './tables/lpm.js';
import * as L from './engine/layout.gen.js';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Route {
  dst: number;
  plen: number;
  type: RouteType;
  /** Egress link index (unicast, local, broadcast). */
  dev?: number;
  via?: number;
  onlink?: boolean;
  /** Preferred source address. */
  src?: number;
  metric: number;
  /** 'kernel' for routes the host derives from its addresses. */
  proto: 'kernel' | 'static';
}

/** An address as the host keeps it (ip addr), in the order added. */
export interface AddrEntry {
  ip: number;
  plen: number;
  dev: number;
}

/** A secondary address: one of the same subnet and prefix length was on its link first (inet_insert_ifa). */
export function isSecondary(addrs: AddrEntry[], i: number): boolean {
  const a = addrs[i];
  return addrs.slice(0, i).some((b) => b.dev === a.dev && b.plen === a.plen && inPrefix(b.ip, a.ip, a.plen));
}

/** The primary address a (secondary or not) belongs to. */
export function primaryOf(addrs: AddrEntry[], a: AddrEntry): AddrEntry {
  return addrs.find((b) => b.dev === a.dev && b.plen === a.plen && inPrefix(b.ip, a.ip, a.plen)) ?? a;
}

/**
 * inet_select_addr(dev, dst): of dev's primary addresses, the first whose
 * subnet holds dst (any, when dst is 0), else dev's first; when dev has
 * none, the first primary of the first link (by index) that has one.
 */
export function inetSelectAddr(addrs: AddrEntry[], dev: number | undefined, dst: number): number | undefined {
  const primaries = addrs.filter((_, i) => !isSecondary(addrs, i));
  const own = primaries.filter((a) => a.dev === dev);
  const match = own.find((a) => dst === 0 || inPrefix(dst, a.ip, a.plen)) ?? own[0];
  if (match) return match.ip;
  return [...primaries].sort((a, b) => a.dev - b.dev)[0]?.ip;
}

/**
 * The preferred source of each unicast route without one (fib_result_prefsrc,
 * fib_info_update_nhc_saddr): inet_select_addr on its link towards its
 * gateway, or towards nothing in particular for a route without one.
 */
export function withSources(routes: Route[], addrs: AddrEntry[]): Route[] {
  return routes.map((r) => {
    if (r.type !== 'unicast' || r.src !== undefined || r.dev === undefined) return r;
    const src = inetSelectAddr(addrs, r.dev, r.via ?? 0);
    return src === undefined ? r : { ...r, src };
  });
}

const RT_CODE: Record<RouteType, number> = {
  unicast: L.RT_UNICAST,
  local: L.RT_LOCAL,
  broadcast: L.RT_BROADCAST,
  blackhole: L.RT_BLACKHOLE,
  unreachable: L.RT_UNREACHABLE,
  prohibit: L.RT_PROHIBIT,
};

export function sameKey(a: Route, dst: number, plen: number, metric: number): boolean {
  return a.dst === dst && a.plen === plen && a.metric === metric;
}

/** The route that wins for each prefix: the lowest metric (fib_table_lookup). */
/** A prefix as one number (address and length), a map key cheaper than a string. */
function prefixKey(r: Route): number {
  return r.dst * 64 + r.plen;
}

/**
 * What makes two routes' nexthops the same, as one number when it fits (no
 * preferred source: via 32 bits, dev 16, type 3, onlink 1), else a string.
 */
function nexthopKey(r: Route): number | string {
  const low = ((r.dev ?? 0) * 8 + RT_CODE[r.type]) * 2 + (r.onlink ? 1 : 0);
  if (!r.src) return (r.via ?? 0) * 2 ** 20 + low;
  return `${r.type}|${r.dev ?? 0}|${r.via ?? 0}|${r.src}|${r.onlink ? 1 : 0}`;
}

/** merged's key for the main table's route covering 255.255.255.255. */
const LBCAST = -1;

function winners(routes: Route[]): Map<number, Route> {
  const best = new Map<number, Route>();
  for (const r of routes) {
    const k = prefixKey(r);
    const cur = best.get(k);
    if (!cur || r.metric < cur.metric) best.set(k, r);
  }
  return best;
}

export interface CompiledRoutes {
  prefixes: PrefixSet;
  nexthops: Uint8Array;
  count: number;
  /** The nexthop of the main table's route for 255.255.255.255 (the host's own broadcasts), 0 = none. */
  lbcast: number;
}

/**
 * Merges the local table (which Linux consults first) over the main table and
 * deduplicates nexthops: a leaf of the LPM is a nexthop index (0 = no route).
 */
export function compileRoutes(main: Route[], local: Route[]): CompiledRoutes {
  const mainWinners = winners(main);
  const merged = new Map(mainWinners);
  for (const r of local) merged.set(prefixKey(r), r);
  let bcast: Route | undefined;
  for (const r of mainWinners.values()) if (inPrefix(0xffffffff, r.dst, r.plen) && (!bcast || r.plen > bcast.plen)) bcast = r;
  if (bcast) merged.set(LBCAST, bcast); // its nexthop is laid out, even if a local route hides its prefix
  const n = merged.size - (bcast ? 1 : 0);
  const prefixes: PrefixSet = {
    addrs: new Uint32Array(n),
    lens: new Uint8Array(n),
    values: new Uint16Array(n),
    count: n,
  };
  const nhIndex = new Map<number | string, number>();
  const nhs: Route[] = [];
  let i = 0;
  let lbcast = 0;
  for (const [k, r] of merged) {
    const key = nexthopKey(r);
    let idx = nhIndex.get(key);
    if (idx === undefined) {
      nhs.push(r);
      idx = nhs.length; // 0 means "no route"
      if (idx > 0xffff) throw new Error('too many distinct nexthops (the limit is 65535)');
      nhIndex.set(key, idx);
    }
    if (k === LBCAST) {
      lbcast = idx;
      continue;
    }
    prefixes.addrs[i] = r.dst;
    prefixes.lens[i] = r.plen;
    prefixes.values[i] = idx;
    i++;
  }
  const nexthops = new Uint8Array((nhs.length + 1) * L.NH_SIZE);
  const dv = new DataView(nexthops.buffer);
  nhs.forEach((r, j) => {
    const p = (j + 1) * L.NH_SIZE;
    dv.setUint8(p + L.N_TYPE, RT_CODE[r.type]);
    dv.setUint8(p + L.N_FLAGS, r.onlink ? L.NF_ONLINK : 0);
    dv.setUint16(p + L.N_DEV, r.dev ?? 0, true);
    dv.setUint32(p + L.N_GW, r.via ?? 0, true);
    dv.setUint32(p + L.N_SRC, r.src ?? 0, true);
  });
  return { prefixes, nexthops, count: n, lbcast };
}

/** The route the data plane would use for ip: the longest prefix, local first. */
export function lookupRoute(main: Route[], local: Route[], ip: number): Route | undefined {
  const merged = winners(main);
  for (const r of local) merged.set(prefixKey(r), r);
  let best: Route | undefined;
  for (const r of merged.values()) {
    if (inPrefix(ip, r.dst, r.plen) && (!best || r.plen > best.plen)) best = r;
  }
  return best;
}

export function formatRoute(r: Route, linkName: (i: number) => string): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(r.plen === 0 && r.type === 'unicast' ? 'default' : r.plen === 32 ? formatIPv4(r.dst) : formatCidr(r.dst, r.plen));
  if (r.via !== undefined) parts.push('via', formatIPv4(r.via));
  if (r.dev !== undefined) parts.push('dev', linkName(r.dev));
  if (r.proto === 'kernel') parts.push('proto kernel', 'scope link');
  if (r.src !== undefined) parts.push('src', formatIPv4(r.src));
  if (r.metric) parts.push('metric', String(r.metric));
  if (r.onlink) parts.push('onlink');
  return parts.join(' ');
}
