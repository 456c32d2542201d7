// Addresses and the routing table: the local table (local and broadcast /32s,
// consulted first, as fib_lookup does with RT_TABLE_LOCAL) and the main table
// (longest prefix match over the routes added and the connected prefixes).
import type { Link } from './links.js';
import { ModelLpm } from './lpm.js';
import { LIMITED_BROADCAST, broadcastOf, formatIPv4, inPrefix, networkOf, parseIPv4 } from './wire.js';

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Addr {
  ip: number;
  plen: number;
  dev: Link;
}

export interface Route {
  dst: number;
  plen: number;
  type: RouteType;
  dev?: Link;
  /** Gateway; undefined for a directly connected route. */
  via?: number;
  onlink: boolean;
  /** Preferred source. */
  src?: number;
  /** Added by addr.add (proto kernel scope link). */
  kernel: boolean;
}

/** What a lookup found: a main-table route, or a local-table entry. */
export interface Resolved {
  type: RouteType | 'local' | 'broadcast';
  dst: number;
  plen: number;
  dev?: Link;
  via?: number;
  src?: number;
}

export interface RouteSpec {
  dst: string;
  via?: string;
  dev?: string;
  onlink?: boolean;
  type?: RouteType;
  src?: string;
}

export class RoutingTable {
  readonly addrs: Addr[] = [];
  private readonly lpm = new ModelLpm();
  private readonly routes = new Map<number, Route>();
  private nextId = 1;

  // --- addresses ---

  isLocal(a: number): boolean {
    return this.addrs.some((x) => x.ip === a);
  }

  /** 255.255.255.255, or the subnet broadcast of an address (prefixes shorter than /31). */
  isBroadcast(a: number): boolean {
    if (a === LIMITED_BROADCAST) return true;
    return !this.isLocal(a) && this.addrs.some((x) => x.plen < 31 && broadcastOf(x.ip, x.plen) === a);
  }

  /** A secondary: an address of the same subnet and prefix length was on its link first. */
  isSecondary(a: Addr): boolean {
    return this.primaryOf(a) !== a;
  }

  /** The first address of a's subnet on a's link: its primary (a itself if a is one). */
  primaryOf(a: Addr): Addr {
    return this.addrs.find((x) => x.dev === a.dev && x.plen === a.plen && inPrefix(x.ip, a.ip, a.plen))!;
  }

  /**
   * inet_select_addr: of dev's primaries the first whose subnet holds dst (any
   * when dst is 0), else dev's first; else the first primary of the first link.
   */
  selectSource(dev: Link | undefined, dst: number): number {
    const primaries = this.addrs.filter((x) => !this.isSecondary(x));
    const onDev = primaries.filter((x) => x.dev === dev);
    const pick = onDev.find((x) => dst === 0 || inPrefix(dst, x.ip, x.plen)) ?? onDev[0];
    if (pick) return pick.ip;
    return [...primaries].sort((a, b) => a.dev.index - b.dev.index)[0]?.ip ?? 0;
  }

  /** fib_add_ifaddr: the address, and its connected prefix route unless that prefix is taken. */
  addAddr(addr: Addr): void {
    this.addrs.push(addr);
    const net = networkOf(addr.ip, addr.plen);
    if (addr.plen === 32 || this.findRoute(net, addr.plen)) return;
    this.insert({ dst: net, plen: addr.plen, type: 'unicast', dev: addr.dev, onlink: false, src: addr.ip, kernel: true });
  }

  // --- main table ---

  findRoute(dst: number, plen: number): Route | undefined {
    for (const r of this.routes.values()) if (r.dst === dst && r.plen === plen) return r;
    return undefined;
  }

  insert(r: Route): void {
    const id = this.nextId++;
    this.routes.set(id, r);
    this.lpm.set(r.dst, r.plen, id);
  }

  remove(r: Route): void {
    for (const [id, x] of this.routes) if (x === r) this.routes.delete(id);
    this.lpm.delete(r.dst, r.plen);
  }

  /** The connected (gateway-less) unicast route covering gw, as fib_check_nh_v4_gw requires. */
  connectedRouteFor(gw: number): Route | undefined {
    const r = this.lookupMain(gw);
    return r && r.type === 'unicast' && r.via === undefined ? r : undefined;
  }

  lookupMain(dst: number): Route | undefined {
    const id = this.lpm.lookup(dst);
    return id ? this.routes.get(id) : undefined;
  }

  /** fib_lookup: the local table first, then the main table. Undefined: no route. */
  resolve(dst: number): Resolved | undefined {
    const local = this.addrs.find((x) => x.ip === dst);
    // fib_add_ifaddr: a secondary's local route has its primary as source.
    if (local) return { type: 'local', dst, plen: 32, dev: local.dev, src: this.primaryOf(local).ip };
    if (dst === LIMITED_BROADCAST) return { type: 'broadcast', dst, plen: 32, src: this.addrs[0]?.ip };
    const bcast = this.addrs.find((x) => x.plen < 31 && broadcastOf(x.ip, x.plen) === dst);
    if (bcast) return { type: 'broadcast', dst, plen: 32, dev: bcast.dev, src: bcast.ip };
    const r = this.lookupMain(dst);
    if (!r) return undefined;
    // fib_result_prefsrc: the route's own, else inet_select_addr towards its gateway (or none).
    const src = r.src ?? (r.type === 'unicast' && this.addrs.length ? this.selectSource(r.dev, r.via ?? 0) : undefined);
    return { type: r.type, dst: r.dst, plen: r.plen, dev: r.dev, via: r.via, src };
  }

  /** ip_route_output's fib_lookup: as resolve, but 255.255.255.255 by the main table alone. */
  resolveOutput(dst: number): Resolved | undefined {
    if (dst !== LIMITED_BROADCAST) return this.resolve(dst);
    const r = this.lookupMain(dst);
    if (!r) return undefined;
    const src = r.src ?? (r.type === 'unicast' && this.addrs.length ? this.selectSource(r.dev, r.via ?? 0) : undefined);
    return { type: r.type, dst: r.dst, plen: r.plen, dev: r.dev, via: r.via, src };
  }

  mainRoutes(): Route[] {
    return [...this.routes.values()];
  }
}

export function describeResolved(r: Resolved): { dst: string; type: string; dev?: string; via?: string; src?: string } {
  const out: { dst: string; type: string; dev?: string; via?: string; src?: string } = {
    dst: r.plen === 0 ? 'default' : `${formatIPv4(r.dst)}/${r.plen}`,
    type: r.type,
  };
  if (r.dev) out.dev = r.dev.name;
  if (r.via !== undefined) out.via = formatIPv4(r.via);
  if (r.src !== undefined) out.src = formatIPv4(r.src);
  return out;
}

/** 'default' or a CIDR whose host bits are clear. */
export function parseRouteDst(s: string): { dst: number; plen: number } {
  if (s === 'default') return { dst: 0, plen: 0 };
  const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(s);
  if (!m) throw new Error(`invalid route destination "${s}"`);
  const dst = parseIPv4(m[1]);
  const plen = m[2] === undefined ? 32 : Number(m[2]);
  if (plen > 32) throw new Error(`invalid route destination "${s}"`);
  if (networkOf(dst, plen) !== dst) throw new Error(`invalid prefix for prefix length: "${s}"`);
  return { dst, plen };
}
