// ip addr: a host's addresses and the connected routes they bring.
import { formatIPv4, parseCidr, formatCidr, networkOf, broadcastOf } from '../packet/addr.js';
import type { Host } from '../host.js';
import { wrap } from './common.js';

export class AddrNoun {
  constructor(private readonly host: Host) {}

  add(dev: string, cidr: string): void {
    const h = this.host;
    const what = `addr add ${cidr} dev ${dev}`;
    const { addr, plen } = wrap(what, () => parseCidr(cidr));
    const i = h.linkIndex(dev);
    if (plen === 0) throw new Error(`${what}: a /0 address is not allowed`);
    if (addr === 0 || addr >>> 28 === 0xe || addr === 0xffffffff) throw new Error(`${what}: not a unicast address`);
    if (plen < 31 && (addr === networkOf(addr, plen) || addr === broadcastOf(addr, plen))) {
      throw new Error(`${what}: ${formatIPv4(addr)} is the network or broadcast address of /${plen}`);
    }
    if (h.addrs.some((a) => a.ip === addr && a.dev === i)) throw new Error(`${what}: address exists`);
    h.addrs.push({ ip: addr, plen, dev: i });
    // The connected route (proto kernel scope link), as the kernel adds it.
    const net = networkOf(addr, plen);
    if (plen < 32 && !h.routes.some((r) => r.dst === net && r.plen === plen && r.dev === i && r.proto === 'kernel')) {
      h.routes.push({ dst: net, plen, type: 'unicast', dev: i, src: addr, metric: 0, proto: 'kernel' });
    }
    h.markDirty();
  }

  del(dev: string, cidr: string): void {
    const h = this.host;
    const what = `addr del ${cidr} dev ${dev}`;
    const { addr, plen } = wrap(what, () => parseCidr(cidr));
    const i = h.linkIndex(dev);
    const k = h.addrs.findIndex((a) => a.ip === addr && a.dev === i && a.plen === plen);
    if (k < 0) throw new Error(`${what}: no such address`);
    h.addrs.splice(k, 1);
    const net = networkOf(addr, plen);
    if (!h.addrs.some((a) => a.dev === i && a.plen === plen && networkOf(a.ip, plen) === net)) {
      h.routes = h.routes.filter((r) => !(r.proto === 'kernel' && r.dst === net && r.plen === plen && r.dev === i));
    }
    h.markDirty();
  }

  list(dev?: string): { dev: string; cidr: string }[] {
    const h = this.host;
    const only = dev === undefined ? -1 : h.linkIndex(dev);
    return h.addrs.filter((a) => only < 0 || a.dev === only).map((a) => ({ dev: h.links[a.dev].name, cidr: formatCidr(a.ip, a.plen) }));
  }
}
