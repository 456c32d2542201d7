// ip route: a host's routes, checked as the kernel checks them, and route get.
import { parseIPv4, formatIPv4, parseCidr, formatCidr, networkOf, inPrefix } from '../packet/addr.js';
import { lookupRoute, formatRoute, inetSelectAddr, type Route } from '../routes.js';
import type { Host, RouteSpec, RouteInfo } from '../host.js';
import { wrap, checkBool, checkKeys } from './common.js';

const SPEC_KEYS = ['dst', 'via', 'dev', 'onlink', 'type', 'src', 'metric'] as const;

export class RouteNoun {
  constructor(private readonly host: Host) {}

  add(spec: RouteSpec): void {
    this.host.routes.push(this.parse(spec, 'route add', true));
    this.host.markDirty();
  }

  /** Adds many routes at once (a full table, say); none are added if one is invalid. */
  addMany(specs: RouteSpec[]): void {
    const h = this.host;
    if (!Array.isArray(specs)) throw new Error(`route addMany: a list of routes is required, got ${JSON.stringify(specs) ?? String(specs)}`);
    const seen = new Set(h.routes.map((r) => `${r.dst}/${r.plen}/${r.metric}`));
    const connected = h.routes.filter((r) => r.type === 'unicast' && r.via === undefined && r.dev !== undefined);
    const parsed = specs.map((s) => {
      const r = this.parse(s, 'route add', true, connected);
      const k = `${r.dst}/${r.plen}/${r.metric}`;
      if (seen.has(k)) throw new Error(`route add ${s.dst}: route exists`);
      seen.add(k);
      return r;
    });
    for (const r of parsed) h.routes.push(r);
    h.markDirty();
  }

  del(spec: RouteSpec | string): void {
    const h = this.host;
    const s = typeof spec === 'string' ? { dst: spec } : spec;
    if (!s || typeof s !== 'object' || typeof s.dst !== 'string') throw new Error(`route del: dst is required`);
    const r = this.parse({ ...s, type: s.type ?? 'unicast' }, 'route del', false);
    const k = h.routes.findIndex((x) => x.dst === r.dst && x.plen === r.plen && x.metric === r.metric &&
      (s.dev === undefined || x.dev === r.dev) && (s.via === undefined || x.via === r.via));
    if (k < 0) throw new Error(`route del ${s.dst}: no such route`);
    h.routes.splice(k, 1);
    h.markDirty();
  }

  list(): RouteInfo[] {
    return this.host.routes.map((r) => this.info(r));
  }

  /** Like `ip route get`: the route that matches, its link, gateway and source; null when none. */
  get(ip: string): (RouteInfo & { gateway?: string }) | null {
    const h = this.host;
    const a = wrap(`route get ${ip}`, () => parseIPv4(ip));
    const r = lookupRoute(h.routes, h.localRoutes(), a);
    if (!r) return null;
    const info = this.info(r);
    if (r.type === 'unicast' && r.dev !== undefined && !info.src) {
      const src = inetSelectAddr(h.addrs, r.dev, r.via ?? 0);
      if (src !== undefined) info.src = formatIPv4(src);
    }
    return info;
  }

  /** Text like `ip route show`. */
  show(): string {
    const h = this.host;
    return h.routes.map((r) => formatRoute(r, (i) => h.links[i].name)).join('\n');
  }

  private info(r: Route): RouteInfo {
    const h = this.host;
    return {
      dst: r.plen === 0 ? 'default' : formatCidr(r.dst, r.plen),
      type: r.type,
      ...(r.dev !== undefined ? { dev: h.links[r.dev].name } : {}),
      ...(r.via !== undefined ? { via: formatIPv4(r.via), gateway: formatIPv4(r.via) } : {}),
      ...(r.src !== undefined ? { src: formatIPv4(r.src) } : {}),
      metric: r.metric,
      proto: r.proto,
      onlink: !!r.onlink,
    };
  }

