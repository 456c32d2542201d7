// ip neigh: permanent entries in, the ARP cache out.
import * as L from '../engine/layout.gen.js';
import { mainContext } from '../engine/context.js';
import { parseIPv4, formatIPv4, formatMac } from '../packet/addr.js';
import type { Host, NeighInfo } from '../host.js';
import { parseMacFor, wrap, macWords } from './common.js';

const NUD_NAMES: Record<number, NeighInfo['state']> = {
  [L.NUD_INCOMPLETE]: 'INCOMPLETE',
  [L.NUD_REACHABLE]: 'REACHABLE',
  [L.NUD_FAILED]: 'FAILED',
  [L.NUD_PERMANENT]: 'PERMANENT',
};

export class NeighNoun {
  constructor(private readonly host: Host) {}

  /** A permanent entry (ip neigh add ... nud permanent). */
  add(spec: { ip: string; mac: string; dev: string }): void {
    const h = this.host;
    const what = `neigh add ${spec?.ip} dev ${spec?.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const mac = parseMacFor(what, spec.mac);
    const dev = h.linkIndex(spec.dev);
    if (ip === 0 || ip === 0xffffffff || ip >>> 28 === 0xe) throw new Error(`${what}: not a unicast address`);
    const [lo, hi] = macWords(mac);
    if (!h.call('neigh_set', h.ptr, ip, dev, lo, hi, L.NUD_PERMANENT)) throw new Error(`${what}: neighbour table full`);
  }

  del(spec: { ip: string; dev: string }): void {
    const h = this.host;
    const what = `neigh del ${spec?.ip} dev ${spec?.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const dev = h.linkIndex(spec.dev);
    if (!h.call('neigh_del', mainContext(h.engine).ptr, h.ptr, ip, dev)) throw new Error(`${what}: no such entry`);
  }

  list(): NeighInfo[] {
    const h = this.host;
    const dv = h.engine.dv;
    const base = dv.getUint32(h.ptr + L.H_NEIGH, true);
    const slots = dv.getUint32(h.ptr + L.H_NEIGH_MASK, true) + 1;
    const out: NeighInfo[] = [];
    for (let i = 0; i < slots; i++) {
      const e = base + i * L.NEIGH_SIZE;
      const ip = dv.getUint32(e + L.NB_IP, true);
      if (ip === 0 || ip === L.NB_DELETED) continue;
      const state = NUD_NAMES[dv.getUint8(e + L.NB_STATE)] ?? 'FAILED';
      out.push({
        ip: formatIPv4(ip),
        dev: h.links[dv.getUint16(e + L.NB_DEV, true)].name,
        ...(state === 'REACHABLE' || state === 'PERMANENT' ? { mac: formatMac(h.engine.u8, e + L.NB_MAC) } : {}),
        state,
        queued: dv.getUint16(e + L.NB_QLEN, true),
      });
    }
    return out;
  }
}
