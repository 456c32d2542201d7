// A host's addressing as the data plane reads it: the local table its
// addresses imply, and the routing tables (LPM, nexthops, address list)
// written aside and swapped in by pointer so no lookup sees a half-written one.
import type { Engine } from './engine/engine.js';
import * as L from './engine/layout.gen.js';
import { buildLpm } from './tables/lpm.js';
import { compileRoutes, primaryOf, withSources, isSecondary, type Route } from './routes.js';
import { broadcastOf } from './packet/addr.js';
import type { AddrRec } from './host-types.js';

/** Where the published tables sit in the shared memory (released when replaced). */
export interface RoutingRegions {
  lpm: { ptr: number; size: number };
  nh: { ptr: number; size: number };
  addr: { ptr: number; size: number };
}

/**
 * The local table: each address as a local /32 and each subnet's broadcast,
 * both with the subnet's primary address as their source (fib_add_ifaddr).
 */
export function localRoutesOf(addrs: AddrRec[]): Route[] {
  const out: Route[] = [];
  const seen = new Set<number>();
  for (const a of addrs) {
    // A secondary address of a subnet adds no broadcast route: the primary's stands.
    const bcast = broadcastOf(a.ip, a.plen);
    if (a.plen < 31 && !seen.has(bcast)) {
      seen.add(bcast);
      out.push({ dst: bcast, plen: 32, type: 'broadcast', dev: a.dev, src: a.ip, metric: 0, proto: 'kernel' });
    }
  }
  for (const a of addrs) out.push({ dst: a.ip, plen: 32, type: 'local', dev: a.dev, src: primaryOf(addrs, a).ip, metric: 0, proto: 'kernel' });
  // The limited broadcast, as inet_addr_type() answers for it.
  if (addrs.length > 0) out.push({ dst: 0xffffffff, plen: 32, type: 'broadcast', dev: addrs[0].dev, src: addrs[0].ip, metric: 0, proto: 'kernel' });
  return out;
}

/**
 * Writes the routing tables of `routes` and `addrs` aside and swaps them into
 * the host block at `hostPtr`; the tables they replace (`old`) are released.
 */
export function publishRouting(e: Engine, hostPtr: number, routes: Route[], addrs: AddrRec[], old: RoutingRegions | undefined): RoutingRegions {
  const { prefixes, nexthops, lbcast } = compileRoutes(withSources(routes, addrs), localRoutesOf(addrs));
  const blob = buildLpm(prefixes);
  const lpm = e.alloc(blob.length);
  e.u8.set(blob, lpm);
  const nh = e.alloc(nexthops.length);
  e.u8.set(nexthops, nh);
  const addrBytes = Math.max(1, addrs.length) * L.ADDR_SIZE;
  const addrList = e.alloc(addrBytes);
  const dv = e.dv;
  // By link, in the order added on each: inet_select_addr's fallback takes the first link's first primary.
  const order = addrs.map((a, i) => ({ a, i })).sort((x, y) => x.a.dev - y.a.dev || x.i - y.i);
  order.forEach(({ a, i }, k) => {
    const p = addrList + k * L.ADDR_SIZE;
    dv.setUint32(p + L.A_IP, a.ip, true);
    dv.setUint8(p + L.A_PLEN, a.plen);
    dv.setUint8(p + L.A_FLAGS, isSecondary(addrs, i) ? L.AF_SECONDARY : 0);
    dv.setUint16(p + L.A_DEV, a.dev, true);
    dv.setUint32(p + L.A_BCAST, a.plen < 31 ? broadcastOf(a.ip, a.plen) : 0, true);
  });
  // Nexthops and addresses first, the table that points into them last.
  dv.setUint32(hostPtr + L.H_NH, nh, true);
  dv.setUint32(hostPtr + L.H_NNH, nexthops.length / L.NH_SIZE, true);
  dv.setUint32(hostPtr + L.H_LBCAST, lbcast, true);
  dv.setUint32(hostPtr + L.H_ADDRS, addrList, true);
  dv.setUint32(hostPtr + L.H_NADDRS, addrs.length, true);
  let bloom = 0n;
  for (const a of addrs) bloom |= 1n << BigInt(Math.imul(a.ip, 0x9e3779b1) >>> 26);
  dv.setBigUint64(hostPtr + L.H_LOCAL_BLOOM, bloom, true);
  dv.setUint32(hostPtr + L.H_LPM, lpm, true);
  if (old) for (const r of [old.lpm, old.nh, old.addr]) e.arena.release(r.ptr, r.size);
  return { lpm: { ptr: lpm, size: blob.length }, nh: { ptr: nh, size: nexthops.length }, addr: { ptr: addrList, size: addrBytes } };
}