  private parse(spec: RouteSpec, verb: string, adding: boolean, connected?: Route[]): Route {
    const h = this.host;
    const what = `${verb} ${spec?.dst ?? ''}`.trim();
    if (!spec || typeof spec !== 'object' || typeof spec.dst !== 'string') throw new Error(`${what}: dst is required`);
    checkKeys(what, spec, SPEC_KEYS);
    checkBool(what, 'onlink', spec.onlink);
    for (const k of ['via', 'dev', 'src'] as const) {
      if (spec[k] !== undefined && typeof spec[k] !== 'string') throw new Error(`${what}: ${k} must be a string, got ${JSON.stringify(spec[k])}`);
    }
    const { addr, plen } = spec.dst === 'default' ? { addr: 0, plen: 0 } : wrap(what, () => parseCidr(spec.dst));
    if (networkOf(addr, plen) !== addr) throw new Error(`${what}: invalid prefix for the given prefix length`);
    const type = spec.type ?? 'unicast';
    if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(type)) throw new Error(`${what}: unknown route type "${type}"`);
    const metric = spec.metric ?? 0;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw new Error(`${what}: invalid metric`);
    const route: Route = { dst: addr, plen, type, metric, proto: 'static' };
    if (!adding) {
      if (spec.dev !== undefined) route.dev = h.linkIndex(spec.dev);
      if (spec.via !== undefined) route.via = wrap(what, () => parseIPv4(spec.via!));
      return route;
    }
    if (!connected && h.routes.some((r) => r.dst === addr && r.plen === plen && r.metric === metric)) throw new Error(`${what}: route exists`);
    if (type !== 'unicast') {
      if (spec.via !== undefined || spec.dev !== undefined || spec.onlink !== undefined) throw new Error(`${what}: a ${type} route takes no via, dev or onlink`);
      return route;
    }
    if (spec.dev === undefined && spec.via === undefined) throw new Error(`${what}: needs dev or via`);
    if (spec.dev !== undefined) route.dev = h.linkIndex(spec.dev);
    if (spec.via !== undefined) {
      const gw = wrap(what, () => parseIPv4(spec.via!));
      if (gw === 0 || gw >>> 28 === 0xe || gw === 0xffffffff) throw new Error(`${what}: invalid gateway ${spec.via}`);
      route.via = gw;
      if (spec.onlink) {
        if (route.dev === undefined) throw new Error(`${what}: onlink needs dev`);
        route.onlink = true;
        // fib_check_nh_v4_gw: an onlink gateway must be unicast on its device (inet_addr_type_dev_table).
        if (h.addrs.some((a) => a.dev === route.dev && a.ip === gw)) throw new Error(`${what}: gateway ${spec.via} is a local address`);
      } else {
        // fib_check_nh: the gateway must be on a connected subnet (or a dev route).
        const candidates = connected ?? h.routes.filter((r) => r.type === 'unicast' && r.via === undefined && r.dev !== undefined);
        const via = candidates.find((r) => (route.dev === undefined || r.dev === route.dev) && inPrefix(gw, r.dst, r.plen));
        if (!via) throw new Error(`${what}: gateway ${spec.via} is unreachable (no connected route${route.dev !== undefined ? ` on ${spec.dev}` : ''}; use onlink)`);
        route.dev = via.dev;
      }
      // fib_check_nh_v4_gw: the gateway's route must be unicast, not the subnet's broadcast route of
      // the local table (since Linux 5.14 the network address is unicast: no broadcast route for it).
      if (h.localRoutes().some((r) => r.type === 'broadcast' && r.dst === gw && r.dev === route.dev)) {
        throw new Error(`${what}: gateway ${spec.via} is a broadcast address`);
      }
    } else if (spec.onlink) {
      route.onlink = true;
    }
    if (spec.src !== undefined) {
      const src = wrap(what, () => parseIPv4(spec.src!));
      if (!h.addrs.some((a) => a.ip === src)) throw new Error(`${what}: src ${spec.src} is not an address of this host`);
      route.src = src;
    }
    return route;
  }
}
